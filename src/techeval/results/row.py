"""The result row every estimator produces.

A result is a value: a frozen dataclass with explicit field names (as in statsmodels'
result classes and pingouin's tidy outputs). Many results concatenate into one long,
tidy table (:func:`techeval.results.table.results_frame`) that the synthesis step and
the reports read; nothing downstream recomputes a statistic.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from techeval.results.table import results_frame

__all__ = ["INTERVAL_FIELDS", "EffectResult"]

#: The numbers of a row that an interval gives (``nan`` where not defined).
INTERVAL_FIELDS = ("estimate", "std_error", "ci_low", "ci_high", "p_value")


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

    @classmethod
    def from_interval(cls, interval: Any = None, /, **fields: Any) -> EffectResult:
        """A row from an interval and its labels, numbers not given left ``nan``.

        Parameters
        ----------
        interval
            Any object with ``estimate``, ``std_error``, ``ci_low``, ``ci_high`` and
            ``p_value`` attributes (e.g. :class:`techeval.inference.Interval`), or
            ``None`` when the row has no interval.
        **fields
            The other fields of the row (``technique``, ``outcome``, ``measure``,
            ``scale``, ``estimand``, ``method``, ``n_treated``, ``n_control``, ...). A
            number given here wins over the interval's (e.g. ``estimate=`` for a
            descriptive row without an interval).

        Returns
        -------
        EffectResult
            ``std_error``, ``ci_low``, ``ci_high`` and ``p_value`` (and ``estimate``)
            are ``nan`` where neither the interval nor ``fields`` gives them.

        Examples
        --------
        >>> row = EffectResult.from_interval(
        ...     None, technique="t", outcome="y", measure="y", scale="mean",
        ...     estimand=None, method="mean", estimate=2.5, n_treated=40, n_control=0)
        >>> row.estimate, math.isnan(row.std_error)
        (2.5, True)
        """
        numbers = {name: getattr(interval, name, math.nan) for name in INTERVAL_FIELDS}
        return cls(**{**numbers, **fields})

    def to_dict(self) -> dict[str, Any]:
        """All fields as a plain dictionary (diagnostics included)."""
        out = asdict(self)
        out["warnings"] = list(self.warnings)
        out["diagnostics"] = dict(self.diagnostics)
        return out

    def to_frame(self) -> pd.DataFrame:
        """One tidy row with the columns of :data:`~techeval.results.table.RESULT_COLUMNS`."""
        return results_frame([self])

    @property
    def is_finite(self) -> bool:
        """Whether estimate and interval are finite numbers."""
        return all(math.isfinite(v) for v in (self.estimate, self.ci_low, self.ci_high))
