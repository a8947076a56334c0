"""The cost-effectiveness plane: quadrants, Fieller, ICER summary, CEAC (techeval.economics.plane)."""

import math

import numpy as np
import pytest
from scipy import stats

from techeval.economics import (
    QUADRANTS,
    acceptability_curve,
    fieller_interval,
    icer_quadrant,
    icer_summary,
    net_monetary_benefit,
    quadrant_shares,
)


@pytest.mark.parametrize(
    ("delta_cost", "delta_effect", "quadrant"),
    [
        (-10.0, 0.1, "dominant"),
        (10.0, -0.1, "dominated"),
        (10.0, 0.1, "more costly, more effective"),
        (-10.0, -0.1, "less costly, less effective"),
        (10.0, 0.0, "dominated"),  # same effect, higher cost
        (-10.0, 0.0, "dominant"),
        (0.0, 0.1, "dominant"),
        (0.0, -0.1, "dominated"),
        (0.0, 0.0, "no difference"),
    ],
)
def test_quadrants_on_hand_built_points(delta_cost, delta_effect, quadrant):
    assert icer_quadrant(delta_cost, delta_effect) == quadrant


def test_quadrant_shares_count_each_point_once():
    cost = np.array([-1.0, 1.0, 1.0, -1.0, 0.0, 2.0])
    effect = np.array([1.0, -1.0, 1.0, -1.0, 0.0, 3.0])
    shares = quadrant_shares(cost, effect)
    assert set(shares) == set(QUADRANTS)
    assert sum(shares.values()) == pytest.approx(1.0)
    assert shares["more costly, more effective"] == pytest.approx(2 / 6)
    assert shares["no difference"] == pytest.approx(1 / 6)


def test_fieller_limits_solve_the_fieller_equation_and_approach_the_delta_method():
    dc, de, vc, ve, cov = 1000.0, 0.1, 200.0**2, 0.01**2, 0.5
    low, high = fieller_interval(dc, de, vc, ve, cov)
    z2 = stats.norm.ppf(0.975) ** 2
    for r in (low, high):
        assert (dc - r * de) ** 2 == pytest.approx(z2 * (vc - 2 * r * cov + r**2 * ve), rel=1e-9)
    # with a precise effect, Fieller approaches the delta-method interval
    ratio = dc / de
    se = ratio * math.sqrt(vc / dc**2 + ve / de**2 - 2 * cov / (dc * de))
    assert low == pytest.approx(ratio - 1.96 * se, rel=0.05)
    assert high == pytest.approx(ratio + 1.96 * se, rel=0.05)


def test_fieller_is_unbounded_when_the_effect_is_not_significant():
    low, high = fieller_interval(1000.0, 0.01, 100.0**2, 0.01**2, 0.0)
    assert math.isnan(low) and math.isnan(high)


def _fieller_residuals(summary, var_cost, var_effect, cov, level=0.95):
    """Both sides of Fieller's equation at the summary's limits (they should agree)."""
    z2 = stats.norm.ppf(0.5 + level / 2) ** 2
    dc, de = summary.delta_cost, summary.delta_effect
    return [
        ((dc - r * de) ** 2, z2 * (var_cost - 2 * r * cov + r**2 * var_effect))
        for r in (summary.icer_ci_low, summary.icer_ci_high)
    ]


def test_icer_summary_from_joint_draws_in_a_trade_off_quadrant():
    rng = np.random.default_rng(5)
    draws = rng.multivariate_normal([20_000.0, 0.1], [[4e6, 10.0], [10.0, 4e-4]], size=4000)
    cost, effect = draws[:, 0], draws[:, 1]
    summary = icer_summary(20_000.0, 0.1, cost, effect, willingness_to_pay=300_000.0)
    assert summary.icer_status == "reported" and not summary.effect_ci_spans_zero
    assert summary.quadrant == "more costly, more effective"
    assert summary.icer == 20_000.0 / 0.1
    # the effect's percentile interval, and Fieller's limits with the draws' covariance
    low, high = np.quantile(effect, [0.025, 0.975])
    assert (summary.effect.ci_low, summary.effect.ci_high) == pytest.approx((low, high), rel=1e-3)
    covariance = np.cov(cost, effect)
    for lhs, rhs in _fieller_residuals(
        summary, covariance[0, 0], covariance[1, 1], covariance[0, 1]
    ):
        assert lhs == pytest.approx(rhs, rel=1e-9)
    assert summary.icer_ci_low < summary.icer < summary.icer_ci_high
    # NMB = lambda * delta_effect - delta_cost; P(cost-effective) = share of draws with NMB > 0
    assert summary.net_monetary_benefit.estimate == pytest.approx(300_000.0 * 0.1 - 20_000.0)
    assert summary.prob_cost_effective == np.mean(300_000.0 * effect - cost > 0)
    assert sum(summary.quadrant_probabilities.values()) == pytest.approx(1.0)
    # a failed resample (nan) is left out of every statistic
    failed = icer_summary(
        20_000.0,
        0.1,
        np.r_[cost, np.nan],
        np.r_[effect, 0.5],
        willingness_to_pay=300_000.0,
    )
    assert failed == summary


@pytest.mark.parametrize(
    ("delta_cost", "delta_effect", "effect_mean", "status"),
    [
        (20_000.0, 0.01, 0.01, "no_detectable_effect"),  # the effect's interval spans zero
        (-5_000.0, 0.1, 0.1, "dominant"),
        (5_000.0, -0.1, -0.1, "dominated"),
    ],
)
def test_icer_summary_reports_no_icer_where_it_is_not_meaningful(
    delta_cost, delta_effect, effect_mean, status
):
    rng = np.random.default_rng(6)
    cost = rng.normal(delta_cost, 1_000.0, 2000)
    effect = rng.normal(effect_mean, 0.02, 2000)
    summary = icer_summary(delta_cost, delta_effect, cost, effect, willingness_to_pay=1e5)
    assert summary.icer_status == status
    assert summary.effect_ci_spans_zero is (status == "no_detectable_effect")
    assert math.isnan(summary.icer) and math.isnan(summary.icer_ci_low)
    assert math.isnan(summary.icer_ci_high)
    # the net monetary benefit is defined whatever the quadrant
    assert summary.net_monetary_benefit.estimate == pytest.approx(1e5 * delta_effect - delta_cost)
    assert 0 <= summary.prob_cost_effective <= 1


def test_icer_summary_reports_no_icer_for_a_zero_point_effect_whose_interval_excludes_zero():
    # the bootstrap interval of the effect lies above zero but both point estimates are
    # exactly zero ("no difference"): the ratio 0 / 0 is not defined, and must not raise
    rng = np.random.default_rng(8)
    cost = rng.normal(0.0, 1_000.0, 2000)
    effect = rng.normal(0.1, 0.02, 2000)
    summary = icer_summary(0.0, 0.0, cost, effect, willingness_to_pay=1e5)
    assert summary.effect.ci_low > 0 and not summary.effect_ci_spans_zero
    assert summary.quadrant == "no difference"
    assert summary.icer_status == "no_detectable_effect"
    assert math.isnan(summary.icer) and math.isnan(summary.icer_ci_low)
    assert math.isnan(summary.icer_ci_high)
    assert summary.net_monetary_benefit.estimate == 0.0
    assert 0 <= summary.prob_cost_effective <= 1


def test_icer_summary_with_influence_values_uses_wald_intervals_and_their_covariance():
    rng = np.random.default_rng(7)
    n = 5000
    psi_effect = rng.normal(0.0, 0.5, n)
    psi_cost = 40_000.0 * psi_effect + rng.normal(0.0, 60_000.0, n)
    influence = np.column_stack([psi_cost, psi_effect])
    draws = rng.normal(size=(100, 2))  # only the quadrant shares and P(cost-effective) read them
    summary = icer_summary(
        10_000.0,
        0.05,
        draws[:, 0],
        draws[:, 1],
        willingness_to_pay=400_000.0,
        influence=influence,
    )
    # HC0 standard errors: sqrt(sum psi^2) / n
    assert summary.effect.std_error == pytest.approx(math.sqrt(np.sum(psi_effect**2)) / n)
    nmb_se = math.sqrt(np.sum((400_000.0 * psi_effect - psi_cost) ** 2)) / n
    assert summary.net_monetary_benefit.std_error == pytest.approx(nmb_se)
    assert summary.icer_status == "reported"
    var_cost, var_effect = np.sum(psi_cost**2) / n**2, np.sum(psi_effect**2) / n**2
    cov = np.sum(psi_cost * psi_effect) / n**2
    for lhs, rhs in _fieller_residuals(summary, var_cost, var_effect, cov):
        assert lhs == pytest.approx(rhs, rel=1e-9)


def test_acceptability_curve_is_the_share_of_draws_with_positive_nmb():
    rng = np.random.default_rng(3)
    cost = rng.normal(20_000, 8_000, 500)
    effect = rng.normal(0.1, 0.05, 500)
    grid = [0.0, 50_000.0, 200_000.0, 400_000.0, 1_000_000.0]
    curve = acceptability_curve(cost, effect, grid)
    expected = [float(np.mean(net_monetary_benefit(cost, effect, w) > 0)) for w in grid]
    assert curve["prob_cost_effective"].tolist() == expected
    assert curve["willingness_to_pay"].tolist() == grid


def test_acceptability_curve_is_monotone_when_every_draw_gains_or_every_draw_loses():
    rng = np.random.default_rng(4)
    cost = rng.normal(20_000, 15_000, 400)
    grid = np.linspace(0, 1e6, 60)
    rising = acceptability_curve(cost, np.abs(rng.normal(0.05, 0.05, 400)), grid)
    falling = acceptability_curve(cost, -np.abs(rng.normal(0.05, 0.05, 400)), grid)
    assert np.all(np.diff(rising["prob_cost_effective"]) >= 0)
    assert np.all(np.diff(falling["prob_cost_effective"]) <= 0)
    # at zero willingness to pay it is the share of draws that save money
    assert rising["prob_cost_effective"].iloc[0] == pytest.approx(np.mean(cost < 0))
