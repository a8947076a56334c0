"""``harm.index`` and ``harm.cost``: weighted harm per case and its adjusted difference.

Also the per-case sums themselves, :func:`harm_cost_per_case` (used by the cost family
too) and :func:`harm_index_per_case`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from techeval.assumptions import DEFAULT_HARM_UNIT_COSTS, DEFAULT_HARM_WEIGHTS
from techeval.errors import ArgumentError
from techeval.estimators._columns import numeric_column
from techeval.estimators._rows import Constraint, check_parameters, json_number
from techeval.estimators.base import Estimator, Tags
from techeval.estimators.harm.rates import _aipw_rows
from techeval.estimators.registry import register

__all__ = ["HarmCost", "HarmIndex", "harm_cost_per_case", "harm_index_per_case"]


def _weighted_harm_sum(frame: pd.DataFrame, weights: Mapping[str, float], what: str) -> pd.Series:
    """``sum_h weights[h] * frame[h]`` per row; missing if any weighted cell is missing."""
    if not isinstance(frame, pd.DataFrame):
        raise ArgumentError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    if not weights:
        raise ArgumentError(f"no harm columns were given {what}", hint="Name at least one column")
    absent = [column for column in weights if column not in frame.columns]
    if absent:
        raise ArgumentError(
            f"the harm column(s) {', '.join(map(repr, absent))} are not in the data",
            hint=f"Add them to the case file, or give them no {what[:-1]} (drop the entry)",
        )
    bad = {}
    for column, weight in weights.items():
        try:
            value = float(weight)
        except (TypeError, ValueError):
            value = math.nan
        if not (math.isfinite(value) and value >= 0):
            bad[column] = weight
    if bad:
        raise ArgumentError(
            f"{what} must be finite numbers >= 0; got {bad}",
            hint="Use 0 to leave a harm out of the sum",
        )
    total = np.zeros(len(frame))
    missing = np.zeros(len(frame), dtype=bool)
    for column, weight in weights.items():
        numbers = numeric_column(frame, column, role="harm")
        missing |= np.isnan(numbers)
        total += float(weight) * np.nan_to_num(numbers)
    total[missing] = np.nan
    return pd.Series(total, index=frame.index, dtype="float64")


def harm_cost_per_case(frame: pd.DataFrame, unit_costs: Mapping[str, float]) -> pd.Series:
    """Monetised harm per case: the sum over harm columns of unit cost × count.

    Parameters
    ----------
    frame
        Case records (the analysis table from :func:`techeval.cases.validate_frame`, or
        any frame with the harm columns). Not modified.
    unit_costs
        Harm column → cost per event (≥ 0, in the currency of ``cost_total``), e.g.
        :data:`techeval.assumptions.DEFAULT_HARM_UNIT_COSTS`. Yes/no columns count as 0/1 events.

    Returns
    -------
    pandas.Series
        ``float64``, same index as ``frame``, named ``"harm_cost"``.

    Raises
    ------
    ArgumentError
        If a costed column is absent or not numeric, or a unit cost is negative or not
        finite.

    Notes
    -----
    ``harm_cost_i = sum_h c_h * n_ih``. Missing-data rule: a case's monetised harm is
    missing (``nan``) if *any* costed count is missing — a partial sum would understate
    the harm of exactly the cases with poor records. Estimators drop such cases and
    count them; to keep them, give the harm with missing counts a unit cost of 0 (or
    leave it out of ``unit_costs``).

    Examples
    --------
    >>> import pandas as pd
    >>> cases = pd.DataFrame({"officer_injuries": [0, 2, None], "third_party_harms": [1, 0, 0]})
    >>> harm_cost_per_case(cases, {"officer_injuries": 100.0, "third_party_harms": 10.0}).tolist()
    [10.0, 200.0, nan]
    """
    return _weighted_harm_sum(frame, unit_costs, "unit costs").rename("harm_cost")


def harm_index_per_case(
    frame: pd.DataFrame, weights: Mapping[str, float] | None = None
) -> pd.Series:
    """Harm index per case: the severity-weighted sum of harm events.

    Parameters
    ----------
    frame
        Case records with the weighted harm columns. Not modified.
    weights
        Harm column → severity weight (≥ 0); default :data:`techeval.assumptions.DEFAULT_HARM_WEIGHTS`.

    Returns
    -------
    pandas.Series
        ``float64``, same index as ``frame``, named ``"harm_index"``.

    Notes
    -----
    ``harm_index_i = sum_h w_h * n_ih`` (Sherman, Neyroud & Neyroud 2016 weigh crimes by
    the sentencing-guideline starting point in days; the defaults follow that spirit).
    Missing-data rule as for :func:`harm_cost_per_case`: missing if any weighted count
    is missing.

    References
    ----------
    Sherman, L., Neyroud, P. W., & Neyroud, E. (2016). The Cambridge Crime Harm Index:
    measuring total harm from crime based on sentencing guidelines. *Policing*, 10(3),
    171–183.

    Examples
    --------
    >>> import pandas as pd
    >>> cases = pd.DataFrame({"officer_injuries": [1, 0], "evidence_excluded": [False, True]})
    >>> harm_index_per_case(cases, {"officer_injuries": 182, "evidence_excluded": 30}).tolist()
    [182.0, 30.0]
    """
    chosen = DEFAULT_HARM_WEIGHTS if weights is None else weights
    return _weighted_harm_sum(frame, chosen, "weights").rename("harm_index")


class _WeightedHarm(Estimator):
    """A per-case weighted sum of harms and its doubly robust difference by technique."""

    tags = Tags(roles="treatment_covariates")

    _measure: ClassVar[str] = ""

    #: What each parameter may be, checked in ``fit``.
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "ci_level": (lambda v: 0 < v < 1, "a number in (0, 1)"),
    }

    def _per_case(
        self, frame: pd.DataFrame
    ) -> tuple[pd.Series, dict[str, float]]:  # pragma: no cover
        raise NotImplementedError

    def fit(
        self,
        frame: pd.DataFrame,
        *,
        treatment: str,
        outcome: str | None = None,
        covariates: Sequence[str] = (),
    ) -> Self:
        """Compute the per-case quantity and its adjusted difference by ``treatment``.

        Parameters
        ----------
        frame
            Case records with the weighted harm columns. Not modified.
        treatment
            Boolean technique column.
        outcome
            Ignored (the outcome is the per-case quantity, named by the measure);
            accepted for the common contract.
        covariates
            Columns the AIPW nuisance models adjust for.

        Returns
        -------
        self
            With ``results_``: the ``outcome.aipw`` rows (mean difference first),
            re-issued with ``family="harm"`` and this estimator's measure.
        """
        check_parameters(self, self._parameter_constraints)
        values, weights = self._per_case(frame)
        data = frame.assign(**{self._measure: values})
        extra = {
            "weights" if self._measure == "harm_index" else "unit_costs": weights,
            "per_case_mean": json_number(values.mean()),
            "per_case_missing": int(values.isna().sum()),
            "missing_rule": "a case's value is missing if any weighted count is missing",
        }
        self.results_ = _aipw_rows(
            data,
            treatment=treatment,
            outcome_column=self._measure,
            measure=self._measure,
            covariates=covariates,
            aipw_params=self.aipw_params,
            # a weighted sum of counts is a continuous outcome, whatever its values
            defaults={
                "random_state": self.random_state,
                "ci_level": self.ci_level,
                "outcome_type": "continuous",
            },
            extra=extra,
        )
        return self


@register("harm.index")
class HarmIndex(_WeightedHarm):
    """Severity-weighted harm per case (days-of-imprisonment weights), adjusted
    difference by AIPW.

    Parameters
    ----------
    weights : mapping or None
        Harm column → severity weight; default :data:`techeval.assumptions.DEFAULT_HARM_WEIGHTS` (each entry
        documented with its source or marked as an assumption).
    aipw_params : mapping or None
        Extra parameters for ``outcome.aipw`` (e.g. ``{"nuisance": "gbm"}``).
    ci_level : float
        Confidence level.
    random_state : int, numpy.random.Generator or None
        Seed for the cross-fitting folds.

    Notes
    -----
    ``harm_index_i = sum_h w_h n_ih`` (:func:`harm_index_per_case`), in the spirit of the
    Cambridge Crime Harm Index (Sherman, Neyroud & Neyroud 2016). The effect is the
    doubly robust mean difference of the registered ``outcome.aipw`` estimator with the
    index as a continuous outcome; rows have ``measure="harm_index"``,
    ``scale="mean_difference"``, ``method="aipw"`` and ``family="harm"``. The index is
    per case, not per unit of exposure: if a technique lengthens investigations, the
    harm that comes with the extra time counts. Missing data: a case's index is missing
    if any weighted count is; ``outcome.aipw`` drops those cases and counts them.

    References
    ----------
    Sherman, L., Neyroud, P. W., & Neyroud, E. (2016). The Cambridge Crime Harm Index:
    measuring total harm from crime based on sentencing guidelines. *Policing*, 10(3),
    171–183.
    """

    _measure = "harm_index"

    def __init__(
        self,
        *,
        weights: Mapping[str, float] | None = None,
        aipw_params: Mapping[str, Any] | None = None,
        ci_level: float = 0.95,
        random_state: int | np.random.Generator | None = None,
    ):
        self.weights = weights
        self.aipw_params = aipw_params
        self.ci_level = ci_level
        self.random_state = random_state

    def _per_case(self, frame: pd.DataFrame) -> tuple[pd.Series, dict[str, float]]:
        weights = dict(DEFAULT_HARM_WEIGHTS if self.weights is None else self.weights)
        return harm_index_per_case(frame, weights), {k: float(v) for k, v in weights.items()}


@register("harm.cost")
class HarmCost(_WeightedHarm):
    """Monetised harm per case (the protocol's unit costs), adjusted difference by AIPW.

    Parameters
    ----------
    unit_costs : mapping or None
        Harm column → cost per event; default :data:`techeval.assumptions.DEFAULT_HARM_UNIT_COSTS`.
    aipw_params : mapping or None
        Extra parameters for ``outcome.aipw``.
    ci_level : float
        Confidence level.
    random_state : int, numpy.random.Generator or None
        Seed for the cross-fitting folds.

    Notes
    -----
    ``harm_cost_i = sum_h c_h n_ih`` (:func:`harm_cost_per_case`); the adjusted
    difference is ``outcome.aipw``'s mean difference (``measure="harm_cost"``,
    ``scale="mean_difference"``, ``family="harm"``). This is the monetised harm the
    benefit–cost synthesis subtracts. Missing data as for :class:`HarmIndex`.
    """

    _measure = "harm_cost"

    def __init__(
        self,
        *,
        unit_costs: Mapping[str, float] | None = None,
        aipw_params: Mapping[str, Any] | None = None,
        ci_level: float = 0.95,
        random_state: int | np.random.Generator | None = None,
    ):
        self.unit_costs = unit_costs
        self.aipw_params = aipw_params
        self.ci_level = ci_level
        self.random_state = random_state

    def _per_case(self, frame: pd.DataFrame) -> tuple[pd.Series, dict[str, float]]:
        costs = dict(DEFAULT_HARM_UNIT_COSTS if self.unit_costs is None else self.unit_costs)
        return harm_cost_per_case(frame, costs), {k: float(v) for k, v in costs.items()}
