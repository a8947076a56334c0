"""The result row every estimator produces, and the long results table.

A result is a value: a frozen dataclass with explicit field names (as in statsmodels'
result classes and pingouin's tidy outputs). Many results concatenate into one long,
tidy table that the synthesis step and the reports read; nothing downstream
recomputes a statistic.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import pandas as pd

#: The columns of the long results table, in order.
RESULT_COLUMNS = (
    "technique",
    "family",
    "outcome",
    "measure",
    "scale",
    "estimand",
    "method",
    "subgroup",
    "estimate",
    "std_error",
    "ci_low",
    "ci_high",
    "p_value",
    "n_treated",
    "n_control",
    "suppressed",
)


@dataclass(frozen=True)
class EffectResult:
    """One estimated quantity with its uncertainty.

    Attributes
    ----------
    technique
        The technique (treatment column) the quantity is about, e.g. ``"undercover"``.
    outcome
        The outcome column or derived outcome the quantity is computed from,
        e.g. ``"conviction"`` or ``"cost_total"``.
    measure
        The named quantity reported, e.g. ``"conviction"``, ``"incremental_cost"``,
        ``"officer_injuries"`` (names are listed in ``docs/result-schema.md``).
    scale
        How the quantity is expressed: ``"risk_difference"``, ``"risk_ratio"``,
        ``"odds_ratio"``, ``"mean_difference"``, ``"rate_ratio"``, ``"mean"``, ...
    estimand
        ``"ATE"`` (average effect over all cases) or ``"ATT"`` (over cases that used the
        technique); ``None`` for descriptive quantities.
    method
        Registered name of the method that produced it, e.g. ``"aipw"``.
    estimate, std_error, ci_low, ci_high, p_value
        Point estimate, its standard error, the confidence interval limits at
        ``ci_level`` and the two-sided p-value against the null value of the scale
        (0 for differences, 1 for ratios). ``nan`` where not defined.
    n_treated, n_control
        Numbers of distinct cases in each arm that the estimate rests on.
    family
        Estimator family: ``"outcome"``, ``"cost"``, ``"harm"`` or ``"synthesis"``.
    subgroup
        ``None`` for the whole population, else ``"column=value"``.
    ci_level
        Confidence level of the interval (default 0.95).
    suppressed
        ``True`` when disclosure control withheld the numbers.
    estimator
        Registered name of the estimator that made the row (``"outcome.aipw"``), set
        by the estimator base class; ``None`` for rows made outside an estimator.
    adjusted
        Whether the quantity is adjusted for case characteristics (the estimator's
        ``tags.adjusted``): ``False`` for raw contrasts and descriptive summaries.
    diagnostics
        Method-specific diagnostics (overlap, balance, effective sample size, E-value...).
        Plain JSON-compatible values only.
    warnings
        Plain-language warnings the report must show (e.g. poor overlap).
    """

    technique: str
    outcome: str
    measure: str
    scale: str
    estimand: str | None
    method: str
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    p_value: float
    n_treated: int
    n_control: int
    family: str = "outcome"
    subgroup: str | None = None
    ci_level: float = 0.95
    suppressed: bool = False
    estimator: str | None = None
    adjusted: bool = True
    diagnostics: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """All fields as a plain dictionary (diagnostics included)."""
        out = asdict(self)
        out["warnings"] = list(self.warnings)
        out["diagnostics"] = dict(self.diagnostics)
        return out

    def to_frame(self) -> pd.DataFrame:
        """One tidy row with the columns of :data:`RESULT_COLUMNS`."""
        return results_frame([self])

    @property
    def is_finite(self) -> bool:
        """Whether estimate and interval are finite numbers."""
        return all(math.isfinite(v) for v in (self.estimate, self.ci_low, self.ci_high))


_SCALAR_FIELDS = tuple(f.name for f in fields(EffectResult) if f.name not in ("diagnostics",))


def results_frame(results: Iterable[EffectResult]) -> pd.DataFrame:
    """Concatenate results into the long, tidy results table.

    The table has the columns of :data:`RESULT_COLUMNS` first, then ``ci_level`` and
    ``warnings`` (joined by ``"; "``). Diagnostics stay on the result objects.
    """
    rows = []
    for result in results:
        row = {name: getattr(result, name) for name in _SCALAR_FIELDS}
        row["warnings"] = "; ".join(result.warnings)
        rows.append(row)
    columns = list(RESULT_COLUMNS) + ["ci_level", "warnings"]
    return pd.DataFrame(rows, columns=columns)


#: Significant digits kept for floats in canonical JSON: far beyond any reported
#: precision, yet deaf to last-bit differences from summation order.
CANONICAL_DIGITS = 12


def canonical_value(value: Any) -> Any:
    """A JSON-ready copy of ``value`` with floats rounded to :data:`CANONICAL_DIGITS`.

    Non-finite floats become ``None`` (JSON has no NaN); numpy scalars become Python
    numbers; tuples become lists; mapping keys become strings.
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return {str(k): canonical_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical_value(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return canonical_value(value.item())
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        rounded = float(f"{value:.{CANONICAL_DIGITS}g}")
        return 0.0 if rounded == 0 else rounded
    if value is pd.NA:
        return None
    raise TypeError(f"{type(value).__name__} is not JSON-compatible")


def canonical_json(value: Any) -> str:
    """Canonical JSON text: sorted keys, fixed float precision, UTF-8, newline at end.

    The same value always gives the same bytes, so result files from the same data,
    protocol and seed can be compared byte for byte.
    """
    import json

    return (
        json.dumps(
            canonical_value(value),
            sort_keys=True,
            ensure_ascii=False,
            indent=1,
            separators=(",", ": "),
            allow_nan=False,
        )
        + "\n"
    )
