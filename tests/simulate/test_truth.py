"""The known truth: sample truth from the potential outcomes, population truth, no-effect zeros."""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from techeval.cases.schema import TECHNIQUES
from techeval.simulate import BINARY_MEASURES, HARM_MEASURES, generate_cases, population_truth

SHIPPED = Path(__file__).resolve().parents[2] / "synthetic_data"


def test_naive_contrast_on_shipped_data_is_visibly_wrong():
    cases = pd.read_csv(SHIPPED / "cases.csv", keep_default_na=False, na_values=[""])
    truth = json.loads((SHIPPED / "truth.json").read_text())
    conviction = (cases["convicted"] >= 1).to_numpy()
    tags = cases["techniques"].fillna("")
    badly_off = []
    for technique in TECHNIQUES:
        treated = tags.str.contains(technique, regex=False).to_numpy()
        p1, p0 = conviction[treated].mean(), conviction[~treated].mean()
        naive = p1 - p0
        std_error = math.sqrt(p1 * (1 - p1) / treated.sum() + p0 * (1 - p0) / (~treated).sum())
        entry = truth["techniques"][technique]["conviction"]
        assert naive == pytest.approx(entry["naive"], abs=1e-6)
        if abs(naive - entry["ate_sample"]) > 2 * std_error:
            badly_off.append(technique)
    assert len(badly_off) >= 2, badly_off


def test_sample_truth_recomputes_from_potential_outcomes():
    synthetic = generate_cases(4_000, seed=11)
    po, truth = synthetic.potential_outcomes, synthetic.truth
    cases = synthetic.cases
    assert truth["schema"] == "techeval.truth/1"
    assert (truth["scenario"], truth["seed"], truth["n"]) == ("default", 11, 4_000)
    observed = {
        "conviction": cases["convicted"].to_numpy() >= 1,
        "high_level_conviction": cases["high_level_convicted"].to_numpy() >= 1,
        "group_disrupted": cases["group_disrupted"].to_numpy() == "true",
        "evidence_excluded": cases["evidence_excluded"].to_numpy() == "true",
        "cost_total": cases["cost_total"].to_numpy(),
    }
    eligible = po["high_level_eligible"].to_numpy()
    for technique in TECHNIQUES:
        treated = po[technique].to_numpy()
        assert np.array_equal(
            treated, cases["techniques"].str.contains(technique, regex=False).to_numpy()
        )
        for measure in (*BINARY_MEASURES, "cost_total"):
            y1 = po[f"{measure}__{technique}__1"].to_numpy().astype(float)
            y0 = po[f"{measure}__{technique}__0"].to_numpy().astype(float)
            # consistency: the file shows the potential outcome of the assigned arm
            assert np.array_equal(np.where(treated, y1, y0), observed[measure].astype(float)), (
                measure
            )
            keep = eligible if measure == "high_level_conviction" else np.ones(len(po), bool)
            key = "incremental_cost" if measure == "cost_total" else measure
            entry = truth["techniques"][technique][key]
            diff = (y1 - y0)[keep]
            assert entry["ate_sample"] == pytest.approx(diff.mean(), abs=1e-6)
            assert entry["att_sample"] == pytest.approx(diff[treated[keep]].mean(), abs=1e-6)
            offence = po["offence"].to_numpy()[keep]
            for name, block in entry["by_offence"].items():
                in_group = offence == name
                expected = diff[in_group].mean() if in_group.any() else None
                assert block["ate_sample"] == (
                    pytest.approx(expected, abs=1e-6) if expected is not None else None
                )
        # incremental cost of a technique in a case = its recorded cost where used
        used = treated
        component = po[f"cost_total__{technique}__1"] - po[f"cost_total__{technique}__0"]
        assert np.array_equal(
            component.to_numpy()[used], cases[f"cost_{technique}"].to_numpy()[used]
        )


def test_no_effect_truth_is_exactly_zero():
    truth = generate_cases(3_000, seed=4, scenario="no_effect").truth
    for technique, measures in truth["techniques"].items():
        for measure in (*BINARY_MEASURES, "incremental_cost"):
            entry = measures[measure]
            for key in ("ate", "att", "ate_sample", "att_sample"):
                assert entry[key] == 0.0, (technique, measure, key)
            for breakdown in ("by_offence", "by_group_structure"):
                for block in entry[breakdown].values():
                    assert block["ate"] in (0.0, None)
                    assert block["ate_sample"] in (0.0, None)
        for harm in HARM_MEASURES:
            assert measures[harm]["rate_ratio"] == 1.0


def test_population_truth_is_cached_matches_large_samples_and_is_a_copy():
    first = population_truth("default")
    first["undercover"]["conviction"]["ate"] = 99.0
    assert population_truth("default")["undercover"]["conviction"]["ate"] != 99.0
    truth = generate_cases(200_000, seed=6).truth["techniques"]
    for technique in TECHNIQUES:
        for measure in ("conviction", "group_disrupted"):
            entry = truth[technique][measure]
            assert entry["ate_sample"] == pytest.approx(entry["ate"], abs=0.005)
        cost = truth[technique]["incremental_cost"]
        assert cost["ate_sample"] == pytest.approx(cost["ate"], rel=0.03)


def test_poisson_glm_with_offset_recovers_harm_rate_ratios():
    import statsmodels.api as sm

    synthetic = generate_cases(20_000, seed=9)
    cases = synthetic.cases
    design = pd.get_dummies(
        cases[["offence", "group_structure"]].replace("", "unknown"), drop_first=True, dtype=float
    )
    design["threat_level"] = cases["threat_level"].astype(float)
    for technique in TECHNIQUES:
        design[technique] = synthetic.potential_outcomes[technique].astype(float)
    design = sm.add_constant(design)
    exposure = np.log(cases["officer_days"].to_numpy() / 1000.0)
    fit = sm.GLM(
        cases["undercover_compromised"], design, family=sm.families.Poisson(), offset=exposure
    ).fit(cov_type="HC0")
    low, high = np.exp(fit.conf_int().loc["undercover"])
    truth = synthetic.truth["techniques"]["undercover"]["undercover_compromised"]["rate_ratio"]
    assert truth == 8.0
    assert low < truth < high
