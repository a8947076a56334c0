"""``outcome.ipw``: inverse-probability weighting with stabilised (Hájek) weights."""

from __future__ import annotations

import numpy as np

from techeval.estimators._nuisance import GLM, score_correction
from techeval.estimators.outcome._arms import (
    ArmMeansEstimator,
    Arms,
    ArmSettings,
    clip_propensity,
    propensity_scores,
)
from techeval.estimators.registry import register

__all__ = ["IPW", "ipw_arm_means"]


def _truncate(weights: np.ndarray, quantile: float | None) -> tuple[np.ndarray, np.ndarray]:
    if quantile is None:
        return weights, np.zeros(weights.size, dtype=bool)
    cap = np.quantile(weights[weights > 0], quantile)
    return np.minimum(weights, cap), weights > cap


def ipw_arm_means(settings: ArmSettings, features, treated, y, kind, seed, need_influence) -> Arms:
    """Hájek IPW arm means and influence values that account for the estimated propensity."""
    n = y.size
    t = treated.astype(float)
    raw = propensity_scores(settings, features, treated, seed)
    e = clip_propensity(raw, settings.propensity_clip)
    if settings.estimand == "ATE":
        w1, w0 = t / e, (1 - t) / (1 - e)
        # derivatives of the weights with respect to the propensity's linear predictor
        dw1, dw0 = -t * (1 - e) / e, (1 - t) * e / (1 - e)
    else:
        w1, w0 = t, (1 - t) * e / (1 - e)
        dw1, dw0 = np.zeros(n), (1 - t) * e / (1 - e)
    w1, cut1 = _truncate(w1, settings.truncate)
    w0, cut0 = _truncate(w0, settings.truncate)
    m1 = float(w1 @ y / w1.sum())
    m0 = float(w0 @ y / w0.sum())
    arms = Arms(m1, m0, propensity=e, raw_propensity=raw)
    if not need_influence:
        return arms
    influence = {
        1: w1 * (y - m1) / w1.mean(),
        0: w0 * (y - m0) / w0.mean(),
    }
    if settings.nuisance == "glm":
        # Hájek means solve mean(w (y - m)) = 0 with w depending on the estimated
        # propensity coefficients; the stacked M-estimator adds G' H^-1 x_i (t_i - e_i)
        # with G = mean(dw (y - m) x) / mean(w). Clipped or truncated rows do not move
        # with the coefficients, so their derivative is zero.
        fixed = (raw < settings.propensity_clip) | (raw > 1 - settings.propensity_clip)
        model = GLM("binary", l2_penalty=settings.propensity_l2_penalty)
        hessian = model.penalised_hessian(features, raw)
        for arm, w, dw, cut, m in ((1, w1, dw1, cut1, m1), (0, w0, dw0, cut0, m0)):
            slope = np.where(fixed | cut, 0.0, dw) * (y - m) / w.mean()
            gradient = np.concatenate([[slope.mean()], slope @ features / n])
            influence[arm] = influence[arm] + score_correction(
                features, gradient, hessian, np.ones(n, dtype=bool), t - raw
            )
    else:
        arms.notes.append(
            "standard errors treat the gradient-boosting propensity model as known "
            "(conservative for the ATE, not guaranteed for the ATT); use "
            "inference='bootstrap' or method='aipw'"
        )
    arms.influence_treated, arms.influence_control = influence[1], influence[0]
    return arms


@register("outcome.ipw")
class IPW(ArmMeansEstimator):
    """Inverse-probability weighting with a logistic propensity model (stabilised
    weights, Hájek form).

    Parameters
    ----------
    truncate : float or None
        Cap the weights of each arm at this quantile of its weights (e.g. 0.99).
        Truncation trades bias for variance and changes the target slightly.

    estimand : {"ATE", "ATT"}
        Average effect over all cases, or over the cases that used the technique.
    nuisance : {"glm", "gbm"}
        Nuisance models: ``"glm"`` is L2-penalised logistic regression for the
        propensity and for binary outcomes, Poisson for counts, ridge for continuous
        outcomes, with text covariates one-hot encoded and continuous ones as cubic
        B-splines (knots at quantiles); ``"gbm"`` is scikit-learn's histogram gradient
        boosting.
    l2_penalty : float
        L2 penalty ``lambda`` in ``sum(loss) + lambda/2 ||beta||^2`` (intercept
        unpenalised; columns standardised). Keeps fits finite under near-separation.
        ``0`` fits unpenalised GLMs.
    spline_knots : int
        Knots per continuous covariate (``0``: linear terms only).
    propensity_clip : float
        Propensities are clipped to ``[clip, 1 - clip]`` (default 0.01, so no weight
        exceeds 100); the share clipped is reported and any clipping gives a warning.
    inference : {"influence_function", "bootstrap"}
        Standard errors from the influence function, or the nonparametric bootstrap
        (resampling within arms).
    n_bootstrap : int
        Bootstrap replicates.
    bootstrap_ci : {"percentile", "basic", "bca"}
        Bootstrap interval type.
    n_jobs : int
        joblib workers for the bootstrap (back-end via ``joblib.parallel_config``).
    ci_level : float
        Confidence level.
    outcome_type : {"auto", "binary", "count", "continuous"}
        Outcome type; ``"auto"`` infers it (0/1 → binary, non-negative integers →
        count, else continuous).
    random_state : int, numpy.random.Generator or None
        Seed for folds, boosting and the bootstrap.

    Notes
    -----
    ATE: ``m1 = sum(T Y / e) / sum(T / e)``, ``m0 = sum((1-T) Y / (1-e)) / sum((1-T)/(1-e))``
    (stabilising by ``P(T=t)`` leaves Hájek means unchanged). ATT: ``m1 = mean(Y | T=1)``
    and control weights ``e / (1 - e)``. The influence function stacks the propensity
    model's score, so the standard error accounts for the propensity having been
    estimated (Lunceford & Davidian 2004); with ``nuisance="gbm"`` the propensity is
    treated as known. Consistent only if the propensity model is correctly specified.

    Missing data: rows with a missing treatment, outcome or covariate are dropped and
    counted in ``diagnostics["rows_dropped"]``, and a warning says how many.

    Identification assumes no unmeasured confounding given the covariates, positivity
    (every kind of case could have received either) and consistency; the E-value in the
    diagnostics says how strong unmeasured confounding would need to be to explain the
    estimate away.
    """

    _parameter_constraints = {
        **ArmMeansEstimator._parameter_constraints,
        "truncate": (
            lambda v: v is None or 0.5 < v < 1,
            "None or a quantile in (0.5, 1), e.g. 0.99",
        ),
    }

    def __init__(
        self,
        *,
        estimand: str = "ATE",
        truncate: float | None = None,
        nuisance: str = "glm",
        l2_penalty: float = 1.0,
        spline_knots: int = 5,
        propensity_clip: float = 0.01,
        inference: str = "influence_function",
        n_bootstrap: int = 500,
        bootstrap_ci: str = "percentile",
        n_jobs: int | None = 1,
        ci_level: float = 0.95,
        outcome_type: str = "auto",
        random_state: int | np.random.Generator | None = None,
    ):
        self.estimand = estimand
        self.truncate = truncate
        self.nuisance = nuisance
        self.l2_penalty = l2_penalty
        self.spline_knots = spline_knots
        self.propensity_clip = propensity_clip
        self.inference = inference
        self.n_bootstrap = n_bootstrap
        self.bootstrap_ci = bootstrap_ci
        self.n_jobs = n_jobs
        self.ci_level = ci_level
        self.outcome_type = outcome_type
        self.random_state = random_state

    def arm_means(self, settings, features, treated, y, kind, seed, need_influence) -> Arms:
        return ipw_arm_means(settings, features, treated, y, kind, seed, need_influence)
