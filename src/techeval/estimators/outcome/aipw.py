"""``outcome.aipw``: augmented IPW (doubly robust) with K-fold cross-fitting."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedKFold

from techeval.estimators._nuisance import GLM, Boosting, propensity_fit
from techeval.estimators.outcome._arms import (
    ArmMeansEstimator,
    Arms,
    ArmSettings,
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
    """Augmented inverse-probability weighting (doubly robust), with cross-fitted
    propensity and outcome models; influence-function confidence intervals.

    Parameters
    ----------
    n_folds : int
        Cross-fitting folds (stratified by treatment): each case's nuisance predictions
        come from models fitted on the other folds.
    propensity_l2_penalty : float
        L2 penalty of the propensity GLM (same form as ``l2_penalty``, which then
        applies to the outcome models only). Stronger by default: see Notes.

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

    Missing data: rows with a missing treatment, outcome or covariate are dropped and
    counted in ``diagnostics["rows_dropped"]``, and a warning says how many.

    Identification assumes no unmeasured confounding given the covariates, positivity
    (every kind of case could have received either) and consistency; the E-value in the
    diagnostics says how strong unmeasured confounding would need to be to explain the
    estimate away.

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

    _parameter_constraints = {
        **ArmMeansEstimator._parameter_constraints,
        "n_folds": (lambda v: int(v) >= 2, "an integer >= 2"),
        "propensity_l2_penalty": (lambda v: v >= 0, "a number >= 0"),
    }

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
        self.estimand = estimand
        self.n_folds = n_folds
        self.nuisance = nuisance
        self.l2_penalty = l2_penalty
        self.propensity_l2_penalty = propensity_l2_penalty
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
        return aipw_arm_means(settings, features, treated, y, kind, seed, need_influence)
