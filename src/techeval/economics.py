"""Economic evaluation: uncertain monetary values, ICERs, acceptability and benefit–cost.

Health economics asks of a treatment what policymakers ask of an investigative
technique: *what does one extra conviction cost with it, and is that worth paying?*
This module holds the arithmetic shared by the cost estimators
(:mod:`techeval.estimators.cost`), the witness-protection programme model and the
protocols:

* :class:`UncertainValue` — a monetary value with its uncertainty (fixed, triangular,
  lognormal, uniform or normal), parseable from a plain dict;
* :class:`MonetaryValues` and :data:`DEFAULT_MONETARY_VALUES` — the values a
  benefit–cost analysis needs (a conviction, a high-level conviction, a disrupted
  group, the recovered share of assets seized, the cost of an offence committed by a
  protected witness); the default values, the willingness to pay and its grid are in
  :mod:`techeval.assumptions`, with their sources;
* :func:`icer_quadrant`, :func:`quadrant_shares`, :func:`fieller_interval` — the
  cost-effectiveness plane and the ICER with its Fieller interval;
* :func:`net_monetary_benefit`, :func:`acceptability_curve` — net monetary benefit and
  the cost-effectiveness acceptability curve (CEAC);
* :func:`icer_summary`, :class:`ICERSummary` — for one effect, all of the above from
  joint draws of cost and effect: the ICER (reported only where it means something),
  its quadrant, the net monetary benefit and the probability of being cost-effective;
* :func:`draw_effects`, :func:`simulate_benefit_cost`, :class:`BenefitCostSimulation` —
  the WSIPP-style Monte Carlo that propagates both estimation uncertainty and the
  uncertainty of the monetary values, and reports the probability that benefits exceed
  costs.

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

Washington State Institute for Public Policy (2019). *Benefit–Cost Technical
Documentation*. Olympia, WA. (Monte Carlo "risk analysis" and the probability that
benefits exceed costs.)

McCollister, K. E., French, M. T., & Fang, H. (2010). The cost of crime to society: new
crime-specific estimates for policy and program evaluation. *Drug and Alcohol
Dependence*, 108(1–2), 98–109.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from techeval.assumptions import (
    DEFAULT_CURRENCY,
    DEFAULT_MONETARY_VALUE_SPECS,
    DEFAULT_WTP_GRID,
)
from techeval.errors import ArgumentError
from techeval.inference import (
    Interval,
    bootstrap_interval,
    influence_covariance,
    wald_from_influence,
)

__all__ = [
    "DEFAULT_MONETARY_VALUES",
    "QUADRANTS",
    "BenefitCostSimulation",
    "ICERSummary",
    "MonetaryValues",
    "UncertainValue",
    "acceptability_curve",
    "draw_effects",
    "fieller_interval",
    "icer_quadrant",
    "icer_summary",
    "net_monetary_benefit",
    "quadrant_shares",
    "simulate_benefit_cost",
]

Distribution = Literal["fixed", "triangular", "lognormal", "uniform", "normal"]

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

_REQUIRED: dict[str, tuple[str, ...]] = {
    "fixed": ("value",),
    "triangular": ("low", "mode", "high"),
    "lognormal": ("mean", "sd"),
    "uniform": ("low", "high"),
    "normal": ("mean", "sd"),
}


# ---- uncertain values ------------------------------------------------------------------


@dataclass(frozen=True)
class UncertainValue:
    """A monetary value (or share) with its uncertainty distribution.

    Parameters
    ----------
    distribution : {"fixed", "triangular", "lognormal", "uniform", "normal"}
        The distribution. Parameters by distribution: ``fixed``: ``value``;
        ``triangular``: ``low``, ``mode``, ``high``; ``uniform``: ``low``, ``high``;
        ``normal``: ``mean``, ``sd``; ``lognormal``: ``mean`` and ``sd`` **on the natural
        scale** (the value's own mean and standard deviation, converted to
        ``mu, sigma`` of the log by the method of moments).
    value, low, mode, high, mean, sd
        Distribution parameters; the ones a distribution does not use must be ``None``.
    bounds
        Optional ``(lower, upper)`` the draws are clipped to (e.g. ``(0, 1)`` for a
        share given a normal distribution). ``None`` for no clipping.

    Notes
    -----
    The plain-dict form (what protocols write) is ``{"distribution": "triangular",
    "low": 1, "mode": 2, "high": 3}``; a bare number means a fixed value. Use
    :meth:`from_spec` to parse it and :meth:`to_dict` to write it back.

    :attr:`expected` is the distribution's mean; point estimates use it so that a
    point estimate is the mean of the Monte Carlo draws when the value enters linearly.

    Examples
    --------
    >>> import numpy as np
    >>> v = UncertainValue.from_spec({"distribution": "triangular", "low": 0, "mode": 3, "high": 6})
    >>> v.expected
    3.0
    >>> v.sample(np.random.default_rng(0), 3).shape
    (3,)
    >>> UncertainValue.from_spec(5).to_dict()
    {'distribution': 'fixed', 'value': 5.0}
    """

    distribution: Distribution = "fixed"
    value: float | None = None
    low: float | None = None
    mode: float | None = None
    high: float | None = None
    mean: float | None = None
    sd: float | None = None
    bounds: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        # A value object: checking on construction keeps invalid values out of protocols.
        if self.distribution not in _REQUIRED:
            raise ArgumentError(
                f"unknown distribution {self.distribution!r}",
                hint=f"Use one of {', '.join(_REQUIRED)}",
            )
        required = _REQUIRED[self.distribution]
        given = {
            name: getattr(self, name)
            for name in ("value", "low", "mode", "high", "mean", "sd")
            if getattr(self, name) is not None
        }
        missing = [name for name in required if name not in given]
        extra = [name for name in given if name not in required]
        if missing or extra:
            raise ArgumentError(
                f"a {self.distribution} value needs exactly {', '.join(required)}"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; not used: {', '.join(extra)}" if extra else ""),
                hint='e.g. {"distribution": "triangular", "low": 1, "mode": 2, "high": 3}',
            )
        for name, number in given.items():
            if not math.isfinite(float(number)):
                raise ArgumentError(f"the {name} of a {self.distribution} value must be finite")
            object.__setattr__(self, name, float(number))
        d = self.distribution
        if d == "triangular" and not (self.low <= self.mode <= self.high and self.low < self.high):
            raise ArgumentError(
                f"a triangular value needs low <= mode <= high and low < high "
                f"(got {self.low}, {self.mode}, {self.high})"
            )
        if d == "uniform" and not self.low < self.high:
            raise ArgumentError(f"a uniform value needs low < high (got {self.low}, {self.high})")
        if d in ("normal", "lognormal") and not self.sd >= 0:
            raise ArgumentError(f"the sd of a {d} value must be >= 0 (got {self.sd})")
        if d == "lognormal" and not self.mean > 0:
            raise ArgumentError(f"a lognormal value needs mean > 0 (got {self.mean})")
        if self.bounds is not None:
            low, high = (float(b) for b in self.bounds)
            if not low <= high:
                raise ArgumentError(f"bounds must be (lower, upper), got {self.bounds}")
            object.__setattr__(self, "bounds", (low, high))

    @classmethod
    def fixed(cls, value: float) -> UncertainValue:
        """A value without uncertainty."""
        return cls("fixed", value=value)

    @classmethod
    def from_spec(cls, spec: UncertainValue | float | int | Mapping[str, Any]) -> UncertainValue:
        """Parse a number (fixed) or ``{"distribution": ..., <parameters>}``."""
        if isinstance(spec, UncertainValue):
            return spec
        if isinstance(spec, bool):
            raise ArgumentError(f"a monetary value must be a number or a mapping, not {spec!r}")
        if isinstance(spec, (int, float, np.integer, np.floating)):
            return cls.fixed(float(spec))
        if not isinstance(spec, Mapping):
            raise ArgumentError(
                f"a monetary value must be a number or a mapping, not {type(spec).__name__}",
                hint='e.g. 150000 or {"distribution": "lognormal", "mean": 150000, "sd": 50000}',
            )
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise ArgumentError(
                f"unknown key(s) {', '.join(map(repr, unknown))} in a monetary value",
                hint=f"Valid keys: {', '.join(sorted(known))}",
            )
        params = dict(spec)
        if "distribution" not in params:
            raise ArgumentError(
                "a monetary value given as a mapping needs a 'distribution' key",
                hint=f"One of {', '.join(_REQUIRED)}",
            )
        if params.get("bounds") is not None:
            params["bounds"] = tuple(params["bounds"])
        return cls(**params)

    def to_dict(self) -> dict[str, Any]:
        """The plain-dict form (JSON-compatible), inverse of :meth:`from_spec`."""
        out: dict[str, Any] = {"distribution": self.distribution}
        for name in _REQUIRED[self.distribution]:
            out[name] = getattr(self, name)
        if self.bounds is not None:
            out["bounds"] = list(self.bounds)
        return out

    def _lognormal_parameters(self) -> tuple[float, float]:
        # method of moments: mean = exp(mu + s^2/2), var = (exp(s^2) - 1) mean^2
        sigma2 = math.log1p((self.sd / self.mean) ** 2)
        return math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2)

    @property
    def expected(self) -> float:
        """The mean of the distribution (before clipping to ``bounds``)."""
        d = self.distribution
        if d == "fixed":
            value = self.value
        elif d == "triangular":
            value = (self.low + self.mode + self.high) / 3
        elif d == "uniform":
            value = (self.low + self.high) / 2
        else:
            value = self.mean
        return float(value)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` independent draws."""
        d = self.distribution
        if d == "fixed":
            draws = np.full(size, self.value)
        elif d == "triangular":
            draws = rng.triangular(self.low, self.mode, self.high, size)
        elif d == "uniform":
            draws = rng.uniform(self.low, self.high, size)
        elif d == "normal":
            draws = rng.normal(self.mean, self.sd, size)
        else:
            mu, sigma = self._lognormal_parameters()
            draws = rng.lognormal(mu, sigma, size)
        if self.bounds is not None:
            draws = np.clip(draws, *self.bounds)
        return draws


@dataclass(frozen=True)
class MonetaryValues:
    """Monetary values of outcomes, per unit, in one currency.

    Parameters
    ----------
    value_conviction
        Value to society of a case ending in at least one conviction.
    value_high_level_conviction
        *Additional* value when the conviction includes a high-level target (a
        high-level conviction is also a conviction, so this is added on top of
        ``value_conviction``, never instead of it, to avoid counting it twice).
    value_group_disrupted
        Value of an organised-crime group disrupted.
    asset_recovery_share
        Share of the value of assets seized that is finally recovered (confiscated);
        a benefit per unit of currency seized.
    cost_per_witness_offence
        Cost to society of one offence committed by a protected witness.
    currency
        Currency label for reports.

    Notes
    -----
    :meth:`from_dict` accepts any subset of the field names (missing ones take the
    defaults of :data:`DEFAULT_MONETARY_VALUES`), each value a number or an
    :class:`UncertainValue` dict.
    """

    value_conviction: UncertainValue
    value_high_level_conviction: UncertainValue
    value_group_disrupted: UncertainValue
    asset_recovery_share: UncertainValue
    cost_per_witness_offence: UncertainValue
    currency: str = "USD"

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any] | MonetaryValues | None = None) -> MonetaryValues:
        """Parse ``{"value_conviction": 150000, "asset_recovery_share": {...}, ...}``."""
        if isinstance(spec, MonetaryValues):
            return spec
        spec = dict(spec or {})
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(spec) - set(names))
        if unknown:
            raise ArgumentError(
                f"unknown monetary value(s) {', '.join(map(repr, unknown))}",
                hint=f"Valid names: {', '.join(names)}",
            )
        params: dict[str, Any] = {}
        for name in names:
            if name == "currency":
                params[name] = str(spec.get(name, DEFAULT_MONETARY_VALUES.currency))
            elif name in spec:
                params[name] = UncertainValue.from_spec(spec[name])
            else:
                params[name] = getattr(DEFAULT_MONETARY_VALUES, name)
        return cls(**params)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-compatible form (inverse of :meth:`from_dict`)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.to_dict() if isinstance(value, UncertainValue) else value
        return out

    def sample(self, rng: np.random.Generator, size: int) -> dict[str, np.ndarray]:
        """Independent draws of every value, keyed by field name."""
        return {
            f.name: getattr(self, f.name).sample(rng, size)
            for f in fields(self)
            if f.name != "currency"
        }

    def expected(self) -> dict[str, float]:
        """The mean of every value, keyed by field name."""
        return {
            f.name: getattr(self, f.name).expected for f in fields(self) if f.name != "currency"
        }


#: Default monetary values: :data:`techeval.assumptions.DEFAULT_MONETARY_VALUE_SPECS`
#: (ILLUSTRATIVE ASSUMPTIONS apart from the asset-recovery share; each value's source is
#: given there) in :data:`techeval.assumptions.DEFAULT_CURRENCY`.
DEFAULT_MONETARY_VALUES = MonetaryValues(
    **{name: UncertainValue.from_spec(spec) for name, spec in DEFAULT_MONETARY_VALUE_SPECS.items()},
    currency=DEFAULT_CURRENCY,
)


# ---- cost-effectiveness plane ----------------------------------------------------------


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
        trade-off quadrant; otherwise why no ICER is reported.
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


# ---- benefit–cost Monte Carlo ----------------------------------------------------------

#: Components of a benefit–cost analysis: the effect estimated per case, and the
#: monetary value (a :class:`MonetaryValues` field, ``None`` = already in currency) and
#: sign (+1 benefit, -1 cost) it enters with.
BENEFIT_COST_COMPONENTS: dict[str, tuple[str | None, int]] = {
    "conviction": ("value_conviction", +1),
    "high_level_conviction": ("value_high_level_conviction", +1),
    "group_disrupted": ("value_group_disrupted", +1),
    "assets_seized": ("asset_recovery_share", +1),
    "incremental_cost": (None, -1),
    "witness_offences": ("cost_per_witness_offence", -1),
    "harm_cost": (None, -1),
}


def draw_effects(
    estimates: Mapping[str, float],
    covariance: np.ndarray,
    n_draws: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Joint normal draws of the estimated effects (estimation uncertainty).

    Parameters
    ----------
    estimates
        Point estimates keyed by component, in the order of ``covariance``.
    covariance
        Their covariance matrix (e.g. from the joint bootstrap, so correlation between
        cost and effect is kept). Must be positive semi-definite.
    n_draws
        Number of draws.
    rng
        Random generator.

    Returns
    -------
    dict
        ``{component: array of n_draws}``.
    """
    names = list(estimates)
    mean = np.array([estimates[name] for name in names], dtype=float)
    covariance = np.asarray(covariance, dtype=float).reshape(len(names), len(names))
    # eigen-decomposition tolerates the singular covariances of fixed components
    draws = rng.multivariate_normal(mean, covariance, size=n_draws, method="eigh")
    return {name: draws[:, j] for j, name in enumerate(names)}


@dataclass(frozen=True)
class BenefitCostSimulation:
    """Monte Carlo draws of per-case benefits and costs, and their summaries.

    Attributes
    ----------
    benefits, costs
        Per-case monetised benefits and costs in each draw (costs include the
        incremental cost, monetised harms and crimes by protected witnesses).
    components
        Per-draw monetised contribution of every component (benefits positive, costs
        positive too; the sign is in :data:`BENEFIT_COST_COMPONENTS`).
    point_benefits, point_costs
        The same at the point estimates and the expected monetary values.
    """

    benefits: np.ndarray
    costs: np.ndarray
    components: dict[str, np.ndarray] = field(repr=False)
    point_benefits: float = math.nan
    point_costs: float = math.nan

    @property
    def net_benefit(self) -> np.ndarray:
        """Benefits minus costs, per draw."""
        return self.benefits - self.costs

    @property
    def point_net_benefit(self) -> float:
        return self.point_benefits - self.point_costs

    @property
    def point_benefit_cost_ratio(self) -> float:
        """Benefits / costs at the point values; ``nan`` unless costs are positive."""
        return self.point_benefits / self.point_costs if self.point_costs > 0 else math.nan

    @property
    def benefit_cost_ratio(self) -> np.ndarray:
        """Per-draw ratio; ``nan`` where the draw's costs are not positive."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.costs > 0, self.benefits / self.costs, np.nan)

    @property
    def prob_benefits_exceed_costs(self) -> float:
        """Share of draws with net benefit above zero (WSIPP's risk measure)."""
        return float((self.net_benefit > 0).mean())


def simulate_benefit_cost(
    estimates: Mapping[str, float],
    covariance: np.ndarray,
    values: MonetaryValues = DEFAULT_MONETARY_VALUES,
    *,
    n_draws: int = 10_000,
    random_state: int | np.random.Generator | None = None,
) -> BenefitCostSimulation:
    """WSIPP-style Monte Carlo of per-case benefits and costs.

    Parameters
    ----------
    estimates
        Adjusted per-case differences keyed by component name from
        :data:`BENEFIT_COST_COMPONENTS` (e.g. ``{"incremental_cost": 120000.0,
        "conviction": 0.08}``); components left out count as zero.
    covariance
        Covariance of the estimates, in the order of ``estimates``.
    values
        Monetary values with their uncertainty.
    n_draws
        Monte Carlo draws (default 10,000).
    random_state
        Seed or generator; the same seed gives the same draws.

    Returns
    -------
    BenefitCostSimulation

    Notes
    -----
    Each draw takes the effects from a joint normal with the estimated covariance
    (estimation uncertainty, with the correlation between cost and effects kept) and
    every monetary value independently from its distribution (parameter uncertainty),
    then ``benefits = V_conv dConv + V_high dHigh + V_group dDisrupted + share dAssets``
    and ``costs = dCost + V_offence dWitnessOffences + dHarmCost``. WSIPP's risk analysis
    varies effect sizes and monetary parameters the same way (WSIPP 2019, ch. 7).
    Point values use the point estimates and the expected monetary values.

    Examples
    --------
    >>> import numpy as np
    >>> sim = simulate_benefit_cost(
    ...     {"incremental_cost": 10_000.0, "conviction": 0.1},
    ...     np.diag([1000.0**2, 0.02**2]),
    ...     MonetaryValues.from_dict({"value_conviction": 150_000}),
    ...     n_draws=2000, random_state=0)
    >>> round(sim.point_net_benefit)
    5000
    >>> 0.5 < sim.prob_benefits_exceed_costs < 1
    True
    """
    unknown = sorted(set(estimates) - set(BENEFIT_COST_COMPONENTS))
    if unknown:
        raise ArgumentError(
            f"unknown benefit–cost component(s) {', '.join(map(repr, unknown))}",
            hint=f"Valid components: {', '.join(BENEFIT_COST_COMPONENTS)}",
        )
    if int(n_draws) < 1:
        raise ArgumentError(f"n_draws must be a positive integer, got {n_draws!r}")
    rng = (
        random_state
        if isinstance(random_state, np.random.Generator)
        else np.random.default_rng(random_state)
    )
    # two independent streams so adding a component never changes the value draws
    effect_rng, value_rng = rng.spawn(2)
    effect_draws = draw_effects(estimates, covariance, int(n_draws), effect_rng)
    value_draws = values.sample(value_rng, int(n_draws))
    expected = values.expected()
    benefits = np.zeros(int(n_draws))
    costs = np.zeros(int(n_draws))
    point_benefits = point_costs = 0.0
    components: dict[str, np.ndarray] = {}
    for name, effect in effect_draws.items():
        value_name, sign = BENEFIT_COST_COMPONENTS[name]
        monetised = effect if value_name is None else effect * value_draws[value_name]
        point = estimates[name] * (1.0 if value_name is None else expected[value_name])
        components[name] = monetised
        if sign > 0:
            benefits += monetised
            point_benefits += point
        else:
            costs += monetised
            point_costs += point
    return BenefitCostSimulation(
        benefits=benefits,
        costs=costs,
        components=components,
        point_benefits=float(point_benefits),
        point_costs=float(point_costs),
    )
