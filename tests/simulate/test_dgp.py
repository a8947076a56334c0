"""The generator: valid case files, plausible effects and overlap, clear argument errors."""

import pandas as pd
import pytest

from techeval.cases import validate_frame
from techeval.cases.schema import CANONICAL_COLUMNS, COLUMNS, CROSS_COLUMN_RULES, TECHNIQUES
from techeval.errors import ArgumentError
from techeval.simulate import SCENARIOS, generate_cases, population_truth, write_cases


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
