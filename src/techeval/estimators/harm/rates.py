"""``harm.rates``: harm rates per case and per exposure, and the adjusted rate ratio."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar, NamedTuple, Self

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from techeval.assumptions import EXPOSURE_UNITS, HARM_EXPOSURE
from techeval.cases.schema import TECHNIQUES
from techeval.errors import EstimatorError
from techeval.estimators._columns import (
    count_column,
    missing_values,
    numeric_column,
    require_columns,
    treatment_column,
)
from techeval.estimators._glm.design import BlockDesign
from techeval.estimators._nuisance import build_design
from techeval.estimators._rows import Constraint, check_parameters, json_number, result_row
from techeval.estimators.base import Estimator, Tags
from techeval.estimators.harm._models import (
    fit_negative_binomial,
    fit_poisson,
    full_rank_columns,
    overdispersion_test,
)
from techeval.estimators.harm._ratios import (
    arm_label,
    continuity_corrected_rate_ratio,
    exact_conditional_rate_ratio_interval,
    exposure_scale,
    log_wald,
    rate_ratio_estimate,
    ratio_diagnostics,
)
from techeval.estimators.registry import get_estimator, register
from techeval.inference import Interval
from techeval.results import EffectResult

__all__ = ["HarmRates"]

_MODELS = ("auto", "poisson", "negative_binomial")
# statsmodels' GLM returns the HC0 sandwich for HC1-HC3 too, so only HC0 is offered
_COV_TYPES = ("HC0", "nonrobust")


def _rate_rows(
    counts: np.ndarray,
    exposure: np.ndarray | None,
    *,
    exposure_column: str | None,
    unit: float,
    technique: str,
    outcome: str,
    arm: bool | None,
    subgroup: str | None,
    ci_level: float,
) -> list[EffectResult]:
    """Descriptive rows: events per case and, with an exposure, per ``unit`` of exposure."""
    n = int(counts.size)
    n_treated, n_control = (n, 0) if arm in (True, None) else (0, n)
    rows = []
    per_case = rate_ratio_estimate(counts, np.ones(n), level=ci_level)
    rows.append(
        result_row(
            per_case.interval,
            family="harm",
            estimand=None,
            technique=technique,
            outcome=outcome,
            measure=outcome,
            scale="rate_per_case",
            method="sample_mean" if per_case.method == "ratio_estimator" else per_case.method,
            n_treated=n_treated,
            n_control=n_control,
            ci_level=ci_level,
            subgroup=subgroup,
            diagnostics=ratio_diagnostics(per_case),
        )
    )
    if exposure is not None and exposure_column is not None:
        per_exposure = rate_ratio_estimate(counts, exposure, level=ci_level, scale=unit)
        rows.append(
            result_row(
                per_exposure.interval,
                family="harm",
                estimand=None,
                technique=technique,
                outcome=outcome,
                measure=outcome,
                scale=exposure_scale(exposure_column, unit),
                method=per_exposure.method,
                n_treated=n_treated,
                n_control=n_control,
                ci_level=ci_level,
                subgroup=subgroup,
                diagnostics={**ratio_diagnostics(per_exposure), "exposure": exposure_column},
            )
        )
    return rows


def _relabel(result: EffectResult, *, measure: str, extra: Mapping[str, Any]) -> EffectResult:
    """An outcome-family row re-issued as a harm row (family, measure and diagnostics)."""
    return replace(
        result,
        family="harm",
        measure=measure,
        outcome=measure,
        diagnostics={**dict(result.diagnostics), **extra},
    )


def _aipw_rows(
    frame: pd.DataFrame,
    *,
    treatment: str,
    outcome_column: str,
    measure: str,
    covariates: Sequence[str],
    aipw_params: Mapping[str, Any] | None,
    defaults: Mapping[str, Any],
    extra: Mapping[str, Any],
) -> tuple[EffectResult, ...]:
    """Fit the registered ``outcome.aipw`` estimator and re-issue its rows as harm rows."""
    params = {**defaults, **dict(aipw_params or {})}
    estimator = get_estimator("outcome.aipw")(**params)
    estimator.fit(frame, treatment=treatment, outcome=outcome_column, covariates=covariates)
    return tuple(_relabel(r, measure=measure, extra=extra) for r in estimator.results_)


class _CountCases(NamedTuple):
    """The complete cases of a count harm, and the rows left out by reason."""

    keep: np.ndarray  # over the frame's rows: the rows used
    treated: np.ndarray  # over the rows used, as are counts and exposure
    counts: np.ndarray
    exposure: np.ndarray | None
    rows_dropped: dict[str, Any]


@register("harm.rates")
class HarmRates(Estimator):
    """Adjusted rate ratios of harms (Poisson or negative binomial model with an
    exposure offset, robust standard errors) and rates per case in each arm.

    For a count harm (``officer_injuries``, ``undercover_compromised``,
    ``third_party_harms``, ``complaints_upheld``, ``non_suspects_intercepted``): the
    adjusted rate ratio of cases using the technique against the comparator from a
    Poisson GLM with log-exposure offset and sandwich standard errors, a negative-binomial
    fit alongside when the counts are overdispersed, and descriptive rates per arm. For a
    yes/no harm (``evidence_excluded``): the doubly robust risk difference (plus risk
    and odds ratios) from the registered ``outcome.aipw`` estimator.

    Parameters
    ----------
    exposure : str or None
        Exposure column for the offset. ``"auto"`` (default) uses ``officer_days`` for
        ``officer_injuries`` and ``undercover_compromised`` and ``duration_days`` for the
        other count harms (:data:`techeval.assumptions.HARM_EXPOSURE`); any other harm gets no offset.
        ``None``: no offset (counts per case).
    exposure_unit : float or None
        Unit the descriptive rates are expressed in; default 1,000 for ``officer_days``
        and 365 for ``duration_days`` (:data:`techeval.assumptions.EXPOSURE_UNITS`), else 1. The rate ratio
        does not depend on it.
    model : {"auto", "poisson", "negative_binomial"}
        ``"auto"``: the Poisson rate ratio is primary and a negative-binomial (NB2) fit
        is reported alongside when the Cameron–Trivedi test finds overdispersion
        (one-sided p < ``overdispersion_alpha``). ``"poisson"``: Poisson only.
        ``"negative_binomial"``: NB2 primary, Poisson alongside.
    overdispersion_alpha : float
        Level of the overdispersion test.
    cov_type : {"HC0", "nonrobust"}
        Covariance of both fits (named as statsmodels' ``cov_type``); default HC0, the
        sandwich with divisor ``n`` used throughout techeval (statsmodels' GLM gives the
        same matrix for HC1–HC3, so they are not offered).
    adjust_for_techniques : bool
        Add the other technique columns (those of :data:`techeval.cases.TECHNIQUES` in
        the data) to the model. They share the drivers of the technique studied and have
        their own multiplicative effects on the rate; leaving them out misspecifies the
        log-linear model.
    spline_knots : int
        Knots of the cubic B-splines for continuous covariates (``0``: linear terms);
        text and boolean covariates are one-hot encoded — the encoding of the outcome
        estimators (``techeval.estimators._nuisance.build_design``).
    aipw_params : mapping or None
        Extra parameters for ``outcome.aipw`` (yes/no harms only).
    ci_level : float
        Confidence level.
    random_state : int, numpy.random.Generator or None
        Seed for the cross-fitting folds of ``outcome.aipw`` (yes/no harms only).

    Notes
    -----
    Model: ``log E[Y_i] = log(E_i) + b0 + b_T T_i + g' O_i + h(X_i)`` with ``E_i`` the
    exposure, ``O_i`` the other techniques and ``h`` the covariate terms; the rate ratio
    is ``exp(b_T)``. The Poisson quasi-likelihood estimate is consistent whatever the
    variance of the counts if the mean model is right, and the sandwich standard error
    keeps the interval valid under overdispersion (Cameron & Trivedi 2013; Zou 2004).
    ``exp(b_T)`` is the covariate-conditional rate ratio; under a constant rate ratio it
    equals the marginal causal one, so rows carry ``estimand="ATE"``.

    Overdispersion: Cameron–Trivedi regression test (NB2 alternative) and Pearson
    χ²/df, both in ``diagnostics["overdispersion"]``.

    Missing data and exposure: rows with a missing treatment, count, exposure or
    covariate, and rows with exposure ≤ 0 (no time at risk: the log offset is
    undefined), are left out of every row of the result and counted by reason in
    ``diagnostics["rows_dropped"]``, with a warning.

    Zero events: if an arm has no events the log-linear model has no finite estimate.
    The primary row is then the crude rate ratio with 0.5 added to each arm's events and
    its log-scale Wald interval (method ``"continuity_corrected_rate_ratio"``,
    ``estimand=None``: not adjusted), with a warning; the exact conditional interval
    (Clopper–Pearson on ``y1 | y1 + y0``) is in the diagnostics. With no events in
    either arm the ratio is not estimable (``nan``, with a warning).

    Both models are fitted by techeval's own Newton iterations over row blocks
    (:mod:`techeval.estimators.harm._models`), so memory stays flat at a million cases;
    they are validated against direct statsmodels fits (same coefficient and robust
    standard error to 1e-8) and on synthetic data with known rate ratios.

    References
    ----------
    Cameron, A. C., & Trivedi, P. K. (1990). Regression-based tests for overdispersion in
    the Poisson model. *Journal of Econometrics*, 46(3), 347–364.

    Cameron, A. C., & Trivedi, P. K. (2013). *Regression Analysis of Count Data* (2nd
    ed.). Cambridge University Press.

    Zou, G. (2004). A modified Poisson regression approach to prospective studies with
    binary data. *American Journal of Epidemiology*, 159(7), 702–706.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> t = rng.random(400) < 0.5
    >>> days = rng.integers(200, 2000, 400)
    >>> frame = pd.DataFrame({"t": t, "officer_days": days,
    ...                       "officer_injuries": rng.poisson(days / 1000 * np.where(t, 2.0, 1.0))})
    >>> fitted = HarmRates().fit(frame, treatment="t", outcome="officer_injuries")
    >>> fitted.result_.scale, bool(1.4 < fitted.result_.estimate < 2.8)
    ('rate_ratio', True)
    """

    #: the harm columns differ between case files: a protocol names them
    tags = Tags(roles="per_outcome", adjusted=True, needs_outcomes=True)

    #: What each parameter may be, checked in ``fit`` in this order.
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "model": (lambda v: v in _MODELS, "auto, poisson or negative_binomial"),
        "cov_type": (lambda v: v in _COV_TYPES, ", ".join(_COV_TYPES)),
        "ci_level": (lambda v: 0 < v < 1, "a number in (0, 1)"),
        "overdispersion_alpha": (lambda v: 0 < v < 1, "a number in (0, 1)"),
        "spline_knots": (lambda v: int(v) >= 0, "an integer >= 0"),
        "exposure_unit": (lambda v: v is None or v > 0, "None or a number > 0"),
    }

    def __init__(
        self,
        *,
        exposure: str | None = "auto",
        exposure_unit: float | None = None,
        model: str = "auto",
        overdispersion_alpha: float = 0.05,
        cov_type: str = "HC0",
        adjust_for_techniques: bool = True,
        spline_knots: int = 5,
        aipw_params: Mapping[str, Any] | None = None,
        ci_level: float = 0.95,
        random_state: int | np.random.Generator | None = None,
    ):
        self.exposure = exposure
        self.exposure_unit = exposure_unit
        self.model = model
        self.overdispersion_alpha = overdispersion_alpha
        self.cov_type = cov_type
        self.adjust_for_techniques = adjust_for_techniques
        self.spline_knots = spline_knots
        self.aipw_params = aipw_params
        self.ci_level = ci_level
        self.random_state = random_state

    def _validate(self) -> None:
        check_parameters(self, self._parameter_constraints)

    def _exposure_column(self, outcome: str) -> str | None:
        if self.exposure == "auto":
            return HARM_EXPOSURE.get(outcome)
        return self.exposure

    def fit(
        self,
        frame: pd.DataFrame,
        *,
        treatment: str,
        outcome: str,
        covariates: Sequence[str] = (),
    ) -> Self:
        """Estimate rates and the adjusted rate ratio (or risk difference) of one harm.

        Parameters
        ----------
        frame
            Case records, one row per case. Not modified.
        treatment
            Boolean technique column.
        outcome
            A count harm column, or a yes/no harm column such as ``evidence_excluded``.
        covariates
            Columns to adjust for (text is categorical).

        Returns
        -------
        self
            With ``results_``: the adjusted rate ratio first (then the alternative model
            and per-arm rates), or the ``outcome.aipw`` rows for a yes/no harm.
        """
        self._validate()
        covariates = [covariates] if isinstance(covariates, str) else list(covariates)
        require_columns(
            frame,
            {treatment: "treatment", outcome: "outcome", **{c: "covariate" for c in covariates}},
        )
        if pd.api.types.is_bool_dtype(frame[outcome].dtype):
            self.results_ = self._fit_binary(frame, treatment, outcome, covariates)
            return self
        # one BLAS thread: on a shared machine oversubscribed threads cost more than they give
        with threadpool_limits(limits=1, user_api="blas"):
            self.results_ = self._fit_count(frame, treatment, outcome, covariates)
        return self

    # -- yes/no harms ------------------------------------------------------------------

    def _fit_binary(
        self, frame: pd.DataFrame, treatment: str, outcome: str, covariates: list[str]
    ) -> tuple[EffectResult, ...]:
        values = frame[outcome].dropna()
        if values.nunique() == 1:
            # AIPW's influence function is identically 0 here: a zero-width interval and
            # a p-value of 0 would be false precision
            treated, missing = treatment_column(frame, treatment)
            kept = ~missing & frame[outcome].notna().to_numpy()
            every = "every" if bool(values.iloc[0]) else "no"
            return (
                result_row(
                    Interval(0.0, math.nan, math.nan, math.nan, math.nan),
                    family="harm",
                    technique=treatment,
                    outcome=outcome,
                    measure=outcome,
                    scale="risk_difference",
                    estimand="ATE",
                    method="constant_outcome",
                    n_treated=int((treated & kept).sum()),
                    n_control=int((~treated & kept).sum()),
                    ci_level=self.ci_level,
                    diagnostics={"rows_used": int(kept.sum())},
                    warnings=(
                        f"{outcome} is true in {every} case: the risk difference is 0 and "
                        "has no confidence interval",
                    ),
                ),
            )
        return _aipw_rows(
            frame,
            treatment=treatment,
            outcome_column=outcome,
            measure=outcome,
            covariates=covariates,
            aipw_params=self.aipw_params,
            defaults={"random_state": self.random_state, "ci_level": self.ci_level},
            extra={"harm": outcome},
        )

    # -- count harms -------------------------------------------------------------------

    def _fit_count(
        self, frame: pd.DataFrame, treatment: str, outcome: str, covariates: list[str]
    ) -> tuple[EffectResult, ...]:
        exposure_column = self._exposure_column(outcome)
        if exposure_column is not None:
            require_columns(frame, {exposure_column: "exposure"})
        others = []
        if self.adjust_for_techniques and treatment in TECHNIQUES:
            others = [t for t in TECHNIQUES if t != treatment and t in frame.columns]
            others = [t for t in others if t not in covariates]
        cases = self._complete_cases(
            frame, treatment, outcome, exposure_column, [*covariates, *others]
        )
        t, y, e, rows_dropped = cases.treated, cases.counts, cases.exposure, cases.rows_dropped
        events_treated, events_control = float(y[t].sum()), float(y[~t].sum())
        unit = float(
            self.exposure_unit
            if self.exposure_unit is not None
            else EXPOSURE_UNITS.get(exposure_column or "", 1.0)
        )
        warnings: list[str] = []
        if rows_dropped["total"]:
            warnings.append(
                f"{rows_dropped['total']} rows with a missing treatment, count, exposure or "
                "covariate, or no exposure, were left out"
            )
        base: dict[str, Any] = {
            "rows_used": int(cases.keep.sum()),
            "rows_dropped": rows_dropped,
            "exposure": exposure_column,
            "exposure_unit": unit,
            "covariates": covariates,
            "other_techniques_adjusted": others,
            "events": {"treated": events_treated, "control": events_control},
        }
        descriptive = self._descriptive_rows(t, y, e, exposure_column, unit, treatment, outcome)
        common = dict(
            technique=treatment,
            outcome=outcome,
            measure=outcome,
            scale="rate_ratio",
            n_treated=int(t.sum()),
            n_control=int((~t).sum()),
            ci_level=self.ci_level,
        )
        if events_treated == 0 or events_control == 0:
            primary = self._zero_event_row(
                t, y, e, events_treated, events_control, common, base, warnings
            )
            return (primary, *descriptive)
        # only the model's columns, and a copy only when rows are left out
        kept = frame[[*covariates, *others]]
        if not cases.keep.all():
            kept = kept.loc[cases.keep]
        rows = self._model_rows(kept, t, y, e, covariates, others, common, base, warnings)
        return (*rows, *descriptive)

    def _complete_cases(
        self,
        frame: pd.DataFrame,
        treatment: str,
        outcome: str,
        exposure_column: str | None,
        model_columns: list[str],
    ) -> _CountCases:
        """The cases with a treatment, count, exposure > 0 and every model column, and
        the others counted by reason; an error unless both arms keep cases."""
        treated, missing_treatment = treatment_column(frame, treatment)
        y = count_column(frame, outcome)
        missing_outcome = np.isnan(y)
        keep = ~(missing_treatment | missing_outcome)
        rows_dropped: dict[str, Any] = {
            "missing_treatment": int(missing_treatment.sum()),
            "missing_outcome": int(missing_outcome.sum()),
        }
        exposure = None
        if exposure_column is not None:
            exposure = numeric_column(frame, exposure_column)
            missing_exposure = np.isnan(exposure)
            no_exposure = ~missing_exposure & (exposure <= 0)
            rows_dropped["missing_exposure"] = int(missing_exposure.sum())
            rows_dropped["exposure_not_positive"] = int(no_exposure.sum())
            keep &= ~(missing_exposure | no_exposure)
        missing_covariate, rows_dropped["missing_covariate"] = missing_values(frame, model_columns)
        keep &= ~missing_covariate
        rows_dropped["total"] = int((~keep).sum())
        rows_dropped["rule"] = (
            "rows with a missing treatment, count, exposure or covariate, or exposure <= 0, "
            "are left out"
        )
        t = treated[keep]
        n_treated, n_control = int(t.sum()), int((~t).sum())
        if n_treated == 0 or n_control == 0:
            raise EstimatorError(
                f"the rate ratio of {outcome!r} needs cases with and without {treatment!r}; "
                f"after leaving out {rows_dropped['total']} incomplete rows there are "
                f"{n_treated} with and {n_control} without",
                hint="Use more data, or check the exposure and covariate columns for gaps",
            )
        return _CountCases(
            keep, t, y[keep], None if exposure is None else exposure[keep], rows_dropped
        )

    def _descriptive_rows(
        self,
        t: np.ndarray,
        y: np.ndarray,
        e: np.ndarray | None,
        exposure_column: str | None,
        unit: float,
        treatment: str,
        outcome: str,
    ) -> list[EffectResult]:
        """Events per case and per ``unit`` of exposure in each arm."""
        descriptive = []
        for arm in (True, False):
            mask = t if arm else ~t
            descriptive += _rate_rows(
                y[mask],
                None if e is None else e[mask],
                exposure_column=exposure_column,
                unit=unit,
                technique=treatment,
                outcome=outcome,
                arm=arm,
                subgroup=arm_label(treatment, arm),
                ci_level=self.ci_level,
            )
        return descriptive

    def _model_rows(
        self,
        kept: pd.DataFrame,
        t: np.ndarray,
        y: np.ndarray,
        e: np.ndarray | None,
        covariates: list[str],
        others: list[str],
        common: dict[str, Any],
        base: dict[str, Any],
        warnings: list[str],
    ) -> list[EffectResult]:
        """The adjusted rate ratio: Poisson, and NB2 when asked or overdispersed."""
        design = self._design(kept, t, covariates, others)
        offset = None if e is None else np.log(e)
        poisson, fitted, poisson_params = fit_poisson(y, design, offset, cov_type=self.cov_type)
        dispersion = overdispersion_test(y, fitted, poisson.df_resid)
        overdispersed = dispersion["cameron_trivedi_p_value"] < self.overdispersion_alpha
        del fitted
        base = {
            **base,
            "overdispersion": {
                **{k: json_number(v) for k, v in dispersion.items()},
                "overdispersed": bool(overdispersed),
                "rule": (
                    "overdispersed when the one-sided Cameron-Trivedi test rejects alpha = 0 "
                    f"at {self.overdispersion_alpha}"
                ),
            },
            "design_columns": poisson.n_params,
        }
        fits = {"poisson_glm_robust": poisson}
        if self.model == "negative_binomial" or (self.model == "auto" and overdispersed):
            # Poisson coefficients are consistent for NB2's mean model, and the
            # Cameron-Trivedi slope for its dispersion: a start a few Newton steps away
            start = np.append(poisson_params, max(float(dispersion["cameron_trivedi_alpha"]), 0.05))
            fits["negative_binomial"] = fit_negative_binomial(
                y, design, offset, cov_type=self.cov_type, start=start
            )
        order = ["poisson_glm_robust", "negative_binomial"]
        if self.model == "negative_binomial":
            order.reverse()
        rows = []
        for method in order:
            if method not in fits:
                continue
            fit = fits[method]
            row_warnings = list(warnings)
            if not fit.converged:
                row_warnings.append(f"the {method.replace('_', ' ')} fit did not converge")
            diagnostics = {
                **base,
                "model": method,
                "cov_type": self.cov_type,
                "log_rate_ratio": json_number(fit.log_rate_ratio),
                "log_rate_ratio_se": json_number(fit.std_error),
                "converged": fit.converged,
                "estimand_note": (
                    "covariate-conditional rate ratio of a log-linear model without "
                    "interactions; equals the marginal causal rate ratio when the ratio "
                    "is constant across cases"
                ),
            }
            if fit.alpha is not None:
                diagnostics["nb2_alpha"] = json_number(fit.alpha)
            rows.append(
                result_row(
                    log_wald(fit.log_rate_ratio, fit.std_error, self.ci_level),
                    family="harm",
                    **common,
                    estimand="ATE",
                    method=method,
                    diagnostics=diagnostics,
                    warnings=row_warnings,
                )
            )
        return rows

    def _design(
        self, kept: pd.DataFrame, treated: np.ndarray, covariates: list[str], others: list[str]
    ) -> BlockDesign:
        """``[1, T, O, h(X)]``, aliased columns dropped (never T); read block by block,
        so the encoded covariates (shared with other estimators in a run) are not copied."""
        leading = np.empty((treated.size, 2 + len(others)))
        leading[:, 0] = 1.0
        leading[:, 1] = treated
        if others:
            leading[:, 2:] = kept[others].astype(float).to_numpy()
        parts = [leading]
        if covariates:
            parts.append(
                build_design(
                    kept[covariates].reset_index(drop=True),
                    spline_knots=int(self.spline_knots),
                    drop_first=True,  # unpenalised fit: a full-rank design
                ).matrix
            )
        design = BlockDesign(*parts)
        columns = full_rank_columns(design, keep=(0, 1))
        if 1 not in columns:
            raise EstimatorError(
                "the technique is fully determined by the covariates (or constant): "
                "no rate ratio can be estimated",
                hint="Remove covariates that encode the technique",
            )
        return design.select(columns)

    def _zero_event_row(self, t, y, e, events_treated, events_control, common, base, warnings):
        exposure_treated = float(e[t].sum()) if e is not None else float(t.sum())
        exposure_control = float(e[~t].sum()) if e is not None else float((~t).sum())
        low, high = exact_conditional_rate_ratio_interval(
            int(events_treated),
            exposure_treated,
            int(events_control),
            exposure_control,
            self.ci_level,
        )
        diagnostics = {
            **base,
            "model": "crude",
            "exact_conditional_interval": [json_number(low), json_number(high)],
        }
        outcome, treatment = common["outcome"], common["technique"]
        if events_treated == 0 and events_control == 0:
            return result_row(
                None,
                family="harm",
                estimand=None,
                **common,
                method="not_estimable",
                diagnostics=diagnostics,
                warnings=(
                    *warnings,
                    f"no {outcome} events in any case: the rate ratio is not estimable",
                ),
            )
        arm = "using" if events_treated == 0 else "not using"
        interval = continuity_corrected_rate_ratio(
            events_treated, exposure_treated, events_control, exposure_control, self.ci_level
        )
        return result_row(
            interval,
            family="harm",
            estimand=None,
            **common,
            method="continuity_corrected_rate_ratio",
            diagnostics=diagnostics,
            warnings=(
                *warnings,
                f"no {outcome} events among cases {arm} {treatment}: the adjusted model "
                "has no finite estimate, so the crude rate ratio with 0.5 added to each "
                "arm's events is shown (not adjusted for covariates)",
            ),
        )
