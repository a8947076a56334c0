import pandas as pd
import pytest

from techeval.cases import validate_frame
from techeval.cases.export import neutralise_formulas, write_table
from techeval.cases.schema import CROSS_COLUMN_RULES
from techeval.errors import ArgumentError, CaseFileError

from .._helpers import RULE_BREAKS


def set_cell(frame, row, column, value):
    frame = frame.copy()
    frame.loc[row, column] = value
    return frame


def only_problem(report):
    assert report.rows_set_aside == 1, [p for p in report.problems]
    assert report.rows_in == report.rows_used + report.rows_set_aside
    return report.problems


def test_valid_frame_is_all_used(valid_frame):
    report = validate_frame(valid_frame)
    assert (report.rows_in, report.rows_used, report.rows_set_aside) == (4, 4, 0)
    assert report.cases.index.tolist() == [1, 2, 3, 4]
    assert report.cases["group_structure"].iloc[1] == "unknown"
    assert report.technique_counts() == {
        "electronic_surveillance": 1,
        "undercover": 1,
        "controlled_delivery": 1,
        "witness_protection": 1,
        "traditional_only": 1,
    }
    assert report.cases["conviction"].tolist() == [True, True, False, True]
    # row 2 has no high-level target: the outcome is undefined there, not "no"
    assert report.cases["high_level_conviction"].tolist() == [True, pd.NA, False, True]


def test_aliases_are_case_insensitive(valid_frame):
    frame = set_cell(valid_frame, 1, "techniques", " Interception ; witsec")
    report = validate_frame(frame)
    assert report.ok
    assert report.cases.loc[2, "techniques"] == "electronic_surveillance;witness_protection"


def test_protocol_aliases_add_labels(valid_frame):
    frame = set_cell(valid_frame, 1, "techniques", "phone tap")
    assert not validate_frame(frame).ok
    report = validate_frame(frame, aliases={"Phone Tap": "electronic_surveillance"})
    assert report.ok and bool(report.cases.loc[2, "electronic_surveillance"])


def test_alias_to_unknown_technique_is_an_argument_error(valid_frame):
    with pytest.raises(ArgumentError, match="not a technique"):
        validate_frame(valid_frame, aliases={"tap": "telepathy"})


def test_unknown_technique_label_sets_row_aside(valid_frame):
    report = validate_frame(set_cell(valid_frame, 2, "techniques", "controlled_delivery;telepathy"))
    (problem,) = only_problem(report)
    assert (problem.row, problem.column, problem.rule) == (3, "techniques", "known technique")
    assert problem.value == "controlled_delivery;telepathy"
    assert report.set_aside["row"].tolist() == [3]


def test_duplicate_case_ids_are_a_whole_file_error(valid_frame):
    frame = set_cell(valid_frame, 3, "case_id", "007")
    with pytest.raises(CaseFileError, match=r"'007' on rows 1, 4"):
        validate_frame(frame, source="cases.csv")


def test_convicted_above_charged(valid_frame):
    report = validate_frame(set_cell(valid_frame, 0, "convicted", "4"))
    problems = only_problem(report)
    assert [(p.row, p.column, p.rule) for p in problems] == [(1, "convicted", "convicted<=charged")]


def test_negative_cost(valid_frame):
    report = validate_frame(set_cell(valid_frame, 1, "cost_total", "-10"))
    (problem,) = only_problem(report)
    assert (problem.column, problem.rule, problem.value) == ("cost_total", ">= 0", "-10")


def test_text_in_numeric_column(valid_frame):
    report = validate_frame(set_cell(valid_frame, 1, "n_suspects", "three"))
    (problem,) = only_problem(report)
    assert (problem.column, problem.rule, problem.value) == ("n_suspects", "whole number", "three")


def test_fraction_in_whole_number_column(valid_frame):
    report = validate_frame(set_cell(valid_frame, 1, "charged", "1.5"))
    (problem,) = only_problem(report)
    assert problem.rule == "whole number"


def test_thousands_separators(valid_frame):
    report = validate_frame(set_cell(valid_frame, 0, "cost_total", "1,234,567.50"))
    assert report.ok and report.cases.loc[1, "cost_total"] == pytest.approx(1234567.5)


def test_missing_required_cell(valid_frame):
    report = validate_frame(set_cell(valid_frame, 2, "jurisdiction", ""))
    (problem,) = only_problem(report)
    assert (problem.row, problem.column, problem.rule) == (3, "jurisdiction", "required")


def test_na_is_a_valid_case_id(valid_frame):
    report = validate_frame(set_cell(valid_frame, 2, "case_id", "NA"))
    assert report.ok and report.cases.loc[3, "case_id"] == "NA"


def test_ids_like_numbers_stay_text(valid_frame):
    frame = set_cell(set_cell(valid_frame, 2, "case_id", "1E5"), 3, "case_id", "00060.0")
    report = validate_frame(frame)
    assert report.cases["case_id"].tolist() == ["007", "00060", "1E5", "00060.0"]


def test_year_out_of_range(valid_frame):
    (problem,) = only_problem(validate_frame(set_cell(valid_frame, 0, "year", "1949")))
    assert problem.rule == "1950..2100"


def test_offence_normalised_and_checked(valid_frame):
    report = validate_frame(set_cell(valid_frame, 0, "offence", "Drug Trafficking"))
    assert report.ok and report.cases.loc[1, "offence"] == "drug_trafficking"
    (problem,) = only_problem(validate_frame(set_cell(valid_frame, 0, "offence", "piracy")))
    assert (problem.column, problem.rule) == ("offence", "allowed value")


def test_bad_boolean(valid_frame):
    (problem,) = only_problem(validate_frame(set_cell(valid_frame, 0, "group_disrupted", "maybe")))
    assert (problem.column, problem.rule) == ("group_disrupted", "yes/no")


def test_technique_cost_without_technique(valid_frame):
    report = validate_frame(set_cell(valid_frame, 2, "cost_undercover", "10"))
    (problem,) = only_problem(report)
    assert problem.rule == "cost_undercover_only_if_tagged"


@pytest.mark.parametrize(("rule", "column", "_"), CROSS_COLUMN_RULES)
def test_every_cross_column_rule_sets_a_row_aside(valid_frame, rule, column, _):
    frame = valid_frame.copy()
    for name in (
        "intercepts_total",
        "intercepts_incriminating",
        "cost_electronic_surveillance",
        "cost_controlled_delivery",
        "cost_witness_protection",
    ):
        frame[name] = ""
    breaking = RULE_BREAKS.get(rule, {column: "1"})
    if rule.endswith("_only_if_tagged"):
        frame.loc[0, "techniques"] = ""
    for name, value in breaking.items():
        frame.loc[0, name] = value
    report = validate_frame(frame)
    assert report.rows_set_aside == 1
    assert rule in {p.rule for p in report.problems if p.row == 1}
    assert column in {p.column for p in report.problems if p.row == 1 and p.rule == rule}


def test_missing_required_column_names_it_and_suggests_mapping(valid_frame):
    frame = valid_frame.rename(columns={"convicted": "Convictions"})
    with pytest.raises(CaseFileError, match="missing required column convicted") as info:
        validate_frame(frame, source="agency.csv")
    assert "agency.csv" in str(info.value) and "--columns" in str(info.value)


def test_column_mapping(valid_frame):
    frame = valid_frame.rename(columns={"case_id": "CaseNo", "year": "Opened"})
    report = validate_frame(frame, columns={"CaseNo": "case_id", "Opened": "year"})
    assert report.ok and report.cases["case_id"].iloc[0] == "007"


def test_column_mapping_errors(valid_frame):
    with pytest.raises(ArgumentError, match="not a canonical column"):
        validate_frame(valid_frame, columns={"case_id": "case_number"})
    with pytest.raises(CaseFileError, match="not in the file"):
        validate_frame(valid_frame, columns={"CaseNo": "case_id"})


def test_header_case_is_forgiven(valid_frame):
    report = validate_frame(valid_frame.rename(columns={"case_id": "Case_ID", "year": " YEAR "}))
    assert report.ok


def test_reserved_column_names(valid_frame):
    frame = valid_frame.assign(conviction="1")
    with pytest.raises(CaseFileError, match="reserved"):
        validate_frame(frame)


def test_extra_columns_are_kept_and_typed(valid_frame):
    frame = valid_frame.assign(
        severity=["1.5", "2", "", "3"],
        unit=["a", "b", "c", "d"],
        armed=["Yes", "no", "", "TRUE"],
        flag=["1", "0", "0", "1"],
    )
    report = validate_frame(frame)
    assert report.cases["severity"].dtype == "float64"
    assert report.cases["unit"].tolist() == ["a", "b", "c", "d"]
    assert report.cases["armed"].tolist() == [True, False, pd.NA, True]
    assert report.cases["flag"].tolist() == [1.0, 0.0, 0.0, 1.0]


def test_every_problem_of_a_row_is_listed(valid_frame):
    frame = set_cell(set_cell(valid_frame, 0, "year", "x"), 0, "cost_total", "-1")
    report = validate_frame(frame)
    assert {p.column for p in report.problems} == {"year", "cost_total"}
    assert report.set_aside.loc[0, "reasons"].count(";") == 1


def test_set_aside_export_neutralises_formulas(tmp_path, valid_frame):
    frame = set_cell(valid_frame, 0, "jurisdiction", '=HYPERLINK("http://x")')
    frame = set_cell(frame, 0, "year", "-5")
    report = validate_frame(frame)
    path = report.write_set_aside(tmp_path / "aside.csv")
    text = path.read_text()
    assert "'=HYPERLINK" in text
    assert ",-5," in text  # a number stays a number
    xlsx = write_table(report.set_aside, tmp_path / "aside.xlsx")
    back = pd.read_excel(xlsx, dtype=str)
    assert back.loc[0, "jurisdiction"].startswith("'=")


@pytest.mark.parametrize("text", ["=1+1", "+SUM(A1)", "-cmd", "@x", "\tx", "\rx"])
def test_neutralise_formula_triggers(text):
    out = neutralise_formulas(pd.DataFrame({"a": [text], "n": [-5]}))
    assert out.loc[0, "a"] == "'" + text
    assert out.loc[0, "n"] == -5
