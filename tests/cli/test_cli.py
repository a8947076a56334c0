"""The command line: exit codes, messages, JSON output (typer's CliRunner)."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from techeval import __version__
from techeval.cli import app, main

from ..cases.conftest import VALID_ROWS, to_csv


@pytest.fixture
def run(capsys):
    def invoke(*args):
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


@pytest.fixture
def mixed_csv(tmp_path):
    rows = [row.copy() for row in VALID_ROWS]
    rows[1][11] = "9"  # convicted > charged
    rows[2][7] = "telepathy"
    path = tmp_path / "mixed.csv"
    path.write_text(to_csv(rows))
    return path


def test_version(run):
    code, out, _ = run("--version")
    assert code == 0 and __version__ in out


def test_help_everywhere(run):
    for args in (["--help"], ["validate", "--help"]):
        code, out, _ = run(*args)
        assert code == 0 and "Usage" in out


def test_validate_clean_file_exits_zero(run, tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text(to_csv(VALID_ROWS))
    code, out, _ = run("validate", str(path))
    assert code == 0
    assert "rows in 4 = rows used 4 + rows set aside 0" in out


def test_validate_mixed_file_reports_every_bad_row(run, mixed_csv, tmp_path):
    aside = tmp_path / "aside.csv"
    code, out, _ = run("validate", str(mixed_csv), "--json", "--set-aside", str(aside))
    assert code == 2
    summary = json.loads(out)
    assert (summary["rows_in"], summary["rows_used"], summary["rows_set_aside"]) == (4, 2, 2)
    assert {(p["row"], p["column"], p["rule"]) for p in summary["problems"]} == {
        (2, "convicted", "convicted<=charged"),
        (3, "techniques", "known technique"),
    }
    assert aside.read_text().count("\n") == 3  # header + 2 rows


def test_validate_rich_summary_lists_problems(run, mixed_csv):
    code, out, _ = run("validate", str(mixed_csv))
    assert code == 2
    assert "convicted" in out and "techniques" in out and "--set-aside" in out


def test_column_mapping_option(run, tmp_path):
    header = ["CaseNo"] + list(to_csv(VALID_ROWS).splitlines()[0].split(","))[1:]
    path = tmp_path / "theirs.csv"
    path.write_text(to_csv(VALID_ROWS, header=header))
    code, _, err = run("validate", str(path))
    assert code == 2 and "case_id" in err
    code, out, _ = run("validate", str(path), "--columns", "CaseNo=case_id")
    assert code == 0, out
    mapping = tmp_path / "map.yaml"
    mapping.write_text("CaseNo: case_id\n")
    code, _, _ = run("validate", str(path), "--columns", str(mapping))
    assert code == 0


def test_alias_option(run, tmp_path):
    rows = [row.copy() for row in VALID_ROWS]
    rows[1][7] = "phone tap"
    path = tmp_path / "alias.csv"
    path.write_text(to_csv(rows))
    assert run("validate", str(path))[0] == 2
    assert run("validate", str(path), "--alias", "phone tap=electronic_surveillance")[0] == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"case_id,year\n", "missing required column"), (b"\x00\x01\x02", "binary")],
)
def test_unusable_files_exit_2_without_traceback(run, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    code, out, err = run("validate", str(path))
    assert code == 2
    assert message in err and str(path) in err
    assert "Traceback" not in out + err


def test_bad_option_value_exits_2(run, tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text(to_csv(VALID_ROWS))
    code, _, err = run("validate", str(path), "--columns", "nonsense")
    assert code == 2 and "NAME=VALUE" in err
    assert "Traceback" not in err


def test_internal_error_exits_1_and_asks_for_a_report(run, monkeypatch, tmp_path):
    import techeval.cases

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(techeval.cases, "load_cases", broken)
    path = tmp_path / "ok.csv"
    path.write_text(to_csv(VALID_ROWS))
    code, _, err = run("validate", str(path))
    assert code == 1 and "bug in techeval" in err


def test_effect_on_a_case_file_uses_technique_columns_and_derived_outcomes(run, tmp_path):
    from techeval.simulate import generate_cases, write_cases

    path = tmp_path / "cases.csv"
    write_cases(generate_cases(600, seed=4), path)
    code, out, err = run(
        "effect", str(path), "--treatment", "undercover", "--outcome", "conviction",
        "--covariates", "offence,n_suspects,threat_level", "--method", "ipw", "--json",
    )  # fmt: skip
    assert code == 0, err
    row = json.loads(out)
    assert (row["technique"], row["measure"], row["method"]) == ("undercover", "conviction", "ipw")
    assert row["ci_low"] <= row["estimate"] <= row["ci_high"]
    assert row["n_treated"] + row["n_control"] == 600
    code, out, _ = run("effect", str(path), "--treatment", "undercover", "--outcome", "conviction")
    assert code == 0 and "read as a case file: 600 of 600 rows used" in out


def test_synth_writes_files_and_reports_bad_input(tmp_path):
    runner = CliRunner()
    out, truth = tmp_path / "cases.csv", tmp_path / "truth.json"
    result = runner.invoke(
        app, ["synth", "--n", "300", "--seed", "2", "--out", str(out), "--truth", str(truth)]
    )
    assert result.exit_code == 0, result.output
    assert "wrote 300 synthetic cases" in result.output
    assert json.loads(truth.read_text())["n"] == 300
    assert len(pd.read_csv(out)) == 300

    assert main(["synth", "--n", "10", "--scenario", "mystery", "--out", str(out)]) == 2
    assert main(["synth", "--n", "0", "--out", str(out)]) == 2
