"""Harms of special investigative techniques: officers, uninvolved citizens, rights, witnesses.

The background paper to Workshop 4 of the Twelfth UN Crime Congress (A/CONF.213/15,
paras 40, 43, 51) asks that the harms of these techniques be weighed alongside their
effectiveness: undercover officers exposed or hurt, citizens swept into interceptions,
evidence thrown out, protected witnesses who offend again. This module measures them.

Registered estimators (all rows ``family="harm"``):

==============================  =============================================================
``harm.rates``                  rates per case and per exposure; adjusted rate ratio (Poisson
                                GLM, robust SE; negative binomial alongside when
                                overdispersed); ``outcome.aipw`` risk difference for yes/no
                                harms (``evidence_excluded``)
``harm.collateral_intrusion``   share of intercepts not incriminating; non-suspects
                                intercepted per case and per suspect
``harm.undercover_risk``        compromise / injury rates per 1,000 officer-days, by case type
``harm.witness_offending``      offences per protected witness-year and share who offend,
                                against US Marshals Service and GAO (1984) benchmarks
``harm.index``                  severity-weighted harm per case; AIPW mean difference
``harm.cost``                   monetised harm per case; AIPW mean difference
==============================  =============================================================

Public helpers (used by the cost family too):

* :func:`harm_cost_per_case` — monetised harm per case, ``sum_h unit_cost_h * count_h``;
* :func:`harm_index_per_case` — the same weighted sum with severity weights;
* :data:`DEFAULT_HARM_UNIT_COSTS`, :data:`DEFAULT_HARM_WEIGHTS` — documented defaults.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from techeval.cases.schema import TECHNIQUES
from techeval.errors import ArgumentError, EstimatorError
from techeval.estimators import _harm_models as _hm
from techeval.estimators._columns import as_binary_treatment as _as_binary_treatment
from techeval.estimators._nuisance import build_design
from techeval.estimators.base import Estimator, Tags
from techeval.estimators.registry import get_estimator, register
from techeval.inference import Interval, bootstrap_interval, bootstrap_replicates
from techeval.results import EffectResult

__all__ = [
    "DEFAULT_HARM_UNIT_COSTS",
    "DEFAULT_HARM_WEIGHTS",
    "EXPOSURE_UNITS",
    "GAO_1984_ANNUAL_RATE",
    "HARM_EXPOSURE",
    "WITSEC_REARREST_SHARE",
    "CollateralIntrusion",
    "HarmCost",
    "HarmIndex",
    "HarmRates",
    "UndercoverRisk",
    "WitnessOffending",
    "harm_cost_per_case",
    "harm_index_per_case",
]

# ---- protocol defaults ------------------------------------------------------------------

#: Monetised harm per event, in US dollars (the currency of the synthetic case files);
#: a protocol overrides these with local figures. Most have no published price and are
#: marked as assumptions: report them, and vary them in a sensitivity analysis.
DEFAULT_HARM_UNIT_COSTS: dict[str, float] = {
    # Home Office unit cost of "violence with injury", £14,050 per incident in 2015/16
    # prices (Heeks, Reed, Tafsiri & Prince 2018, Research Report 99), at about 1.36 US$
    # per £ (2016 average) ≈ $19,000. Assumption: an officer's injury costs what a
    # victim's does; sick leave and replacement of the officer are not included.
    "officer_injuries": 19_000.0,
    # Assumption: extracting and relocating an exposed undercover officer and writing
    # off the operation; no published unit cost is known to us.
    "undercover_compromised": 50_000.0,
    # Same anchor as officer_injuries (Heeks et al. 2018, violence with injury): harm
    # to an uninvolved person is counted as an injury-level event. Assumption.
    "third_party_harms": 19_000.0,
    # Assumption: investigating an upheld complaint plus typical compensation.
    "complaints_upheld": 10_000.0,
    # Assumption: no accepted price exists for a privacy intrusion; a nominal $100 per
    # person intercepted keeps the intrusion visible without dominating the total. Set
    # to 0 to leave privacy unpriced (the harm index still weighs it).
    "non_suspects_intercepted": 100.0,
    # Assumption: an offence by a protected witness costs about as much as an average
    # violent offence without injury (Heeks et al. 2018 give £5,930 for violence without
    # injury ≈ $8,000); witnesses' offences range from fraud to homicide.
    "witness_offences": 8_000.0,
    # evidence_excluded is deliberately not monetised: its consequence, a lost
    # conviction, is already counted by the outcome family; pricing it here would count
    # it twice. The harm index weighs it as a rights harm instead.
}

#: Severity weight per harm event for the harm index, in days-of-imprisonment units in
#: the spirit of the Cambridge Crime Harm Index (Sherman, Neyroud & Neyroud 2016: the
#: sentencing-guideline starting point for a first offender). Marked as assumptions
#: where no offence maps cleanly; a protocol overrides them.
DEFAULT_HARM_WEIGHTS: dict[str, float] = {
    # Assault occasioning actual bodily harm, category 2 starting point 26 weeks
    # (Sentencing Council, Assault Definitive Guideline 2011) — the CCHI convention.
    # Assumption: a typical injury on duty resembles ABH.
    "officer_injuries": 182.0,
    # Assumption: exposure puts the officer's life at risk (para 51: they are the last
    # to know), weighted as a year — more than an injury, far less than a homicide.
    "undercover_compromised": 365.0,
    # As officer_injuries (ABH category 2, 26 weeks). Assumption.
    "third_party_harms": 182.0,
    # Assumption: an upheld complaint is a proven rights breach of moderate severity.
    "complaints_upheld": 30.0,
    # Assumption: one day per person whose private communications were intercepted
    # without being a suspect — small per person, large in aggregate.
    "non_suspects_intercepted": 1.0,
    # Assumption: exclusion means a court found the evidence unlawfully obtained — a
    # rights harm to the suspect, weighted as a month.
    "evidence_excluded": 30.0,
    # Assumption: an offence by a protected witness weighted as a quarter of a year (the
    # offences range from minor to serious; local sentencing data should replace this).
    "witness_offences": 90.0,
}


# ---- per-case weighted sums ----------------------------------------------------------------


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
        values = frame[column]
        if not (
            pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype)
        ):
            raise ArgumentError(
                f"the harm column {column!r} is not numeric or yes/no (dtype {values.dtype})",
                hint="Validate the case file first (techeval.cases.validate_frame)",
            )
        numbers = values.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
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
        :data:`DEFAULT_HARM_UNIT_COSTS`. Yes/no columns count as 0/1 events.

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
        Harm column → severity weight (≥ 0); default :data:`DEFAULT_HARM_WEIGHTS`.

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


# ---- shared plumbing -------------------------------------------------------------------------

#: Default exposure of each count harm: officers' harms accrue with officer-days, harms to
#: third parties, complaints and intrusions with the length of the investigation.
HARM_EXPOSURE: dict[str, str] = {
    "officer_injuries": "officer_days",
    "undercover_compromised": "officer_days",
    "third_party_harms": "duration_days",
    "complaints_upheld": "duration_days",
    "non_suspects_intercepted": "duration_days",
}

#: Exposure units rates are expressed in (1,000 officer-days; one case-year).
EXPOSURE_UNITS: dict[str, float] = {"officer_days": 1000.0, "duration_days": 365.0}

#: Benchmark share of protected witnesses who offend again. US Marshals Service: fewer
#: than 17% of protected witnesses with criminal histories have been re-arrested and
#: charged (WITSEC programme facts; cited by the DOJ Inspector General, 2005).
WITSEC_REARREST_SHARE = 0.17

#: GAO (1984): 21.4% of protected witnesses were arrested within two years of entering
#: the programme. As a constant annual rate: -ln(1 - 0.214) / 2 ≈ 0.120 per witness-year.
GAO_1984_TWO_YEAR_ARREST_SHARE = 0.214
GAO_1984_ANNUAL_RATE = -math.log(1 - GAO_1984_TWO_YEAR_ARREST_SHARE) / 2

_MODELS = ("auto", "poisson", "negative_binomial")
# statsmodels' GLM returns the HC0 sandwich for HC1-HC3 too, so only HC0 is offered
_COV_TYPES = ("HC0", "nonrobust")
_NAN_INTERVAL = Interval(math.nan, math.nan, math.nan, math.nan, math.nan)


def _json_number(value: float | None) -> float | None:
    """A float for diagnostics (JSON has no inf or nan: those become ``None``)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _check(owner: Estimator, name: str, ok: bool, expected: str) -> None:
    if not ok:
        raise ArgumentError(
            f"{type(owner).__name__}: {name}={getattr(owner, name)!r} is not allowed",
            hint=f"Use {expected}",
        )


def _require_columns(frame: pd.DataFrame, columns: Mapping[str, str]) -> None:
    """Raise a techeval error naming the first role whose column is absent."""
    if not isinstance(frame, pd.DataFrame):
        raise EstimatorError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    for column, role in columns.items():
        if column not in frame.columns:
            close = difflib.get_close_matches(column, [str(c) for c in frame.columns], n=3)
            hint = f"Did you mean {' or '.join(map(repr, close))}?" if close else None
            raise EstimatorError(f"the {role} column {column!r} is not in the data", hint=hint)


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column as float64 with ``nan`` for missing (booleans as 0/1)."""
    values = frame[column]
    if not (
        pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype)
    ):
        raise EstimatorError(
            f"the column {column!r} is not numeric or yes/no (dtype {values.dtype})",
            hint="Validate the case file first (techeval.cases.validate_frame)",
        )
    return values.astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def _counts(frame: pd.DataFrame, column: str) -> np.ndarray:
    values = _numbers(frame, column)
    present = values[~np.isnan(values)]
    if (present < 0).any() or (present != np.floor(present)).any():
        raise EstimatorError(
            f"the harm column {column!r} must hold whole numbers >= 0",
            hint="Harm columns count events per case",
        )
    return values


def _treatment(frame: pd.DataFrame, treatment: str) -> tuple[np.ndarray, np.ndarray]:
    """Treatment as bool and a mask of rows where it is missing."""
    values = frame[treatment]
    missing = values.isna().to_numpy()
    treated = np.zeros(len(frame), dtype=bool)
    if (~missing).any():
        treated[~missing] = _as_binary_treatment(values[~missing], treatment)
    return treated, missing


def _row(
    *,
    technique: str,
    outcome: str,
    measure: str,
    scale: str,
    method: str,
    interval: Interval,
    n_treated: int,
    n_control: int,
    ci_level: float,
    estimand: str | None = None,
    subgroup: str | None = None,
    diagnostics: Mapping[str, Any] | None = None,
    warnings: Sequence[str] = (),
) -> EffectResult:
    return EffectResult(
        technique=technique,
        outcome=outcome,
        measure=measure,
        scale=scale,
        estimand=estimand,
        method=method,
        estimate=float(interval.estimate),
        std_error=float(interval.std_error),
        ci_low=float(interval.ci_low),
        ci_high=float(interval.ci_high),
        p_value=float(interval.p_value),
        n_treated=int(n_treated),
        n_control=int(n_control),
        family="harm",
        subgroup=subgroup,
        ci_level=float(ci_level),
        diagnostics=dict(diagnostics or {}),
        warnings=tuple(warnings),
    )


def _exposure_scale(column: str, unit: float) -> str:
    if column == "officer_days" and unit == 1000:
        return "rate_per_1000_officer_days"
    if column == "duration_days" and unit == 365:
        return "rate_per_case_year"
    return f"rate_per_{unit:g}_{column}"


def _ratio_diagnostics(estimate: _hm.RatioEstimate) -> dict[str, Any]:
    out: dict[str, Any] = {
        "numerator": _json_number(estimate.numerator),
        "denominator": _json_number(estimate.denominator),
        "n_cases": estimate.n_clusters,
        "interval": estimate.method,
    }
    if estimate.note:
        out["note"] = estimate.note
    return out


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
    per_case = _hm.rate_ratio_estimate(counts, np.ones(n), level=ci_level)
    rows.append(
        _row(
            technique=technique,
            outcome=outcome,
            measure=outcome,
            scale="rate_per_case",
            method="sample_mean" if per_case.method == "ratio_estimator" else per_case.method,
            interval=per_case.interval,
            n_treated=n_treated,
            n_control=n_control,
            ci_level=ci_level,
            subgroup=subgroup,
            diagnostics=_ratio_diagnostics(per_case),
        )
    )
    if exposure is not None and exposure_column is not None:
        per_exposure = _hm.rate_ratio_estimate(counts, exposure, level=ci_level, scale=unit)
        rows.append(
            _row(
                technique=technique,
                outcome=outcome,
                measure=outcome,
                scale=_exposure_scale(exposure_column, unit),
                method=per_exposure.method,
                interval=per_exposure.interval,
                n_treated=n_treated,
                n_control=n_control,
                ci_level=ci_level,
                subgroup=subgroup,
                diagnostics={**_ratio_diagnostics(per_exposure), "exposure": exposure_column},
            )
        )
    return rows


def _arm_label(treatment: str, arm: bool) -> str:
    return f"{treatment}={'true' if arm else 'false'}"


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


# ---- harm.rates ------------------------------------------------------------------------------


@register("harm.rates")
class HarmRates(Estimator):
    """Harm rates per case and per exposure, and the adjusted rate ratio of a technique.

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
        other count harms (:data:`HARM_EXPOSURE`); any other harm gets no offset.
        ``None``: no offset (counts per case).
    exposure_unit : float or None
        Unit the descriptive rates are expressed in; default 1,000 for ``officer_days``
        and 365 for ``duration_days`` (:data:`EXPOSURE_UNITS`), else 1. The rate ratio
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
    (:mod:`techeval.estimators._harm_models`), so memory stays flat at a million cases;
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
        _check(self, "model", self.model in _MODELS, "auto, poisson or negative_binomial")
        _check(self, "cov_type", self.cov_type in _COV_TYPES, ", ".join(_COV_TYPES))
        _check(self, "ci_level", 0 < self.ci_level < 1, "a number in (0, 1)")
        _check(
            self, "overdispersion_alpha", 0 < self.overdispersion_alpha < 1, "a number in (0, 1)"
        )
        _check(self, "spline_knots", int(self.spline_knots) >= 0, "an integer >= 0")
        _check(
            self,
            "exposure_unit",
            self.exposure_unit is None or self.exposure_unit > 0,
            "None or a number > 0",
        )

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
        _require_columns(
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
            treated, missing = _treatment(frame, treatment)
            kept = ~missing & frame[outcome].notna().to_numpy()
            every = "every" if bool(values.iloc[0]) else "no"
            return (
                _row(
                    technique=treatment,
                    outcome=outcome,
                    measure=outcome,
                    scale="risk_difference",
                    estimand="ATE",
                    method="constant_outcome",
                    interval=Interval(0.0, math.nan, math.nan, math.nan, math.nan),
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
            _require_columns(frame, {exposure_column: "exposure"})
        others = []
        if self.adjust_for_techniques and treatment in TECHNIQUES:
            others = [t for t in TECHNIQUES if t != treatment and t in frame.columns]
            others = [t for t in others if t not in covariates]

        treated, missing_treatment = _treatment(frame, treatment)
        y = _counts(frame, outcome)
        missing_outcome = np.isnan(y)
        keep = ~(missing_treatment | missing_outcome)
        rows_dropped: dict[str, Any] = {
            "missing_treatment": int(missing_treatment.sum()),
            "missing_outcome": int(missing_outcome.sum()),
        }
        exposure = None
        if exposure_column is not None:
            exposure = _numbers(frame, exposure_column)
            missing_exposure = np.isnan(exposure)
            no_exposure = ~missing_exposure & (exposure <= 0)
            rows_dropped["missing_exposure"] = int(missing_exposure.sum())
            rows_dropped["exposure_not_positive"] = int(no_exposure.sum())
            keep &= ~(missing_exposure | no_exposure)
        missing_covariate = {}
        for column in [*covariates, *others]:
            missing = frame[column].isna().to_numpy()
            if missing.any():
                missing_covariate[column] = int(missing.sum())
            keep &= ~missing
        rows_dropped["missing_covariate"] = missing_covariate
        rows_dropped["total"] = int((~keep).sum())
        rows_dropped["rule"] = (
            "rows with a missing treatment, count, exposure or covariate, or exposure <= 0, "
            "are left out"
        )

        t, y = treated[keep], y[keep]
        n_treated, n_control = int(t.sum()), int((~t).sum())
        if n_treated == 0 or n_control == 0:
            raise EstimatorError(
                f"the rate ratio of {outcome!r} needs cases with and without {treatment!r}; "
                f"after leaving out {rows_dropped['total']} incomplete rows there are "
                f"{n_treated} with and {n_control} without",
                hint="Use more data, or check the exposure and covariate columns for gaps",
            )
        e = None if exposure is None else exposure[keep]
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
            "rows_used": int(keep.sum()),
            "rows_dropped": rows_dropped,
            "exposure": exposure_column,
            "exposure_unit": unit,
            "covariates": covariates,
            "other_techniques_adjusted": others,
            "events": {"treated": float(y[t].sum()), "control": float(y[~t].sum())},
        }
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
                subgroup=_arm_label(treatment, arm),
                ci_level=self.ci_level,
            )
        common = dict(
            technique=treatment,
            outcome=outcome,
            measure=outcome,
            scale="rate_ratio",
            n_treated=n_treated,
            n_control=n_control,
            ci_level=self.ci_level,
        )
        events_treated, events_control = float(y[t].sum()), float(y[~t].sum())
        if events_treated == 0 or events_control == 0:
            primary = self._zero_event_row(
                t, y, e, events_treated, events_control, common, base, warnings
            )
            return (primary, *descriptive)

        # only the model's columns, and a copy only when rows are left out
        kept = frame[[*covariates, *others]]
        design = self._design(kept if keep.all() else kept.loc[keep], t, covariates, others)
        offset = None if e is None else np.log(e)
        poisson, fitted, poisson_params = _hm.fit_poisson(y, design, offset, cov_type=self.cov_type)
        dispersion = _hm.overdispersion_test(y, fitted, poisson.df_resid)
        overdispersed = dispersion["cameron_trivedi_p_value"] < self.overdispersion_alpha
        del fitted
        base["overdispersion"] = {
            **{k: _json_number(v) for k, v in dispersion.items()},
            "overdispersed": bool(overdispersed),
            "rule": (
                "overdispersed when the one-sided Cameron-Trivedi test rejects alpha = 0 "
                f"at {self.overdispersion_alpha}"
            ),
        }
        base["design_columns"] = poisson.n_params
        fits = {"poisson_glm_robust": poisson}
        if self.model == "negative_binomial" or (self.model == "auto" and overdispersed):
            # Poisson coefficients are consistent for NB2's mean model, and the
            # Cameron-Trivedi slope for its dispersion: a start a few Newton steps away
            start = np.append(poisson_params, max(float(dispersion["cameron_trivedi_alpha"]), 0.05))
            fits["negative_binomial"] = _hm.fit_negative_binomial(
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
                "log_rate_ratio": _json_number(fit.log_rate_ratio),
                "log_rate_ratio_se": _json_number(fit.std_error),
                "converged": fit.converged,
                "estimand_note": (
                    "covariate-conditional rate ratio of a log-linear model without "
                    "interactions; equals the marginal causal rate ratio when the ratio "
                    "is constant across cases"
                ),
            }
            if fit.alpha is not None:
                diagnostics["nb2_alpha"] = _json_number(fit.alpha)
            rows.append(
                _row(
                    **common,
                    estimand="ATE",
                    method=method,
                    interval=_hm.log_wald(fit.log_rate_ratio, fit.std_error, self.ci_level),
                    diagnostics=diagnostics,
                    warnings=row_warnings,
                )
            )
        del design
        return (*rows, *descriptive)

    def _design(
        self, kept: pd.DataFrame, treated: np.ndarray, covariates: list[str], others: list[str]
    ) -> _hm.CountDesign:
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
        design = _hm.CountDesign(*parts)
        columns = _hm.full_rank_columns(design, keep=(0, 1))
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
        low, high = _hm.exact_conditional_rate_ratio_interval(
            int(events_treated),
            exposure_treated,
            int(events_control),
            exposure_control,
            self.ci_level,
        )
        diagnostics = {
            **base,
            "model": "crude",
            "exact_conditional_interval": [_json_number(low), _json_number(high)],
        }
        outcome, treatment = common["outcome"], common["technique"]
        if events_treated == 0 and events_control == 0:
            return _row(
                **common,
                method="not_estimable",
                interval=_NAN_INTERVAL,
                diagnostics=diagnostics,
                warnings=(
                    *warnings,
                    f"no {outcome} events in any case: the rate ratio is not estimable",
                ),
            )
        arm = "using" if events_treated == 0 else "not using"
        interval = _hm.continuity_corrected_rate_ratio(
            events_treated, exposure_treated, events_control, exposure_control, self.ci_level
        )
        return _row(
            **common,
            method="continuity_corrected_rate_ratio",
            interval=interval,
            diagnostics=diagnostics,
            warnings=(
                *warnings,
                f"no {outcome} events among cases {arm} {treatment}: the adjusted model "
                "has no finite estimate, so the crude rate ratio with 0.5 added to each "
                "arm's events is shown (not adjusted for covariates)",
            ),
        )


# ---- harm.collateral_intrusion ----------------------------------------------------------------


@register("harm.collateral_intrusion")
class CollateralIntrusion(Estimator):
    """Collateral intrusion of electronic surveillance: non-incriminating share, non-suspects.

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
        _check(
            self,
            "inference",
            self.inference in ("linearisation", "bootstrap"),
            "linearisation or bootstrap",
        )
        _check(self, "ci_level", 0 < self.ci_level < 1, "a number in (0, 1)")
        _check(self, "n_bootstrap", int(self.n_bootstrap) >= 20, "an integer >= 20")
        _require_columns(
            frame,
            {
                treatment: "treatment",
                "intercepts_total": "intercepts",
                "intercepts_incriminating": "intercepts",
                "non_suspects_intercepted": "harm",
                "n_suspects": "suspects",
            },
        )
        treated, missing_treatment = _treatment(frame, treatment)
        used = treated & ~missing_treatment
        total = _counts(frame, "intercepts_total")[used]
        incriminating = _counts(frame, "intercepts_incriminating")[used]
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
        share = _hm.share_estimate(not_incriminating, totals, level=self.ci_level)
        interval, method = share.interval, share.method
        diagnostics: dict[str, Any] = {**_ratio_diagnostics(share), "rows_dropped": rows_dropped}
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
            _row(
                technique=treatment,
                outcome=outcome,
                measure="collateral_intrusion_share",
                scale="share",
                method=method,
                interval=interval,
                n_treated=share.n_clusters,
                n_control=0,
                ci_level=self.ci_level,
                diagnostics=diagnostics,
                warnings=warnings,
            )
        ]
        non_suspects = _counts(frame, "non_suspects_intercepted")[used]
        suspects = _numbers(frame, "n_suspects")[used]
        known = ~(np.isnan(non_suspects) | np.isnan(suspects))
        dropped = {"missing_non_suspects_or_suspects": int((~known).sum())}
        for scale, denominator, name in (
            ("rate_per_case", np.ones(int(known.sum())), "sample_mean"),
            ("rate_per_suspect", suspects[known], "ratio_estimator"),
        ):
            estimate = _hm.rate_ratio_estimate(
                non_suspects[known], denominator, level=self.ci_level
            )
            rows.append(
                _row(
                    technique=treatment,
                    outcome="non_suspects_intercepted",
                    measure="non_suspects_intercepted",
                    scale=scale,
                    method=name if estimate.method == "ratio_estimator" else estimate.method,
                    interval=estimate.interval,
                    n_treated=estimate.n_clusters,
                    n_control=0,
                    ci_level=self.ci_level,
                    diagnostics={**_ratio_diagnostics(estimate), "rows_dropped": dropped},
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


# ---- harm.undercover_risk ---------------------------------------------------------------------


@register("harm.undercover_risk")
class UndercoverRisk(Estimator):
    """Undercover risk: compromise or injury rates per 1,000 officer-days, by case type.

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
        _check(self, "ci_level", 0 < self.ci_level < 1, "a number in (0, 1)")
        covariates = [covariates] if isinstance(covariates, str) else list(covariates)
        if self.exposure == "auto":
            exposure_column = (
                "undercover_officer_days"
                if "undercover_officer_days" in frame.columns
                else "officer_days"
            )
        else:
            exposure_column = self.exposure
        _require_columns(
            frame,
            {
                treatment: "treatment",
                outcome: "outcome",
                exposure_column: "exposure",
                **{c: "breakdown" for c in covariates},
            },
        )
        treated, missing_treatment = _treatment(frame, treatment)
        counts = _counts(frame, outcome)
        exposure = _numbers(frame, exposure_column)
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
            _exposure_scale("officer_days", unit)
            if exposure_column in ("officer_days", "undercover_officer_days")
            else _exposure_scale(exposure_column, unit)
        )
        rows = []
        for arm in (True, False):
            mask = keep & (treated == arm)
            estimate = _hm.rate_ratio_estimate(
                counts[mask], exposure[mask], level=self.ci_level, scale=unit
            )
            n = estimate.n_clusters
            rows.append(
                _row(
                    technique=treatment,
                    outcome=outcome,
                    measure=outcome,
                    scale=scale,
                    method=estimate.method,
                    interval=estimate.interval,
                    n_treated=n if arm else 0,
                    n_control=0 if arm else n,
                    ci_level=self.ci_level,
                    subgroup=_arm_label(treatment, arm),
                    diagnostics={**_ratio_diagnostics(estimate), **notes},
                    warnings=warnings if arm else (),
                )
            )
        for column in covariates:
            levels = frame[column].astype("string")
            for level in sorted(levels[keep & treated].dropna().unique()):
                mask = keep & treated & (levels == level).fillna(False).to_numpy(dtype=bool)
                estimate = _hm.rate_ratio_estimate(
                    counts[mask], exposure[mask], level=self.ci_level, scale=unit
                )
                rows.append(
                    _row(
                        technique=treatment,
                        outcome=outcome,
                        measure=outcome,
                        scale=scale,
                        method=estimate.method,
                        interval=estimate.interval,
                        n_treated=estimate.n_clusters,
                        n_control=0,
                        ci_level=self.ci_level,
                        subgroup=f"{column}={level}",
                        diagnostics={**_ratio_diagnostics(estimate), "exposure": exposure_column},
                    )
                )
        self.results_ = tuple(rows)
        return self


# ---- harm.witness_offending ---------------------------------------------------------------------


@register("harm.witness_offending")
class WitnessOffending(Estimator):
    """Offending by protected witnesses: offences per witness-year and share who offend.

    Parameters
    ----------
    benchmark_share : float
        Protocol benchmark for the share of protected witnesses who offend. Default
        0.17: the US Marshals Service reports that fewer than 17% of protected witnesses
        with criminal histories have been re-arrested and charged
        (:data:`WITSEC_REARREST_SHARE`).
    benchmark_rate : float or None
        Benchmark offences per witness-year. Default (``None``) derives it from GAO
        (1984), which found 21.4% of protected witnesses arrested within two years:
        ``-ln(1 - 0.214) / 2 ≈ 0.120`` per year under a constant hazard
        (:data:`GAO_1984_ANNUAL_RATE`).
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
        _check(self, "ci_level", 0 < self.ci_level < 1, "a number in (0, 1)")
        _check(self, "benchmark_share", 0 < self.benchmark_share < 1, "a share in (0, 1)")
        _check(
            self,
            "benchmark_rate",
            self.benchmark_rate is None or self.benchmark_rate > 0,
            "None or a rate > 0",
        )
        _require_columns(
            frame,
            {
                outcome: "outcome",
                "protected_witnesses": "witnesses",
                "duration_days": "time at risk",
            },
        )
        witnesses = _counts(frame, "protected_witnesses")
        offences = _counts(frame, outcome)
        duration = _numbers(frame, "duration_days")
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
            treated, missing = _treatment(frame, treatment)
            diagnostics["cases_with_witnesses_but_technique_not_tagged"] = int(
                (with_witnesses & ~(treated & ~missing)).sum()
            )
        if "protected_family" in frame.columns:
            family = _numbers(frame, "protected_family")[with_witnesses]
            diagnostics["protected_family_total"] = _json_number(np.nansum(family))
            diagnostics["protected_family_missing"] = int(np.isnan(family).sum())
        diagnostics["protected_witnesses_total"] = _json_number(witnesses[with_witnesses].sum())
        if not with_witnesses.any():
            raise EstimatorError(
                "no case has protected witnesses (protected_witnesses > 0)",
                hint="Witness offending needs cases from a witness-protection programme",
            )

        benchmark_rate = (
            GAO_1984_ANNUAL_RATE if self.benchmark_rate is None else float(self.benchmark_rate)
        )
        rate = _hm.rate_ratio_estimate(
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
        share = _hm.share_estimate(
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
                _row(
                    technique=treatment,
                    outcome=outcome,
                    measure=measure,
                    scale=scale,
                    method=estimate.method,
                    interval=estimate.interval,
                    n_treated=estimate.n_clusters,
                    n_control=0,
                    ci_level=self.ci_level,
                    diagnostics={
                        **diagnostics,
                        **_ratio_diagnostics(estimate),
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


# ---- harm.index and harm.cost -------------------------------------------------------------------


class _WeightedHarm(Estimator):
    """A per-case weighted sum of harms and its doubly robust difference by technique."""

    tags = Tags(roles="treatment_covariates")

    _measure: ClassVar[str] = ""

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
        _check(self, "ci_level", 0 < self.ci_level < 1, "a number in (0, 1)")
        values, weights = self._per_case(frame)
        data = frame.assign(**{self._measure: values})
        extra = {
            "weights" if self._measure == "harm_index" else "unit_costs": weights,
            "per_case_mean": _json_number(values.mean()),
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
    """Harm index per case (severity-weighted harm events) and its adjusted difference.

    Parameters
    ----------
    weights : mapping or None
        Harm column → severity weight; default :data:`DEFAULT_HARM_WEIGHTS` (each entry
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
    """Monetised harm per case (protocol unit costs) and its adjusted difference.

    Parameters
    ----------
    unit_costs : mapping or None
        Harm column → cost per event; default :data:`DEFAULT_HARM_UNIT_COSTS`.
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
