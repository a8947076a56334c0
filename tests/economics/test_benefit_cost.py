"""The benefit–cost Monte Carlo (techeval.economics.benefit_cost)."""

import math

import numpy as np
import pytest
from scipy import stats

from techeval.economics import DEFAULT_MONETARY_VALUES, MonetaryValues, simulate_benefit_cost
from techeval.errors import ArgumentError


def test_benefit_cost_point_values_are_hand_computed():
    values = MonetaryValues.from_dict(
        {
            "value_conviction": 100_000,
            "value_high_level_conviction": {"distribution": "uniform", "low": 0, "high": 400_000},
            "asset_recovery_share": 0.5,
            "cost_per_witness_offence": 20_000,
        }
    )
    estimates = {
        "incremental_cost": 50_000.0,
        "conviction": 0.1,
        "high_level_conviction": 0.05,
        "assets_seized": 10_000.0,
        "witness_offences": 0.2,
    }
    sim = simulate_benefit_cost(estimates, np.zeros((5, 5)), values, n_draws=50, random_state=0)
    benefits = 100_000 * 0.1 + 200_000 * 0.05 + 0.5 * 10_000
    costs = 50_000 + 20_000 * 0.2
    assert sim.point_benefits == pytest.approx(benefits)
    assert sim.point_costs == pytest.approx(costs)
    assert sim.point_benefit_cost_ratio == pytest.approx(benefits / costs)
    # with no estimation uncertainty only the high-level value varies
    high = sim.components["high_level_conviction"] / 0.05
    np.testing.assert_allclose(sim.net_benefit, benefits - 10_000 + high * 0.05 - costs)


def test_benefit_cost_monte_carlo_is_reproducible_and_propagates_both_uncertainties():
    estimates = {"incremental_cost": 10_000.0, "conviction": 0.1}
    covariance = np.array([[2000.0**2, 0.0], [0.0, 0.03**2]])
    first = simulate_benefit_cost(estimates, covariance, n_draws=20_000, random_state=5)
    again = simulate_benefit_cost(estimates, covariance, n_draws=20_000, random_state=5)
    np.testing.assert_array_equal(first.net_benefit, again.net_benefit)
    other = simulate_benefit_cost(estimates, covariance, n_draws=20_000, random_state=6)
    assert not np.array_equal(first.net_benefit, other.net_benefit)
    fixed = simulate_benefit_cost(
        estimates,
        covariance,
        MonetaryValues.from_dict(
            {"value_conviction": DEFAULT_MONETARY_VALUES.value_conviction.expected}
        ),
        n_draws=20_000,
        random_state=5,
    )
    # uncertain monetary values widen the spread of the net benefit
    assert first.net_benefit.std() > fixed.net_benefit.std()
    # P(benefits exceed costs) for a normal net benefit with fixed values
    value = DEFAULT_MONETARY_VALUES.value_conviction.expected
    sd = math.sqrt((value * 0.03) ** 2 + 2000.0**2)
    expected = stats.norm.sf(0, loc=value * 0.1 - 10_000, scale=sd)
    assert fixed.prob_benefits_exceed_costs == pytest.approx(expected, abs=0.015)


def test_unknown_benefit_cost_components_are_refused():
    with pytest.raises(ArgumentError, match="convictions"):
        simulate_benefit_cost({"convictions": 0.1}, np.eye(1))
