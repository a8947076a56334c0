import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from techeval.cases import validate_frame
from techeval.cases.schema import CANONICAL_COLUMNS, COLUMNS, CROSS_COLUMN_RULES, TECHNIQUES
from techeval.cli import app
from techeval.errors import ArgumentError
from techeval.synth import (
    BINARY_MEASURES,
    HARM_MEASURES,
    SCENARIOS,
    generate_cases,
    population_truth,
    write_cases,
)

SHIPPED = Path(__file__).resolve().parents[1] / "synthetic_data"
# The command in synthetic_data/README.md that produced the shipped files.
SHIPPED_N, SHIPPED_SEED = 20_000, 20101


@pytest.fixture(scope="module")
def shipped_like():
    return generate_cases(SHIPPED_N, seed=SHIPPED_SEED)


def _cross_rule_holds(frame: pd.DataFrame, rule: str) -> pd.Series:
    """Our own reading of a CROSS_COLUMN_RULES entry (independent of the validator)."""
    if rule.endswith("_only_if_tagged"):
        technique = rule.removeprefix("cost_").removesuffix("_only_if_tagged")
        tagged = frame["techniques"].str.split(";").map(lambda ts: technique in ts).astype(bool)
        return ~((frame[f"cost_{technique}"] > 0) & ~tagged)
    left, right = rule.split("<=")
    return ~(frame[left] > frame[right]).fillna(False).astype(bool)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize(("n", "seed"), [(1, 0), (57, 1), (3_000, 2)])
def test_output_is_a_valid_case_file(n, seed, scenario):
    cases = generate_cases(n, seed=seed, scenario=scenario).cases
    assert list(cases.columns[: len(CANONICAL_COLUMNS)]) == list(CANONICAL_COLUMNS)
    assert len(cases) == n
    assert cases["case_id"].is_unique
    assert cases["case_id"].str.fullmatch(r"C\d{6,}").all()
    for spec in COLUMNS:
        column = cases[spec.name]
        if spec.required:
            assert column.notna().all(), spec.name
            if spec.kind in ("text", "category"):
                assert (column != "").all(), spec.name
        if spec.kind in ("integer", "number"):
            filled = column.dropna().astype("int64")
            if spec.minimum is not None:
                assert (filled >= spec.minimum).all(), spec.name
            if spec.maximum is not None:
                assert (filled <= spec.maximum).all(), spec.name
        if spec.categories is not None:
            filled = column[column != ""].dropna()
            assert filled.isin(spec.categories).all(), spec.name
        if spec.kind == "boolean":
            assert column.isin(["true", "false"]).all(), spec.name
    for rule, _, _ in CROSS_COLUMN_RULES:
        assert _cross_rule_holds(cases, rule).all(), rule
    # extra rules of the generator: cost_total covers the technique costs; technique
    # detail only where the technique was used
    technique_costs = cases[[f"cost_{t}" for t in TECHNIQUES]].sum(axis=1)
    assert (cases["cost_total"] >= technique_costs).all()
    used = {t: cases["techniques"].str.contains(t, regex=False) for t in TECHNIQUES}
    for t in TECHNIQUES:
        assert (cases.loc[used[t], f"cost_{t}"] > 0).all()
    assert (cases.loc[~used["witness_protection"], "protected_witnesses"] == 0).all()
    assert (cases.loc[used["witness_protection"], "protected_witnesses"] >= 1).all()

    report = validate_frame(cases, source="synth")
    assert report.rows_in == n
    assert report.rows_set_aside == 0, report.problems[:5]
    assert report.rows_used == n


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path):
    paths = []
    for name, seed in [("a", 7), ("b", 7), ("c", 8)]:
        out, truth = tmp_path / f"{name}.csv", tmp_path / f"{name}.json"
        write_cases(generate_cases(2_500, seed=seed), out, truth)
        paths.append((out.read_bytes(), truth.read_bytes()))
    assert paths[0] == paths[1]
    assert paths[0][0] != paths[2][0]


def test_csv_matches_pandas_writer_and_parquet_round_trips(tmp_path):
    synthetic = generate_cases(800, seed=3)
    write_cases(synthetic, tmp_path / "cases.csv")
    synthetic.cases.to_csv(tmp_path / "pandas.csv", index=False, lineterminator="\n")
    assert (tmp_path / "cases.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()
    write_cases(synthetic, tmp_path / "cases.parquet")
    back = pd.read_parquet(tmp_path / "cases.parquet")
    pd.testing.assert_frame_equal(back, synthetic.cases, check_dtype=False)


def test_shipped_files_regenerate_byte_identically(shipped_like, tmp_path):
    write_cases(shipped_like, tmp_path / "cases.csv", tmp_path / "truth.json")
    assert (tmp_path / "cases.csv").read_bytes() == (SHIPPED / "cases.csv").read_bytes()
    assert (tmp_path / "truth.json").read_bytes() == (SHIPPED / "truth.json").read_bytes()
    assert (SHIPPED / "cases.csv").stat().st_size < 4_000_000


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


def test_default_has_real_heterogeneous_effects_and_good_overlap():
    pop = population_truth("default")
    cd = pop["controlled_delivery"]["conviction"]["by_offence"]
    assert cd["drug_trafficking"] > 0.10
    assert cd["fraud"] < 0.02
    es = pop["electronic_surveillance"]["conviction"]["by_group_structure"]
    assert es["hierarchical"] > 2 * es["loose"]
    wp = pop["witness_protection"]
    assert wp["high_level_conviction"]["ate"] > 2 * wp["conviction"]["ate"]
    po = generate_cases(20_000, seed=5).potential_outcomes
    for technique in TECHNIQUES:
        propensity = po[f"propensity_{technique}"]
        assert propensity.min() > 0.03 and propensity.max() < 0.97


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


def test_bad_arguments_raise_techeval_errors(tmp_path):
    with pytest.raises(ArgumentError, match="no_effect"):
        generate_cases(10, seed=0, scenario="mystery")
    with pytest.raises(ArgumentError, match="≥ 1"):
        generate_cases(0, seed=0)
    with pytest.raises(ArgumentError, match="seed"):
        generate_cases(10, seed=-3)
    with pytest.raises(ArgumentError, match="format"):
        write_cases(generate_cases(5, seed=0), tmp_path / "cases.txt")
    with pytest.raises(ArgumentError, match="cannot write"):
        write_cases(generate_cases(5, seed=0), tmp_path / "missing" / "cases.csv")


def test_cli_writes_files_and_reports_bad_input(tmp_path):
    runner = CliRunner()
    out, truth = tmp_path / "cases.csv", tmp_path / "truth.json"
    result = runner.invoke(
        app, ["synth", "--n", "300", "--seed", "2", "--out", str(out), "--truth", str(truth)]
    )
    assert result.exit_code == 0, result.output
    assert "wrote 300 synthetic cases" in result.output
    assert json.loads(truth.read_text())["n"] == 300
    assert len(pd.read_csv(out)) == 300

    from techeval.cli import main

    assert main(["synth", "--n", "10", "--scenario", "mystery", "--out", str(out)]) == 2
    assert main(["synth", "--n", "0", "--out", str(out)]) == 2
