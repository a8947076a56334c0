"""``outcome.naive``: the unadjusted difference in mean outcome, shown for contrast only."""

from __future__ import annotations

from techeval.estimators.base import Tags
from techeval.estimators.outcome._arms import (
    ArmMeansEstimator,
    Arms,
    ArmSettings,
)
from techeval.estimators.registry import register

__all__ = ["Naive", "naive_arm_means"]


def naive_arm_means(
    settings: ArmSettings, features, treated, y, kind, seed, need_influence
) -> Arms:
    """The arm means ``mean(Y | T=1)``, ``mean(Y | T=0)`` and their influence values."""
    m1, m0 = float(y[treated].mean()), float(y[~treated].mean())
    arms = Arms(m1, m0)
    if need_influence:
        t = treated.astype(float)
        arms.influence_treated = t * (y - m1) / t.mean()
        arms.influence_control = (1 - t) * (y - m0) / (1 - t.mean())
    return arms


@register("outcome.naive")
class Naive(ArmMeansEstimator):
    """The raw difference between cases with and without the technique: shown only to
    make the effect of adjustment visible.

    Techniques go to the biggest, hardest cases, so this comparison mixes the
    technique's effect with the difference between case types. The propensity model is
    fitted only for the overlap and balance diagnostics.

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
    ``estimate = mean(Y | T=1) - mean(Y | T=0)``; influence functions
    ``T (Y - m1) / P(T=1)`` and ``(1 - T)(Y - m0) / P(T=0)`` give the unpooled
    (Welch) standard error with divisor ``n``. The same number is reported for ATE and
    ATT.

    Missing data: rows with a missing treatment, outcome or covariate are dropped and
    counted in ``diagnostics["rows_dropped"]``, and a warning says how many.

    Identification assumes no unmeasured confounding given the covariates, positivity
    (every kind of case could have received either) and consistency; the E-value in the
    diagnostics says how strong unmeasured confounding would need to be to explain the
    estimate away.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from techeval.estimators.outcome import Naive
    >>> frame = pd.DataFrame({"t": [0, 0, 0, 1, 1, 1] * 5, "y": [0, 1, 0, 1, 1, 0] * 5})
    >>> round(Naive().fit(frame, treatment="t", outcome="y").result_.estimate, 3)
    0.333
    """

    tags = Tags(adjusted=False)

    def arm_means(self, settings, features, treated, y, kind, seed, need_influence) -> Arms:
        return naive_arm_means(settings, features, treated, y, kind, seed, need_influence)
