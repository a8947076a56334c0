"""Evidence grades: each rule, on hand-built result rows."""

import pytest

from techeval.synthesis.grades import grade_result, grade_techniques


def _row(**changes):
    """An adjusted estimate with no concern: precise, balanced, overlapping, large, robust-ish."""
    diagnostics = {
        "max_abs_smd_after": 0.03,
        "share_outside_common_support": 0.01,
        "share_clipped": 0.0,
        "effective_sample_size_ratio_min": 0.6,
        "e_value_ci_limit": 1.5,
    }
    diagnostics.update(changes.pop("diagnostics", {}))
    row = {
        "technique": "undercover",
        "family": "outcome",
        "outcome": "conviction",
        "measure": "conviction",
        "scale": "risk_difference",
        "subgroup": None,
        "method": "aipw",
        "adjusted": True,
        "estimate": 0.10,
        "ci_low": 0.05,
        "ci_high": 0.15,
        "ci_level": 0.95,
        "n_treated": 800,
        "n_control": 5000,
        "suppressed": False,
        "diagnostics": diagnostics,
    }
    row.update(changes)
    return row


def test_clean_adjusted_estimate_is_moderate():
    grade = grade_result(_row())
    assert grade.grade == "moderate"
    assert any("no concern" in r for r in grade.reasons)


def test_large_robust_effect_is_rated_up_to_strong():
    grade = grade_result(_row(diagnostics={"e_value_ci_limit": 2.3}))
    assert grade.grade == "strong"
    assert any("rated up" in r for r in grade.reasons)


@pytest.mark.parametrize(
    ("changes", "phrase"),
    [
        ({"diagnostics": {"max_abs_smd_after": 0.15}}, "imbalance"),
        ({"diagnostics": {"share_outside_common_support": 0.08}}, "poor overlap"),
        ({"diagnostics": {"share_clipped": 0.02}}, "poor overlap"),
        ({"diagnostics": {"effective_sample_size_ratio_min": 0.1}}, "poor overlap"),
        ({"ci_low": -0.01}, "includes no effect"),
        ({"estimate": 0.2, "ci_low": 0.06, "ci_high": 0.34}, "percentage points"),
        ({"n_treated": 60}, "small sample"),
        ({"diagnostics": {"e_value_ci_limit": 1.1}}, "fragile"),
    ],
)
def test_each_concern_rates_down_one_level_with_its_reason(changes, phrase):
    grade = grade_result(_row(**changes))
    assert grade.grade == "limited", grade
    assert sum(phrase in r for r in grade.reasons) == 1
    # a concern blocks the upgrade even for a large effect
    strong = _row(**changes)
    strong["diagnostics"] = {**strong["diagnostics"], "e_value_ci_limit": 3.0}
    if phrase != "fragile":
        assert grade_result(strong).grade == "limited"


def test_concerns_accumulate_down_to_insufficient():
    grade = grade_result(_row(ci_low=-0.05, n_treated=50, diagnostics={"max_abs_smd_after": 0.3}))
    assert grade.grade == "insufficient"
    assert len(grade.reasons) == 4  # design + three concerns


def test_fragility_is_not_counted_twice_with_imprecision():
    grade = grade_result(_row(ci_low=-0.01, diagnostics={"e_value_ci_limit": 1.0}))
    assert grade.grade == "limited"
    assert not any("fragile" in r for r in grade.reasons)


def test_naive_contrast_starts_at_limited_and_ignores_balance():
    grade = grade_result(
        _row(method="naive", adjusted=False, diagnostics={"max_abs_smd_after": 0.5})
    )
    assert grade.grade == "limited"
    assert "unadjusted" in grade.reasons[0]


def test_ratio_scales_use_one_as_no_effect():
    assert grade_result(_row(scale="risk_ratio", estimate=1.3, ci_low=1.1, ci_high=1.5)).grade == (
        "moderate"
    )
    assert grade_result(_row(scale="risk_ratio", estimate=1.3, ci_low=0.9, ci_high=1.5)).grade == (
        "limited"
    )


def test_suppressed_or_missing_estimates_are_insufficient():
    assert grade_result(_row(suppressed=True, estimate=None)).grade == "insufficient"
    assert grade_result(_row(ci_low=None)).grade == "insufficient"


def test_a_row_not_marked_adjusted_is_graded_as_unadjusted():
    # the row's adjusted flag (the estimator's tags) decides, never the method's name
    assert grade_result(_row(adjusted=False)).grade == "limited"
    assert grade_result({k: v for k, v in _row().items() if k != "adjusted"}).grade == "limited"
    assert grade_result(_row(method="naive", adjusted=True)).grade == "moderate"


def test_grade_techniques_prefers_the_first_adjusted_row_and_grades_case_types():
    rows = [
        _row(method="naive", adjusted=False, ci_low=-0.2),
        _row(),
        _row(subgroup="offence=fraud", n_treated=40),
        _row(subgroup="offence=drug_trafficking"),
        _row(method="naive", adjusted=False, subgroup="offence=corruption"),
        _row(scale="risk_ratio", estimate=1.2, ci_low=1.1, ci_high=1.3),
    ]
    grades = grade_techniques(
        rows, techniques=["undercover", "witness_protection"], outcome="conviction"
    )
    assert grades["undercover"]["method"] == "aipw"
    assert grades["undercover"]["grade"] == "moderate"
    assert grades["undercover"]["by_subgroup"] == {
        "offence=drug_trafficking": {
            "grade": "moderate",
            "reasons": grade_result(rows[3]).to_dict()["reasons"],
        },
        "offence=fraud": grade_result(rows[2]).to_dict(),
    }
    assert grades["undercover"]["by_subgroup"]["offence=fraud"]["grade"] == "limited"
    assert grades["witness_protection"]["grade"] == "insufficient"
