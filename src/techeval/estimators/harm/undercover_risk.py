"""``harm.undercover_risk``: compromise or injury rates per 1,000 officer-days, by case type."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Self

import numpy as np
import pandas as pd

from techeval.estimators._columns import (
    count_column,
    numeric_column,
    require_columns,
    treatment_column,
)
from techeval.estimators._rows import Constraint, check_parameters, result_row
from techeval.estimators.base import Estimator, Tags
from techeval.estimators.harm._ratios import (
    arm_label,
    exposure_scale,
    rate_ratio_estimate,
    ratio_diagnostics,
)
from techeval.estimators.registry import register

__all__ = ["UndercoverRisk"]


@register("harm.undercover_risk")
class UndercoverRisk(Estimator):
    """Rate at which undercover identities are compromised (and officers injured), per
    1,000 officer-days, by case type.

    Parameters
    ----------
    exposure : str
        Exposure column. ``"auto"`` (default) uses ``undercover_officer_days`` when the
        data have it (an extra column: officer-days spent undercover) and otherwise
        ``officer_days`` (all officer-days of the investigation — a diagnostic note
        says so, since the rate is then diluted by non-undercover work).
    ci_level : float
        Confidence level.

    Notes
    -----
    For the harm ``outcome`` (default ``undercover_compromised``; ``officer_injuries``
    is the other usual one): the pooled rate ``1000 * sum(events) / sum(officer-days)``
    among cases using the technique (first row), among comparator cases, and among
    cases using the technique within each level of every ``covariates`` column (default
    ``offence`` and ``group_structure``; subgroup ``"offence=drug_trafficking"``).
    Intervals are cluster-robust on the log scale (cases as clusters); with no events,
    Garwood's exact Poisson interval. Rows are descriptive (``estimand=None``, method
    ``"ratio_estimator"`` or ``"exact_poisson"``); the adjusted rate ratio is
    ``harm.rates``.

    Missing data: cases with a missing count or exposure, or exposure ≤ 0, are left out
    and counted in ``diagnostics["rows_dropped"]``; a case with a missing breakdown
    value is left out of that breakdown only.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"undercover": [True, True, False, False],
    ...     "undercover_compromised": [1, 0, 0, 0], "officer_days": [500, 1500, 800, 1200],
    ...     "offence": ["fraud", "fraud", "fraud", "fraud"], "group_structure": ["loose"] * 4})
    >>> UndercoverRisk().fit(frame).result_.estimate
    0.5
    """

    tags = Tags(
        covariates="subgroups",
        default_outcomes=("undercover_compromised",),
        techniques=("undercover",),
        adjusted=False,
    )

    #: What each parameter may be, checked in ``fit``.
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "ci_level": (lambda v: 0 < v < 1, "a number in (0, 1)"),
    }

    def __init__(self, *, exposure: str = "auto", ci_level: float = 0.95):
        self.exposure = exposure
        self.ci_level = ci_level

    def fit(
        self,
        frame: pd.DataFrame,
        *,
        treatment: str = "undercover",
        outcome: str = "undercover_compromised",
        covariates: Sequence[str] = ("offence", "group_structure"),
    ) -> Self:
        """Rates of ``outcome`` per 1,000 officer-days, overall and by each ``covariates`` column.

        Parameters
        ----------
        frame
            Case records. Not modified.
        treatment
            Technique column (default ``undercover``).
        outcome
            Count harm (default ``undercover_compromised``).
        covariates
            Columns to break the rate down by (default offence and group structure).

        Returns
        -------
        self
            With ``results_``: technique-arm rate, comparator rate, then one row per
            level of each breakdown column.
        """
        check_parameters(self, self._parameter_constraints)
        covariates = [covariates] if isinstance(covariates, str) else list(covariates)
        if self.exposure == "auto":
            exposure_column = (
                "undercover_officer_days"
                if "undercover_officer_days" in frame.columns
                else "officer_days"
            )
        else:
            exposure_column = self.exposure
        require_columns(
            frame,
            {
                treatment: "treatment",
                outcome: "outcome",
                exposure_column: "exposure",
                **{c: "breakdown" for c in covariates},
            },
        )
        treated, missing_treatment = treatment_column(frame, treatment)
        counts = count_column(frame, outcome)
        exposure = numeric_column(frame, exposure_column)
        keep = ~(missing_treatment | np.isnan(counts) | np.isnan(exposure)) & ~(exposure <= 0)
        rows_dropped = {
            "missing_treatment": int(missing_treatment.sum()),
            "missing_outcome": int(np.isnan(counts).sum()),
            "missing_exposure": int(np.isnan(exposure).sum()),
            "exposure_not_positive": int((exposure <= 0).sum()),
            "total": int((~keep).sum()),
        }
        notes = {"exposure": exposure_column, "rows_dropped": rows_dropped}
        if exposure_column == "officer_days":
            notes["exposure_note"] = (
                "undercover officer-days are not recorded: rates use all officer-days "
                "of the investigation"
            )
        warnings = []
        if rows_dropped["total"]:
            warnings.append(
                f"{rows_dropped['total']} rows with a missing count or exposure, or no "
                "exposure, were left out"
            )
        unit = 1000.0
        scale = (
            exposure_scale("officer_days", unit)
            if exposure_column in ("officer_days", "undercover_officer_days")
            else exposure_scale(exposure_column, unit)
        )
        rows = []
        for arm in (True, False):
            mask = keep & (treated == arm)
            estimate = rate_ratio_estimate(
                counts[mask], exposure[mask], level=self.ci_level, scale=unit
            )
            n = estimate.n_clusters
            rows.append(
                result_row(
                    estimate.interval,
                    family="harm",
                    estimand=None,
                    technique=treatment,
                    outcome=outcome,
                    measure=outcome,
                    scale=scale,
                    method=estimate.method,
                    n_treated=n if arm else 0,
                    n_control=0 if arm else n,
                    ci_level=self.ci_level,
                    subgroup=arm_label(treatment, arm),
                    diagnostics={**ratio_diagnostics(estimate), **notes},
                    warnings=warnings if arm else (),
                )
            )
        for column in covariates:
            levels = frame[column].astype("string")
            for level in sorted(levels[keep & treated].dropna().unique()):
                mask = keep & treated & (levels == level).fillna(False).to_numpy(dtype=bool)
                estimate = rate_ratio_estimate(
                    counts[mask], exposure[mask], level=self.ci_level, scale=unit
                )
                rows.append(
                    result_row(
                        estimate.interval,
                        family="harm",
                        estimand=None,
                        technique=treatment,
                        outcome=outcome,
                        measure=outcome,
                        scale=scale,
                        method=estimate.method,
                        n_treated=estimate.n_clusters,
                        n_control=0,
                        ci_level=self.ci_level,
                        subgroup=f"{column}={level}",
                        diagnostics={**ratio_diagnostics(estimate), "exposure": exposure_column},
                    )
                )
        self.results_ = tuple(rows)
        return self
