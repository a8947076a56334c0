"""The benchmark runner's own machinery: options, the table, the child measurement.

No benchmark runs here; the children are one-line Python programs.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUNNER = ROOT / "benchmarks" / "run.py"
GB = 1024**3


@pytest.fixture(scope="module")
def runner():
    spec = importlib.util.spec_from_file_location("benchmarks_run", RUNNER)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def child(runner, *, seconds=1.0, peak=GB, exit_code=0, report=None):
    return runner.Child(
        exit_code=exit_code,
        wall_seconds=seconds,
        cpu_seconds=seconds,
        peak_bytes=int(peak),
        load_before=0.5,
        report=report,
        log=Path("child.log"),
    )


@pytest.mark.parametrize("script", ["run.py", "workloads.py"])
def test_help_runs_without_running_a_benchmark(script):
    completed = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "usage:" in completed.stdout
    if script == "run.py":
        for option in ("--only", "--quick", "--repeat", "--markdown", "--bench-python"):
            assert option in completed.stdout


def test_unknown_row_and_bad_repeat_are_refused(runner, capsys):
    with pytest.raises(SystemExit) as exc:
        runner.parse_arguments(["--only", "synth,nonsense"])
    assert exc.value.code == 2
    assert "nonsense" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        runner.parse_arguments(["--repeat", "0"])
    assert runner.parse_arguments(["--only", "aipw, dowhy"]).rows == ["aipw", "dowhy"]


def test_plain_table_aligns_every_column(runner):
    lines = [
        runner.Line("short", "≤ 10 s", "3.2 s", met=True),
        runner.Line("a much longer piece of work", "≤ 1.0", "9.9 s", ratio="1.20", met=False),
        runner.Line("not assessed", "-", "not measured"),
    ]
    rows = runner.format_table(lines).splitlines()
    assert len(rows) == 5
    header, rule, *body = rows
    starts = [header.index(name) for name in ("target", "measured", "ratio", "met?")]
    for row in body:
        for start in starts:
            # every column starts right after two spaces, at the header's position
            assert row[start - 2 : start] == "  " and row[start] != " "
    assert set(rule.replace(" ", "")) == {"-"}
    assert body[0].endswith("yes") and body[1].endswith("NO") and body[2].endswith("n/a")


def test_markdown_table_escapes_pipes_and_quick_runs_are_not_assessed(runner):
    lines = [runner.Line("a | b", "≤ 10 s", "3 s", met=False)]
    table = runner.format_table(lines, markdown=True, assessed=False).splitlines()
    assert table[0] == "| work | target | measured | ratio | met? |"
    assert table[1] == "|---|---|---|---|---|"
    assert table[2] == "| a \\| b | ≤ 10 s | 3 s | — | n/a |"


def test_a_row_is_judged_on_its_median_time_and_peak_memory(runner):
    fast = [child(runner, seconds=s) for s in (4.0, 30.0, 5.0)]
    line = runner.judged_on_time("work", "≤ 10 s", 10.0, 3 * GB, fast)
    assert line.met is True and line.measured.startswith("5 s")  # the median, not the mean
    heavy = [child(runner, seconds=1.0, peak=3.5 * GB)]
    assert runner.judged_on_time("work", "t", 10.0, 3 * GB, heavy).met is False
    slow = [child(runner, seconds=10.5)]
    assert runner.judged_on_time("work", "t", 10.0, None, slow).met is False
    failed = runner.judged_on_time("work", "t", 10.0, None, [child(runner, exit_code=2)])
    assert failed.met is False and failed.measured.startswith("failed (exit 2")


def test_a_workload_reports_its_own_estimation_time(runner):
    measured = child(runner, seconds=9.0, report={"seconds": 2.5})
    assert measured.seconds == 2.5
    assert child(runner, seconds=9.0).seconds == 9.0


def test_run_child_measures_exit_code_memory_and_time(runner, tmp_path):
    code = "import sys; block = bytearray(200 * 1024 * 1024); sys.exit(3)"
    measured = runner.run_child([sys.executable, "-c", code], log=tmp_path / "a.log", timeout=60)
    assert measured.exit_code == 3
    assert measured.peak_bytes >= 200 * 1024 * 1024
    assert 0 < measured.cpu_seconds and 0 < measured.wall_seconds < 60


def test_run_child_kills_a_child_past_its_timeout(runner, tmp_path):
    code = "import time; time.sleep(60)"
    measured = runner.run_child([sys.executable, "-c", code], log=tmp_path / "b.log", timeout=0.5)
    assert measured.exit_code != 0 and measured.wall_seconds < 30


def test_markdown_file_keeps_what_is_written_around_the_generated_block(runner, tmp_path):
    path = tmp_path / "RESULTS.md"
    runner.write_markdown(path, "first table\n")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Benchmark results") and "first table" in text
    path.write_text(text + "\n## Analysis\n\nwritten by hand\n", encoding="utf-8")
    runner.write_markdown(path, "second table\n")
    text = path.read_text(encoding="utf-8")
    assert "second table" in text and "first table" not in text
    assert text.endswith("## Analysis\n\nwritten by hand\n")


def test_root_mean_square_error(runner):
    assert runner.root_mean_square([0.003, -0.004]) == pytest.approx((12.5e-6) ** 0.5)


def test_a_failed_child_is_reported_with_the_end_of_its_output(runner, tmp_path):
    log = tmp_path / "child.log"
    log.write_text("starting\n\nTraceback ...\nValueError: bad input\n", encoding="utf-8")
    failed = child(runner, exit_code=1)
    failed.log = log
    message = runner.failure([child(runner)], [failed])
    assert message == "failed (exit 1: starting / Traceback ... / ValueError: bad input)"
    assert runner.failure([child(runner)]) is None


def test_standard_row_asks_techeval_which_formats_it_accepts(runner, tmp_path):
    formats, note = runner.available_formats(sys.executable)
    assert note is None and formats[0] == "json"
    assert set(formats) <= set(runner.WANTED_FORMATS)
    formats, note = runner.available_formats(str(tmp_path / "no-such-python"))
    assert formats == ("json",) and "json only" in note
