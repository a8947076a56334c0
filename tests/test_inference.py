import math

import numpy as np
import pytest
from joblib import parallel_config
from scipy import stats

from techeval.inference import (
    bootstrap_interval,
    bootstrap_replicates,
    influence_covariance,
    monte_carlo_summary,
    wald_from_influence,
)


def test_wald_interval_from_influence_values():
    rng = np.random.default_rng(0)
    y = rng.normal(2.0, 3.0, size=400)
    result = wald_from_influence(y.mean(), y - y.mean(), null=0.0)
    # the mean's SE with divisor n: sd(ddof=0) / sqrt(n)
    assert result.std_error == pytest.approx(y.std() / math.sqrt(400), rel=1e-12)
    assert result.ci_high - result.estimate == pytest.approx(1.959964 * result.std_error, rel=1e-6)
    z = y.mean() / result.std_error
    assert result.p_value == pytest.approx(2 * stats.norm.sf(abs(z)))


def test_influence_covariance_is_the_covariance_of_two_sample_means():
    rng = np.random.default_rng(1)
    y = rng.multivariate_normal([1.0, -2.0], [[4.0, 1.5], [1.5, 2.0]], size=500)
    covariance = influence_covariance(y - y.mean(axis=0))
    # Cov(mean_a, mean_b) with divisor n: np.cov(ddof=0) / n; its diagonal is the Wald SE^2
    np.testing.assert_allclose(covariance, np.cov(y.T, ddof=0) / 500, rtol=1e-12)
    se = wald_from_influence(y[:, 1].mean(), y[:, 1] - y[:, 1].mean()).std_error
    assert covariance[1, 1] == pytest.approx(se**2, rel=1e-12)


def test_log_scale_interval_is_exponentiated():
    influence = np.array([0.5, -0.5] * 50)  # se(log) = 0.05
    result = wald_from_influence(2.0, influence, null=1.0, log_scale=True)
    assert result.ci_low == pytest.approx(2 * math.exp(-1.959964 * 0.05), rel=1e-6)
    assert result.ci_high == pytest.approx(2 * math.exp(1.959964 * 0.05), rel=1e-6)
    assert result.std_error == pytest.approx(0.1)  # delta method: 2 * 0.05


def _mean_statistic(indices, seed, values):
    return np.array([values[indices].mean()])


def test_bootstrap_is_reproducible_and_independent_of_workers():
    from functools import partial

    values = np.random.default_rng(1).exponential(size=300)
    statistic = partial(_mean_statistic, values=values)
    one = bootstrap_replicates(statistic, 300, n_replicates=60, random_state=7, n_jobs=1)
    with parallel_config(backend="threading"):
        two = bootstrap_replicates(statistic, 300, n_replicates=60, random_state=7, n_jobs=2)
    np.testing.assert_array_equal(one, two)
    other = bootstrap_replicates(statistic, 300, n_replicates=60, random_state=8, n_jobs=1)
    assert not np.array_equal(one, other)
    # standard error of the mean: bootstrap within 20% of sd/sqrt(n) at 60 replicates
    assert one.std(ddof=1) == pytest.approx(values.std() / math.sqrt(300), rel=0.2)


def test_stratified_bootstrap_keeps_stratum_sizes():
    strata = np.r_[np.ones(10, bool), np.zeros(90, bool)]
    counts = bootstrap_replicates(
        lambda idx, seed: np.array([strata[idx].sum()]),
        100,
        n_replicates=20,
        random_state=0,
        strata=strata,
    )
    assert (counts == 10).all()


def test_bootstrap_interval_types():
    # evenly spread on [-0.5, 1.5]: the 2.5% and 97.5% quantiles are -0.45 and 1.45
    replicates = np.linspace(-1, 1, 1001) + 0.5
    percentile = bootstrap_interval(replicates, 0.5, method="percentile")
    assert (percentile.ci_low, percentile.ci_high) == pytest.approx((-0.45, 1.45))
    basic = bootstrap_interval(replicates, 0.4, method="basic")
    # basic: 2 * est - quantiles = 0.8 - (1.45, -0.45)
    assert (basic.ci_low, basic.ci_high) == pytest.approx((-0.65, 1.25))
    # symmetric replicates centred on the estimate, zero acceleration: BCa = percentile
    bca = bootstrap_interval(replicates, 0.5, method="bca", influence=np.array([1.0, -1.0]))
    assert (bca.ci_low, bca.ci_high) == pytest.approx(
        (percentile.ci_low, percentile.ci_high), abs=2e-3
    )
    with pytest.raises(ValueError):
        bootstrap_interval(replicates, 0.5, method="bca")


def test_monte_carlo_summary_and_its_standard_errors():
    truth = 1.0
    estimates = np.array([0.9, 1.1, 1.3, 0.7])
    summary = monte_carlo_summary(
        estimates, [0.1] * 4, estimates - 0.15, estimates + 0.15, [0.01, 0.2, 0.03, 0.5], truth
    )
    assert summary.n_replications == 4
    assert summary.mean_bias == pytest.approx(0.0)
    assert summary.mean_bias_mcse == pytest.approx(np.std(estimates, ddof=1) / 2)
    assert summary.coverage == 0.5 and summary.coverage_mcse == pytest.approx(0.25)
    assert summary.rejection_rate == 0.5
