"""Words and units for pooled and periodic results (shared by figures and reports).

Numbers are rounded only here, for display, with the single-run report's formatters
(:mod:`techeval.report.text`), so a pooled report reads like a single-run one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from techeval.report import text as tx
from techeval.results import row_adjusted

__all__ = [
    "axis_label",
    "display_factor",
    "fmt_value",
    "headline_rows",
    "is_headline",
    "quantity_phrase",
    "quantity_title",
    "variation_words",
]

_RATIO_SCALES = ("risk_ratio", "odds_ratio", "rate_ratio")


def is_headline(row: Mapping[str, Any]) -> bool:
    """Whether a pooled or trend row is a headline quantity (figures, summaries).

    Headline: whole population, adjusted (not the naive contrast), and either an outcome
    effect as a risk difference, or the adjusted incremental cost or harm index.
    """
    if row.get("subgroup") is not None or not row_adjusted(row):
        return False
    if row.get("family") == "outcome":
        return row.get("scale") == "risk_difference"
    return (row.get("family"), row.get("measure")) in (
        ("cost", "incremental_cost"),
        ("harm", "harm_index"),
    )


def headline_rows(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The headline rows (:func:`is_headline`), one per quantity, in the file's order.

    Two estimators can report the same quantity (the incremental cost comes from the
    incremental-cost estimator and again beside the cost-effectiveness ratio): the first
    row of each (technique, family, outcome, measure, scale) is the headline one, as the
    single-run report takes the first qualifying row.
    """
    seen: set[tuple] = set()
    out = []
    for row in rows:
        if not is_headline(row):
            continue
        key = tuple(row.get(f) for f in ("technique", "family", "outcome", "measure", "scale"))
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out


def display_factor(row: Mapping[str, Any]) -> float:
    """Multiplier from stored to displayed units (risk differences as percentage points)."""
    return 100.0 if row.get("scale") == "risk_difference" else 1.0


def _is_money(row: Mapping[str, Any]) -> bool:
    return row.get("scale") == "currency_per_case" or (
        row.get("scale") == "mean_difference"
        and (row.get("family") == "cost" or str(row.get("outcome", "")).startswith("cost"))
    )


def quantity_phrase(row: Mapping[str, Any]) -> str:
    """What the quantity is about, in running text ("the chance of at least one conviction")."""
    if row.get("family") == "outcome":
        return tx.outcome_phrase(str(row.get("outcome")))
    if row.get("measure") == "incremental_cost":
        return "the cost per case"
    if row.get("measure") == "harm_index":
        return "the harm index (days of imprisonment equivalent per case)"
    if row.get("family") == "harm":
        return tx.harm_label(str(row.get("measure")))
    return tx.measure_label(str(row.get("measure"))).lower()


def quantity_title(row: Mapping[str, Any]) -> str:
    """A short heading: measure, scale and case type."""
    scale = str(row.get("scale", "")).replace("_", " ")
    title = f"{tx.measure_label(str(row.get('measure')))} ({scale})"
    if row.get("subgroup"):
        variable, level = tx.subgroup_label(str(row["subgroup"]))
        title += f", {variable.lower()}: {level}"
    if row.get("method") == "naive":
        title += ", unadjusted"
    return title


def axis_label(row: Mapping[str, Any], currency: str) -> str:
    """An axis label with units."""
    scale = row.get("scale")
    if scale == "risk_difference":
        return "difference in probability (percentage points)"
    if scale in _RATIO_SCALES:
        return f"{str(scale).replace('_', ' ')} (log scale; 1 = no difference)"
    if _is_money(row):
        return f"difference per case ({currency})"
    if row.get("measure") == "harm_index":
        return "difference in harm index (days of imprisonment equivalent per case)"
    return f"difference in {str(row.get('measure')).replace('_', ' ')}"


def fmt_value(row: Mapping[str, Any], value: Any, currency: str, *, unit: bool = False) -> str:
    """A pooled or regional value shown in the row's units ("8.3", "$12,000", "1.4")."""
    if not isinstance(value, int | float) or not math.isfinite(value):
        return "—"
    scale = row.get("scale")
    if scale == "risk_difference":
        return tx.fmt_pp(value) + (" percentage points" if unit else "")
    if scale in _RATIO_SCALES:
        return tx.fmt_ratio(value)
    if _is_money(row):
        return tx.fmt_money(value, currency)
    return tx.fmt_number(value, 3)


def fmt_interval(
    row: Mapping[str, Any], low: Any, high: Any, currency: str, *, unit: bool = False
) -> str:
    """``"6.1 to 11"`` in the row's units; ``"—"`` when either limit is missing."""
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in (low, high)):
        return "—"
    return f"{fmt_value(row, low, currency)} to {fmt_value(row, high, currency, unit=unit)}"


def fmt_p(p: Any) -> str:
    """A p-value for reading: ``p < 0.001``, ``p = 0.04``."""
    if not isinstance(p, int | float) or not math.isfinite(p):
        return "p not available"
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def variation_words(i_squared: float) -> str:
    """How much of the spread between estimates is real variation, in words.

    Bands follow the Cochrane Handbook's rough guide to I² (section 10.10.2):
    below 30% might not be important, 30–50% moderate, 50–75% substantial, above 75%
    considerable.
    """
    if i_squared < 0.30:
        return "little"
    if i_squared < 0.50:
        return "moderate"
    if i_squared < 0.75:
        return "substantial"
    return "considerable"
