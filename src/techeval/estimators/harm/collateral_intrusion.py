"""``harm.collateral_intrusion``: the non-incriminating share of intercepts, and non-suspects."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from techeval.errors import EstimatorError
from techeval.estimators._columns import (
    count_column,
    numeric_column,
    require_columns,
    treatment_column,
)
from techeval.estimators._rows import Constraint, check_parameters, result_row
from techeval.estimators.base import Estimator, Tags
from techeval.estimators.harm._ratios import rate_ratio_estimate, ratio_diagnostics, share_estimate
from techeval.estimators.registry import register
from techeval.inference import Interval, bootstrap_interval, bootstrap_replicates

__all__ = ["CollateralIntrusion"]


@register("harm.collateral_intrusion")
class CollateralIntrusion(Estimator):
    """Uninvolved people intercepted by electronic surveillance, per case and per
    suspect, and the share of intercepts that were not incriminating.

    Among cases that used the technique (default ``electronic_surveillance``): the share
    of intercepted communications that were not incriminating, pooled over cases, and
    the non-suspects intercepted per case and per suspect.

    Parameters
    ----------
    inference : {"linearisation", "bootstrap"}
        Cluster-robust (cases as clusters) linearisation of the ratio estimator, or the
        case-resampling bootstrap of :func:`techeval.inference.bootstrap_replicates`
        (percentile interval).
    n_bootstrap : int
        Bootstrap replicates.
    n_jobs : int or None
        joblib workers for the bootstrap.
    ci_level : float
        Confidence level.
    random_state : int, numpy.random.Generator or None
        Seed for the bootstrap.

    Notes
    -----
    ``share = sum_i (N_i - A_i) / sum_i N_i`` with ``N_i`` = ``intercepts_total`` and
    ``A_i`` = ``intercepts_incriminating``: a ratio estimator, so cases with many
    intercepts weigh more (it answers "what share of all intercepted communications").
    Its influence is ``psi_i = ((N_i - A_i) - share N_i) / mean(N)``; the interval is
    built on the logit scale from ``se = sqrt(sum psi_i^2) / n`` so it stays inside
    (0, 1). Intercepts within a case are correlated (one line, one target); treating
    cases as clusters allows that. Non-suspects per suspect is the ratio
    ``sum non_suspects_intercepted / sum n_suspects`` with the same cluster-robust,
    log-scale interval.

    Missing data: cases with a missing ``intercepts_total`` or
    ``intercepts_incriminating`` (intercept logs not kept) are left out of the share;
    cases with no intercepts contribute nothing to it and are counted separately; cases
    with a missing ``non_suspects_intercepted`` are left out of the per-case and
    per-suspect rows. All are counted in the diagnostics. ``covariates`` are not used:
    these are descriptive quantities (the adjusted rate ratio of
    ``non_suspects_intercepted`` comes from ``harm.rates``).

    The rows carry ``estimand=None``, ``n_treated`` = cases used and ``n_control=0``.

    References
    ----------
    Cochran, W. G. (1977). *Sampling Techniques* (3rd ed.), ch. 6 (ratio estimators).
    Wiley.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"electronic_surveillance": [True] * 4 + [False],
    ...     "intercepts_total": [100, 50, 200, 10, 0], "intercepts_incriminating": [20, 5, 60, 1, 0],
    ...     "non_suspects_intercepted": [4, 2, 9, 0, 0], "n_suspects": [2, 1, 4, 1, 3]})
    >>> fitted = CollateralIntrusion().fit(frame)
    >>> round(fitted.result_.estimate, 4)
    0.7611
    """

    tags = Tags(
        roles="treatment_only",
        techniques=("electronic_surveillance",),
        adjusted=False,
        inference_names={"influence_function": "linearisation"},
    )

    #: What each parameter may be, checked in ``fit`` in this order.
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "inference": (lambda v: v in ("linearisation", "bootstrap"), "linearisation or bootstrap"),
        "ci_level": (lambda v: 0 < v < 1, "a number in (0, 1)"),
        "n_bootstrap": (lambda v: int(v) >= 20, "an integer >= 20"),
    }

    def __init__(
        self,
        *,
        inference: str = "linearisation",
        n_bootstrap: int = 1000,
        n_jobs: int | None = 1,
        ci_level: float = 0.95,
        random_state: int | np.random.Generator | None = None,
    ):
        self.inference = inference
        self.n_bootstrap = n_bootstrap
        self.n_jobs = n_jobs
        self.ci_level = ci_level
        self.random_state = random_state

    def fit(
        self,
        frame: pd.DataFrame,
        *,
        treatment: str = "electronic_surveillance",
        outcome: str = "collateral_intrusion_share",
        covariates: Sequence[str] = (),
    ) -> Self:
        """Estimate the collateral-intrusion share and non-suspects intercepted.

        Parameters
        ----------
        frame
            Case records. Not modified.
        treatment
            Technique whose cases are described (default ``electronic_surveillance``).
        outcome
            Label of the primary measure (default ``"collateral_intrusion_share"``).
        covariates
            Not used (descriptive estimator); accepted for the common contract.

        Returns
        -------
        self
            With ``results_``: the share first, then non-suspects per case and per
            suspect.
        """
        check_parameters(self, self._parameter_constraints)
        require_columns(
            frame,
            {
                treatment: "treatment",
                "intercepts_total": "intercepts",
                "intercepts_incriminating": "intercepts",
                "non_suspects_intercepted": "harm",
                "n_suspects": "suspects",
            },
        )
        treated, missing_treatment = treatment_column(frame, treatment)
        used = treated & ~missing_treatment
        total = count_column(frame, "intercepts_total")[used]
        incriminating = count_column(frame, "intercepts_incriminating")[used]
        logged = ~(np.isnan(total) | np.isnan(incriminating))
        with_intercepts = logged & (total > 0)
        if (incriminating[logged] > total[logged]).any():
            raise EstimatorError(
                "intercepts_incriminating exceeds intercepts_total in some cases",
                hint="Validate the case file first (techeval.cases.validate_frame)",
            )
        n_cases = int(used.sum())
        rows_dropped = {
            "cases_with_technique": n_cases,
            "missing_intercept_log": int((~logged).sum()),
            "no_intercepts": int((logged & (total == 0)).sum()),
        }
        warnings = []
        if rows_dropped["missing_intercept_log"]:
            warnings.append(
                f"{rows_dropped['missing_intercept_log']} {treatment} cases without an intercept "
                "log were left out of the share"
            )
        not_incriminating = (total - incriminating)[with_intercepts]
        totals = total[with_intercepts]
        share = share_estimate(not_incriminating, totals, level=self.ci_level)
        interval, method = share.interval, share.method
        diagnostics: dict[str, Any] = {**ratio_diagnostics(share), "rows_dropped": rows_dropped}
        if self.inference == "bootstrap" and share.n_clusters >= 2:
            replicates = bootstrap_replicates(
                partial(_share_statistic, numerator=not_incriminating, denominator=totals),
                share.n_clusters,
                n_replicates=int(self.n_bootstrap),
                random_state=self.random_state,
                n_jobs=self.n_jobs,
            )[:, 0]
            boot = bootstrap_interval(replicates, interval.estimate, level=self.ci_level)
            interval = Interval(boot.estimate, boot.std_error, boot.ci_low, boot.ci_high, math.nan)
            method = "ratio_estimator_bootstrap"
            diagnostics["n_bootstrap"] = int(self.n_bootstrap)
        if share.note:
            warnings.append(share.note)
        rows = [
            result_row(
                interval,
                family="harm",
                estimand=None,
                technique=treatment,
                outcome=outcome,
                measure="collateral_intrusion_share",
                scale="share",
                method=method,
                n_treated=share.n_clusters,
                n_control=0,
                ci_level=self.ci_level,
                diagnostics=diagnostics,
                warnings=warnings,
            )
        ]
        non_suspects = count_column(frame, "non_suspects_intercepted")[used]
        suspects = numeric_column(frame, "n_suspects")[used]
        known = ~(np.isnan(non_suspects) | np.isnan(suspects))
        dropped = {"missing_non_suspects_or_suspects": int((~known).sum())}
        for scale, denominator, name in (
            ("rate_per_case", np.ones(int(known.sum())), "sample_mean"),
            ("rate_per_suspect", suspects[known], "ratio_estimator"),
        ):
            estimate = rate_ratio_estimate(non_suspects[known], denominator, level=self.ci_level)
            rows.append(
                result_row(
                    estimate.interval,
                    family="harm",
                    estimand=None,
                    technique=treatment,
                    outcome="non_suspects_intercepted",
                    measure="non_suspects_intercepted",
                    scale=scale,
                    method=name if estimate.method == "ratio_estimator" else estimate.method,
                    n_treated=estimate.n_clusters,
                    n_control=0,
                    ci_level=self.ci_level,
                    diagnostics={**ratio_diagnostics(estimate), "rows_dropped": dropped},
                )
            )
        self.results_ = tuple(rows)
        return self


def _share_statistic(
    indices: np.ndarray,
    seed: np.random.SeedSequence,
    *,
    numerator: np.ndarray,
    denominator: np.ndarray,
) -> np.ndarray:
    """Pooled share on a bootstrap resample of cases (module level: picklable)."""
    return np.array([numerator[indices].sum() / denominator[indices].sum()])
