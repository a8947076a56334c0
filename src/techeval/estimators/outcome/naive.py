"""``outcome.naive``: the unadjusted difference in mean outcome, shown for contrast only."""

from __future__ import annotations

from techeval.estimators.base import Tags
from techeval.estimators.outcome._arms import (
    _COMMON_NOTES,
    _COMMON_PARAMS_DOC,
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
    """Unadjusted difference in mean outcome between cases with and without the technique."""

    tags = Tags(adjusted=False)

    def arm_means(self, settings, features, treated, y, kind, seed, need_influence) -> Arms:
        return naive_arm_means(settings, features, treated, y, kind, seed, need_influence)


Naive.__doc__ += (
    """
    Shown for contrast only: techniques go to the biggest, hardest cases, so this
    comparison mixes the technique's effect with the difference between case types.
    The propensity model is fitted only for the overlap and balance diagnostics.

    Parameters
    ----------"""
    + _COMMON_PARAMS_DOC
    + """
    Notes
    -----
    ``estimate = mean(Y | T=1) - mean(Y | T=0)``; influence functions
    ``T (Y - m1) / P(T=1)`` and ``(1 - T)(Y - m0) / P(T=0)`` give the unpooled
    (Welch) standard error with divisor ``n``. The same number is reported for ATE and
    ATT.
"""
    + _COMMON_NOTES
    + """
    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from techeval.estimators.outcome import Naive
    >>> frame = pd.DataFrame({"t": [0, 0, 0, 1, 1, 1] * 5, "y": [0, 1, 0, 1, 1, 0] * 5})
    >>> round(Naive().fit(frame, treatment="t", outcome="y").result_.estimate, 3)
    0.333
"""
)
