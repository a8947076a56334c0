"""Private numerical core of the harm estimators: count models, ratio estimators, exact intervals.

Kept apart from :mod:`techeval.estimators.harm` so that each estimator there reads as
its formula. Nothing here keeps a fitted statsmodels object: only the numbers needed
(coefficients, covariance, fit statistics) leave these functions, so memory stays flat at
a million rows.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import statsmodels.api as sm
from scipy import stats
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

from techeval.inference import Interval, wald_from_influence


def z_value(level: float) -> float:
    """Two-sided normal quantile for a confidence level."""
    return float(stats.norm.ppf(0.5 + level / 2))


# ---- count models -----------------------------------------------------------------------


@dataclass(frozen=True)
class CountFit:
    """What is kept from a count-model fit: the treatment coefficient and fit statistics."""

    log_rate_ratio: float
    std_error: float  # of the log rate ratio
    converged: bool
    n_params: int
    alpha: float | None = None  # NB2 dispersion (variance mu + alpha mu^2)
    pearson_chi2: float | None = None
    df_resid: float | None = None


def fit_poisson(
    y: np.ndarray, design: np.ndarray, offset: np.ndarray | None, *, cov_type: str, column: int = 1
) -> tuple[CountFit, np.ndarray, np.ndarray]:
    """Poisson GLM (log link) with sandwich covariance: the fit, fitted means, coefficients.

    ``design`` already holds the intercept; ``column`` is the treatment's column.
    """
    with warnings.catch_warnings():
        # a stratum without events drives its coefficient to -inf; the treatment
        # coefficient is still estimable and the caller checks the arms have events
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        model = sm.GLM(y, design, family=sm.families.Poisson(), offset=offset)
        result = model.fit(cov_type=cov_type, maxiter=100, tol=1e-10)
    fitted = np.asarray(result.fittedvalues, dtype=float)
    out = CountFit(
        log_rate_ratio=float(result.params[column]),
        std_error=float(np.sqrt(result.cov_params()[column, column])),
        converged=bool(result.converged),
        n_params=int(design.shape[1]),
        pearson_chi2=float(result.pearson_chi2),
        df_resid=float(result.df_resid),
    )
    return out, fitted, np.asarray(result.params, dtype=float)


class _NegativeBinomial2(sm.NegativeBinomialP):
    """statsmodels' NB-P model with ``p=2`` (NB2) and its Hessian assembled by matrix products.

    statsmodels builds the NB-P Hessian with one Python-level pass over the rows per
    coefficient (and the NB2 ``NegativeBinomial`` class with one per pair of
    coefficients); at 20,000 cases and 47 columns that is 0.15-0.3 s per Newton step.
    Here the per-case factors come from statsmodels' own ``hessian_factor`` and are
    combined as ``X' diag(h_bb) X``, ``X' h_ba`` and ``sum(h_aa)``: the same matrix
    (checked against ``NegativeBinomialP.hessian`` in the tests), one BLAS call.
    """

    def hessian(self, params):
        factor_bb, factor_ba, factor_aa = self.hessian_factor(params)
        exog = self.exog
        k = exog.shape[1]
        hessian = np.empty((k + 1, k + 1))
        hessian[:k, :k] = (exog * factor_bb[:, None]).T @ exog
        hessian[:k, k] = hessian[k, :k] = exog.T @ factor_ba
        hessian[k, k] = float(np.sum(factor_aa))
        return hessian


def fit_negative_binomial(
    y: np.ndarray,
    design: np.ndarray,
    offset: np.ndarray | None,
    *,
    cov_type: str,
    start: np.ndarray | None = None,
    column: int = 1,
) -> CountFit:
    """NB2 maximum likelihood (statsmodels ``NegativeBinomialP``, ``p=2``) with the same covariance type.

    The score per case is statsmodels' analytic one (the older ``NegativeBinomial``
    class differentiates the log-likelihood numerically for the sandwich), the Hessian
    that of :class:`_NegativeBinomial2`.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        model = _NegativeBinomial2(y, design, p=2, offset=offset)
        result = model.fit(
            start_params=start,
            method="bfgs" if start is None else "newton",
            maxiter=200,
            disp=0,
            cov_type=cov_type,
            **({} if start is None else {"tol": 1e-10}),
        )
        if not result.mle_retvals.get("converged", False) and start is not None:
            result = model.fit(method="bfgs", maxiter=500, disp=0, cov_type=cov_type)
    params = np.asarray(result.params, dtype=float)
    cov = np.asarray(result.cov_params(), dtype=float)
    return CountFit(
        log_rate_ratio=float(params[column]),
        std_error=float(np.sqrt(cov[column, column])),
        converged=bool(result.mle_retvals.get("converged", False)),
        n_params=int(design.shape[1]),
        alpha=float(params[-1]),
    )


def overdispersion_test(y: np.ndarray, fitted: np.ndarray, df_resid: float) -> dict[str, float]:
    """Cameron–Trivedi regression test of Poisson equidispersion against NB2, and Pearson χ²/df.

    Regresses ``((y - mu)^2 - y) / mu`` on ``mu`` without intercept by OLS; under the
    Poisson null the slope ``alpha`` is 0, under NB2 it is the dispersion (variance
    ``mu + alpha mu^2``). One-sided test of ``alpha > 0`` (Cameron & Trivedi 1990; 2013,
    section 3.4).
    """
    mu = np.maximum(fitted, 1e-12)
    response = ((y - mu) ** 2 - y) / mu
    slope = float(np.sum(response * mu) / np.sum(mu**2))
    residual = response - slope * mu
    dof = max(y.size - 1, 1)
    variance = float(np.sum(residual**2) / dof / np.sum(mu**2))
    t_stat = slope / math.sqrt(variance) if variance > 0 else math.inf
    p_value = float(stats.t.sf(t_stat, dof)) if math.isfinite(t_stat) else 0.0
    pearson = float(np.sum((y - mu) ** 2 / mu) / max(df_resid, 1.0))
    return {
        "cameron_trivedi_alpha": slope,
        "cameron_trivedi_t": t_stat,
        "cameron_trivedi_p_value": p_value,
        "pearson_chi2_per_df": pearson,
    }


def log_wald(log_estimate: float, std_error: float, level: float) -> Interval:
    """Interval for a ratio from its logarithm's estimate and standard error (null ratio 1)."""
    z = z_value(level)
    if not (math.isfinite(log_estimate) and math.isfinite(std_error) and std_error > 0):
        return Interval(_exp(log_estimate), math.nan, math.nan, math.nan, math.nan)
    estimate = _exp(log_estimate)
    p_value = float(2 * stats.norm.sf(abs(log_estimate) / std_error))
    return Interval(
        estimate,
        estimate * std_error,
        _exp(log_estimate - z * std_error),
        _exp(log_estimate + z * std_error),
        p_value,
    )


def _exp(value: float) -> float:
    """``exp`` that returns ``inf`` instead of raising for a huge argument."""
    if math.isnan(value):
        return math.nan
    return math.exp(value) if value < 700 else math.inf


def full_rank_columns(design: np.ndarray, *, keep: tuple[int, ...] = (0, 1)) -> np.ndarray:
    """Indices of a maximal set of linearly independent columns, ``keep`` always first.

    Greedy selection on the correlation-scaled cross-product ``X'X`` (p × p, cheap at a
    million rows): column ``j`` joins if ``1 - R^2`` of its regression on the columns
    already chosen exceeds 1e-9. ``keep`` (intercept and treatment) are offered first,
    so an aliased covariate column is dropped rather than the treatment. Spline bases of
    near-discrete covariates and levels that never occur make designs rank-deficient.
    """
    p = design.shape[1]
    order = list(keep) + [j for j in range(p) if j not in keep]
    cross = design.T @ design
    scale = np.sqrt(np.diag(cross))
    scale[scale == 0] = np.inf  # an all-zero column has 1 - R^2 = 0 and is dropped
    cross = cross / scale[:, None] / scale[None, :]
    chosen: list[int] = []
    for j in order:
        if chosen:
            block = cross[np.ix_(chosen, chosen)]
            link = cross[chosen, j]
            residual = cross[j, j] - link @ np.linalg.solve(block, link)
        else:
            residual = cross[j, j]
        if residual > 1e-9:
            chosen.append(j)
    return np.array(sorted(chosen), dtype=int)


# ---- crude rate ratios with zero events ------------------------------------------------------


def continuity_corrected_rate_ratio(
    events_treated: float,
    exposure_treated: float,
    events_control: float,
    exposure_control: float,
    level: float,
) -> Interval:
    """Crude rate ratio with 0.5 added to each arm's events, and its log-scale Wald interval.

    ``RR = ((y1 + 0.5) / E1) / ((y0 + 0.5) / E0)``, ``se(log RR) = sqrt(1/(y1 + 0.5) +
    1/(y0 + 0.5))`` — finite whichever arm has no events (the Haldane–Anscombe
    correction applied to rates).
    """
    a, b = events_treated + 0.5, events_control + 0.5
    log_ratio = math.log(a / exposure_treated) - math.log(b / exposure_control)
    return log_wald(log_ratio, math.sqrt(1 / a + 1 / b), level)


def exact_conditional_rate_ratio_interval(
    events_treated: int,
    exposure_treated: float,
    events_control: int,
    exposure_control: float,
    level: float,
) -> tuple[float, float]:
    """Exact conditional interval for a rate ratio (Clopper–Pearson on y1 | y1 + y0).

    Given ``y1 + y0 = k``, ``y1 ~ Binomial(k, p)`` with ``p = RR E1 / (RR E1 + E0)``;
    the limits for ``p`` map to ``RR = p / (1 - p) * E0 / E1``. The upper limit is
    infinite when the comparator has no events.
    """
    k = events_treated + events_control
    alpha = 1 - level
    if k == 0:
        return 0.0, math.inf
    p_low = (
        0.0
        if events_treated == 0
        else stats.beta.ppf(alpha / 2, events_treated, k - events_treated + 1)
    )
    p_high = (
        1.0
        if events_treated == k
        else stats.beta.ppf(1 - alpha / 2, events_treated + 1, k - events_treated)
    )
    scale = exposure_control / exposure_treated
    low = p_low / (1 - p_low) * scale
    high = math.inf if p_high >= 1 else p_high / (1 - p_high) * scale
    return float(low), float(high)


# ---- ratio estimators -------------------------------------------------------------------------


def exact_poisson_interval(events: float, exposure: float, level: float) -> tuple[float, float]:
    """Garwood's exact interval for a Poisson rate ``events / exposure``."""
    alpha = 1 - level
    low = 0.0 if events == 0 else stats.chi2.ppf(alpha / 2, 2 * events) / 2
    high = stats.chi2.ppf(1 - alpha / 2, 2 * events + 2) / 2
    return float(low / exposure), float(high / exposure)


@dataclass(frozen=True)
class RatioEstimate:
    """A pooled ratio ``sum(a) / sum(b)`` with its interval and how it was computed."""

    interval: Interval
    method: str
    n_clusters: int
    numerator: float
    denominator: float
    note: str | None = None


def ratio_influence(numerator: np.ndarray, denominator: np.ndarray) -> tuple[float, np.ndarray]:
    """Ratio ``R = sum(a) / sum(b)`` and its per-cluster influence ``(a_i - R b_i) / mean(b)``."""
    total = float(denominator.sum())
    ratio = float(numerator.sum()) / total
    return ratio, (numerator - ratio * denominator) / (total / denominator.size)


def rate_ratio_estimate(
    numerator: np.ndarray, denominator: np.ndarray, *, level: float, scale: float = 1.0
) -> RatioEstimate:
    """A rate pooled over clusters (cases): cluster-robust log-scale interval, exact if no events.

    ``R = scale * sum(a) / sum(b)``; ``se(log R) = sqrt(sum(psi_i^2)) / (n R)`` with the
    ratio-estimator influence ``psi_i`` (HC0 convention, cases as clusters, so
    overdispersion and within-case correlation of events are allowed). With no events the
    log scale is undefined and Garwood's exact Poisson interval is used instead.
    """
    events, exposure = float(numerator.sum()), float(denominator.sum())
    n = int(numerator.size)
    if n == 0 or exposure <= 0:
        nan = Interval(math.nan, math.nan, math.nan, math.nan, math.nan)
        return RatioEstimate(nan, "ratio_estimator", n, events, exposure, "no exposure")
    if events == 0 or n < 2:
        low, high = exact_poisson_interval(events, exposure, level)
        interval = Interval(
            scale * events / exposure, math.nan, scale * low, scale * high, math.nan
        )
        return RatioEstimate(
            interval,
            "exact_poisson",
            n,
            events,
            exposure,
            "no events: Garwood exact Poisson interval" if events == 0 else "one case only",
        )
    ratio, influence = ratio_influence(numerator, denominator)
    interval = wald_from_influence(
        scale * ratio, influence / ratio, level=level, null=1.0, log_scale=True
    )
    # a rate has no null value: the p-value against 1 would mean nothing
    interval = Interval(
        interval.estimate, interval.std_error, interval.ci_low, interval.ci_high, math.nan
    )
    return RatioEstimate(interval, "ratio_estimator", n, events, exposure)


def share_estimate(
    numerator: np.ndarray, denominator: np.ndarray, *, level: float
) -> RatioEstimate:
    """A share pooled over clusters: cluster-robust interval on the logit scale.

    ``S = sum(a) / sum(b)`` with ``0 <= a_i <= b_i``; ``se(logit S) = se(S) / (S (1 - S))``
    with ``se(S) = sqrt(sum(psi_i^2)) / n``; the logit keeps the limits inside (0, 1).
    When ``S`` is 0 or 1 the logit is undefined and a Clopper–Pearson interval on the
    pooled counts is used, which treats items as independent (a warning says so).
    """
    n = int(numerator.size)
    total, part = float(denominator.sum()), float(numerator.sum())
    if n == 0 or total <= 0:
        nan = Interval(math.nan, math.nan, math.nan, math.nan, math.nan)
        return RatioEstimate(nan, "ratio_estimator", n, part, total, "nothing to share")
    share, influence = ratio_influence(numerator, denominator)
    if share in (0.0, 1.0) or n < 2:
        alpha = 1 - level
        k, m = round(part), round(total)
        low = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, m - k + 1))
        high = 1.0 if k == m else float(stats.beta.ppf(1 - alpha / 2, k + 1, m - k))
        interval = Interval(share, math.nan, low, high, math.nan)
        note = "share is 0 or 1: Clopper–Pearson interval on pooled counts (ignores clustering)"
        return RatioEstimate(interval, "clopper_pearson", n, part, total, note)
    std_error = float(np.sqrt(np.sum(influence**2)) / n)
    logit = math.log(share / (1 - share))
    se_logit = std_error / (share * (1 - share))
    z = z_value(level)
    low = 1 / (1 + math.exp(-(logit - z * se_logit)))
    high = 1 / (1 + math.exp(-(logit + z * se_logit)))
    return RatioEstimate(
        Interval(share, std_error, low, high, math.nan), "ratio_estimator", n, part, total
    )
