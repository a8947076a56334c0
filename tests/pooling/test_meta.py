"""Random-effects meta-analysis: reference values from metafor on the BCG-vaccine trials.

Data: ``dat.bcg`` in the R package metafor (Viechtbauer 2010), the 13 trials of the BCG
vaccine against tuberculosis collected by Colditz et al. (1994), JAMA 271, 698–702.
Columns: positive and negative tuberculosis cases among vaccinated (tpos, tneg) and
control (cpos, cneg) participants, and absolute latitude of the trial (ablat). Log risk
ratios and sampling variances as metafor's ``escalc(measure="RR", ai=tpos, bi=tneg,
ci=cpos, di=cneg, data=dat.bcg)`` computes them:
``yi = log(tpos/(tpos+tneg)) - log(cpos/(cpos+cneg))``,
``vi = 1/tpos - 1/(tpos+tneg) + 1/cpos - 1/(cpos+cneg)``.

Reference values are metafor's printed output (4 decimals) for
``rma(yi, vi, data=dat)`` (REML), ``rma(yi, vi, data=dat, method="DL")`` and
``rma(yi, vi, mods = ~ ablat, data=dat)``, as shown in the metafor documentation and
Viechtbauer (2010, J. Stat. Softw. 36(3)). Tolerance: half a unit in the last printed
decimal (5e-5 absolute; 5e-4 for percentages printed with 2 decimals).
"""

import math

import numpy as np
import pytest
from scipy import optimize, stats
from statsmodels.stats.meta_analysis import combine_effects

from techeval.errors import ArgumentError
from techeval.pooling.meta import meta_regression, random_effects, tau2_reml

# dat.bcg (metafor): trial order 1-13
TPOS = np.array([4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27])
TNEG = np.array([119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886])
CPOS = np.array([11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29])
CNEG = np.array([128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825])
ABLAT = np.array([44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33, 33])

YI = np.log(TPOS / (TPOS + TNEG)) - np.log(CPOS / (CPOS + CNEG))
VI = 1 / TPOS - 1 / (TPOS + TNEG) + 1 / CPOS - 1 / (CPOS + CNEG)

PRINTED = 5e-5  # half a unit in metafor's 4th printed decimal
PERCENT = 5e-5  # I^2 printed as a percentage with 2 decimals: 0.005% = 5e-5


def test_effect_sizes_match_escalc():
    # escalc output for trials 1 and 13 (metafor documentation): yi -0.8893, vi 0.3256;
    # yi -0.0173, vi 0.0714
    assert YI[0] == pytest.approx(-0.8893, abs=PRINTED)
    assert VI[0] == pytest.approx(0.3256, abs=PRINTED)
    assert YI[12] == pytest.approx(-0.0173, abs=PRINTED)
    assert VI[12] == pytest.approx(0.0714, abs=PRINTED)


def test_reml_reproduces_metafor():
    result = random_effects(YI, VI, tau2_method="reml")
    # rma(yi, vi, data=dat): estimate -0.7145, se 0.1798, ci -1.0669 to -0.3622,
    # tau^2 0.3132 (SE 0.1664), I^2 92.22%, H^2 12.86, Q(df = 12) = 152.2330
    assert result.estimate == pytest.approx(-0.7145, abs=PRINTED)
    assert result.std_error == pytest.approx(0.1798, abs=PRINTED)
    assert result.ci_low == pytest.approx(-1.0669, abs=PRINTED)
    assert result.ci_high == pytest.approx(-0.3622, abs=PRINTED)
    assert result.tau2 == pytest.approx(0.3132, abs=PRINTED)
    assert result.tau2_std_error == pytest.approx(0.1664, abs=PRINTED)
    assert result.i_squared == pytest.approx(0.9222, abs=PERCENT)
    assert result.h_squared == pytest.approx(12.86, abs=0.005)
    assert result.q == pytest.approx(152.2330, abs=PRINTED)
    assert result.q_df == 12
    assert result.converged
    assert result.tau2_method == "reml" and result.ci_method == "z"


def test_dersimonian_laird_reproduces_metafor_and_statsmodels():
    result = random_effects(YI, VI, tau2_method="dl")
    # rma(yi, vi, data=dat, method="DL"): estimate -0.7141, se 0.1787,
    # ci -1.0644 to -0.3638, tau^2 0.3088, I^2 92.12%
    assert result.estimate == pytest.approx(-0.7141, abs=PRINTED)
    assert result.std_error == pytest.approx(0.1787, abs=PRINTED)
    assert result.ci_low == pytest.approx(-1.0644, abs=PRINTED)
    assert result.ci_high == pytest.approx(-0.3638, abs=PRINTED)
    assert result.tau2 == pytest.approx(0.3088, abs=PRINTED)
    assert result.i_squared == pytest.approx(0.9212, abs=PERCENT)
    # statsmodels' own DL computation agrees to machine precision
    reference = combine_effects(YI, VI, method_re="dl")
    assert result.estimate == pytest.approx(reference.mean_effect_re, rel=1e-12)
    assert result.std_error == pytest.approx(reference.sd_eff_w_re, rel=1e-12)
    assert result.tau2 == pytest.approx(reference.tau2, rel=1e-12)
    assert result.q == pytest.approx(reference.q, rel=1e-12)
    # for DL, I^2 from tau^2 equals Higgins & Thompson's (Q - df) / Q
    assert result.i_squared == pytest.approx(reference.i2, rel=1e-10)


def test_paule_mandel_solves_its_estimating_equation_and_matches_statsmodels():
    result = random_effects(YI, VI, tau2_method="pm")
    reference = combine_effects(YI, VI, method_re="pm")
    assert result.tau2 == pytest.approx(reference.tau2, rel=1e-4)  # statsmodels atol 1e-5
    assert result.estimate == pytest.approx(reference.mean_effect_re, abs=1e-6)
    # generalised Q at the estimate equals k - 1
    w = 1 / (VI + result.tau2)
    mu = (w * YI).sum() / w.sum()
    assert (w * (YI - mu) ** 2).sum() == pytest.approx(len(YI) - 1, rel=1e-8)


def test_reml_is_the_maximum_of_the_restricted_likelihood():
    """An independent check: bounded scalar optimisation of the restricted log-likelihood."""

    def negative_restricted_loglik(tau2):
        w = 1 / (VI + tau2)
        mu = (w * YI).sum() / w.sum()
        return 0.5 * (np.log(VI + tau2).sum() + np.log(w.sum()) + (w * (YI - mu) ** 2).sum())

    found = optimize.minimize_scalar(
        negative_restricted_loglik, bounds=(0, 10), method="bounded", options={"xatol": 1e-10}
    )
    fit = tau2_reml(YI, VI)
    assert fit.tau2 == pytest.approx(found.x, abs=1e-7)
    assert fit.restricted_loglik == pytest.approx(-found.fun, abs=1e-9)
    assert fit.iterations < 20


def test_reml_is_zero_when_studies_agree_more_than_chance_allows():
    effects = np.array([0.10, 0.11, 0.09, 0.10])
    variances = np.array([0.01, 0.02, 0.015, 0.01])
    fit = tau2_reml(effects, variances)
    assert fit.tau2 == 0.0 and fit.converged
    for method in ("reml", "dl", "pm"):
        result = random_effects(effects, variances, tau2_method=method)
        assert result.tau2 == 0.0
        assert result.i_squared == 0.0
        # tau^2 = 0 gives the fixed-effect (inverse-variance) mean
        w = 1 / variances
        assert result.estimate == pytest.approx((w * effects).sum() / w.sum(), rel=1e-12)


def test_hartung_knapp_and_prediction_interval_follow_their_formulas():
    result = random_effects(YI, VI, tau2_method="reml", hartung_knapp=True)
    k = len(YI)
    w = 1 / (VI + result.tau2)
    mu = (w * YI).sum() / w.sum()
    se_hk = math.sqrt((w * (YI - mu) ** 2).sum() / ((k - 1) * w.sum()))
    t = stats.t.ppf(0.975, k - 1)
    assert result.std_error == pytest.approx(se_hk, rel=1e-10)
    assert result.ci_low == pytest.approx(mu - t * se_hk, rel=1e-10)
    assert result.ci_high == pytest.approx(mu + t * se_hk, rel=1e-10)
    assert result.p_value == pytest.approx(2 * stats.t.sf(abs(mu / se_hk), k - 1), rel=1e-8)
    # metafor rma(yi, vi, data=dat, test="knha"): se 0.1808, ci -1.1084 to -0.3206
    assert result.std_error == pytest.approx(0.1808, abs=PRINTED)
    assert result.ci_low == pytest.approx(-1.1084, abs=2 * PRINTED)
    assert result.ci_high == pytest.approx(-0.3206, abs=2 * PRINTED)
    # statsmodels computes the same HKSJ standard error at its own tau^2 (DL)
    dl = random_effects(YI, VI, tau2_method="dl", hartung_knapp=True)
    assert dl.std_error == pytest.approx(combine_effects(YI, VI, method_re="dl").sd_eff_w_re_hksj)
    # Higgins, Thompson & Spiegelhalter (2009): mu ± t_{k-2} sqrt(tau^2 + se^2)
    z = random_effects(YI, VI)
    half = stats.t.ppf(0.975, k - 2) * math.sqrt(z.tau2 + z.std_error**2)
    assert z.prediction_low == pytest.approx(z.estimate - half, rel=1e-12)
    assert z.prediction_high == pytest.approx(z.estimate + half, rel=1e-12)
    assert z.prediction_low < z.ci_low < z.ci_high < z.prediction_high


def test_meta_regression_reproduces_metafor_with_latitude():
    fit = meta_regression(YI, VI, ABLAT, names=["ablat"])
    # rma(yi, vi, mods = ~ ablat, data=dat): intrcpt 0.2515 (se 0.2491),
    # ablat -0.0291 (se 0.0072), tau^2 0.0764 (SE 0.0591), I^2 68.39%,
    # QE(df = 11) = 30.7331
    assert fit.names == ("intercept", "ablat")
    assert fit.coefficients[0] == pytest.approx(0.2515, abs=PRINTED)
    assert fit.std_errors[0] == pytest.approx(0.2491, abs=PRINTED)
    assert fit.coefficients[1] == pytest.approx(-0.0291, abs=PRINTED)
    assert fit.std_errors[1] == pytest.approx(0.0072, abs=PRINTED)
    # metafor stops Fisher scoring when the step is below 1e-5 (its default threshold);
    # the exact maximum is 0.076348 (checked by bounded optimisation), which metafor's
    # slightly early stop prints as 0.0764: tolerance 1e-4 here
    assert fit.tau2 == pytest.approx(0.0764, abs=1e-4)
    assert fit.tau2_std_error == pytest.approx(0.0591, abs=1e-4)  # evaluated at tau^2
    assert fit.i_squared == pytest.approx(0.6839, abs=PERCENT)
    assert fit.q_residual == pytest.approx(30.7331, abs=PRINTED)
    assert fit.df_resid == 11
    assert fit.p_values[1] < 0.001


def test_single_moderator_meta_regression_with_zero_slope_recovers_pooling():
    """A moderator uncorrelated with everything leaves the intercept near the pooled mean."""
    periods = np.arange(len(YI), dtype=float)
    fit = meta_regression(YI, VI, periods)
    pooled = random_effects(YI, VI)
    assert abs(fit.coefficients[1]) < 3 * fit.std_errors[1]
    assert fit.tau2 <= pooled.tau2 * 1.2


@pytest.mark.parametrize(
    ("effects", "variances", "message"),
    [
        ([0.1], [0.01], "cannot fit"),
        ([0.1, 0.2], [0.01], "variances"),
        ([0.1, float("nan")], [0.01, 0.01], "finite"),
        ([0.1, 0.2], [0.01, 0.0], "> 0"),
    ],
)
def test_bad_inputs_are_argument_errors(effects, variances, message):
    with pytest.raises(ArgumentError, match=message):
        random_effects(effects, variances)


def test_unknown_method_and_level_are_refused():
    with pytest.raises(ArgumentError, match="unknown"):
        random_effects(YI, VI, tau2_method="sj")
    with pytest.raises(ArgumentError, match="ci_level"):
        random_effects(YI, VI, ci_level=95)


def test_two_studies_have_no_prediction_interval_and_results_do_not_depend_on_order():
    two = random_effects([0.1, 0.3], [0.01, 0.02])
    assert math.isnan(two.prediction_low) and math.isnan(two.prediction_high)
    order = np.random.default_rng(1).permutation(len(YI))
    shuffled = random_effects(YI[order], VI[order])
    assert shuffled.estimate == pytest.approx(random_effects(YI, VI).estimate, rel=1e-12)
    assert shuffled.tau2 == pytest.approx(random_effects(YI, VI).tau2, rel=1e-9)
