"""``outcome.ipw``: inverse-probability weighting with stabilised (Hájek) weights."""

from __future__ import annotations

import numpy as np

from techeval.estimators._nuisance import GLM, score_correction
from techeval.estimators.outcome._arms import (
    _COMMON_NOTES,
    _COMMON_PARAMS_DOC,
    ArmMeansEstimator,
    Arms,
    ArmSettings,
    _common_init,
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
    """Inverse-probability weighting with stabilised weights (Hájek form)."""

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
        _common_init(**locals())

    def arm_means(self, settings, features, treated, y, kind, seed, need_influence) -> Arms:
        return ipw_arm_means(settings, features, treated, y, kind, seed, need_influence)


IPW.__doc__ += (
    """
    Parameters
    ----------
    truncate : float or None
        Cap the weights of each arm at this quantile of its weights (e.g. 0.99).
        Truncation trades bias for variance and changes the target slightly.
"""
    + _COMMON_PARAMS_DOC
    + """
    Notes
    -----
    ATE: ``m1 = sum(T Y / e) / sum(T / e)``, ``m0 = sum((1-T) Y / (1-e)) / sum((1-T)/(1-e))``
    (stabilising by ``P(T=t)`` leaves Hájek means unchanged). ATT: ``m1 = mean(Y | T=1)``
    and control weights ``e / (1 - e)``. The influence function stacks the propensity
    model's score, so the standard error accounts for the propensity having been
    estimated (Lunceford & Davidian 2004); with ``nuisance="gbm"`` the propensity is
    treated as known. Consistent only if the propensity model is correctly specified.
"""
    + _COMMON_NOTES
)
