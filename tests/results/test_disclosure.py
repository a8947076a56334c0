"""Disclosure control on hand-built rows: threshold, structural zeros, secondary suppression."""

import math

import numpy as np
import pandas as pd
import pytest

from techeval.results import EffectResult, canonical_value
from techeval.results.disclosure import (
    apply_disclosure_control,
    rests_on_too_few,
    row_counts,
    scrub_text,
    suppress_frame,
)


def _row(n_treated, n_control, subgroup=None, estimand="ATE", **changes):
    values = dict(
        technique="undercover",
        outcome="conviction",
        measure="conviction",
        scale="risk_difference",
        estimand=estimand,
        method="aipw",
        estimate=0.1,
        std_error=0.02,
        ci_low=0.06,
        ci_high=0.14,
        p_value=0.001,
        n_treated=n_treated,
        n_control=n_control,
        subgroup=subgroup,
        diagnostics={"balance": {"max_abs_smd_after": 0.01}},
        warnings=("3 rows with a missing covariate were left out",),
    )
    values.update(changes)
    return EffectResult(**values)


def test_nine_cases_are_suppressed_and_ten_published():
    nine, ten = apply_disclosure_control([_row(9, 500), _row(10, 500)], min_cell=10)
    assert nine.suppressed and not ten.suppressed
    assert all(
        math.isnan(v)
        for v in (nine.estimate, nine.std_error, nine.ci_low, nine.ci_high, nine.p_value)
    )
    assert nine.warnings == () and set(nine.diagnostics) == {"suppression"}
    assert ten.estimate == 0.1


def test_control_arm_counts_too():
    (row,) = apply_disclosure_control([_row(500, 9)], min_cell=10)
    assert row.suppressed


def test_zero_counts_are_disclosive_unless_structural():
    zero_control_effect = _row(400, 0)
    one_arm_descriptive = _row(400, 0, estimand=None, scale="share")
    empty_descriptive = _row(0, 0, estimand=None, scale="share")
    rows = apply_disclosure_control(
        [zero_control_effect, one_arm_descriptive, empty_descriptive], min_cell=10
    )
    assert [r.suppressed for r in rows] == [True, False, True]
    assert row_counts(one_arm_descriptive) == [400]


def test_diagnostic_case_count_is_checked():
    row = _row(0, 400, estimand=None, diagnostics={"n_cases": 7})
    assert apply_disclosure_control([row], min_cell=10)[0].suppressed


# ---- the one predicate, on both kinds of row -----------------------------------------------

# (n_treated, n_control, estimand, diagnostics) -> rests on fewer than 10 cases
THRESHOLD_CASES = [
    ((10, 500, "ATE", {}), False),
    ((9, 500, "ATE", {}), True),
    ((500, 9, "ATT", {}), True),
    ((400, 0, "ATE", {}), True),  # a zero in an effect is disclosive
    ((400, 0, None, {}), False),  # structural: a descriptive row about one arm
    ((0, 400, None, {}), False),
    ((0, 0, None, {}), True),  # both zero is no structural zero
    ((5, 0, None, {}), True),
    ((0, 400, None, {"n_cases": 7}), True),  # the estimator's own case count
    ((0, 400, None, {"n_cases": 10}), False),
    ((np.int64(9), np.int64(500), "ATE", {}), True),
    ((np.int64(10), np.int64(500), "ATE", {}), False),
]


@pytest.mark.parametrize(("counts", "expected"), THRESHOLD_CASES)
def test_rests_on_too_few_on_a_result_row(counts, expected):
    n_treated, n_control, estimand, diagnostics = counts
    row = _row(n_treated, n_control, estimand=estimand, diagnostics=diagnostics)
    assert rests_on_too_few(row, 10) is expected


@pytest.mark.parametrize(("counts", "expected"), THRESHOLD_CASES)
def test_rests_on_too_few_on_a_result_json_row_agrees(counts, expected):
    n_treated, n_control, estimand, diagnostics = counts
    row = _row(n_treated, n_control, estimand=estimand, diagnostics=diagnostics)
    as_written = canonical_value(row.to_dict())  # a row as result.json holds it
    assert rests_on_too_few(as_written, 10) is expected


def test_the_runner_withholds_exactly_the_rows_the_predicate_names():
    rows = [
        _row(n_treated, n_control, estimand=estimand, diagnostics=diagnostics)
        for (n_treated, n_control, estimand, diagnostics), _ in THRESHOLD_CASES
    ]
    published = apply_disclosure_control(rows, min_cell=10)
    assert [r.suppressed for r in published] == [rests_on_too_few(r, 10) for r in rows]


@pytest.mark.parametrize(
    "row",
    [
        {"estimand": "ATE", "n_treated": None, "n_control": None},  # a withheld row
        {"estimand": "ATE", "n_treated": 400},  # a count left out
        {"estimand": "ATE", "n_treated": 400, "n_control": "many"},
        {"estimand": "ATE", "n_treated": 400, "n_control": math.nan},
        {"estimand": None},
    ],
)
def test_a_result_json_row_without_usable_counts_rests_on_too_few(row):
    assert rests_on_too_few(row, 10)


def test_secondary_suppression_protects_a_lone_suppressed_level():
    overall = _row(100, 900)
    levels = [
        _row(9, 300, subgroup="offence=arms_trafficking"),
        _row(60, 300, subgroup="offence=drug_trafficking"),
        _row(31, 300, subgroup="offence=fraud"),
    ]
    heterogeneity = _row(100, 900, subgroup="offence", scale="heterogeneity_q")
    rows = apply_disclosure_control([overall, *levels, heterogeneity], min_cell=10)
    suppressed = {r.subgroup for r in rows if r.suppressed}
    # the primary cell, the next-smallest level and the test that combines them
    assert suppressed == {"offence=arms_trafficking", "offence=fraud", "offence"}
    assert not rows[0].suppressed
    # what is published cannot give the suppressed level: the overall count minus the
    # published level leaves the sum of two withheld levels
    published = [r for r in rows[1:4] if not r.suppressed]
    remainder = rows[0].n_treated - sum(r.n_treated for r in published)
    assert remainder == 9 + 31 != 9


def test_two_suppressed_levels_need_no_further_suppression():
    levels = [
        _row(5, 300, subgroup="offence=a"),
        _row(6, 300, subgroup="offence=b"),
        _row(40, 300, subgroup="offence=c"),
        _row(50, 300, subgroup="offence=d"),
    ]
    rows = apply_disclosure_control(levels, min_cell=10)
    assert [r.suppressed for r in rows] == [True, True, False, False]


def test_partitions_are_separate_by_measure_and_column():
    rows = apply_disclosure_control(
        [
            _row(5, 300, subgroup="offence=a"),
            _row(40, 300, subgroup="offence=b"),
            _row(50, 300, subgroup="group_structure=x"),
            _row(60, 300, subgroup="group_structure=y"),
            _row(
                70,
                300,
                subgroup="offence=b",
                measure="high_level_conviction",
                outcome="high_level_conviction",
            ),
        ],
        min_cell=10,
    )
    assert [r.suppressed for r in rows] == [True, True, False, False, False]


def test_small_counts_in_messages_are_scrubbed():
    assert scrub_text("3 rows were left out", min_cell=10) == "fewer than 10 rows were left out"
    assert scrub_text("9 of 400 cases", min_cell=10) == "fewer than 10 of 400 cases"
    assert scrub_text("12 rows were left out", min_cell=10) == "12 rows were left out"
    assert scrub_text("no events among 0 cases", min_cell=10) == "no events among 0 cases"


def test_frame_cells_below_min_cell_are_blanked():
    bins = pd.DataFrame({"bin": [0.1, 0.2, 0.3], "count": [9, 10, 0], "share": [0.3, 0.4, 0.0]})
    out = suppress_frame(bins, count_columns=["count"], value_columns=["share"], min_cell=10)
    assert out["suppressed"].tolist() == [True, False, True]
    assert out["share"].isna().tolist() == [True, False, True]
    assert out["count"].isna().tolist() == [True, False, True]
