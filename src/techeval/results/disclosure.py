"""Statistical disclosure control: case records are sensitive.

Rules (applied to every result row and every frame cell before anything is written):

1. **Threshold rule.** A number is published only if it rests on at least ``min_cell``
   distinct cases in every group it compares (``n_treated`` and ``n_control``, and
   ``diagnostics["n_cases"]`` where an estimator reports it). A count of zero is
   disclosive too (it says that *no* case of a kind used a technique), unless it is
   *structural*: a descriptive row about one arm only (``estimand`` is ``None`` and
   exactly one of the two counts is zero by construction, e.g. the collateral-intrusion
   share among cases that used electronic surveillance). :func:`rests_on_too_few` is
   this rule for one row; pooling and trends apply it to the rows they read.
2. **Secondary suppression.** Subgroup rows of one partition (``offence=...`` levels of
   the same estimate) add up to the overall row. If exactly one level is suppressed,
   the next-smallest level is suppressed too, so that the withheld value cannot be
   recovered from the total and the other levels. The heterogeneity test of a
   partition with a suppressed level is withheld as well (its Q statistic and pooled
   estimate combine the suppressed level's estimate).
3. A suppressed row keeps its labels (technique, measure, subgroup...) and
   ``suppressed: true``; its estimate, interval, p-value, counts, diagnostics and
   warnings are withheld.
4. **Labels of tiny levels.** A subgroup level resting on fewer than ``min_cell``
   cases in all (treated and control together) is not named: its label becomes
   ``column=(a level with fewer than min_cell cases)`` (the level's size is the largest
   count of any row naming it). A level label is a data value;
   when a level is that small, naming it discloses something about a few cases (and a
   protocol that breaks results down by an identifier would otherwise publish every
   case ID).
5. Free text never leaves the run: warnings are produced by techeval itself (never
   copied from case cells), and counts of fewer than ``min_cell`` rows or cases inside a
   warning are replaced by "fewer than ``min_cell``" (:func:`scrub_text`).

The thresholds follow common practice in official statistics (e.g. the threshold rule
and secondary suppression of Hundepool et al. 2012, *Statistical Disclosure Control*,
Wiley, ch. 4 and 5).
"""

from __future__ import annotations

import math
import numbers
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import pandas as pd

from techeval.results.row import EffectResult

__all__ = [
    "apply_disclosure_control",
    "rests_on_too_few",
    "row_counts",
    "scrub_text",
    "suppress",
    "suppress_frame",
]

_NAN = math.nan


def row_counts(row: EffectResult | Mapping[str, Any]) -> list[Any]:
    """The case counts a row rests on, structural zeros left out.

    Parameters
    ----------
    row
        An :class:`~techeval.results.EffectResult` or a row of ``result.json`` (a
        mapping with the same field names).

    Returns
    -------
    list
        ``n_treated`` and ``n_control`` (a zero is left out when the row describes one
        arm only: ``estimand`` is ``None`` and exactly one count is zero), plus
        ``diagnostics["n_cases"]`` when it is an integer. A count a mapping leaves out
        or writes as ``null`` (a withheld row) is listed as ``None``.
    """
    if isinstance(row, EffectResult):
        estimand, n_treated, n_control = row.estimand, row.n_treated, row.n_control
        diagnostics = row.diagnostics
    else:
        estimand, n_treated, n_control = (
            row.get("estimand"),
            row.get("n_treated"),
            row.get("n_control"),
        )
        diagnostics = row.get("diagnostics")
    one_arm = estimand is None and (n_treated == 0) != (n_control == 0)
    counts = [n for n in (n_treated, n_control) if not (one_arm and n == 0)]
    n_cases = diagnostics.get("n_cases") if diagnostics else None
    if isinstance(n_cases, int) and not isinstance(n_cases, bool):
        counts.append(n_cases)
    return counts


def rests_on_too_few(row: EffectResult | Mapping[str, Any], min_cell: int) -> bool:
    """Whether a row rests on fewer than ``min_cell`` cases in a group it compares.

    This is the threshold rule (rule 1 of this module) for one row: the runner applies
    it to every row it writes, and pooling and trends to every row they read from a
    result file.

    Parameters
    ----------
    row
        An :class:`~techeval.results.EffectResult` or a row of ``result.json``.
    min_cell
        The fewest distinct cases a published number may rest on.

    Returns
    -------
    bool
        ``True`` when any count of :func:`row_counts` is below ``min_cell`` (a zero
        that is not structural included), when a count is missing or not a number
        (it cannot be shown to be large enough), or when the row has no count at all.

    Examples
    --------
    >>> rests_on_too_few({"estimand": "ATE", "n_treated": 9, "n_control": 300}, 10)
    True
    >>> rests_on_too_few({"estimand": None, "n_treated": 40, "n_control": 0}, 10)
    False
    """
    counts = row_counts(row)
    return not counts or any(not _is_count(n) or n < min_cell for n in counts)


def _is_count(value: Any) -> bool:
    # numbers.Real takes numpy integers too; None (a withheld count) and nan do not pass
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and not math.isnan(value)


def suppress(result: EffectResult, reason: str) -> EffectResult:
    """The row with its numbers, diagnostics and warnings withheld."""
    return replace(
        result,
        estimate=_NAN,
        std_error=_NAN,
        ci_low=_NAN,
        ci_high=_NAN,
        p_value=_NAN,
        suppressed=True,
        diagnostics={"suppression": reason},
        warnings=(),
    )


def _partition_key(result: EffectResult) -> tuple | None:
    if result.subgroup is None or "=" not in result.subgroup:
        return None
    column = result.subgroup.split("=", 1)[0]
    return (
        result.technique,
        result.family,
        result.method,
        result.outcome,
        result.measure,
        result.scale,
        result.estimand,
        column,
    )


def _size(result: EffectResult) -> int:
    counts = row_counts(result)
    return min(counts) if counts else 0


def _level_size(result: EffectResult) -> int:
    """Cases in a subgroup level, both arms together."""
    return int(result.n_treated) + int(result.n_control)


def apply_disclosure_control(
    results: Sequence[EffectResult], *, min_cell: int
) -> tuple[EffectResult, ...]:
    """Apply the threshold rule and secondary suppression to result rows.

    Parameters
    ----------
    results
        Result rows in their final order.
    min_cell
        The fewest distinct cases a published number may rest on (protocol
        ``disclosure.min_cell``, default 10).

    Returns
    -------
    tuple of EffectResult
        Same order; suppressed rows have ``suppressed=True`` and ``nan`` numbers.

    Examples
    --------
    >>> from techeval.results import EffectResult
    >>> row = EffectResult(technique="t", outcome="y", measure="y", scale="risk_difference",
    ...     estimand="ATE", method="aipw", estimate=0.1, std_error=0.05, ci_low=0.0,
    ...     ci_high=0.2, p_value=0.04, n_treated=9, n_control=300)
    >>> apply_disclosure_control([row], min_cell=10)[0].suppressed
    True
    """
    rows = list(results)
    for i, row in enumerate(rows):
        if not row.suppressed and rests_on_too_few(row, min_cell):
            rows[i] = suppress(row, f"rests on fewer than {min_cell} cases in a group it compares")

    # secondary suppression within each partition of subgroup rows
    partitions: dict[tuple, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        key = _partition_key(row)
        if key is not None:
            partitions[key].append(i)
    partitions_with_suppression: set[tuple] = set()
    for key, members in partitions.items():
        suppressed = [i for i in members if rows[i].suppressed]
        if suppressed:
            partitions_with_suppression.add(key)
        if len(suppressed) == 1 and len(members) > 1:
            candidates = [i for i in members if not rows[i].suppressed]
            # next-smallest level: fewest cases, ties broken by the label for determinism
            victim = min(candidates, key=lambda i: (_size(rows[i]), rows[i].subgroup or ""))
            rows[victim] = suppress(
                rows[victim],
                "withheld so that a suppressed subgroup cannot be recovered from the total "
                "(secondary suppression)",
            )
    # a level is as large as the largest row that names it (a descriptive row may count
    # one arm only)
    level_sizes: dict[str, int] = defaultdict(int)
    for row in rows:
        if row.subgroup is not None and "=" in row.subgroup:
            level_sizes[row.subgroup] = max(level_sizes[row.subgroup], _level_size(row))
    for i, row in enumerate(rows):
        if (
            row.subgroup is not None
            and "=" in row.subgroup
            and level_sizes[row.subgroup] < min_cell
        ):
            column = row.subgroup.split("=", 1)[0]
            rows[i] = replace(row, subgroup=f"{column}=(a level with fewer than {min_cell} cases)")
    # heterogeneity rows (subgroup = the column name) of partitions with a suppressed level
    for i, row in enumerate(rows):
        if row.suppressed or row.subgroup is None or "=" in row.subgroup:
            continue
        if any(
            key[0] == row.technique
            and key[2] == row.method
            and key[3] == row.outcome
            and key[7] == row.subgroup
            for key in partitions_with_suppression
        ):
            rows[i] = suppress(
                row, "combines the estimate of a suppressed subgroup (secondary suppression)"
            )
    return tuple(rows)


_COUNT_IN_TEXT = re.compile(
    r"\b(\d[\d,]*)(\s+(?:of\s+\d[\d,]*\s+)?(?:rows?|cases?|witnesses|treated|control))\b"
)


def scrub_text(text: str, *, min_cell: int) -> str:
    """Replace counts of 1 to ``min_cell - 1`` rows or cases in a message.

    Examples
    --------
    >>> scrub_text("3 rows with a missing covariate were left out", min_cell=10)
    'fewer than 10 rows with a missing covariate were left out'
    >>> scrub_text("40 cases (2%) were clipped", min_cell=10)
    '40 cases (2%) were clipped'
    """

    def swap(match: re.Match) -> str:
        number = int(match.group(1).replace(",", ""))
        if 0 < number < min_cell:
            return f"fewer than {min_cell}{match.group(2)}"
        return match.group(0)

    return _COUNT_IN_TEXT.sub(swap, text)


def suppress_frame(
    frame: pd.DataFrame,
    *,
    count_columns: Iterable[str],
    value_columns: Iterable[str],
    min_cell: int,
) -> pd.DataFrame:
    """Blank the values (and counts) of frame cells resting on fewer than ``min_cell`` cases.

    Parameters
    ----------
    frame
        An aggregated frame (e.g. a histogram: one row per bin with a count).
    count_columns
        Columns holding the number of distinct cases behind each row.
    value_columns
        Columns to blank where any count is below ``min_cell`` (zero included).
    min_cell
        Threshold.

    Returns
    -------
    pandas.DataFrame
        A copy with a boolean ``suppressed`` column.
    """
    out = frame.copy()
    count_columns = list(count_columns)
    small = (out[count_columns] < min_cell).any(axis=1)
    for column in [*value_columns, *count_columns]:
        out[column] = out[column].astype("float64").where(~small)
    out["suppressed"] = small.to_numpy()
    return out
