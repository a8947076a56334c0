"""``outcome.regression``: g-computation with outcome models per arm."""

from __future__ import annotations

import numpy as np

from techeval.estimators._nuisance import GLM, score_correction
from techeval.estimators.outcome._arms import (
    ArmMeansEstimator,
    Arms,
    ArmSettings,
    fit_predict,
    new_model,
)
from techeval.estimators.registry import register

__all__ = ["Regression", "regression_arm_means"]


def regression_arm_means(
    settings: ArmSettings, features, treated, y, kind, seed, need_influence
) -> Arms:
    """The arm means of g-computation and their stacked M-estimator influence values."""
    n = y.size
    t = treated.astype(float)
    seeds = seed.spawn(2)
    predictions, models = {}, {}
    for arm, rows, arm_seed in ((1, treated, seeds[0]), (0, ~treated, seeds[1])):
        models[arm] = new_model(settings, kind, arm_seed)
        predictions[arm] = fit_predict(models[arm], features, np.flatnonzero(rows), y)
    mu1, mu0 = predictions[1], predictions[0]
    if settings.estimand == "ATE":
        m1, m0 = float(mu1.mean()), float(mu0.mean())
    else:
        m1, m0 = float(y[treated].mean()), float(mu0[treated].mean())
    arms = Arms(m1, m0)
    if not need_influence:
        return arms
    share = t.mean()
    if settings.estimand == "ATE":
        influence = {1: mu1 - m1, 0: mu0 - m0}
        target_rows = {1: np.ones(n), 0: np.ones(n)}
    else:
        influence = {1: t * (y - m1) / share, 0: t * (mu0 - m0) / share}
        target_rows = {0: t / share}
    for arm, rows in ((1, treated), (0, ~treated)):
        if arm not in target_rows or not isinstance(models[arm], GLM) or models[arm].model_ is None:
            continue
        # M-estimation: the outcome model's coefficients were estimated from the arm's
        # rows, which adds gradient' H^-1 x_i (y_i - mu_i) to the plug-in influence
        model, mu = models[arm], predictions[arm]
        X = features
        gradient = np.concatenate(
            [
                [np.mean(target_rows[arm] * model.variance(mu))],
                (target_rows[arm] * model.variance(mu)) @ X / n,
            ]
        )
        hessian = model.penalised_hessian(X[rows], mu[rows])
        influence[arm] = influence[arm] + score_correction(
            X, gradient, hessian, rows, (y - mu)[rows]
        )
    if settings.nuisance == "gbm":
        arms.notes.append(
            "standard errors treat the gradient-boosting outcome models as known and may be "
            "too small; use inference='bootstrap' or method='aipw'"
        )
    arms.influence_treated, arms.influence_control = influence[1], influence[0]
    return arms


@register("outcome.regression")
class Regression(ArmMeansEstimator):
    """Outcome regression (g-computation): outcome models per arm, predictions averaged
    over the cases.

    Parameters
    ----------
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
    Fits ``mu_a(x) = E[Y | T=a, X=x]`` separately in each arm and reports
    ``m_a = mean_i mu_a(X_i)`` (ATE) or, for the ATT, ``m1 = mean(Y | T=1)`` and
    ``m0 = mean_{i: T_i=1} mu_0(X_i)``. The influence function is that of the stacked
    M-estimator: ``mu_a(X_i) - m_a + g' H^-1 x_i 1{T_i=a}(Y_i - mu_a(X_i))`` with
    ``g = mean(V(mu_a) x)`` and ``H`` the penalised Hessian of the GLM, so the
    standard error includes the outcome model's estimation error (validated against
    statsmodels GLM fits with HC0 covariance and the delta method). Consistent only if
    the outcome models are correctly specified.

    Missing data: rows with a missing treatment, outcome or covariate are dropped and
    counted in ``diagnostics["rows_dropped"]``, and a warning says how many.

    Identification assumes no unmeasured confounding given the covariates, positivity
    (every kind of case could have received either) and consistency; the E-value in the
    diagnostics says how strong unmeasured confounding would need to be to explain the
    estimate away.
    """

    def arm_means(self, settings, features, treated, y, kind, seed, need_influence) -> Arms:
        return regression_arm_means(settings, features, treated, y, kind, seed, need_influence)
