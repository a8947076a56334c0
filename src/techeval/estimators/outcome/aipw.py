"""``outcome.aipw``: augmented IPW (doubly robust) with K-fold cross-fitting."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedKFold

from techeval.estimators._nuisance import GLM, Boosting, propensity_fit
from techeval.estimators.outcome._arms import (
    _COMMON_NOTES,
    _COMMON_PARAMS_DOC,
    ArmMeansEstimator,
    Arms,
    ArmSettings,
    _common_init,
    clip_propensity,
    fit_predict,
    new_model,
)
from techeval.estimators.registry import register

__all__ = ["AIPW", "aipw_arm_means"]


def _params(model: GLM | Boosting) -> np.ndarray | None:
    """A fitted GLM's coefficients (intercept first), to start the next fold from."""
    if isinstance(model, GLM) and model.model_ is not None:
        return model.params_
    return None


def _canonical_order(features: np.ndarray, y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Row positions sorted by a fixed random projection of the row's values."""
    features = np.asarray(features, dtype=float)
    direction = np.random.default_rng(20100412).standard_normal(features.shape[1] + 2)
    # the projection of [features, y, t] without stacking a copy of the design
    projection = features @ direction[:-2] + y * direction[-2] + t * direction[-1]
    return np.argsort(projection, kind="stable")


def aipw_arm_means(settings: ArmSettings, features, treated, y, kind, seed, need_influence) -> Arms:
    """Cross-fitted AIPW arm means and their (efficient) influence values."""
    n = y.size
    t = treated.astype(float)
    fold_seed, *model_seeds = seed.spawn(4)
    folds = StratifiedKFold(
        n_splits=settings.n_folds,
        shuffle=True,
        random_state=int(fold_seed.generate_state(1)[0] % (2**31)),
    )
    raw = np.empty(n)
    mu1 = np.empty(n)
    mu0 = np.empty(n)
    propensity_model = new_model(settings, "binary", model_seeds[0], propensity=True)
    outcome_models = {
        1: new_model(settings, kind, model_seeds[1]),
        0: new_model(settings, kind, model_seeds[2]),
    }
    # every fold's propensity model starts from the full-data fit (shared with the other
    # estimators of a run), so each fold takes a couple of Newton steps; the outcome
    # models start from the previous fold's coefficients (folds overlap by (K-2)/(K-1))
    propensity_start = None
    if settings.nuisance == "glm":
        full = propensity_fit(features, treated, l2_penalty=settings.propensity_l2_penalty)
        propensity_start = np.r_[full.intercept_, full.coef_]
    # folds are drawn over the rows in a canonical order (a fixed random projection of
    # each row's values; equal rows are interchangeable), so the estimate does not depend
    # on the order of the rows in the file
    canonical = _canonical_order(features, y, t)
    for train_at, test_at in folds.split(np.zeros(n), treated[canonical]):
        train, test = np.sort(canonical[train_at]), np.sort(canonical[test_at])
        raw[test] = fit_predict(propensity_model, features, train, t, test, start=propensity_start)
        for arm, mu in ((1, mu1), (0, mu0)):
            arm_train = train[treated[train] == bool(arm)]
            mu[test] = fit_predict(
                outcome_models[arm],
                features,
                arm_train,
                y,
                test,
                start=_params(outcome_models[arm]),
            )
    e = clip_propensity(raw, settings.propensity_clip)
    if settings.estimand == "ATE":
        pseudo1 = mu1 + t / e * (y - mu1)
        pseudo0 = mu0 + (1 - t) / (1 - e) * (y - mu0)
        m1, m0 = float(pseudo1.mean()), float(pseudo0.mean())
        influence1, influence0 = pseudo1 - m1, pseudo0 - m0
    else:
        share = t.mean()
        m1 = float(y[treated].mean())
        pseudo0 = t * mu0 + (1 - t) * e / (1 - e) * (y - mu0)
        m0 = float(pseudo0.mean() / share)
        influence1 = t * (y - m1) / share
        influence0 = (pseudo0 - t * m0) / share
    arms = Arms(m1, m0, propensity=e, raw_propensity=raw)
    if need_influence:
        arms.influence_treated, arms.influence_control = influence1, influence0
    return arms


@register("outcome.aipw")
class AIPW(ArmMeansEstimator):
    """Augmented IPW (doubly robust) with K-fold cross-fitting; the default for reports."""

    def __init__(
        self,
        *,
        estimand: str = "ATE",
        n_folds: int = 5,
        nuisance: str = "glm",
        l2_penalty: float = 1.0,
        propensity_l2_penalty: float = 30.0,
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
        return aipw_arm_means(settings, features, treated, y, kind, seed, need_influence)


AIPW.__doc__ += (
    """
    Parameters
    ----------
    n_folds : int
        Cross-fitting folds (stratified by treatment): each case's nuisance predictions
        come from models fitted on the other folds.
    propensity_l2_penalty : float
        L2 penalty of the propensity GLM (same form as ``l2_penalty``, which then
        applies to the outcome models only). Stronger by default: see Notes.
"""
    + _COMMON_PARAMS_DOC
    + """
    Notes
    -----
    ATE: ``m1 = mean(mu1 + T (Y - mu1) / e)`` and ``m0 = mean(mu0 + (1-T)(Y - mu0)/(1-e))``
    with cross-fitted ``e``, ``mu1``, ``mu0``; the centred summands are the efficient
    influence functions, so the standard error needs no correction for the nuisance
    fits (Chernozhukov et al. 2018). ATT: ``m1 = mean(Y | T=1)``,
    ``m0 = sum(T mu0 + (1-T) e/(1-e) (Y - mu0)) / sum(T)``. Consistent if either the
    propensity or the outcome models are correct.

    Why the propensity model is penalised more (``propensity_l2_penalty=30`` against
    ``l2_penalty=1``): the outcome models' errors enter the estimate only as a product
    with the propensity's errors, but a noisy propensity enters through the weights
    ``1/e`` directly. With a nearly unpenalised propensity GLM, techniques used in few
    cases get some treated cases with a fitted ``e`` far below the true one (weights up
    to 100 where the truth allows 25), which inflates the estimate's variance and, more
    still, the influence-function variance, because the cross-fitted outcome model
    absorbs part of that noise. In the synthetic ``default`` scenario at n = 2,000
    (R = 200 replications) raising the propensity penalty from 1 to 30 took the
    controlled-delivery SD from 0.068 to 0.052 (the efficiency bound is 0.041) and the
    mean SE / SD ratio from 1.15 to 1.02 (coverage 0.975 to 0.945), with the bias
    unchanged (< 0.003); shrinking the outcome models instead moved the estimate by
    -0.011. A penalty of 100 over-smooths (SE / SD 0.83). The penalty is in units of
    summed log-likelihood, so its pull fades as the data grow.
"""
    + _COMMON_NOTES
    + """
    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from techeval.estimators.outcome import AIPW
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=2000)
    >>> t = rng.random(2000) < 1 / (1 + np.exp(-x))
    >>> y = (rng.random(2000) < 0.3 + 0.2 * t + 0.1 * (x > 0)).astype(int)
    >>> frame = pd.DataFrame({"t": t, "y": y, "x": x})
    >>> fitted = AIPW(random_state=0).fit(frame, treatment="t", outcome="y", covariates=["x"])
    >>> [r.scale for r in fitted.results_]
    ['risk_difference', 'risk_ratio', 'odds_ratio']
    >>> bool(fitted.result_.ci_low < 0.2 < fitted.result_.ci_high)
    True
"""
)
