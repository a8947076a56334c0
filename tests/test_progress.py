"""Progress bars: one per step, silent with --quiet, step timings in run.log."""

import io

from rich.console import Console

from techeval.cli import main
from techeval.progress import StepProgress
from techeval.synth import generate_cases, write_cases

MINI = """
name: mini
version: "0.1"
techniques: [undercover]
covariates: [offence, n_suspects]
outcomes: [conviction]
estimators:
  - name: outcome.naive
  - name: cost.summary
"""


def test_each_step_gets_its_own_bar_with_elapsed_and_remaining_time():
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=160)
    with StepProgress(console) as show:
        show("validating the case file", 0, 1)
        show("estimating", 0, 3)
        show("undercover · outcome.naive", 1, 3)
        show("undercover · cost.summary", 3, 3)
        show("rendering the html report", 0, 1)
    assert show.steps == ["validating the case file", "estimating", "rendering the html report"]
    text = buffer.getvalue()
    for expected in ("validating the case", "estimating", "3/3", "elapsed", "left"):
        assert expected in text


def test_quiet_run_prints_nothing_and_the_log_has_step_timings(tmp_path, capsys):
    cases = tmp_path / "cases.csv"
    write_cases(generate_cases(400, seed=2), cases)
    protocol = tmp_path / "mini.yaml"
    protocol.write_text(MINI, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(protocol), "--cases", str(cases), "--out", str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    log = (out / "run.log").read_text(encoding="utf-8")
    for step in ("validation", "undercover · outcome.naive · conviction", "estimation (local"):
        assert step in log
    assert main(["run", str(protocol), "--cases", str(cases), "--out", str(tmp_path / "o2")]) == 0
    assert "evidence" in capsys.readouterr().out
