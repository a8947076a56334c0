"""The cost-effectiveness plane: ICER, Fieller interval, net monetary benefit, CEAC.

Health economics asks of a treatment what policymakers ask of an investigative
technique: *what does one extra conviction cost with it, and is that worth paying?*

* :func:`icer_quadrant`, :func:`quadrant_shares`, :func:`fieller_interval` — the
  cost-effectiveness plane and the ICER with its Fieller interval;
* :func:`net_monetary_benefit`, :func:`acceptability_curve` — net monetary benefit and
  the cost-effectiveness acceptability curve (CEAC), over a grid of willingness to pay
  whose default is in :mod:`techeval.assumptions`;
* :func:`icer_summary`, :class:`ICERSummary` — for one effect, all of the above from
  joint draws of cost and effect: the ICER (reported only where it means something),
  its quadrant, the net monetary benefit and the probability of being cost-effective.

Everything is per case: ``delta_cost`` is the adjusted difference in mean cost per case
and ``delta_effect`` the adjusted difference in the probability of the effect
(e.g. conviction) per case, so ``delta_cost / delta_effect`` is the cost per additional
conviction.

References
----------
Drummond, M. F., Sculpher, M. J., Claxton, K., Stoddart, G. L., & Torrance, G. W. (2015).
*Methods for the Economic Evaluation of Health Care Programmes* (4th ed.). Oxford
University Press.

Fenwick, E., Claxton, K., & Sculpher, M. (2001). Representing uncertainty: the role of
cost-effectiveness acceptability curves. *Health Economics*, 10(8), 779–787.

Glick, H. A., Doshi, J. A., Sonnad, S. S., & Polsky, D. (2014). *Economic Evaluation in
Clinical Trials* (2nd ed.). Oxford University Press. (Ch. 7–8: ICER inference, Fieller.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from techeval.assumptions import DEFAULT_WTP_GRID
from techeval.errors import ArgumentError
from techeval.inference import (
    Interval,
    bootstrap_interval,
    influence_covariance,
    wald_from_influence,
)

__all__ = [
    "QUADRANTS",
    "ICERSummary",
    "acceptability_curve",
    "fieller_interval",
    "icer_quadrant",
    "icer_summary",
    "net_monetary_benefit",
    "quadrant_shares",
]

#: The quadrants of the cost-effectiveness plane (Drummond et al. 2015, fig. 4.1), plus
#: the origin. Only "more costly, more effective" and "less costly, less effective" are
#: trade-offs for which an ICER is meaningful.
QUADRANTS: tuple[str, ...] = (
    "dominant",
    "dominated",
    "more costly, more effective",
    "less costly, less effective",
    "no difference",
)


def icer_quadrant(delta_cost: float, delta_effect: float) -> str:
    """Quadrant of the cost-effectiveness plane for a point ``(delta_effect, delta_cost)``.

    Parameters
    ----------
    delta_cost
        Incremental cost of the technique (technique minus comparator).
    delta_effect
        Incremental effect (e.g. difference in the probability of conviction).

    Returns
    -------
    str
        ``"dominant"`` (no more costly and at least as effective, one strictly),
        ``"dominated"`` (no less costly and at most as effective, one strictly),
        ``"more costly, more effective"``, ``"less costly, less effective"``, or
        ``"no difference"`` when both are exactly zero.

    Notes
    -----
    Ties follow weak dominance: same effect at a higher cost is dominated, same cost
    with more effect is dominant. Whether a quadrant is *statistically* clear is a
    separate question, answered by :func:`quadrant_shares` over bootstrap draws.

    Examples
    --------
    >>> icer_quadrant(-100.0, 0.05), icer_quadrant(100.0, -0.05), icer_quadrant(100.0, 0.05)
    ('dominant', 'dominated', 'more costly, more effective')
    """
    if not (math.isfinite(delta_cost) and math.isfinite(delta_effect)):
        raise ArgumentError("the quadrant needs finite incremental cost and effect")
    if delta_cost == 0 and delta_effect == 0:
        return "no difference"
    if delta_cost <= 0 and delta_effect >= 0:
        return "dominant"
    if delta_cost >= 0 and delta_effect <= 0:
        return "dominated"
    if delta_cost > 0:
        return "more costly, more effective"
    return "less costly, less effective"


def quadrant_shares(delta_cost: np.ndarray, delta_effect: np.ndarray) -> dict[str, float]:
    """Share of (bootstrap or Monte Carlo) draws in each quadrant of the plane.

    Non-finite draws are ignored. Returns a dict over :data:`QUADRANTS` summing to 1.
    """
    cost = np.asarray(delta_cost, dtype=float)
    effect = np.asarray(delta_effect, dtype=float)
    keep = np.isfinite(cost) & np.isfinite(effect)
    cost, effect = cost[keep], effect[keep]
    if cost.size == 0:
        return dict.fromkeys(QUADRANTS, math.nan)
    origin = (cost == 0) & (effect == 0)
    dominant = (cost <= 0) & (effect >= 0) & ~origin
    dominated = (cost >= 0) & (effect <= 0) & ~origin & ~dominant
    north_east = (cost > 0) & (effect > 0)
    south_west = (cost < 0) & (effect < 0)
    counts = [dominant, dominated, north_east, south_west, origin]
    return {q: float(c.mean()) for q, c in zip(QUADRANTS, counts, strict=True)}


def fieller_interval(
    delta_cost: float,
    delta_effect: float,
    var_cost: float,
    var_effect: float,
    cov_cost_effect: float,
    *,
    level: float = 0.95,
) -> tuple[float, float]:
    """Fieller confidence interval for the ratio ``delta_cost / delta_effect`` (the ICER).

    Parameters
    ----------
    delta_cost, delta_effect
        Point estimates of the incremental cost and effect.
    var_cost, var_effect, cov_cost_effect
        Their variances and covariance (e.g. from the joint bootstrap).
    level
        Confidence level.

    Returns
    -------
    tuple of float
        ``(low, high)``; ``(nan, nan)`` when the interval is unbounded, which happens
        exactly when ``delta_effect`` is not significantly different from zero at
        ``level`` (``delta_effect^2 / var_effect <= z^2``).

    Notes
    -----
    The limits are the roots in ``R`` of
    ``(delta_cost - R delta_effect)^2 = z^2 (var_cost - 2 R cov + R^2 var_effect)``,
    i.e. ``a R^2 - 2 b R + c = 0`` with ``a = delta_effect^2 - z^2 var_effect``,
    ``b = delta_cost delta_effect - z^2 cov``, ``c = delta_cost^2 - z^2 var_cost``
    (Glick et al. 2014, ch. 8; Willan & O'Brien 1996). Unlike a percentile interval of
    bootstrapped ratios it stays valid when the effect's sampling distribution comes
    near zero, and it says so by being unbounded.

    References
    ----------
    Willan, A. R., & O'Brien, B. J. (1996). Confidence intervals for cost-effectiveness
    ratios: an application of Fieller's theorem. *Health Economics*, 5(4), 297–305.

    Examples
    --------
    >>> low, high = fieller_interval(1000.0, 0.1, 100.0**2, 0.02**2, 0.0)
    >>> round(low), round(high)
    (6717, 16914)
    """
    z2 = float(stats.norm.ppf(0.5 + level / 2)) ** 2
    a = delta_effect**2 - z2 * var_effect
    b = delta_cost * delta_effect - z2 * cov_cost_effect
    c = delta_cost**2 - z2 * var_cost
    discriminant = b * b - a * c
    if not a > 0 or discriminant < 0:
        return math.nan, math.nan
    root = math.sqrt(discriminant)
    return (b - root) / a, (b + root) / a


def net_monetary_benefit(
    delta_cost: np.ndarray | float, delta_effect: np.ndarray | float, willingness_to_pay: float
) -> np.ndarray | float:
    """Net monetary benefit ``NMB = lambda * delta_effect - delta_cost``.

    ``lambda`` is the willingness to pay per unit of effect (per additional
    conviction). A technique is cost-effective at ``lambda`` when ``NMB > 0``
    (Drummond et al. 2015, ch. 4).
    """
    return willingness_to_pay * np.asarray(delta_effect) - np.asarray(delta_cost)


def acceptability_curve(
    delta_cost: np.ndarray,
    delta_effect: np.ndarray,
    willingness_to_pay: Sequence[float] = DEFAULT_WTP_GRID,
) -> pd.DataFrame:
    """Cost-effectiveness acceptability curve from joint draws of (cost, effect).

    Parameters
    ----------
    delta_cost, delta_effect
        Joint draws (bootstrap replicates from the same resamples); non-finite pairs
        are ignored.
    willingness_to_pay
        Grid of willingness to pay per unit of effect.

    Returns
    -------
    pandas.DataFrame
        Columns ``willingness_to_pay`` and ``prob_cost_effective``: the share of draws
        with ``lambda * delta_effect - delta_cost > 0`` at each ``lambda``.

    Notes
    -----
    The CEAC (Fenwick, Claxton & Sculpher 2001) is monotone non-decreasing in
    ``lambda`` when every draw has ``delta_effect >= 0`` and non-increasing when every
    draw has ``delta_effect <= 0``; otherwise it need not be monotone. At
    ``lambda = 0`` it is the share of draws that save money.

    Examples
    --------
    >>> import numpy as np
    >>> curve = acceptability_curve(np.array([100.0, 300.0]), np.array([0.01, 0.01]), [0, 20000, 40000])
    >>> curve["prob_cost_effective"].tolist()
    [0.0, 0.5, 1.0]
    """
    cost = np.asarray(delta_cost, dtype=float)
    effect = np.asarray(delta_effect, dtype=float)
    keep = np.isfinite(cost) & np.isfinite(effect)
    cost, effect = cost[keep], effect[keep]
    grid = np.asarray(willingness_to_pay, dtype=float)
    if cost.size == 0:
        probability = np.full(grid.size, math.nan)
    else:
        probability = ((grid[:, None] * effect[None, :] - cost[None, :]) > 0).mean(axis=1)
    return pd.DataFrame({"willingness_to_pay": grid, "prob_cost_effective": probability})


@dataclass(frozen=True)
class ICERSummary:
    """The cost-effectiveness of a technique for one effect, as :func:`icer_summary` finds it.

    Attributes
    ----------
    delta_cost, delta_effect : float
        The point estimates summarised.
    effect : Interval
        The incremental effect with its interval.
    effect_ci_spans_zero : bool
        Whether that interval includes zero.
    quadrant : str
        Quadrant of the point estimate (:func:`icer_quadrant`).
    quadrant_probabilities : dict of str to float
        Share of the draws in each quadrant (:func:`quadrant_shares`).
    icer_status : {"reported", "no_detectable_effect", "dominant", "dominated"}
        ``"reported"`` when the effect's interval excludes zero and the point lies in a
        trade-off quadrant; otherwise why no ICER is reported (``"no_detectable_effect"``
        also when the point estimates of cost and effect are both exactly zero, where
        the ratio is not defined).
    icer, icer_ci_low, icer_ci_high : float
        ``delta_cost / delta_effect`` and its Fieller interval; ``nan`` unless
        ``icer_status == "reported"``, and the interval ``nan`` too when Fieller's is
        unbounded.
    willingness_to_pay : float
        ``lambda``, per unit of effect.
    net_monetary_benefit : Interval
        ``lambda * delta_effect - delta_cost`` per case, with its interval.
    prob_cost_effective : float
        Share of the draws with a positive net monetary benefit.
    """

    delta_cost: float
    delta_effect: float
    effect: Interval
    effect_ci_spans_zero: bool
    quadrant: str
    quadrant_probabilities: dict[str, float]
    icer_status: Literal["reported", "no_detectable_effect", "dominant", "dominated"]
    icer: float
    icer_ci_low: float
    icer_ci_high: float
    willingness_to_pay: float
    net_monetary_benefit: Interval
    prob_cost_effective: float


def icer_summary(
    delta_cost: float,
    delta_effect: float,
    cost_draws: np.ndarray,
    effect_draws: np.ndarray,
    *,
    willingness_to_pay: float,
    level: float = 0.95,
    influence: np.ndarray | None = None,
) -> ICERSummary:
    """ICER with its quadrant and Fieller interval, and net monetary benefit, for one effect.

    Parameters
    ----------
    delta_cost, delta_effect
        Point estimates of the incremental cost and effect per case.
    cost_draws, effect_draws
        Joint draws of the two: bootstrap replicates from the same resamples or, with
        ``influence``, normal draws with the influence-function covariance. Pairs with
        a non-finite value (failed resamples) are left out.
    willingness_to_pay
        ``lambda``, the willingness to pay per unit of effect.
    level
        Confidence level.
    influence
        ``(n, 2)`` influence values of (cost, effect). When given, the effect and the
        net monetary benefit get Wald intervals and Fieller's interval takes the
        influence-function covariance (:func:`techeval.inference.influence_covariance`);
        otherwise percentile intervals and the covariance of the draws.

    Returns
    -------
    ICERSummary
        Plain values; the cost estimators label them into result rows.

    Notes
    -----
    ``ICER = delta_cost / delta_effect`` is meaningful only for a detectable effect in a
    trade-off quadrant: when the effect's interval includes zero the ratio is
    unbounded in probability, and a dominant or dominated technique needs no ratio
    (Drummond et al. 2015, ch. 4; Glick et al. 2014, ch. 7–8). Its interval is
    Fieller's (:func:`fieller_interval`). The probability of being cost-effective at
    ``lambda`` is one point of the acceptability curve (:func:`acceptability_curve`).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> cost, effect = rng.normal(1000.0, 100.0, 2000), rng.normal(0.1, 0.02, 2000)
    >>> s = icer_summary(1000.0, 0.1, cost, effect, willingness_to_pay=20_000.0)
    >>> s.icer_status, round(s.icer), s.quadrant, s.net_monetary_benefit.estimate
    ('reported', 10000, 'more costly, more effective', 1000.0)
    """
    willingness_to_pay = float(willingness_to_pay)
    keep = np.isfinite(cost_draws) & np.isfinite(effect_draws)
    cost_draws, effect_draws = cost_draws[keep], effect_draws[keep]
    if influence is None:
        effect = bootstrap_interval(effect_draws, delta_effect, level=level)
        covariance = np.cov(np.vstack([cost_draws, effect_draws]))
    else:
        effect = wald_from_influence(delta_effect, influence[:, 1], level=level)
        covariance = influence_covariance(influence)
    spans_zero = not (effect.ci_low > 0 or effect.ci_high < 0)
    quadrant = icer_quadrant(delta_cost, delta_effect)
    icer = low = high = math.nan
    if spans_zero:
        status = "no_detectable_effect"
    elif quadrant in ("dominant", "dominated"):
        status = quadrant
    elif delta_effect == 0:
        # "no difference": both point estimates are exactly zero, so the ratio is 0 / 0
        # even when the draws of the effect keep away from zero
        status = "no_detectable_effect"
    else:
        status = "reported"
        icer = delta_cost / delta_effect
        low, high = fieller_interval(
            delta_cost,
            delta_effect,
            covariance[0, 0],
            covariance[1, 1],
            covariance[0, 1],
            level=level,
        )
    nmb_point = float(net_monetary_benefit(delta_cost, delta_effect, willingness_to_pay))
    nmb_draws = net_monetary_benefit(cost_draws, effect_draws, willingness_to_pay)
    if influence is None:
        nmb = bootstrap_interval(nmb_draws, nmb_point, level=level)
    else:
        nmb_influence = net_monetary_benefit(influence[:, 0], influence[:, 1], willingness_to_pay)
        nmb = wald_from_influence(nmb_point, nmb_influence, level=level)
    return ICERSummary(
        delta_cost=delta_cost,
        delta_effect=delta_effect,
        effect=effect,
        effect_ci_spans_zero=spans_zero,
        quadrant=quadrant,
        quadrant_probabilities=quadrant_shares(cost_draws, effect_draws),
        icer_status=status,
        icer=icer,
        icer_ci_low=low,
        icer_ci_high=high,
        willingness_to_pay=willingness_to_pay,
        net_monetary_benefit=nmb,
        prob_cost_effective=float((nmb_draws > 0).mean()),
    )
