"""Cost estimators: reference values against statsmodels, known truth, CE plane and CEAC."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from techeval.economics import icer_quadrant
from techeval.estimators.cost import BenefitCost, CostEffectiveness, CostSummary, IncrementalCost
from techeval.simulate import SYNTHETIC_COVARIATES

DATA = Path(__file__).resolve().parents[2] / "synthetic_data"
TECHNIQUES = ("electronic_surveillance", "undercover", "controlled_delivery", "witness_protection")


def _frame(n=800, seed=0, cost_effect=20_000.0, conviction_effect=0.15):
    """Confounded cases: severity x raises both the chance of the technique and the cost.

    True incremental cost (ATE) is exactly ``cost_effect`` (additive, as in the
    synthetic case generator); the true risk difference in conviction is close to
    ``conviction_effect``.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    group = rng.choice(["north", "south", "east"], size=n)
    treated = rng.random(n) < 1 / (1 + np.exp(-(0.8 * x + 0.5 * (group == "east"))))
    base = rng.gamma(2.0, np.exp(10.5 + 0.6 * x + 0.2 * (group == "south")) / 2.0)
    cost = base + treated * rng.gamma(4.0, cost_effect / 4.0, n)
    conviction = rng.random(n) < np.clip(0.5 - 0.1 * x + conviction_effect * treated, 0, 1)
    return pd.DataFrame(
        {
            "t": treated,
            "cost_total": cost,
            "conviction": conviction,
            "high_level_conviction": conviction & (rng.random(n) < 0.3),
            "x": x,
            "group": group,
            "n_suspects": rng.integers(1, 30, n),
            "officer_days": rng.integers(10, 500, n).astype(float),
        }
    )


COVARIATES = ["x", "group"]


# ---- reference values ----------------------------------------------------------------


@pytest.mark.parametrize("estimand", ["ATE", "ATT"])
def test_gamma_glm_recycled_predictions_equal_a_direct_statsmodels_fit(estimand):
    frame = _frame()
    fitted = IncrementalCost(
        model="gamma_glm", estimand=estimand, n_bootstrap=20, random_state=0
    ).fit(frame, treatment="t", covariates=COVARIATES)
    # independent computation: statsmodels GLM(Gamma, log) on raw dummies, T set to 1 and 0
    dummies = pd.get_dummies(frame["group"], drop_first=True, dtype=float)
    X = sm.add_constant(pd.concat([frame[["x"]], dummies], axis=1))
    X["t"] = frame["t"].astype(float)
    model = sm.GLM(frame["cost_total"], X, family=sm.families.Gamma(sm.families.links.Log())).fit()
    rows = frame["t"].to_numpy() if estimand == "ATT" else np.ones(len(frame), dtype=bool)
    on, off = X.assign(t=1.0)[rows], X.assign(t=0.0)[rows]
    expected = float(np.mean(model.predict(on) - model.predict(off)))
    result = fitted.result_
    assert result.estimate == pytest.approx(expected, rel=1e-6)
    assert (result.measure, result.family, result.scale) == (
        "incremental_cost",
        "cost",
        "mean_difference",
    )
    assert result.ci_low < result.estimate < result.ci_high


def test_doubly_robust_cost_recovers_a_known_additive_incremental_cost():
    frame = _frame(n=4000, seed=1)
    naive = frame.loc[frame["t"], "cost_total"].mean() - frame.loc[~frame["t"], "cost_total"].mean()
    result = (
        IncrementalCost(inference="influence_function")
        .fit(frame, treatment="t", covariates=COVARIATES)
        .result_
    )
    assert naive > 20_000 + 5 * result.std_error  # the confounding is real
    assert abs(result.estimate - 20_000) < 3 * result.std_error
    assert result.ci_low < 20_000 < result.ci_high


def test_influence_and_bootstrap_standard_errors_agree():
    frame = _frame(n=1500, seed=2)
    by_influence = IncrementalCost(inference="influence_function").fit(
        frame, treatment="t", covariates=COVARIATES
    )
    by_bootstrap = IncrementalCost(n_bootstrap=60, random_state=1).fit(
        frame, treatment="t", covariates=COVARIATES
    )
    assert by_influence.result_.estimate == by_bootstrap.result_.estimate
    assert by_bootstrap.result_.std_error == pytest.approx(by_influence.result_.std_error, rel=0.35)


def test_cost_summary_matches_direct_pandas_computations():
    frame = _frame(n=300)
    frame["cost_t"] = np.where(frame["t"], frame["cost_total"] * 0.25, 0.0)
    rows = CostSummary().fit(frame, treatment="t").results_
    by_key = {(r.subgroup, r.measure, r.scale): r for r in rows}
    treated = frame[frame["t"]]
    control = frame[~frame["t"]]
    assert by_key[("t=True", "cost_mean", "mean")].estimate == pytest.approx(
        treated["cost_total"].mean()
    )
    se = treated["cost_total"].std(ddof=0) / math.sqrt(len(treated))
    assert by_key[("t=True", "cost_mean", "mean")].std_error == pytest.approx(se)
    median = by_key[("t=False", "cost_median", "median")]
    assert median.estimate == pytest.approx(control["cost_total"].median())
    q25, q75 = control["cost_total"].quantile([0.25, 0.75])
    assert median.diagnostics["iqr"] == pytest.approx(q75 - q25)
    per_suspect = by_key[("t=True", "cost_per_suspect", "currency_per_suspect")]
    assert per_suspect.estimate == pytest.approx(
        treated["cost_total"].sum() / treated["n_suspects"].sum()
    )
    assert by_key[("t=True", "technique_cost_share", "proportion")].estimate == pytest.approx(0.25)
    difference = by_key[(None, "cost_mean", "mean_difference")]
    assert difference.estimate == pytest.approx(
        treated["cost_total"].mean() - control["cost_total"].mean()
    )
    assert "unadjusted" in difference.warnings[0]


# ---- cost-effectiveness --------------------------------------------------------------


@pytest.fixture(scope="module")
def cost_effectiveness():
    frame = _frame(n=1200, seed=3)
    return CostEffectiveness(n_bootstrap=40, random_state=2, wtp_grid=np.arange(0, 1e6, 5e4)).fit(
        frame, treatment="t", covariates=COVARIATES
    )


def _rows(fitted, outcome):
    return {r.measure: r for r in fitted.results_ if r.outcome == outcome}


def test_icer_is_the_ratio_in_a_trade_off_quadrant_with_a_fieller_interval(cost_effectiveness):
    rows = _rows(cost_effectiveness, "conviction")
    cost = cost_effectiveness.results_[0]
    effect = rows["incremental_effect"]
    assert effect.ci_low > 0  # this frame has a clear effect on conviction
    quadrant = rows["icer_quadrant"]
    assert math.isnan(quadrant.estimate)
    assert quadrant.diagnostics["quadrant"] == icer_quadrant(cost.estimate, effect.estimate)
    assert quadrant.diagnostics["quadrant"] == "more costly, more effective"
    icer = rows["icer"]
    assert icer.estimate == pytest.approx(cost.estimate / effect.estimate)
    assert icer.ci_low < icer.estimate < icer.ci_high
    assert icer.scale == "currency_per_conviction"


def test_acceptability_curve_equals_share_of_bootstrap_draws_with_positive_nmb(
    cost_effectiveness,
):
    plane = cost_effectiveness.ce_plane_
    assert list(plane.columns) == ["effect", "replicate", "delta_cost", "delta_effect"]
    curve = cost_effectiveness.acceptability_
    for effect in ("conviction", "high_level_conviction"):
        draws = plane[plane["effect"] == effect]
        sub = curve[curve["effect"] == effect]
        for wtp, probability in zip(
            sub["willingness_to_pay"], sub["prob_cost_effective"], strict=True
        ):
            nmb = wtp * draws["delta_effect"] - draws["delta_cost"]
            assert probability == pytest.approx(float((nmb > 0).mean()))
        if (draws["delta_effect"] >= 0).all():
            assert np.all(np.diff(sub["prob_cost_effective"]) >= 0)
    rows = _rows(cost_effectiveness, "conviction")
    wtp = rows["prob_cost_effective"].diagnostics["willingness_to_pay"]
    conviction = plane[plane["effect"] == "conviction"]
    nmb = wtp * conviction["delta_effect"] - conviction["delta_cost"]
    assert rows["prob_cost_effective"].estimate == pytest.approx(float((nmb > 0).mean()))
    assert rows["net_monetary_benefit"].estimate == pytest.approx(
        wtp * rows["incremental_effect"].estimate - cost_effectiveness.results_[0].estimate
    )


def test_no_detectable_effect_gives_no_ratio_but_a_plain_warning():
    frame = _frame(n=800, seed=4, conviction_effect=0.0)
    fitted = CostEffectiveness(n_bootstrap=30, random_state=0, effects=("conviction",)).fit(
        frame, treatment="t", covariates=COVARIATES
    )
    rows = _rows(fitted, "conviction")
    assert rows["incremental_effect"].ci_low < 0 < rows["incremental_effect"].ci_high
    icer = rows["icer"]
    assert math.isnan(icer.estimate) and math.isnan(icer.ci_low) and math.isnan(icer.ci_high)
    assert any(
        "no detectable effect on conviction: cost per additional conviction is not meaningful" in w
        for w in icer.warnings
    )
    assert rows["icer_quadrant"].diagnostics["effect_ci_spans_zero"] is True


def test_results_are_json_compatible(cost_effectiveness):
    for result in cost_effectiveness.results_:
        json.dumps(result.to_dict(), allow_nan=True)


# ---- benefit–cost --------------------------------------------------------------------


def test_benefit_cost_without_harms_says_so_and_is_reproducible():
    frame = _frame(n=600, seed=5)
    first = BenefitCost(n_bootstrap=25, n_draws=4000, random_state=7).fit(
        frame, treatment="t", covariates=COVARIATES
    )
    again = BenefitCost(n_bootstrap=25, n_draws=4000, random_state=7).fit(
        frame, treatment="t", covariates=COVARIATES
    )
    assert first.results_ == again.results_
    net, ratio, probability = first.results_
    assert [r.measure for r in first.results_] == [
        "net_benefit",
        "benefit_cost_ratio",
        "prob_benefits_exceed_costs",
    ]
    assert net.diagnostics["harms_included"] is False
    assert any("count as zero" in w for w in net.warnings)
    sim = first.simulation_
    assert probability.estimate == pytest.approx(float((sim.net_benefit > 0).mean()))
    assert net.estimate == pytest.approx(sim.point_benefits - sim.point_costs)
    assert ratio.estimate == pytest.approx(sim.point_benefits / sim.point_costs)
    assert net.ci_low < net.estimate < net.ci_high
    assert len(first.monte_carlo_) == 4000


def test_benefit_cost_with_monetised_harms_subtracts_their_adjusted_difference():
    pytest.importorskip("techeval.estimators.harm")
    frame = _frame(n=600, seed=6)
    rng = np.random.default_rng(0)
    frame["officer_injuries"] = rng.poisson(0.2 + 0.6 * frame["t"])
    kwargs = dict(n_bootstrap=25, n_draws=2000, random_state=3)
    without = BenefitCost(**kwargs).fit(frame, treatment="t", covariates=COVARIATES)
    with_harms = BenefitCost(harm_unit_costs={"officer_injuries": 50_000.0}, **kwargs).fit(
        frame, treatment="t", covariates=COVARIATES
    )
    diagnostics = with_harms.result_.diagnostics
    assert diagnostics["harms_included"] is True
    harm = diagnostics["components"]["harm_cost"]["estimate"]
    assert 0.3 * 50_000 < harm < 0.9 * 50_000  # about 0.6 extra injuries per case
    assert with_harms.simulation_.point_costs == pytest.approx(
        without.simulation_.point_costs + harm
    )
    assert not any("count as zero" in w for w in with_harms.result_.warnings)


def test_results_do_not_depend_on_the_number_of_workers():
    frame = _frame(n=300, seed=9)
    one = IncrementalCost(n_bootstrap=20, random_state=1, n_jobs=1).fit(
        frame, treatment="t", covariates=COVARIATES
    )
    two = IncrementalCost(n_bootstrap=20, random_state=1, n_jobs=2).fit(
        frame, treatment="t", covariates=COVARIATES
    )
    assert one.results_ == two.results_


# ---- known truth on the shipped synthetic data ---------------------------------------


@pytest.fixture(scope="module")
def shipped():
    if not (DATA / "cases.csv").exists() or not (DATA / "truth.json").exists():
        pytest.skip("synthetic_data/cases.csv and truth.json are not shipped yet")
    from techeval.cases import validate_frame

    raw = pd.read_csv(DATA / "cases.csv", dtype=str, keep_default_na=False)
    truth = json.loads((DATA / "truth.json").read_text(encoding="utf-8"))
    cases = validate_frame(raw).cases
    # whether a case targets anyone high-level drives both the choice of technique and
    # its cost (synthetic_data/README.md); a linear count alone misses that step
    cases["any_high_level_target"] = (cases["high_level_targets"] > 0).astype(bool)
    return cases, truth


SHIPPED_COVARIATES = [
    "offence",
    "group_structure",
    "n_suspects",
    "high_level_targets",
    "any_high_level_target",
    "jurisdiction",
    "year",
    "threat_level",
    "transnational",
]


def _covariates(technique):
    # the other techniques are assigned independently given the covariates and add cost;
    # adjusting for them sharpens the estimate without biasing it
    return SHIPPED_COVARIATES + [t for t in TECHNIQUES if t != technique]


@pytest.mark.parametrize("technique", TECHNIQUES)
def test_incremental_cost_interval_covers_the_truth_on_shipped_data(shipped, technique):
    cases, truth = shipped
    result = (
        IncrementalCost(inference="influence_function")
        .fit(cases, treatment=technique, covariates=_covariates(technique))
        .result_
    )
    true_cost = truth["techniques"][technique]["incremental_cost"]["ate"]
    assert result.ci_low <= true_cost <= result.ci_high, (result.estimate, true_cost)


@pytest.mark.slow
@pytest.mark.parametrize("technique", TECHNIQUES)
def test_bootstrap_interval_of_incremental_cost_covers_the_truth_on_shipped_data(
    shipped, technique
):
    cases, truth = shipped
    result = (
        IncrementalCost(n_bootstrap=200, random_state=0, n_jobs=2)
        .fit(cases, treatment=technique, covariates=_covariates(technique))
        .result_
    )
    true_cost = truth["techniques"][technique]["incremental_cost"]["ate"]
    assert result.ci_low <= true_cost <= result.ci_high, (result.estimate, true_cost)


def test_incremental_cost_with_the_outcome_familys_aipw():
    from techeval.cases import validate_frame
    from techeval.estimators.outcome import AIPW
    from techeval.simulate import generate_cases, population_truth

    cases = validate_frame(generate_cases(3000, seed=101).cases).cases
    covariates = list(SYNTHETIC_COVARIATES)
    fitted = IncrementalCost(model="aipw", inference="influence_function", random_state=2).fit(
        cases, treatment="electronic_surveillance", covariates=covariates
    )
    (row,) = fitted.results_
    direct = AIPW(random_state=2).fit(
        cases, treatment="electronic_surveillance", outcome="cost_total", covariates=covariates
    )
    assert (row.family, row.measure, row.method) == ("cost", "incremental_cost", "aipw")
    assert row.estimate == direct.result_.estimate and row.ci_low == direct.result_.ci_low
    truth = population_truth("default")["electronic_surveillance"]["incremental_cost"]["ate"]
    assert row.ci_low <= truth <= row.ci_high


def test_high_level_conviction_counts_per_case_for_economics():
    # The loader leaves high_level_conviction missing where a case has no high-level
    # target; for cost per additional high-level conviction such cases count as zero.
    from techeval.estimators.cost import per_case_outcome

    frame = pd.DataFrame(
        {
            "high_level_targets": [0, 2, 1, 0, 3],
            "high_level_conviction": pd.array([pd.NA, True, False, pd.NA, pd.NA], dtype="boolean"),
        }
    )
    values = per_case_outcome(frame, "high_level_conviction")
    assert values.tolist() == [False, True, False, False, pd.NA]
    assert frame["high_level_conviction"].isna().sum() == 3  # input untouched


# ---- the one-step bootstrap, the shared replicates and the size rule ---------------------


def test_one_step_bootstrap_replicates_match_full_refits():
    # Each one-step replicate should differ from a full refit on the same resample by
    # O(1/n), far below the bootstrap spread O(1/sqrt(n)).
    frame = _frame(n=3000, seed=12)
    kwargs = dict(n_bootstrap=30, random_state=4, effects=("conviction",))
    one = CostEffectiveness(bootstrap_refit="one_step", **kwargs).fit(
        frame, treatment="t", covariates=COVARIATES
    )
    full = CostEffectiveness(bootstrap_refit="full", **kwargs).fit(
        frame, treatment="t", covariates=COVARIATES
    )
    a, b = one.replicates_.to_numpy(), full.replicates_.to_numpy()
    spread = b.std(axis=0)
    assert np.all(np.abs(a - b).max(axis=0) < 0.1 * spread)
    np.testing.assert_allclose(a.std(axis=0), spread, rtol=0.03)
    assert one.results_[0].diagnostics["inference"] == "bootstrap_percentile_one_step"
    assert full.results_[0].diagnostics["inference"] == "bootstrap_percentile"


def test_benefit_cost_reuses_the_cost_effectiveness_replicates(monkeypatch):
    from techeval.estimators._nuisance import shared_nuisance
    from techeval.estimators.cost import _bootstrap

    frame = _frame(n=600, seed=13)
    frame["group_disrupted"] = np.random.default_rng(1).random(len(frame)) < 0.3
    computed = []
    original = _bootstrap.bootstrap_replicates

    def counting(statistic, *args, **kwargs):
        computed.append(sorted(statistic.keywords["components"]))
        return original(statistic, *args, **kwargs)

    monkeypatch.setattr(_bootstrap, "bootstrap_replicates", counting)
    with shared_nuisance() as shared:
        ce = CostEffectiveness(n_bootstrap=25, random_state=5).fit(
            frame, treatment="t", covariates=COVARIATES
        )
        bc = BenefitCost(n_bootstrap=25, random_state=5, n_draws=1000).fit(
            frame, treatment="t", covariates=COVARIATES
        )
        assert len(shared.replicates) == 4
    # only the components cost.effectiveness did not have were resampled
    shared = ["incremental_cost", "conviction", "high_level_conviction"]
    assert computed == [sorted(shared), ["group_disrupted"]]
    np.testing.assert_array_equal(bc.replicates_[shared].to_numpy(), ce.replicates_.to_numpy())
    # outside a block nothing is kept: everything is drawn again
    again = BenefitCost(n_bootstrap=25, random_state=5, n_draws=1000).fit(
        frame, treatment="t", covariates=COVARIATES
    )
    assert computed[-1] == sorted([*shared, "group_disrupted"])
    assert again.results_ == bc.results_  # the memo never changes a number


def test_above_bootstrap_max_n_influence_functions_replace_the_bootstrap():
    frame = _frame(n=1500, seed=14)
    fitted = CostEffectiveness(
        n_bootstrap=40, random_state=2, bootstrap_max_n=1000, effects=("conviction",)
    ).fit(frame, treatment="t", covariates=COVARIATES)
    by_influence = IncrementalCost(inference="influence_function").fit(
        frame, treatment="t", covariates=COVARIATES
    )
    cost_row = fitted.results_[0]
    assert cost_row.diagnostics["inference"] == "influence_function"
    assert cost_row.diagnostics["bootstrap_max_n"] == 1000
    assert "n_bootstrap" not in cost_row.diagnostics
    assert cost_row.ci_low == pytest.approx(by_influence.result_.ci_low)
    rows = _rows(fitted, "conviction")
    assert rows["icer"].diagnostics["interval"] == "Fieller, influence-function (co)variances"
    # the acceptability curve and plane come from normal draws with the IF covariance
    assert len(fitted.ce_plane_) == 40
    probability = rows["prob_cost_effective"].estimate
    assert 0 <= probability <= 1
    below = CostEffectiveness(
        n_bootstrap=40, random_state=2, bootstrap_max_n=5000, effects=("conviction",)
    ).fit(frame, treatment="t", covariates=COVARIATES)
    assert below.results_[0].diagnostics["inference"] == "bootstrap_percentile_one_step"
    # both ways estimate the same thing: the intervals' widths agree roughly
    width = cost_row.ci_high - cost_row.ci_low
    assert below.results_[0].ci_high - below.results_[0].ci_low == pytest.approx(width, rel=0.35)
    bc = BenefitCost(n_bootstrap=25, random_state=5, n_draws=1000, bootstrap_max_n=1000).fit(
        frame, treatment="t", covariates=COVARIATES
    )
    assert bc.result_.diagnostics["inference"] == "monte_carlo_influence_function"
    assert bc.replicates_ is None


def test_gamma_irls_matches_statsmodels_fit():
    """The Cholesky IRLS takes statsmodels' steps and stops where it stops (to 1e-10)."""
    from techeval.estimators.cost._models import _gamma_irls

    rng = np.random.default_rng(3)
    X1 = np.column_stack([np.ones(3000), rng.normal(size=(3000, 4))])
    mean = np.exp(9.0 + X1[:, 1:] @ np.array([0.4, -0.2, 0.1, 0.0]))
    y = rng.gamma(1.5, mean / 1.5)
    reference = sm.GLM(y, X1, family=sm.families.Gamma(sm.families.links.Log())).fit()
    params = _gamma_irls(X1, y)
    np.testing.assert_allclose(params, reference.params, rtol=1e-10, atol=1e-12)


@pytest.mark.filterwarnings("ignore:The design matrix is rank-deficient")
def test_gamma_irls_leaves_a_singular_design_to_statsmodels():
    """A column collinear with the intercept needs the minimum-norm solution: no Cholesky."""
    from techeval.estimators.cost._models import _fit_glm, _gamma_irls

    rng = np.random.default_rng(4)
    X1 = np.column_stack([np.ones(500), np.ones(500), rng.normal(size=500)])
    y = rng.gamma(2.0, np.exp(5.0 + 0.3 * X1[:, 2]) / 2.0)
    assert _gamma_irls(X1, y) is None
    reference = sm.GLM(y, X1, family=sm.families.Gamma(sm.families.links.Log())).fit()
    np.testing.assert_allclose(_fit_glm(X1, y, "gamma", 1.0).params, reference.params, rtol=1e-12)


def test_the_cost_estimators_import_under_python_oo():
    # -OO strips docstrings: nothing may build one at import time (the package once
    # appended its shared Parameters to __doc__, None there), and a description is empty
    code = "import techeval.estimators.cost as c; print(repr(c.IncrementalCost.description()))"
    done = subprocess.run([sys.executable, "-OO", "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "''"
