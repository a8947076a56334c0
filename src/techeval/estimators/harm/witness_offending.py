"""``harm.witness_offending``: offences by protected witnesses against published benchmarks."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from techeval.assumptions import GAO_1984_ANNUAL_RATE, WITSEC_REARREST_SHARE
from techeval.errors import EstimatorError
from techeval.estimators._columns import (
    count_column,
    numeric_column,
    require_columns,
    treatment_column,
)
from techeval.estimators._rows import Constraint, check_parameters, json_number, result_row
from techeval.estimators.base import Estimator, Tags
from techeval.estimators.harm._ratios import rate_ratio_estimate, ratio_diagnostics, share_estimate
from techeval.estimators.registry import register
from techeval.inference import Interval

__all__ = ["WitnessOffending"]


@register("harm.witness_offending")
class WitnessOffending(Estimator):
    """Offences by protected witnesses per witness-year in the programme, and the share
    who offend.

    Parameters
    ----------
    benchmark_share : float
        Protocol benchmark for the share of protected witnesses who offend. Default
        0.17: the US Marshals Service reports that fewer than 17% of protected witnesses
        with criminal histories have been re-arrested and charged
        (:data:`techeval.assumptions.WITSEC_REARREST_SHARE`).
    benchmark_rate : float or None
        Benchmark offences per witness-year. Default (``None``) derives it from GAO
        (1984), which found 21.4% of protected witnesses arrested within two years:
        ``-ln(1 - 0.214) / 2 ≈ 0.120`` per year under a constant hazard
        (:data:`techeval.assumptions.GAO_1984_ANNUAL_RATE`).
    ci_level : float
        Confidence level.

    Notes
    -----
    Among cases with at least one protected witness (``protected_witnesses`` > 0):

    * ``witness_offence_rate = sum(witness_offences) / sum(protected_witnesses *
      duration_days / 365)`` — offences per witness-year. Assumption: each witness is
      at risk for the whole recorded duration of the case (no entry and exit dates are
      recorded); if protection outlasts the case, the rate is overstated.
    * ``witness_offending_share = sum(min(witness_offences, protected_witnesses)) /
      sum(protected_witnesses)``. Only offence counts are recorded, not who offended;
      counting each offence as a different witness makes this an *upper bound* on the
      share of witnesses who offended.

    Both are pooled ratio estimators with cluster-robust intervals (cases as clusters;
    log scale for the rate, logit for the share; exact when there are no offences).
    Each row's diagnostics hold the benchmark, its source, whether the estimate is above
    it and whether the interval excludes it; a warning is raised when the estimate is
    above the benchmark. The benchmarks are long-run programme figures for witnesses
    with criminal histories (re-arrest or arrest, not offences), so the comparison is a
    screen, not a test of equivalence. Family members (``protected_family``) are
    summed in the diagnostics: the programme grew far beyond plan (para 43).

    Missing data: cases with a missing ``witness_offences`` or ``duration_days``, or a
    duration ≤ 0, are left out of the rate (and missing offences out of the share),
    counted in ``diagnostics["rows_dropped"]``.

    References
    ----------
    US Marshals Service. Witness Security Program (WITSEC) facts.

    US General Accounting Office (1984). *Changes needed in the Witness Security
    Program* (GAO/GGD-83-25).

    U.S. Department of Justice, Office of the Inspector General (2005). *The United
    States Marshals Service's Administration of the Witness Security Program*
    (Audit Report 05-10).

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"witness_protection": [True, True, True, False],
    ...     "protected_witnesses": [2, 1, 3, 0], "witness_offences": [1, 0, 0, 0],
    ...     "duration_days": [365, 730, 365, 100], "protected_family": [3, 0, 2, 0]})
    >>> fitted = WitnessOffending().fit(frame)
    >>> round(fitted.result_.estimate, 4), round(fitted.results_[1].estimate, 4)
    (0.1429, 0.1667)
    """

    tags = Tags(roles="treatment_only", techniques=("witness_protection",), adjusted=False)

    #: What each parameter may be, checked in ``fit`` in this order.
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "ci_level": (lambda v: 0 < v < 1, "a number in (0, 1)"),
        "benchmark_share": (lambda v: 0 < v < 1, "a share in (0, 1)"),
        "benchmark_rate": (lambda v: v is None or v > 0, "None or a rate > 0"),
    }

    def __init__(
        self,
        *,
        benchmark_share: float = WITSEC_REARREST_SHARE,
        benchmark_rate: float | None = None,
        ci_level: float = 0.95,
    ):
        self.benchmark_share = benchmark_share
        self.benchmark_rate = benchmark_rate
        self.ci_level = ci_level

    def fit(
        self,
        frame: pd.DataFrame,
        *,
        treatment: str = "witness_protection",
        outcome: str = "witness_offences",
        covariates: Sequence[str] = (),
    ) -> Self:
        """Estimate witness offending and compare it with the benchmarks.

        Parameters
        ----------
        frame
            Case records. Not modified.
        treatment
            Technique column (default ``witness_protection``); used for labelling and,
            if present, to count cases with witnesses but without the technique tagged.
        outcome
            Offence count column (default ``witness_offences``).
        covariates
            Not used (descriptive estimator); accepted for the common contract.

        Returns
        -------
        self
            With ``results_``: ``witness_offence_rate`` then ``witness_offending_share``.
        """
        check_parameters(self, self._parameter_constraints)
        require_columns(
            frame,
            {
                outcome: "outcome",
                "protected_witnesses": "witnesses",
                "duration_days": "time at risk",
            },
        )
        witnesses = count_column(frame, "protected_witnesses")
        offences = count_column(frame, outcome)
        duration = numeric_column(frame, "duration_days")
        with_witnesses = ~np.isnan(witnesses) & (witnesses > 0)
        known_offences = with_witnesses & ~np.isnan(offences)
        at_risk = known_offences & ~np.isnan(duration) & (duration > 0)
        rows_dropped = {
            "cases_with_witnesses": int(with_witnesses.sum()),
            "missing_offences": int((with_witnesses & np.isnan(offences)).sum()),
            "missing_or_zero_duration": int((known_offences & ~at_risk).sum()),
        }
        diagnostics: dict[str, Any] = {"rows_dropped": rows_dropped}
        if treatment in frame.columns:
            treated, missing = treatment_column(frame, treatment)
            diagnostics["cases_with_witnesses_but_technique_not_tagged"] = int(
                (with_witnesses & ~(treated & ~missing)).sum()
            )
        if "protected_family" in frame.columns:
            family = numeric_column(frame, "protected_family")[with_witnesses]
            diagnostics["protected_family_total"] = json_number(np.nansum(family))
            diagnostics["protected_family_missing"] = int(np.isnan(family).sum())
        diagnostics["protected_witnesses_total"] = json_number(witnesses[with_witnesses].sum())
        if not with_witnesses.any():
            raise EstimatorError(
                "no case has protected witnesses (protected_witnesses > 0)",
                hint="Witness offending needs cases from a witness-protection programme",
            )

        benchmark_rate = (
            GAO_1984_ANNUAL_RATE if self.benchmark_rate is None else float(self.benchmark_rate)
        )
        rate = rate_ratio_estimate(
            offences[at_risk], witnesses[at_risk] * duration[at_risk] / 365.0, level=self.ci_level
        )
        rate_benchmark = {
            "benchmark": benchmark_rate,
            "benchmark_source": (
                "GAO (1984): 21.4% of protected witnesses arrested within two years, as a "
                "constant annual rate -ln(1-0.214)/2"
                if self.benchmark_rate is None
                else "protocol"
            ),
        }
        share = share_estimate(
            np.minimum(offences[known_offences], witnesses[known_offences]),
            witnesses[known_offences],
            level=self.ci_level,
        )
        share_benchmark = {
            "benchmark": float(self.benchmark_share),
            "benchmark_source": (
                "US Marshals Service: fewer than 17% of protected witnesses with criminal "
                "histories re-arrested and charged"
                if self.benchmark_share == WITSEC_REARREST_SHARE
                else "protocol"
            ),
            "share_is_upper_bound": True,
        }
        rows = []
        for measure, scale, estimate, benchmark, what in (
            ("witness_offence_rate", "rate_per_witness_year", rate, rate_benchmark, "offence rate"),
            ("witness_offending_share", "share", share, share_benchmark, "share who offended"),
        ):
            comparison = _benchmark_comparison(estimate.interval, benchmark["benchmark"])
            warnings = []
            if comparison["above_benchmark"]:
                certainty = (
                    "and the confidence interval excludes it"
                    if comparison["interval_excludes_benchmark"]
                    else "but the confidence interval includes it"
                )
                warnings.append(
                    f"the protected witnesses' {what} ({estimate.interval.estimate:.3g}) is above "
                    f"the benchmark {benchmark['benchmark']:.3g} {certainty}"
                )
            if estimate.note:
                warnings.append(estimate.note)
            if rows_dropped["missing_offences"] or (
                measure == "witness_offence_rate" and rows_dropped["missing_or_zero_duration"]
            ):
                warnings.append(
                    "some cases with protected witnesses were left out (see diagnostics)"
                )
            rows.append(
                result_row(
                    estimate.interval,
                    family="harm",
                    estimand=None,
                    technique=treatment,
                    outcome=outcome,
                    measure=measure,
                    scale=scale,
                    method=estimate.method,
                    n_treated=estimate.n_clusters,
                    n_control=0,
                    ci_level=self.ci_level,
                    diagnostics={
                        **diagnostics,
                        **ratio_diagnostics(estimate),
                        **benchmark,
                        **comparison,
                        "time_at_risk": "protected_witnesses * duration_days / 365 (assumption)",
                    },
                    warnings=warnings,
                )
            )
        self.results_ = tuple(rows)
        return self


def _benchmark_comparison(interval: Interval, benchmark: float) -> dict[str, Any]:
    estimate, low, high = interval.estimate, interval.ci_low, interval.ci_high
    return {
        "above_benchmark": bool(estimate > benchmark),
        "below_benchmark": bool(estimate < benchmark),
        "interval_excludes_benchmark": bool(
            math.isfinite(low) and math.isfinite(high) and not (low <= benchmark <= high)
        ),
    }
