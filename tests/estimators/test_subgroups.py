"""Subgroup effects: per-level fits, too-few-cases rows, Cochran's Q, adjusted p-values."""

import math

import numpy as np
import pandas as pd
import pingouin
import pytest
from scipy import stats
from scipy.special import expit

import techeval.effect
from techeval.estimators.outcome import AIPW
from techeval.estimators.subgroups import estimate_by_subgroup


def _frame(n=3000, seed=2):
    rng = np.random.default_rng(seed)
    offence = rng.choice(["drugs", "fraud", "arms"], size=n, p=[0.5, 0.48, 0.02])
    x = rng.normal(size=n)
    t = rng.random(n) < expit(0.8 * x + (offence == "drugs"))
    effect = np.where(offence == "drugs", 0.25, 0.0)
    y = (rng.random(n) < np.clip(0.3 + 0.1 * x + effect * t, 0, 1)).astype(int)
    return pd.DataFrame({"t": t, "y": y, "x": x, "offence": offence})


def test_subgroups_heterogeneity_and_adjusted_p_values():
    frame = _frame()
    rows = estimate_by_subgroup(
        AIPW(random_state=0, n_folds=3),
        frame,
        by="offence",
        treatment="t",
        outcome="y",
        covariates=["x", "offence"],
        min_cases=40,
    )
    by_name = {r.subgroup: r for r in rows}
    assert list(by_name) == ["offence=arms", "offence=drugs", "offence=fraud", "offence"]
    arms = by_name["offence=arms"]
    assert math.isnan(arms.estimate) and arms.diagnostics["too_few_cases"]
    assert "too few cases" in arms.warnings[0]
    drugs, fraud = by_name["offence=drugs"], by_name["offence=fraud"]
    assert drugs.ci_low < 0.25 < drugs.ci_high and fraud.ci_low < 0 < fraud.ci_high
    # the subgroup column is constant within a subgroup, so it is not a covariate there
    assert [c["covariate"] for c in drugs.diagnostics["balance"]["covariates"]] == ["x"]
    # multiplicity adjustment checked against pingouin's implementation
    raw = [drugs.p_value, fraud.p_value]
    holm = pingouin.multicomp(raw, method="holm")[1]
    bh = pingouin.multicomp(raw, method="fdr_bh")[1]
    assert [drugs.diagnostics["p_value_holm"], fraud.diagnostics["p_value_holm"]] == pytest.approx(
        holm
    )
    assert [drugs.diagnostics["p_value_bh"], fraud.diagnostics["p_value_bh"]] == pytest.approx(bh)
    # Cochran's Q by hand for two subgroups: (d1 - d2)^2 / (se1^2 + se2^2)
    het = by_name["offence"]
    assert het.scale == "heterogeneity_q"
    q = (drugs.estimate - fraud.estimate) ** 2 / (drugs.std_error**2 + fraud.std_error**2)
    assert het.estimate == pytest.approx(q)
    assert het.p_value == pytest.approx(stats.chi2.sf(q, 1))
    assert het.p_value < 0.01 and het.diagnostics["df"] == 1


def test_estimate_by_subgroup_is_still_importable_from_techeval_effect():
    assert techeval.effect.estimate_by_subgroup is estimate_by_subgroup


def test_a_subgroup_with_too_few_cases_is_a_labelled_row_of_nans():
    frame = _frame(n=400)
    rows = estimate_by_subgroup(
        AIPW(random_state=0, n_folds=3),
        frame,
        by="offence",
        treatment="t",
        outcome="y",
        min_cases=1000,
    )
    *levels, heterogeneity = rows
    assert [r.subgroup for r in levels] == ["offence=arms", "offence=drugs", "offence=fraud"]
    for row in levels:
        assert row.diagnostics == {"too_few_cases": True, "min_cases": 1000}
        assert all(
            math.isnan(v)
            for v in (row.estimate, row.std_error, row.ci_low, row.ci_high, row.p_value)
        )
        assert (row.method, row.scale, row.technique) == ("aipw", "risk_difference", "t")
        assert row.n_treated + row.n_control == (frame.offence == row.subgroup[8:]).sum()
    assert heterogeneity.scale == "heterogeneity_q" and math.isnan(heterogeneity.estimate)
    assert "fewer than two subgroups" in heterogeneity.warnings[0]
