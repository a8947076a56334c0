"""Hostile protocols, output paths and exports at the command line (issue #11).

Protocols are data, never code; ``--out`` is written only where it says, never through
``..`` or a symbolic link, never over a non-empty folder without ``--overwrite``; no file
name comes from a data value; exported cells cannot run as spreadsheet formulas.
"""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from techeval.simulate import generate_cases, write_cases

from .._helpers import assert_refused, in_process
from ..cases.conftest import HEADER, VALID_ROWS, to_csv

MINI = """\
name: mini
version: "0.1"
techniques: [undercover]
covariates: [offence, n_suspects]
outcomes: [conviction]
estimators:
  - name: outcome.naive
"""

LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{c}: &{c} [" + ",".join([f"*{p}"] * 9) + "]\n"
    for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)


@pytest.fixture
def run(capsys):
    return lambda *args: in_process(capsys, *args)


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    path = tmp_path_factory.mktemp("cases") / "cases.csv"
    write_cases(generate_cases(400, seed=4), path)
    return path


def _protocol(tmp_path, text, name="p.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8") if isinstance(text, str) else path.write_bytes(text)
    return path


# ---- protocols ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        (
            MINI.replace("name: mini", 'name: !!python/object/apply:os.system ["touch {marker}"]'),
            ["line 1", "could not determine a constructor", "plain values"],
        ),
        (MINI + LAUGHS, ["line 8", "anchors and aliases"]),
        (MINI + "# " + "x" * (300 * 1024) + "\n", ["over the 256 KiB limit"]),
        (MINI + "colour: blue\n", ["unknown key 'colour'", "valid keys here"]),
        (MINI.replace('version: "0.1"', "version: 0.1"), ["version", "valid string"]),
        (MINI.replace("min_cell", "x") + "disclosure:\n  min_cell: ten\n", ["min_cell"]),
        (MINI.replace("outcome.naive", "outcome.telepathy"), ["'outcome.telepathy'", "Available"]),
        (MINI.replace("[undercover]", "[undercover, mind_reading]"), ["techniques[1]"]),
        (
            MINI.replace("n_suspects]", "n_suspects, informant_grade]"),
            ["'informant_grade' (covariate)", "do not have"],
        ),
        ("name: [1\n", ["line 2", "not valid YAML"]),
        ("- a\n- b\n", ["must be a mapping"]),
        (b"\xff\xfe\x00\x01garbage", ["not UTF-8"]),
    ],
    ids=[
        "python-tag",
        "billion-laughs",
        "over-size-cap",
        "unknown-key",
        "wrong-type",
        "wrong-type-nested",
        "unknown-estimator",
        "unknown-technique",
        "covariate-not-in-data",
        "malformed",
        "not-a-mapping",
        "not-utf8",
    ],
)
def test_hostile_protocol_is_refused_and_nothing_runs(run, tmp_path, cases, text, fragments):
    marker = tmp_path / "PWNED"
    if isinstance(text, str):
        text = text.replace("{marker}", str(marker))
    protocol = _protocol(tmp_path, text)
    out = tmp_path / "out"
    started = time.perf_counter()
    result = run("run", protocol, "--cases", cases, "--out", out, "--quiet")
    assert time.perf_counter() - started < 20
    assert_refused(result, str(protocol), *fragments)
    assert not marker.exists()
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == [protocol.name]  # no staging left over


def test_column_mapping_file_with_yaml_tricks_is_refused(run, tmp_path):
    data = _protocol(tmp_path, to_csv(VALID_ROWS), "cases.csv")
    marker = tmp_path / "PWNED"
    for name, text in (
        ("laughs.yaml", LAUGHS),
        ("tag.yaml", f'CaseNo: !!python/object/apply:os.system ["touch {marker}"]\n'),
    ):
        mapping = _protocol(tmp_path, text, name)
        started = time.perf_counter()
        assert_refused(run("validate", data, "--columns", mapping), str(mapping))
        assert time.perf_counter() - started < 5
    assert not marker.exists()


# ---- output paths ---------------------------------------------------------------------------


def _run_mini(run, tmp_path, cases, out, *extra):
    return run("run", _protocol(tmp_path, MINI), "--cases", cases, "--out", out, "--quiet", *extra)


def test_out_through_dotdot_is_refused(run, tmp_path, cases):
    (tmp_path / "reports").mkdir()
    out = tmp_path / "reports" / ".." / "elsewhere"
    err = assert_refused(_run_mini(run, tmp_path, cases, out), "'..'")
    assert str(tmp_path / "elsewhere") in err  # the message gives the path to use
    assert not (tmp_path / "elsewhere").exists()


def test_out_that_is_a_symlink_is_refused_and_its_target_untouched(run, tmp_path, cases):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("precious")
    link = tmp_path / "link"
    link.symlink_to(outside, target_is_directory=True)
    for extra in ((), ("--overwrite",)):
        assert_refused(_run_mini(run, tmp_path, cases, link, *extra), "symbolic link")
    assert [p.name for p in outside.iterdir()] == ["keep.txt"]
    assert (outside / "keep.txt").read_text() == "precious"
    assert link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "outside", "p.yaml"]


def test_out_through_a_symlinked_folder_is_refused(run, tmp_path, cases):
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "reports").symlink_to(outside, target_is_directory=True)
    err = assert_refused(
        _run_mini(run, tmp_path, cases, tmp_path / "reports" / "2024"), "symbolic link"
    )
    assert str(outside / "2024") in err  # the real path to use instead
    assert list(outside.iterdir()) == []


def test_relative_out_through_a_symlink_is_refused(run, tmp_path, cases, monkeypatch):
    outside = tmp_path / "outside"
    outside.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    (work / "reports").symlink_to(outside, target_is_directory=True)
    monkeypatch.chdir(work)
    assert_refused(_run_mini(run, tmp_path, cases, Path("reports") / "x"), "symbolic link")
    assert list(outside.iterdir()) == []


def test_non_empty_out_is_refused_unless_overwrite(run, tmp_path, cases):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("do not lose me")
    assert_refused(_run_mini(run, tmp_path, cases, out), "not empty", "--overwrite")
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    assert _run_mini(run, tmp_path, cases, out, "--overwrite").code == 0
    assert (out / "result.json").is_file()


def test_out_that_is_a_file_is_refused(run, tmp_path, cases):
    path = tmp_path / "file.json"
    path.write_text("{}")
    assert_refused(_run_mini(run, tmp_path, cases, path, "--overwrite"), "not a folder")
    assert path.read_text() == "{}"


def test_no_file_name_is_built_from_data_values(run, tmp_path):
    """Hostile category values in a subgroup column never become paths."""
    frame = generate_cases(600, seed=9).cases.copy()
    hostile = ["../../escape", "frames/../../x", "/etc/passwd", "CON", "a\nb", "*?<>|", "."]
    benign = ["north", "south", "east", "west", "centre", "coast", "hills"]
    protocol = MINI + "subgroups:\n  by: [area]\n  estimator: outcome.naive\n  min_cases: 1\n"
    protocol += "disclosure:\n  min_cell: 1\n"
    path = _protocol(tmp_path, protocol)
    written = {}
    for label, values in (("benign", benign), ("hostile", hostile)):
        data = tmp_path / f"{label}.csv"
        frame.assign(area=[values[i % len(values)] for i in range(len(frame))]).to_csv(
            data, index=False
        )
        out = tmp_path / f"out-{label}"
        result = run("run", path, "--cases", data, "--out", out, "--quiet")
        assert result.code == 0, result.err
        written[label] = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    assert written["hostile"] == written["benign"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["p.yaml", "benign.csv", "hostile.csv", "out-benign", "out-hostile"]
    )
    assert not Path("/etc/passwd.csv").exists()


# ---- exports: formula injection --------------------------------------------------------------

TRIGGERS = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def _hostile_rows():
    rows = []
    for i, text in enumerate(TRIGGERS):
        row = list(VALID_ROWS[i % 4])
        row[0] = f"ID{i}"
        row[1] = text  # jurisdiction: text kept as written
        row[11] = "99"  # convicted > charged: every row is set aside
        rows.append(row)
    return rows


def test_set_aside_csv_neutralises_formulas_and_keeps_numbers(run, tmp_path):
    frame = pd.DataFrame(_hostile_rows(), columns=HEADER)
    frame["=cmd"] = "-5"  # a hostile header; a negative number stays a number
    source = tmp_path / "hostile.csv"
    frame.to_csv(source, index=False, quoting=csv.QUOTE_ALL)
    aside = tmp_path / "aside.csv"
    assert run("validate", source, "--set-aside", aside).code == 2
    back = pd.read_csv(aside, dtype=str, keep_default_na=False)
    assert len(back) == len(TRIGGERS)  # a carriage return in a cell never splits a row
    assert back["jurisdiction"].tolist() == ["'" + t for t in TRIGGERS]
    assert "'=cmd" in back.columns and back["'=cmd"].tolist() == ["-5"] * len(TRIGGERS)
    assert back["case_id"].tolist() == [f"ID{i}" for i in range(len(TRIGGERS))]


def test_set_aside_xlsx_has_no_formula_and_typed_numbers_stay_numbers(run, tmp_path):
    frame = pd.DataFrame(_hostile_rows(), columns=HEADER)
    for column in ("year", "n_suspects", "charged", "convicted", "cost_total"):
        frame[column] = pd.to_numeric(frame[column])
    frame["delta"] = -5.5
    source = tmp_path / "hostile.parquet"
    frame.to_parquet(source, index=False)
    aside = tmp_path / "aside.xlsx"
    assert run("validate", source, "--set-aside", aside).code == 2
    sheet = openpyxl.load_workbook(aside).active
    header = [c.value for c in sheet[1]]
    cells = list(sheet.iter_rows(min_row=2))
    assert all(c.data_type != "f" for row in cells for c in row)  # no formula anywhere
    jurisdiction = [row[header.index("jurisdiction")].value for row in cells]
    # XML turns a carriage return into a line feed when the workbook is read back
    assert jurisdiction == ["'" + t.replace("\r", "\n") for t in TRIGGERS]
    for column in ("year", "convicted", "cost_total", "delta"):
        values = [row[header.index(column)] for row in cells]
        assert all(c.data_type == "n" for c in values), column
    assert [row[header.index("delta")].value for row in cells] == [-5.5] * len(TRIGGERS)


def test_umask_style_permissions_are_not_loosened(run, tmp_path, cases):
    """Output files are created with the process umask, never world-writable."""
    out = tmp_path / "out"
    assert _run_mini(run, tmp_path, cases, out).code == 0
    for path in out.rglob("*"):
        assert not os.stat(path).st_mode & 0o002, path
