"""Benefit–cost Monte Carlo: the probability that benefits exceed costs.

:func:`draw_effects`, :func:`simulate_benefit_cost` and :class:`BenefitCostSimulation`
are the WSIPP-style Monte Carlo that propagates both estimation uncertainty (joint
normal draws of the per-case effects) and the uncertainty of the monetary values
(:class:`~techeval.economics.values.MonetaryValues`), and reports the probability that
benefits exceed costs. Effects are per case, so benefits and costs are per case too.

References
----------
Washington State Institute for Public Policy (2019). *Benefit–Cost Technical
Documentation*. Olympia, WA. (Monte Carlo "risk analysis" and the probability that
benefits exceed costs.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from techeval.economics.values import DEFAULT_MONETARY_VALUES, MonetaryValues
from techeval.errors import ArgumentError

__all__ = [
    "BENEFIT_COST_COMPONENTS",
    "BenefitCostSimulation",
    "draw_effects",
    "simulate_benefit_cost",
]

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
