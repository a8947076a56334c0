import math

import numpy as np
import pytest

from techeval.estimators.diagnostics import (
    balance_table,
    diagnostic_warnings,
    e_value,
    e_value_mean_difference,
    effective_sample_size,
    overlap_summary,
)


def test_e_values_match_vanderweele_ding_2017():
    # VanderWeele & Ding (2017), Ann Intern Med 167:268, the breastfeeding example:
    # RR 3.9 (95% CI 1.8 to 8.7) → E-values 7.2 (exactly 3.9 + sqrt(3.9 * 2.9) = 7.263)
    # and 3.0 for the lower limit (1.8 + sqrt(1.8 * 0.8) = 3.0).
    ev = e_value(3.9, 1.8, 8.7)
    assert ev["point"] == pytest.approx(7.263, abs=1e-3)
    assert ev["ci_limit"] == pytest.approx(3.0, abs=1e-12)
    # protective effects use 1/RR and the upper limit: RR 0.5 (0.3, 0.8) → 1/0.5 = 2
    # → 2 + sqrt(2) = 3.414; 1/0.8 = 1.25 → 1.25 + sqrt(1.25 * 0.25) = 1.809
    ev = e_value(0.5, 0.3, 0.8)
    assert ev["point"] == pytest.approx(2 + math.sqrt(2))
    assert ev["ci_limit"] == pytest.approx(1.25 + math.sqrt(1.25 * 0.25))
    # an interval that includes 1 needs no confounding to include the null
    assert e_value(1.3, 0.9, 1.8)["ci_limit"] == 1.0


def test_e_value_for_mean_differences_uses_the_standardised_approximation():
    # d = 0.5 → RR ≈ exp(0.91 * 0.5) = 1.576 (VanderWeele & Ding 2017, continuous outcomes)
    rr = math.exp(0.455)
    ev = e_value_mean_difference(5.0, 1.0, 9.0, outcome_sd=10.0)
    assert ev["point"] == pytest.approx(rr + math.sqrt(rr * (rr - 1)))


def test_balance_table_standardised_differences():
    treated = np.array([True, True, True, False, False, False])
    x = np.array([1.0, 2.0, 3.0, 0.0, 1.0, 2.0])
    table = balance_table(x[:, None], ["x"], treated, np.ones(6))
    # (2 - 1) / sqrt((2/3 + 2/3) / 2) = 1.2247 by hand
    assert table["covariates"][0]["smd_before"] == pytest.approx(1 / math.sqrt(2 / 3))
    weights = np.array([3.0, 1.0, 0.0, 0.0, 1.0, 3.0])  # weighted means 1.25 and 1.75
    table = balance_table(x[:, None], ["x"], treated, weights)
    assert table["covariates"][0]["smd_after"] == pytest.approx(-0.5 / math.sqrt(2 / 3))
    assert table["imbalanced_after"] == ["x"]


def test_overlap_summary_and_warnings():
    e = np.array([0.005, 0.4, 0.6, 0.3, 0.5, 0.999])
    t = np.array([False, False, False, True, True, True])
    clipped = np.clip(e, 0.01, 0.99)
    weights = np.where(t, 1 / clipped, 1 / (1 - clipped))
    summary = overlap_summary(clipped, t, weights, clip=0.01, raw_propensity=e)
    assert summary["n_clipped"] == 2
    assert summary["common_support"] == [0.3, 0.6]
    assert summary["share_outside_common_support"] == pytest.approx(2 / 6)
    assert summary["effective_sample_size"]["treated"] == pytest.approx(
        effective_sample_size(weights[t])
    )
    balance = balance_table(e[:, None], ["e"], t, weights)
    text = " ".join(diagnostic_warnings(summary, balance))
    assert "outside the common support" in text and "clipped" in text and "extreme weights" in text


def test_e_value_for_a_huge_mean_difference_does_not_overflow():
    from techeval.estimators.diagnostics import e_value_mean_difference

    values = e_value_mean_difference(1e6, 9e5, 1.1e6, outcome_sd=1.0)
    assert values["point"] > 1e100
