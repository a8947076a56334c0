"""The witness-protection programme model: projections and plan against actual."""

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from techeval.errors import ArgumentError
from techeval.results import EffectResult
from techeval.synthesis import Synthesis, synthesise
from techeval.synthesis.programme import (
    DESCRIPTION,
    MAKER,
    plan_vs_actual,
    programme_rows,
    project_programme,
)


def test_the_motivating_us_example_in_numbers_and_words():
    # A/CONF.213/15 para 43: planned 25-50 witnesses a year for under $1M a year; in 13
    # years more than 4,400 witnesses and 8,000 family members were taken in.
    comparison = plan_vs_actual(
        plan_witnesses_per_year=(25, 50),
        actual_witnesses=4400,
        actual_family=8000,
        years=13,
        plan_annual_budget=1_000_000,
    )
    assert comparison.actual_witnesses_per_year == pytest.approx(4400 / 13)  # 338.5
    assert comparison.ratio_to_plan_low == pytest.approx(4400 / 13 / 50)  # 6.8
    assert comparison.ratio_to_plan_high == pytest.approx(4400 / 13 / 25)  # 13.5
    assert comparison.family_per_witness == pytest.approx(8000 / 4400)  # 1.8
    assert comparison.planned_witnesses_total_high == 650
    assert comparison.implied_annual_cost_high == pytest.approx(4400 / 13 * 40_000)
    sentence = comparison.sentence
    assert "Actual intake averaged 338 witnesses a year" in sentence
    assert "6.8–13.5 times the plan of 25–50 a year" in sentence
    assert "1.8 family members" in sentence
    assert "budget of $1.0 million" in sentence


def test_a_single_planned_number_reads_naturally():
    comparison = plan_vs_actual(
        plan_witnesses_per_year=40, actual_witnesses=400, actual_family=0, years=5
    )
    assert comparison.ratio_to_plan_low == comparison.ratio_to_plan_high == 2.0
    assert "2.0 times the plan of 40 a year" in comparison.sentence
    assert math.isnan(comparison.implied_annual_cost_low)


def test_projection_follows_the_stock_flow_equations():
    frame = project_programme(
        [100, 200, 0],
        family_per_witness=2.0,
        annual_cost_per_person=10_000,
        mean_years_in_programme=4,
        attrition=0.1,
        offences_per_witness_year=0.05,
        cost_per_offence=30_000,
        high_level_prosecutions_per_witness=0.2,
        value_per_prosecution=1e6,
    )
    q = 1 - (1 - 1 / 4) * (1 - 0.1)
    witnesses = [100.0, (1 - q) * 100 + 200, (1 - q) * ((1 - q) * 100 + 200)]
    np.testing.assert_allclose(frame["active_witnesses"], witnesses)
    np.testing.assert_allclose(frame["active_family"], 2 * np.array(witnesses))
    year2_witness_years = (1 - q / 2) * 100 + 200 / 2
    row = frame.iloc[1]
    assert row["person_years"] == pytest.approx(3 * year2_witness_years)
    assert row["protection_cost"] == pytest.approx(3 * year2_witness_years * 10_000)
    assert row["witness_offence_cost"] == pytest.approx(0.05 * year2_witness_years * 30_000)
    assert row["benefits"] == pytest.approx(0.2 * 200 * 1e6)
    assert frame["cumulative_witnesses"].iloc[-1] == 300
    assert frame["cumulative_cost"].iloc[-1] == pytest.approx(frame["total_cost"].sum())


def test_constant_intake_approaches_the_steady_state_caseload():
    frame = project_programme(
        338,
        family_per_witness=1.8,
        annual_cost_per_person=20_000,
        mean_years_in_programme=5,
        horizon_years=60,
    )
    # steady state: admissions / exit probability
    assert frame["active_witnesses"].iloc[-1] == pytest.approx(338 / 0.2, rel=1e-4)
    assert frame["active_family"].iloc[-1] == pytest.approx(1.8 * 338 / 0.2, rel=1e-4)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(admissions_per_year=10),  # constant intake without a horizon
        dict(admissions_per_year=[10, -1]),
        dict(admissions_per_year=[10, 10], horizon_years=3),
        dict(admissions_per_year=[10], attrition=1.0),
        dict(admissions_per_year=[10], mean_years_in_programme=0),
    ],
)
def test_bad_programme_inputs_are_refused(kwargs):
    params = dict(family_per_witness=1.0, annual_cost_per_person=1.0, mean_years_in_programme=3)
    params.update(kwargs)
    with pytest.raises(ArgumentError):
        project_programme(params.pop("admissions_per_year"), **params)


# ---- the programme model on case records (no protocol needed) ------------------------------

PLAN = SimpleNamespace(
    plan_witnesses_per_year=[25, 50],
    plan_annual_budget=1_000_000,
    family_per_witness=1.8,
    annual_cost_per_person=40_000,
    mean_years_in_programme=3,
    attrition=0.0,
    horizon_years=5,
)
VALUES = {
    "cost_per_witness_offence": 1000.0,
    "value_conviction": 10.0,
    "value_high_level_conviction": 5.0,
}


def _cases():
    return pd.DataFrame(
        {
            "witness_protection": [True, True, True, False],
            "protected_witnesses": [2, 0, 4, 9],
            "protected_family": [1, 0, None, 9],
            "high_level_convicted": [1, 0, 2, 9],
            "year": [2020, 2021, 2022, 2022],
        }
    )


def test_programme_rows_read_the_intake_of_cases_with_protected_witnesses():
    model = programme_rows(
        PLAN, _cases(), offence_rate=0.5, values=VALUES, currency="EUR", ci_level=0.9
    )
    rows = {r.measure: r for r in model.rows}
    # 6 witnesses in 2 cases over 2020-2022; the case without witness protection is not counted
    assert rows["witnesses_admitted_per_year"].estimate == pytest.approx(6 / 3)
    assert rows["intake_ratio_to_plan"].estimate == pytest.approx(2 / 50)
    assert rows["high_level_prosecutions_per_witness"].estimate == pytest.approx(3 / 6)
    assert all(
        r.family == "synthesis" and r.estimator == MAKER == r.method and r.ci_level == 0.9
        for r in model.rows
    )
    assert len(model.projection) == 5 and not model.warnings
    assert model.projection["witness_offences"].sum() > 0  # the offence rate is counted


def test_programme_rows_say_why_they_did_not_run():
    lacking = programme_rows(
        PLAN,
        _cases().drop(columns="year"),
        offence_rate=0.5,
        values=VALUES,
        currency="EUR",
        ci_level=0.95,
    )
    assert lacking.rows == () and lacking.projection is None
    assert lacking.warnings == ("witness programme model not run: the data lack year",)
    none = _cases().assign(protected_witnesses=0)
    empty = programme_rows(
        PLAN, none, offence_rate=0.5, values=VALUES, currency="EUR", ci_level=0.95
    )
    assert empty.warnings == ("witness programme model not run: no case with a protected witness",)


def test_synthesise_runs_the_programme_model_only_for_witness_protection():
    offending = EffectResult(
        technique="witness_protection",
        outcome="offences",
        measure="witness_offence_rate",
        scale="per_year",
        estimand=None,
        method="rate",
        estimate=0.0,
        std_error=math.nan,
        ci_low=math.nan,
        ci_high=math.nan,
        p_value=math.nan,
        n_treated=1,
        n_control=0,
    )
    common = dict(programme=PLAN, values=VALUES, currency="EUR", ci_level=0.95)
    assert synthesise([], _cases(), techniques=["undercover"], **common) == Synthesis()
    assert (
        synthesise([], _cases(), techniques=["witness_protection"], **{**common, "programme": None})
        == Synthesis()
    )
    without = synthesise([], _cases(), techniques=["witness_protection"], **common)
    net = next(r for r in without.rows if r.measure == "programme_net_benefit")
    assert "not counted" in net.warnings[-1]  # no offence rate in the rows
    made = synthesise([offending], _cases(), techniques=["witness_protection"], **common)
    assert [name for name, *_ in made.frames] == ["programme_projection"]
    assert made.descriptions == {MAKER: DESCRIPTION}
    assert made.frames[0][3]["witness_offences"].sum() == 0  # the rows' rate, 0, is used
