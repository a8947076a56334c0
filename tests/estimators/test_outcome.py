"""Outcome estimators: reference values, known truth, missing data and hard data.

Reference values are computed independently in the tests themselves (statsmodels GLM
fits, textbook formulas, a numerically differentiated sandwich), never by calling the
code under test twice.
"""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.special import expit
from statsmodels.stats.contingency_tables import Table2x2

from techeval.errors import ArgumentError, EstimatorError
from techeval.estimators import ArmMeansEstimator, get_estimator, register, registry
from techeval.estimators.outcome import AIPW, IPW, Arms, Naive, Regression
from techeval.simulate import SYNTHETIC_COVARIATES

ROOT = Path(__file__).resolve().parents[2]
COVARIATES = ["x1", "x2"]


def _simulated(n=3000, seed=5, effect=0.8):
    """Binary outcome, logistic confounding by x1 and x2 (both numeric)."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.binomial(1, 0.4, size=n).astype(float)
    t = rng.random(n) < expit(-0.3 + 0.9 * x1 + 0.6 * x2)
    y = (rng.random(n) < expit(-0.5 + 0.7 * x1 - 0.4 * x2 + effect * t)).astype(int)
    return pd.DataFrame({"t": t, "y": y, "x1": x1, "x2": x2})


def _exog(frame):
    return sm.add_constant(frame[COVARIATES].to_numpy())


# Unpenalised GLMs with linear terms make the estimators' nuisance models identical to a
# plain statsmodels logit, so the references below are exact.
PLAIN = {"l2_penalty": 0.0, "spline_knots": 0, "propensity_clip": 1e-6}


# ---- naive: textbook 2x2-table formulas --------------------------------------------------


def test_naive_matches_katz_and_woolf_standard_errors():
    frame = _simulated()
    fitted = Naive(**PLAIN).fit(frame, treatment="t", outcome="y", covariates=COVARIATES)
    rd, rr, odds = fitted.results_
    a = int(frame.loc[frame.t, "y"].sum())
    b = int(frame.t.sum()) - a
    c = int(frame.loc[~frame.t, "y"].sum())
    d = int((~frame.t).sum()) - c
    # statsmodels' 2x2 table: Katz log-RR SE and Woolf log-OR SE
    table = Table2x2(np.array([[a, b], [c, d]]))
    assert rr.estimate == pytest.approx(table.riskratio, rel=1e-12)
    assert math.log(rr.ci_high / rr.ci_low) / (2 * 1.959964) == pytest.approx(
        table.log_riskratio_se, rel=1e-5
    )
    assert odds.estimate == pytest.approx(table.oddsratio, rel=1e-12)
    assert math.log(odds.ci_high / odds.ci_low) / (2 * 1.959964) == pytest.approx(
        table.log_oddsratio_se, rel=1e-5
    )
    p1, p0 = a / (a + b), c / (c + d)
    # unpooled (Wald) risk-difference SE with divisor n in each arm
    assert rd.estimate == pytest.approx(p1 - p0)
    assert rd.std_error == pytest.approx(
        math.sqrt(p1 * (1 - p1) / (a + b) + p0 * (1 - p0) / (c + d)), rel=1e-10
    )


# ---- IPW: statsmodels propensity + Hájek formula + numerical sandwich -------------------


def _ipw_sandwich_se(frame, estimand):
    """SE of the Hájek IPW difference from the stacked estimating equations.

    The Jacobian is taken by central finite differences and the sandwich
    A^-1 B A^-T / n is formed directly, independently of techeval's analytic formulas.
    """
    X = _exog(frame)
    t = frame.t.to_numpy(dtype=float)
    y = frame.y.to_numpy(dtype=float)
    n, p = X.shape

    def equations(theta):
        beta, m1, m0 = theta[:p], theta[p], theta[p + 1]
        e = expit(X @ beta)
        if estimand == "ATE":
            w1, w0 = t / e, (1 - t) / (1 - e)
        else:
            w1, w0 = t, (1 - t) * e / (1 - e)
        return np.column_stack([X * (t - e)[:, None], w1 * (y - m1), w0 * (y - m0)])

    beta = sm.Logit(t, X).fit(disp=0).params
    e = expit(X @ beta)
    if estimand == "ATE":
        w1, w0 = t / e, (1 - t) / (1 - e)
    else:
        w1, w0 = t, (1 - t) * e / (1 - e)
    theta = np.concatenate([beta, [w1 @ y / w1.sum(), w0 @ y / w0.sum()]])
    jacobian = np.empty((p + 2, p + 2))
    for j in range(p + 2):
        step = np.zeros(p + 2)
        step[j] = 1e-6
        jacobian[:, j] = (
            equations(theta + step).mean(axis=0) - equations(theta - step).mean(axis=0)
        ) / 2e-6
    g = equations(theta)
    bread = np.linalg.inv(jacobian)
    covariance = bread @ (g.T @ g / n) @ bread.T / n
    contrast = np.zeros(p + 2)
    contrast[p], contrast[p + 1] = 1, -1
    return theta[p] - theta[p + 1], math.sqrt(contrast @ covariance @ contrast)


@pytest.mark.parametrize("estimand", ["ATE", "ATT"])
def test_ipw_matches_statsmodels_propensity_and_stacked_sandwich(estimand):
    frame = _simulated()
    result = (
        IPW(estimand=estimand, **PLAIN)
        .fit(frame, treatment="t", outcome="y", covariates=COVARIATES)
        .result_
    )
    reference, reference_se = _ipw_sandwich_se(frame, estimand)
    assert result.estimate == pytest.approx(reference, abs=1e-6)
    assert result.std_error == pytest.approx(reference_se, rel=1e-3)


def test_ipw_standard_error_is_smaller_than_with_known_weights():
    # For the ATE, estimating the propensity makes Hájek IPW more efficient than treating
    # the weights as known (Lunceford & Davidian 2004); known-weight SE from a weighted
    # least-squares fit of y on t with HC0 (sandwich) errors in statsmodels.
    frame = _simulated()
    result = IPW(**PLAIN).fit(frame, treatment="t", outcome="y", covariates=COVARIATES).result_
    e = sm.Logit(frame.t.astype(float), _exog(frame)).fit(disp=0).predict()
    t = frame.t.to_numpy()
    weights = np.where(t, 1 / e, 1 / (1 - e))
    wls = sm.WLS(frame.y.to_numpy(dtype=float), sm.add_constant(t.astype(float)), weights=weights)
    known = wls.fit(cov_type="HC0")
    assert result.estimate == pytest.approx(known.params[1], abs=1e-6)
    assert result.std_error < known.bse[1]
    assert result.std_error > 0.6 * known.bse[1]


# ---- regression adjustment: statsmodels GLMs per arm + delta method ---------------------


def test_regression_matches_statsmodels_glms_and_delta_method():
    frame = _simulated()
    result = (
        Regression(**PLAIN).fit(frame, treatment="t", outcome="y", covariates=COVARIATES).result_
    )
    X = _exog(frame)
    t = frame.t.to_numpy()
    y = frame.y.to_numpy(dtype=float)
    fits = {
        arm: sm.GLM(y[t == arm], X[t == arm], family=sm.families.Binomial()).fit(cov_type="HC0")
        for arm in (True, False)
    }
    mu = {arm: fits[arm].predict(X) for arm in fits}
    ate = mu[True].mean() - mu[False].mean()
    # delta method: Var = sum_a g_a' V_a g_a + Var(mu1 - mu0) / n, g_a = mean(mu(1-mu) x)
    variance = np.var(mu[True] - mu[False]) / len(y)
    for arm in fits:
        gradient = (mu[arm] * (1 - mu[arm])) @ X / len(y)
        variance += gradient @ fits[arm].cov_params() @ gradient
    assert result.estimate == pytest.approx(ate, abs=1e-7)
    # the cross terms the delta method drops are O(1/n) in this sample: 1% agreement
    assert result.std_error == pytest.approx(math.sqrt(variance), rel=0.01)


def test_regression_with_continuous_outcome_matches_interacted_ols():
    # With linear outcome models per arm, g-computation equals the treatment coefficient
    # of OLS y ~ t * (x - mean(x)) (Imbens & Wooldridge 2009, sect. 5.3).
    rng = np.random.default_rng(3)
    n = 800
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    t = rng.random(n) < expit(x1)
    y = 1 + 2 * x1 - x2 + t * (3 + x1) + rng.normal(size=n)
    frame = pd.DataFrame({"t": t, "y": y, "x1": x1, "x2": x2})
    result = (
        Regression(**PLAIN).fit(frame, treatment="t", outcome="y", covariates=COVARIATES).result_
    )
    centred = frame[COVARIATES] - frame[COVARIATES].mean()
    design = np.column_stack([np.ones(n), t, centred, centred.to_numpy() * t[:, None]])
    ols = sm.OLS(y, design).fit()
    assert result.scale == "mean_difference"
    assert result.estimate == pytest.approx(ols.params[1], abs=1e-8)


# ---- AIPW ---------------------------------------------------------------------------------


def _truth(frame_seed=5, n=400_000, effect=0.8):
    big = _simulated(n=n, seed=frame_seed + 1000, effect=effect)
    lin = -0.5 + 0.7 * big.x1 - 0.4 * big.x2
    return float((expit(lin + effect) - expit(lin)).mean())


def test_aipw_recovers_a_known_effect_and_bootstrap_agrees_with_influence_function():
    frame = _simulated(n=4000)
    truth = _truth()  # population ATE by Monte Carlo integration over 400,000 draws
    fitted = AIPW(random_state=1).fit(frame, treatment="t", outcome="y", covariates=COVARIATES)
    rd = fitted.result_
    assert rd.ci_low < truth < rd.ci_high
    naive = Naive().fit(frame, treatment="t", outcome="y", covariates=COVARIATES).result_
    assert not naive.ci_low < truth < naive.ci_high  # confounding pushes the naive one up
    # a fast AIPW (2 folds) for the bootstrap's plumbing and agreement with the IF
    quick = dict(random_state=1, n_folds=2)
    analytic = AIPW(**quick).fit(frame, treatment="t", outcome="y", covariates=COVARIATES)
    boot = AIPW(**quick, inference="bootstrap", n_bootstrap=150).fit(
        frame, treatment="t", outcome="y", covariates=COVARIATES
    )
    assert boot.result_.estimate == analytic.result_.estimate
    # Monte Carlo error of a bootstrap SE from 150 replicates is about 1/sqrt(300) = 6%
    assert boot.result_.std_error == pytest.approx(analytic.result_.std_error, rel=0.15)
    assert boot.result_.diagnostics["inference"] == "bootstrap_percentile"
    # delta-method ratios agree with the arm means
    m = rd.diagnostics["arm_means"]
    assert fitted.results_[1].estimate == pytest.approx(m["treated"] / m["control"])


def test_aipw_count_and_continuous_outcomes_use_matching_models():
    rng = np.random.default_rng(8)
    n = 3000
    x = rng.normal(size=n)
    t = rng.random(n) < expit(x)
    frame = pd.DataFrame(
        {
            "t": t,
            "x": x,
            "charges": rng.poisson(np.exp(0.5 + 0.4 * x + 0.3 * t)),
            "earnings": 20_000 + 5_000 * x + 1_500 * t + rng.normal(0, 4_000, n),
        }
    )
    counts = AIPW(random_state=0).fit(frame, treatment="t", outcome="charges", covariates=["x"])
    assert counts.result_.diagnostics["outcome_type"] == "count"
    truth = float(np.mean(np.exp(0.5 + 0.4 * rng.normal(size=400_000)) * (math.exp(0.3) - 1)))
    assert counts.result_.ci_low < truth < counts.result_.ci_high
    earnings = AIPW(random_state=0).fit(frame, treatment="t", outcome="earnings", covariates=["x"])
    assert earnings.result_.diagnostics["outcome_type"] == "continuous"
    assert earnings.result_.ci_low < 1_500 < earnings.result_.ci_high
    assert [r.scale for r in earnings.results_] == ["mean_difference"]


def test_aipw_penalises_the_propensity_model_and_only_it_with_its_own_penalty():
    frame = _simulated(n=1000)

    def overlap(**params):
        fitted = AIPW(random_state=0, **params).fit(
            frame, treatment="t", outcome="y", covariates=COVARIATES
        )
        return fitted.result_.diagnostics["overlap"]

    # cross-fitted propensities do not depend on the outcome models' penalty ...
    assert overlap(l2_penalty=5.0) == overlap()
    # ... but a stronger propensity penalty pulls the weights in
    assert overlap(propensity_l2_penalty=300.0)["max_weight"] < overlap()["max_weight"]
    assert overlap()["max_weight"] < overlap(propensity_l2_penalty=0.0)["max_weight"]


def test_gradient_boosting_nuisances_run_and_cover():
    frame = _simulated(n=3000)
    result = (
        AIPW(nuisance="gbm", random_state=0)
        .fit(frame, treatment="t", outcome="y", covariates=COVARIATES)
        .result_
    )
    assert result.ci_low < _truth() < result.ci_high
    assert result.diagnostics["nuisance"] == "gbm"


# ---- missing data and bad input -----------------------------------------------------------


def test_rows_with_missing_values_are_dropped_and_counted():
    frame = _simulated(n=1000)
    frame.loc[:9, "y"] = np.nan
    frame.loc[20:24, "x1"] = np.nan
    frame["t"] = frame["t"].astype(object)
    frame.loc[30, "t"] = None
    result = (
        AIPW(random_state=0).fit(frame, treatment="t", outcome="y", covariates=COVARIATES).result_
    )
    dropped = result.diagnostics["rows_dropped"]
    assert dropped["total"] == 16
    assert dropped["missing_outcome"] == 10 and dropped["missing_treatment"] == 1
    assert dropped["missing_covariate"] == {"x1": 5}
    assert result.n_treated + result.n_control == 984
    assert any("16 rows" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns="x2"), "covariate column 'x2' is not in the data"),
        (lambda f: f.assign(t=np.arange(len(f)) % 3), "not binary"),
        (lambda f: f.assign(t=True), "constant"),
        (lambda f: f.head(8), "too few rows"),
        (lambda f: f.assign(y="yes"), "not numeric"),
    ],
)
def test_data_problems_are_techeval_errors(change, message):
    with pytest.raises(EstimatorError, match=message):
        AIPW().fit(change(_simulated(n=300)), treatment="t", outcome="y", covariates=COVARIATES)


def test_bad_parameters_are_argument_errors():
    with pytest.raises(ArgumentError, match="estimand"):
        AIPW(estimand="ATC").fit(_simulated(n=300), treatment="t", outcome="y")
    with pytest.raises(ArgumentError, match="n_folds"):
        AIPW(n_folds=1).fit(_simulated(n=300), treatment="t", outcome="y")
    with pytest.raises(ArgumentError, match="propensity_l2_penalty"):
        AIPW(propensity_l2_penalty=-1).fit(_simulated(n=300), treatment="t", outcome="y")


def test_text_and_boolean_covariates_are_encoded():
    frame = _simulated(n=1500)
    frame["region"] = np.where(frame.x2 == 1, "north", "south")
    frame["flag"] = frame.x1 > 0
    result = (
        AIPW(random_state=0)
        .fit(frame, treatment="t", outcome="y", covariates=["x1", "region", "flag"])
        .result_
    )
    names = [row["covariate"] for row in result.diagnostics["balance"]["covariates"]]
    assert names == ["x1", "region=north", "region=south", "flag=False", "flag=True"]


# ---- hard data: near-separation and extreme weights (job-training-like) -------------------


def test_near_separation_stays_finite_and_warns():
    # Observational comparison groups as in LaLonde's NSW/PSID data: comparison units
    # mostly far from the treated in covariate space, so propensities pile up near 0/1.
    rng = np.random.default_rng(12)
    n_treated, n_comparison = 185, 2500
    age = np.concatenate([rng.normal(25, 6, n_treated), rng.normal(35, 10, n_comparison)])
    earnings_before = np.concatenate(
        [rng.exponential(1500, n_treated), rng.exponential(19000, n_comparison)]
    )
    treated = np.r_[np.ones(n_treated, bool), np.zeros(n_comparison, bool)]
    earnings_after = (
        4000 + 0.8 * earnings_before + 1800 * treated + rng.normal(0, 5000, treated.size)
    )
    frame = pd.DataFrame(
        {
            "treat": treated,
            "re78": earnings_after,
            "age": age,
            "re75": earnings_before,
            "black": np.where(
                treated, rng.random(treated.size) < 0.85, rng.random(treated.size) < 0.25
            ),
        }
    )
    for estimator in (AIPW(estimand="ATT", random_state=0), IPW(), Regression(), AIPW()):
        result = estimator.fit(
            frame, treatment="treat", outcome="re78", covariates=["age", "re75", "black"]
        ).result_
        assert result.is_finite and math.isfinite(result.std_error)
        assert abs(result.estimate) < 20_000  # never an absurd number
        assert result.warnings, "poor overlap must produce a warning"
        assert (
            result.diagnostics["overlap"]["share_clipped"] > 0
            or result.diagnostics["overlap"]["share_outside_common_support"] > 0.05
        )


# ---- the shipped synthetic case file ------------------------------------------------------

SYNTH_COVARIATES = list(SYNTHETIC_COVARIATES)


@pytest.fixture(scope="module")
def shipped():
    from techeval.cases import load_cases

    cases = load_cases(str(ROOT / "synthetic_data" / "cases.csv")).cases
    truth = json.loads((ROOT / "synthetic_data" / "truth.json").read_text(encoding="utf-8"))
    return cases, truth


def test_aipw_covers_every_technique_on_shipped_data_and_naive_does_not(shipped):
    from techeval.cases.schema import TECHNIQUES

    cases, truth = shipped
    naive_misses = []
    for technique in TECHNIQUES:
        target = truth["techniques"][technique]["conviction"]["ate"]
        aipw = (
            AIPW(random_state=0)
            .fit(cases, treatment=technique, outcome="conviction", covariates=SYNTH_COVARIATES)
            .result_
        )
        assert aipw.ci_low <= target <= aipw.ci_high, (technique, target, aipw)
        naive = Naive().fit(cases, treatment=technique, outcome="conviction").result_
        if not naive.ci_low <= target <= naive.ci_high:
            naive_misses.append(technique)
    assert len(naive_misses) >= 2, naive_misses


# ---- the public base class: an outcome estimator a researcher writes -------------------------


class _DifferenceInMeans(ArmMeansEstimator):
    """Unadjusted difference in mean outcome, written as a user would."""

    def arm_means(self, settings, features, treated, y, kind, seed, need_influence):
        m1, m0 = float(y[treated].mean()), float(y[~treated].mean())
        arms = Arms(m1, m0)
        if need_influence:
            t = treated.astype(float)
            arms.influence_treated = t * (y - m1) / t.mean()
            arms.influence_control = (1 - t) * (y - m0) / (1 - t.mean())
        return arms


@pytest.fixture
def user_estimator():
    """The user's class registered for one test (the registry is process-wide)."""
    name = "outcome.user_difference_in_means"
    yield register(name)(_DifferenceInMeans)
    registry._REGISTRY.pop(name, None)


def test_a_user_subclass_of_arm_means_estimator_fits_and_gives_rows(user_estimator):
    frame = _simulated(n=1500)
    assert get_estimator("outcome.user_difference_in_means") is user_estimator
    assert user_estimator.description() == (
        "Unadjusted difference in mean outcome, written as a user would."
    )
    estimator = user_estimator(random_state=0)
    assert estimator.fit(frame, treatment="t", outcome="y", covariates=COVARIATES) is estimator
    rows = estimator.results_
    assert [r.scale for r in rows] == ["risk_difference", "risk_ratio", "odds_ratio"]
    assert {r.method for r in rows} == {"user_difference_in_means"}
    assert {r.estimator for r in rows} == {"outcome.user_difference_in_means"}
    assert all(r.family == "outcome" and r.adjusted for r in rows)
    # the base class adds the propensity diagnostics the subclass did not estimate
    assert 0 < rows[0].diagnostics["overlap"]["propensity_quantiles"]["treated"]["q0"] < 1
    assert rows[0].diagnostics["rows_used"] == len(frame)
    assert len(estimator.to_frame()) == 3
    # the same formula as outcome.naive gives the same numbers, also through the bootstrap
    for inference in ("influence_function", "bootstrap"):
        params = {"inference": inference, "n_bootstrap": 40, "random_state": 3}
        mine = user_estimator(**params).fit(frame, treatment="t", outcome="y").results_
        naive = Naive(**params).fit(frame, treatment="t", outcome="y").results_
        for a, b in zip(mine, naive, strict=True):
            assert (a.estimate, a.std_error, a.ci_low, a.ci_high) == pytest.approx(
                (b.estimate, b.std_error, b.ci_low, b.ci_high), rel=1e-12
            )


def test_outcome_estimators_import_under_python_oo():
    """Docstrings are ``None`` under ``-OO``; nothing may build on them at import."""
    import subprocess
    import sys

    code = "import techeval.estimators.outcome as o; print(o.AIPW.description() == '')"
    done = subprocess.run(
        [sys.executable, "-OO", "-c", code], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


# ---- simulation study (slow; techeval.simulate.study, also `python benchmarks/coverage_study.py`)


@pytest.mark.slow
def test_aipw_coverage_bias_and_size_in_simulation():
    from techeval.simulate.study import run_study

    default = run_study(500, 2000, "default", jobs=2)
    print(default.to_string())
    assert default.coverage.between(0.93, 0.97).all(), default
    assert (default.mean_bias.abs() < 0.01).all(), default
    null = run_study(500, 2000, "no_effect", jobs=2)
    print(null.to_string())
    assert null.rejection_rate.between(0.02, 0.08).all(), null
