"""Progress bars: one per step, silent with --quiet, step timings in run.log."""

import io
from functools import partial

import numpy as np
import pytest
from rich.console import Console

from techeval.cli import main
from techeval.cli.progress import StepProgress
from techeval.inference import bootstrap_replicates, replicate_progress, report_replicates
from techeval.protocols.run import run_protocol
from techeval.simulate import generate_cases, write_cases

from .._helpers import cli

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


# ---- one advance per bootstrap replicate (issue #10) ---------------------------------------

# one technique, one bootstrap: cost.effectiveness draws inference.n_bootstrap joint
# resamples; n_jobs: 2 runs the unit in a loky worker, so the replicates must be
# forwarded to this process. Each test uses its own seed: cost._bootstrap memoises
# replicates per seed in the (reused) worker processes, and a memoised bootstrap reports
# nothing.
BOOTSTRAP = """
name: boot
version: "0.1"
techniques: [undercover]
covariates: [offence, n_suspects]
outcomes: [conviction]
estimators:
  - name: cost.effectiveness
    params: {{effects: [conviction]}}
inference:
  n_bootstrap: {n_bootstrap}
  n_jobs: {n_jobs}
  seed: {seed}
"""


def _bootstrap_run(tmp_path, *, n_jobs, seed, n_bootstrap=23):
    cases = tmp_path / "cases.csv"
    write_cases(generate_cases(600, seed=seed), cases)
    protocol = tmp_path / "boot.yaml"
    protocol.write_text(
        BOOTSTRAP.format(n_bootstrap=n_bootstrap, n_jobs=n_jobs, seed=seed), encoding="utf-8"
    )
    return cases, protocol


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_every_replicate_advances_once_and_no_replicate_changes(n_jobs):
    # 37 replicates in 32 chunks of unequal size; with two loky workers the chunks are
    # counted here as they arrive
    statistic = partial(_mean_and_spread, values=np.random.default_rng(5).gamma(2, size=90))
    plain = bootstrap_replicates(statistic, 90, n_replicates=37, random_state=3, n_jobs=n_jobs)
    calls = []
    with report_replicates(lambda done, total: calls.append((done, total))):
        shown = bootstrap_replicates(statistic, 90, n_replicates=37, random_state=3, n_jobs=n_jobs)
    assert calls == [(done, 37) for done in range(38)]
    np.testing.assert_array_equal(shown, plain)
    # outside the block nothing is reported
    bootstrap_replicates(statistic, 90, n_replicates=5, random_state=3)
    assert len(calls) == 38


def _mean_and_spread(rows, seed, *, values):
    sample = values[rows]
    return [sample.mean(), sample.std()]


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_the_bar_counts_every_replicate_run_in_this_process_or_a_worker(tmp_path, n_jobs):
    cases, protocol = _bootstrap_run(tmp_path, n_jobs=n_jobs, seed=8100 + n_jobs)
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=160)
    with StepProgress(console) as show:
        run_protocol(protocol, cases, backend="local", progress=show)
    assert (show.replicates_planned, show.replicates_done) == (23, 23)
    text = buffer.getvalue()
    # the replicates' bar sits under the estimation step's bar
    assert "bootstrap replicates" in text and "23/23" in text
    assert (
        text.rindex("estimating") < text.rindex("bootstrap replicates") < text.rindex("synthesis")
    )


def test_quiet_display_reports_no_replicate(tmp_path):
    cases, protocol = _bootstrap_run(tmp_path, n_jobs=2, seed=8110)
    buffer = io.StringIO()
    with StepProgress(Console(file=buffer, force_terminal=True), quiet=True) as show:
        assert replicate_progress() is None
        run_protocol(protocol, cases, backend="local", progress=show)
    assert (show.replicates_planned, show.replicates_done) == (0, 0)
    assert buffer.getvalue() == ""


def test_replicates_reach_the_bar_from_dask_workers(tmp_path):
    pytest.importorskip("dask.distributed")
    cases, protocol = _bootstrap_run(tmp_path, n_jobs=2, seed=8120)
    calls = []
    with report_replicates(lambda done, total: calls.append((done, total))):
        run_protocol(protocol, cases, backend="dask")
    # events from the workers may interleave; each replicate arrives once
    assert sorted(calls) == [(done, 23) for done in range(24)]


def test_cli_result_is_byte_identical_with_and_without_bars_and_a_pipe_gets_no_redraws(
    tmp_path, capsys, monkeypatch
):
    cases, protocol = _bootstrap_run(tmp_path, n_jobs=1, seed=8130)
    monkeypatch.setenv("COLUMNS", "200")  # rich squeezes the counts out of 80 columns
    outputs = {}
    for name, flags in (("shown", []), ("quiet", ["--quiet"])):
        # every run draws all its replicates: the memo is emptied when a run ends
        out = tmp_path / name
        assert main(["run", str(protocol), "--cases", str(cases), "--out", str(out), *flags]) == 0
        outputs[name] = ((out / "result.json").read_bytes(), capsys.readouterr().err)
    assert outputs["shown"][0] == outputs["quiet"][0]
    assert outputs["quiet"][1] == ""
    # standard error is not a terminal here: rich draws the final state once, with no
    # cursor movements, as in a CI log or a pipe
    shown = outputs["shown"][1]
    assert shown.count("bootstrap replicates") == 1 and "23/23" in shown
    assert "\x1b[" not in shown


@pytest.mark.slow
def test_worker_processes_give_the_byte_identical_result_with_and_without_bars(tmp_path):
    # two processes (each with its own loky workers and memo), bootstraps in the workers
    cases, protocol = _bootstrap_run(tmp_path, n_jobs=2, seed=8140)
    shown = cli("run", protocol, "--cases", cases, "--out", tmp_path / "shown")
    quiet = cli("run", protocol, "--cases", cases, "--out", tmp_path / "quiet", "--quiet")
    assert shown.code == quiet.code == 0, shown.err + quiet.err
    assert (tmp_path / "shown" / "result.json").read_bytes() == (
        tmp_path / "quiet" / "result.json"
    ).read_bytes()
    assert quiet.out == quiet.err == ""
    assert shown.err.count("bootstrap replicates") == 1 and "23/23" in shown.err
    assert "\x1b[" not in shown.err
