"""Run every benchmark of issue #10, each in a fresh process, and print one table.

    .venv/bin/python benchmarks/run.py                              # full sizes (~20 min)
    .venv/bin/python benchmarks/run.py --quick                      # smoke check, small n
    .venv/bin/python benchmarks/run.py --only aipw,dowhy --repeat 3
    .venv/bin/python benchmarks/run.py --markdown benchmarks/RESULTS.md

Every row runs in fresh child processes: the ``techeval`` command itself for the
command-line rows, ``benchmarks/workloads.py`` for the library rows. The runner measures
each child's wall time, CPU time and peak resident memory (``os.wait4``: the kernel's
high-water mark of the largest single process in the child's tree, not a sum over
processes). For the library rows the time shown is the one the child measured around
the estimation alone (imports and reading the data excluded, for every library alike);
for the command-line rows it is the command's wall time, start-up included.

DoWhy and EconML are optional benchmark dependencies (``pip install -e '.[bench]'``).
They run under ``--bench-python`` (default ``.venv-bench/bin/python`` when it exists),
techeval under the interpreter running this script; without them their rows say
"not measured" and the table still prints. The targets are for the full sizes on a
2-core machine; with ``--quick`` nothing is assessed. Not a test: it prints and exits
with 0 when every assessed target is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKLOADS = HERE / "workloads.py"
SHIPPED_CASES = ROOT / "synthetic_data" / "cases.csv"
DEFAULT_BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"
BEGIN_MARK = "<!-- benchmarks/run.py writes from here -->"
END_MARK = "<!-- benchmarks/run.py writes up to here -->"
#: Output formats wanted for the standard-v1 row, as far as ``techeval run`` accepts them.
WANTED_FORMATS = ("json", "html", "md", "pdf")
GB = 1024**3
CORES = os.cpu_count() or 1


# ---- sizes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    """How much work each row does; the targets refer to :data:`FULL`."""

    cases: int  # synth, validate, AIPW vs EconML, quick-v1
    dowhy_cases: int  # techeval vs DoWhy
    standard_cases: int | None  # None: the shipped synthetic_data/cases.csv
    draws: int  # benefit–cost Monte Carlo draws per technique
    seed: int = 1  # synthetic data seed; the DoWhy data sets use seed + 1, seed + 2, ...


FULL = Sizes(cases=1_000_000, dowhy_cases=100_000, standard_cases=None, draws=10_000)
QUICK = Sizes(cases=50_000, dowhy_cases=10_000, standard_cases=2_000, draws=1_000)


# ---- one child process ----------------------------------------------------------------


@dataclass
class Child:
    """What one child process cost, and what it reported."""

    exit_code: int
    wall_seconds: float
    cpu_seconds: float
    peak_bytes: int
    load_before: float  # 1-minute load average when it started
    report: dict[str, Any] | None = None  # the JSON a workload wrote
    log: Path | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def seconds(self) -> float:
        """The workload's own estimation time when it reported one, else the wall time."""
        if self.report is not None and "seconds" in self.report:
            return float(self.report["seconds"])
        return self.wall_seconds


def run_child(
    argv: Sequence[str], *, log: Path, timeout: float, result: Path | None = None
) -> Child:
    """Run ``argv`` to completion; measure wall time, CPU time and peak RSS (``wait4``).

    Output goes to ``log`` (a pipe could fill and stall the child). A child still
    running after ``timeout`` seconds is killed with its process group.
    """
    if result is not None and result.exists():
        result.unlink()
    load_before = os.getloadavg()[0]
    with open(log, "w", encoding="utf-8") as sink:
        start = time.perf_counter()
        process = subprocess.Popen(
            list(argv), stdout=sink, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT
        )
        timer = threading.Timer(timeout, _kill_group, (process.pid,))
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4, not Popen
    report = None
    if result is not None and result.exists():
        report = json.loads(result.read_text(encoding="utf-8"))
    return Child(
        exit_code=process.returncode,
        wall_seconds=wall,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_bytes=usage.ru_maxrss * 1024,  # Linux reports kilobytes
        load_before=load_before,
        report=report,
        log=log,
    )


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def python_reports(python: str, code: str) -> Any:
    """Run a small Python program under ``python``; the JSON it prints, or None."""
    try:
        completed = subprocess.run(
            [python, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
        )
    except OSError:
        return None
    if completed.returncode != 0:
        return None
    return json.loads(completed.stdout)


# ---- the table ------------------------------------------------------------------------

COLUMNS = ("work", "target", "measured", "ratio", "met?")


@dataclass
class Line:
    """One row of the table, with the details and notes behind it."""

    work: str
    target: str
    measured: str
    ratio: str = "—"
    met: bool | None = None  # None: not assessed
    details: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def cells(self, assessed: bool = True) -> tuple[str, ...]:
        if self.met is None or not assessed:
            met = "n/a"
        else:
            met = "yes" if self.met else "NO"
        return (self.work, self.target, self.measured, self.ratio, met)


def format_table(lines: Sequence[Line], *, markdown: bool = False, assessed: bool = True) -> str:
    """The table as aligned plain text, or as a Markdown pipe table."""
    rows = [COLUMNS, *(line.cells(assessed) for line in lines)]
    if markdown:
        escaped = [[cell.replace("|", "\\|") for cell in row] for row in rows]
        out = ["| " + " | ".join(escaped[0]) + " |", "|" + "---|" * len(COLUMNS)]
        out += ["| " + " | ".join(row) + " |" for row in escaped[1:]]
        return "\n".join(out)
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    text = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    text.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(text)


def seconds(value: float) -> str:
    """Seconds to three significant digits (``12.3 s``, ``0.0412 s``)."""
    if value >= 100:
        return f"{value:.0f} s"
    return f"{value:.3g} s"


def gigabytes(value: float) -> str:
    return f"{value / GB:.2f} GB"


# ---- the run --------------------------------------------------------------------------


@dataclass
class Context:
    """Interpreters, sizes, the working folder and the data made so far."""

    python: str
    bench_python: str
    sizes: Sizes
    folder: Path
    repeat: int
    timeout: float
    formats: tuple[str, ...]
    formats_note: str | None = None
    prepared: list[str] = field(default_factory=list)  # what was made untimed, and how long
    _serial: int = 0

    @property
    def techeval(self) -> str:
        return str(Path(self.python).parent / "techeval")

    def path(self, name: str) -> Path:
        return self.folder / name

    def child(self, argv: Sequence[str], *, label: str, result: bool = False) -> Child:
        self._serial += 1
        stem = self.path(f"{self._serial:02d}-{label}")
        target = stem.with_suffix(".json") if result else None
        if target is not None:
            argv = [*argv, "--result", str(target)]
        return run_child(argv, log=stem.with_suffix(".log"), timeout=self.timeout, result=target)

    def workload(self, python: str, name: str, data: Path | None = None, *args: str) -> Child:
        data_args = ["--data", str(data)] if data is not None else []
        argv = [python, str(WORKLOADS), name, *data_args, *args]
        return self.child(argv, label=name, result=True)

    def synth_file(self, n: int, suffix: str) -> Path:
        """``n`` synthetic cases written by ``techeval synth`` (made once, untimed)."""
        path = self.path(f"cases-{n}.{suffix}")
        if not path.exists():
            self.prepare(self.synth_command(n, path), path)
        return path

    def synth_command(self, n: int, out: Path) -> list[str]:
        seed = str(self.sizes.seed)
        return [self.techeval, "synth", "--n", str(n), "--seed", seed, "--out", str(out)]

    def analysis_file(self, n: int, seed: int) -> tuple[Path, dict[str, Any]]:
        """Treatment, outcome and covariates of ``n`` validated synthetic cases, and facts."""
        path = self.path(f"analysis-{n}-{seed}.parquet")
        facts = path.with_suffix(".json")
        if not path.exists():
            argv = [self.python, str(WORKLOADS), "prepare", "--n", str(n), "--seed", str(seed)]
            self.prepare([*argv, "--out", str(path), "--result", str(facts)], path)
        return path, json.loads(facts.read_text(encoding="utf-8"))

    def prepare(self, argv: list[str], path: Path) -> None:
        child = run_child(argv, log=path.with_suffix(".setup.log"), timeout=self.timeout)
        if not child.ok or not path.exists():
            raise SystemExit(
                f"preparing the data failed: {shlex.join(argv)}\n{log_tail(child.log, 10)}"
            )
        self.prepared.append(f"{path.name}: {seconds(child.wall_seconds)}")


def repeated(context: Context, make: Callable[[], Child]) -> list[Child]:
    return [make() for _ in range(context.repeat)]


def median_seconds(children: Sequence[Child]) -> float:
    return statistics.median(child.seconds for child in children)


def peak(children: Sequence[Child]) -> int:
    return max(child.peak_bytes for child in children)


def log_tail(path: Path | None, lines: int = 3) -> str:
    """The last non-empty lines of a child's output (the temporary folder is removed)."""
    if path is None or not path.exists():
        return ""
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    kept = [t.strip() for t in text if t.strip()]
    return " / ".join(kept[-lines:])[:300]


def failure(*groups: Sequence[Child]) -> str | None:
    for children in groups:
        for child in children:
            if not child.ok:
                return f"failed (exit {child.exit_code}: {log_tail(child.log) or 'no output'})"
    return None


def timing_details(label: str, children: Sequence[Child]) -> str:
    """Every run's time, with the child's CPU and wall time, peak memory and the load."""
    runs = ", ".join(seconds(child.seconds) for child in children)
    cpu = ", ".join(seconds(child.cpu_seconds) for child in children)
    wall = ", ".join(seconds(child.wall_seconds) for child in children)
    loads = ", ".join(f"{child.load_before:.1f}" for child in children)
    return (
        f"{label}: {runs} (process: CPU {cpu}, wall {wall}; peak {gigabytes(peak(children))}; "
        f"1-min load at start {loads})"
    )


def busy_note(children: Sequence[Child]) -> list[str]:
    """Say so when a child waited for a core: loaded machine, CPU time well below wall."""
    for child in children:
        if child.load_before > CORES and child.cpu_seconds < 0.8 * child.wall_seconds:
            return [
                f"the machine was busy (load {child.load_before:.1f} on {CORES} cores; "
                f"CPU {seconds(child.cpu_seconds)} of {seconds(child.wall_seconds)} wall)"
            ]
    return []


def judged_on_time(
    work: str, target: str, limit: float, memory_limit: float | None, children: list[Child]
) -> Line:
    """A row judged on its own median time (and peak memory, when it has a limit)."""
    details = [timing_details("time", children)]
    failed = failure(children)
    if failed:
        return Line(work, target, failed, met=False, details=details)
    value, highest = median_seconds(children), peak(children)
    met = value <= limit and (memory_limit is None or highest <= memory_limit)
    line = Line(work, target, f"{seconds(value)}, peak {gigabytes(highest)}", met=met)
    line.details = details
    if not met:
        line.notes.extend(busy_note(children))
    return line


# ---- the rows -------------------------------------------------------------------------


def row_synth(context: Context) -> list[Line]:
    n = context.sizes.cases
    out = context.path(f"cases-{n}.csv")
    command = context.synth_command(n, out)
    children = repeated(context, lambda: context.child(command, label="synth"))
    return [judged_on_time(f"`techeval synth --n {n:,}` (CSV)", "≤ 10 s", 10.0, None, children)]


def row_validate(context: Context) -> list[Line]:
    lines = []
    for suffix, name, limit in (("parquet", "Parquet", 10.0), ("csv", "CSV", 25.0)):
        path = context.synth_file(context.sizes.cases, suffix)
        # the target is for a first read: the CSV is parsed, not taken from the cache
        command = [context.techeval, "validate", str(path), "--no-cache"]
        label = f"validate-{suffix}"
        children = repeated(
            context, lambda command=command, label=label: context.child(command, label=label)
        )
        work = f"`techeval validate`, {context.sizes.cases:,} rows, {name}"
        target = f"≤ {limit:.0f} s, peak ≤ 3 GB"
        lines.append(judged_on_time(work, target, limit, 3 * GB, children))
    # the same CSV read again: the parsed table comes from the per-user cache
    path = context.synth_file(context.sizes.cases, "csv")
    command = [context.techeval, "validate", str(path)]
    context.child(command, label="validate-csv-fill-cache")  # fills the cache, untimed
    children = repeated(context, lambda: context.child(command, label="validate-csv-cached"))
    work = f"`techeval validate`, {context.sizes.cases:,} rows, CSV read again (cached parse)"
    line = judged_on_time(work, "(for reference)", 25.0, 3 * GB, children)
    line.met = None
    line.details.append(
        "the first read kept the parsed table as Parquet in the cache (keyed by the "
        "file's SHA-256); validation runs in full"
    )
    lines.append(line)
    return lines


def row_quick(context: Context) -> list[Line]:
    path = context.synth_file(context.sizes.cases, "csv")
    command = [
        context.techeval, "run", str(ROOT / "protocols" / "quick-v1.yaml"), "--cases", str(path),
        "--out", str(context.path("quick-v1")), "--overwrite", "--quiet", "--no-cache",
    ]  # fmt: skip
    children = repeated(context, lambda: context.child(command, label="quick-v1"))
    work = f"`techeval run quick-v1`, {context.sizes.cases:,} cases (CSV)"
    line = judged_on_time(work, "≤ 120 s, peak ≤ 4 GB", 120.0, 4 * GB, children)
    line.details.append(
        "all four techniques, every family it names, influence-function and "
        "cluster-robust inference (no bootstrap); peak is the largest single process"
    )
    return [line]


def row_standard(context: Context) -> list[Line]:
    if context.sizes.standard_cases is None:
        path, what = SHIPPED_CASES, "shipped data (20,000 cases)"
    else:
        path = context.synth_file(context.sizes.standard_cases, "csv")
        what = f"{context.sizes.standard_cases:,} synthetic cases"
    formats = ",".join(context.formats)
    command = [
        context.techeval, "run", str(ROOT / "protocols" / "standard-v1.yaml"), "--cases",
        str(path), "--out", str(context.path("standard-v1")), "--overwrite", "--quiet",
        "--format", formats,
    ]  # fmt: skip
    children = repeated(context, lambda: context.child(command, label="standard-v1"))
    work = f"`techeval run standard-v1 --format {formats}`, {what}"
    line = judged_on_time(work, "≤ 60 s incl. figures and reports", 60.0, None, children)
    missing = [f for f in WANTED_FORMATS if f not in context.formats]
    if context.formats_note is not None:
        line.notes.append(context.formats_note)
    elif missing:
        line.notes.append(
            f"`techeval run --format` does not accept {', '.join(missing)} yet, so this run "
            f"wrote {formats} only: no figures or reports are in this time"
        )
    return [line]


def row_benefit_cost(context: Context) -> list[Line]:
    draws = context.sizes.draws
    children = repeated(
        context,
        lambda: context.workload(context.python, "benefit_cost", None, "--draws", str(draws)),
    )
    work = f"benefit–cost Monte Carlo, {draws:,} draws × 4 techniques"
    line = judged_on_time(work, "≤ 10 s", 10.0, None, children)
    line.details.append(
        "techeval.economics.simulate_benefit_cost for 4 techniques, timed in "
        "the process (benchmarks/bench_benefit_cost.py: monte_carlo_only)"
    )
    return [line]


def library_available(python: str, module: str) -> bool:
    code = f"import importlib.util, json; print(json.dumps(bool(importlib.util.find_spec({module!r}))))"
    return bool(python_reports(python, code))


def estimate_text(label: str, report: dict[str, Any], truth: float) -> str:
    covers = "covers" if report["ci_low"] <= truth <= report["ci_high"] else "misses"
    return (
        f"{label}: estimate {report['estimate']:.4f} (95% CI {report['ci_low']:.4f} to "
        f"{report['ci_high']:.4f}), error {report['estimate'] - truth:+.4f}, the CI {covers} "
        f"the truth [{report['method']}; {report['version']}]"
    )


def truth_text(facts: dict[str, Any], seed: int) -> str:
    return (
        f"data (seed {seed}): {facts['rows']:,} validated synthetic cases, "
        f"{facts['treated_share']:.1%} treated; truth: population ATE of "
        f"{facts['technique']} on {facts['outcome']} {facts['truth']:.4f} "
        f"(techeval.simulate.population_truth); covariates {', '.join(facts['covariates'])}"
    )


def root_mean_square(errors: Sequence[float]) -> float:
    return math.sqrt(statistics.fmean(e * e for e in errors))


def row_aipw(context: Context) -> list[Line]:
    n = context.sizes.cases
    work = f"AIPW, {n:,} cases vs EconML `LinearDRLearner`"
    target = "≤ 15 s; techeval/EconML ≤ 1.0"
    path, facts = context.analysis_file(n, context.sizes.seed)

    def ours() -> Child:
        return context.workload(context.python, "techeval_aipw", path)

    if not library_available(context.bench_python, "econml"):
        line = judged_on_time(work, target, 15.0, None, repeated(context, ours))
        line.met = None
        line.measured = f"techeval {line.measured}; EconML not measured"
        line.notes.append(f"EconML is not installed for {context.bench_python}")
        return [line]
    techeval, econml = [], []
    for _ in range(context.repeat):  # interleaved, so both sides see the same load
        techeval.append(ours())
        econml.append(context.workload(context.bench_python, "econml_drlearner", path))
    details = [
        "techeval's AIPW (5-fold cross-fitting, penalised logistic nuisances on "
        "one-hot text and B-spline numbers, influence-function 95% CI) against "
        "`LinearDRLearner(cv=5)` with `ate_inference()`, given the same design matrix, "
        "penalties, solver and propensity clip; BLAS one thread on both sides",
        timing_details("techeval", techeval),
        timing_details("EconML", econml),
    ]
    failed = failure(techeval, econml)
    if failed:
        return [Line(work, target, failed, met=False, details=details)]
    ours_s, theirs_s = median_seconds(techeval), median_seconds(econml)
    ratio = ours_s / theirs_s
    details += [
        truth_text(facts, context.sizes.seed),
        estimate_text("techeval", techeval[0].report, facts["truth"]),
        estimate_text("EconML", econml[0].report, facts["truth"]),
    ]
    line = Line(
        work,
        target,
        f"techeval {seconds(ours_s)}, EconML {seconds(theirs_s)}",
        ratio=f"{ratio:.2f}",
        met=ours_s <= 15.0 and ratio <= 1.0,
        details=details,
    )
    if not line.met:
        line.notes.extend(busy_note(techeval))
    return [line]


def row_dowhy(context: Context) -> list[Line]:
    """techeval vs DoWhy; with ``--repeat K`` on K independent data sets (RMSE for accuracy)."""
    n = context.sizes.dowhy_cases
    work = f"estimate + 95% CI, {n:,} cases, vs DoWhy"
    target = "≥ 20× faster; error ≤ DoWhy's"
    if not library_available(context.bench_python, "dowhy"):
        note = f"DoWhy is not installed for {context.bench_python}"
        return [Line(work, target, "DoWhy not measured", notes=[note])]
    techeval, dowhy, ipw, errors = [], [], [], {"techeval": [], "dowhy": [], "ipw": []}
    details = [
        "techeval's default estimate (AIPW, 5-fold cross-fitting, "
        "influence-function CI) against DoWhy's `backdoor.propensity_score_weighting` "
        "(ips_weight) with its bootstrap CI (100 simulations), given raw text columns and "
        "an explicit propensity model (standardised inputs, Newton-solver logistic "
        "regression); techeval's IPW shown for reference (DoWhy's method); BLAS one "
        "thread everywhere"
    ]
    for k in range(context.repeat):
        seed = context.sizes.seed + 1 + k
        path, facts = context.analysis_file(n, seed)
        runs = {
            "techeval": context.workload(context.python, "techeval_aipw", path),
            "dowhy": context.workload(context.bench_python, "dowhy_psw", path),
            "ipw": context.workload(context.python, "techeval_ipw", path),
        }
        techeval.append(runs["techeval"])
        dowhy.append(runs["dowhy"])
        ipw.append(runs["ipw"])
        if failure(*([child] for child in runs.values())):
            continue
        details.append(truth_text(facts, seed))
        for key, label in (
            ("techeval", "techeval AIPW"),
            ("dowhy", "DoWhy"),
            ("ipw", "techeval IPW"),
        ):
            details.append(estimate_text(label, runs[key].report, facts["truth"]))
            errors[key].append(runs[key].report["estimate"] - facts["truth"])
    details += [
        timing_details("techeval AIPW", techeval),
        timing_details("DoWhy", dowhy),
        timing_details("techeval IPW", ipw),
    ]
    failed = failure(techeval, dowhy, ipw)
    if failed:
        return [Line(work, target, failed, met=False, details=details)]
    speedup = median_seconds(dowhy) / median_seconds(techeval)
    ours_error, their_error = (
        root_mean_square(errors["techeval"]),
        root_mean_square(errors["dowhy"]),
    )
    what = "|error|" if context.repeat == 1 else f"RMSE over {context.repeat} data sets"
    details.append(
        f"techeval IPW: {median_seconds(dowhy) / median_seconds(ipw):.1f}× faster than DoWhy, "
        f"{what} {root_mean_square(errors['ipw']):.5f}"
    )
    line = Line(
        work,
        target,
        f"techeval {seconds(median_seconds(techeval))}, DoWhy {seconds(median_seconds(dowhy))}; "
        f"{what} {ours_error:.5f} vs {their_error:.5f}",
        ratio=f"{speedup:.1f}×",
        met=speedup >= 20 and ours_error <= their_error,
        details=details,
    )
    if context.repeat == 1:
        line.notes.append(
            "the error comparison rests on one data set; `--only dowhy --repeat K` compares "
            "the root mean square error over K independent data sets"
        )
    return [line]


ROWS: dict[str, Callable[[Context], list[Line]]] = {
    "synth": row_synth,
    "validate": row_validate,
    "aipw": row_aipw,
    "dowhy": row_dowhy,
    "quick-v1": row_quick,
    "standard-v1": row_standard,
    "benefit-cost": row_benefit_cost,
}


# ---- machine, versions and the Markdown file ------------------------------------------

_VERSIONS = """
import json, platform, importlib.metadata as metadata
found = {}
for name in NAMES:
    try:
        found[name] = metadata.version(name)
    except metadata.PackageNotFoundError:
        pass
print(json.dumps({"python": platform.python_version(), "packages": found}))
"""


def versions(python: str, names: Sequence[str]) -> str:
    found = python_reports(python, f"NAMES = {list(names)!r}\n{_VERSIONS}")
    if found is None:
        return f"`{python}` could not be started"
    packages = ", ".join(f"{name} {version}" for name, version in found["packages"].items())
    return f"`{relative(python)}` (Python {found['python']}): {packages}"


def machine() -> str:
    model, memory = "unknown CPU", 0
    try:
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                model = text.split(":", 1)[1].strip()
                break
        for text in Path("/proc/meminfo").read_text().splitlines():
            if text.startswith("MemTotal"):
                memory = int(text.split()[1]) * 1024
    except OSError:
        pass
    return f"{model}, {CORES} cores, {memory / GB:.1f} GB RAM, {platform.platform()}"


_FORMATS = """
import json
from techeval.protocols.write import check_formats
accepted = []
for name in WANTED:
    try:
        check_formats([name])
    except Exception:
        continue
    accepted.append(name)
print(json.dumps(accepted))
"""


def available_formats(python: str) -> tuple[tuple[str, ...], str | None]:
    """The wanted output formats ``techeval run --format`` accepts, and a note if unknown."""
    accepted = python_reports(python, f"WANTED = {list(WANTED_FORMATS)!r}\n{_FORMATS}")
    if accepted is None:
        return ("json",), "could not ask techeval which --format values it accepts: json only"
    return tuple(f for f in WANTED_FORMATS if f in accepted) or ("json",), None


def relative(path: str | Path) -> str:
    try:
        return str(Path(path).absolute().relative_to(ROOT))
    except ValueError:
        return str(path)


def report_text(
    lines: Sequence[Line],
    *,
    header: dict[str, str],
    prepared: Sequence[str],
    assessed: bool,
    markdown: bool,
) -> str:
    """Table, notes and details: printed as text, or as Markdown for RESULTS.md."""
    out = []
    if markdown:
        out += [f"- **{key}**: {value}" for key, value in header.items()]
        out.append("")
    out += [format_table(lines, markdown=markdown, assessed=assessed), ""]
    notes = []
    if not assessed:
        notes.append("--quick: reduced sizes; the targets are for the full sizes, not assessed")
    unmet = [line.work for line in lines if assessed and line.met is False]
    if unmet:
        notes.append("not met: " + "; ".join(unmet))
    notes += [f"{line.work}: {note}" for line in lines for note in line.notes]
    if notes:
        out += ["## Notes", ""] if markdown else ["notes:"]
        out += [f"- {note}" for note in notes] + [""]
    out += ["## Details", ""] if markdown else ["details:"]
    for line in lines:
        out.append(f"- {line.work}")
        out += [f"  - {detail}" for detail in line.details]
    if prepared:
        out += ["", "Data prepared beforehand (untimed): " + "; ".join(prepared) + "."]
    if not markdown:
        out += [""] + [f"{key}: {value}" for key, value in header.items()]
    return "\n".join(out).rstrip() + "\n"


def write_markdown(path: Path, generated: str) -> None:
    """Replace the generated block of ``path``, keeping what is written around it."""
    block = f"{BEGIN_MARK}\n\n{generated}\n{END_MARK}\n"
    if path.exists():
        text = path.read_text(encoding="utf-8")
        if BEGIN_MARK in text and END_MARK in text:
            before, rest = text.split(BEGIN_MARK, 1)
            after = rest.split(END_MARK, 1)[1].lstrip("\n")
            path.write_text(before + block + ("\n" + after if after else ""), encoding="utf-8")
            return
    path.write_text(
        "# Benchmark results\n\n"
        "`benchmarks/run.py --markdown` writes between the two markers below; text outside "
        "them is kept when it writes again.\n\n" + block,
        encoding="utf-8",
    )


# ---- command line ---------------------------------------------------------------------


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="benchmarks/run.py",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--only",
        default=",".join(ROWS),
        metavar="ROWS",
        help=f"comma-separated rows to run (default all): {', '.join(ROWS)}",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke check")
    parser.add_argument(
        "--repeat", type=int, default=1, metavar="K", help="runs per row; medians are shown"
    )
    parser.add_argument(
        "--bench-python",
        default=str(DEFAULT_BENCH_PYTHON) if DEFAULT_BENCH_PYTHON.exists() else sys.executable,
        metavar="PYTHON",
        help="interpreter with DoWhy and EconML (default .venv-bench/bin/python if present)",
    )
    parser.add_argument(
        "--markdown", type=Path, metavar="FILE", help="also write the results to FILE"
    )
    parser.add_argument(
        "--workdir", type=Path, metavar="DIR", help="keep data and logs in DIR (default: temporary)"
    )
    parser.add_argument(
        "--timeout", type=float, default=1800.0, metavar="S", help="seconds per child process"
    )
    args = parser.parse_args(argv)
    args.rows = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in args.rows if name not in ROWS]
    if unknown or not args.rows:
        parser.error(f"--only: unknown row(s) {', '.join(unknown)}; choose from {', '.join(ROWS)}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(argv)
    sizes = QUICK if args.quick else FULL
    folder = args.workdir or Path(tempfile.mkdtemp(prefix="techeval-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    # every child parses CSV files through a cache of its own, never the user's
    os.environ["TECHEVAL_CACHE_DIR"] = str(folder / "csv-cache")
    formats, formats_note = available_formats(sys.executable)
    context = Context(
        python=sys.executable,
        bench_python=args.bench_python,
        sizes=sizes,
        folder=folder,
        repeat=args.repeat,
        timeout=args.timeout,
        formats=formats,
        formats_note=formats_note,
    )
    started = dt.datetime.now(dt.UTC)
    load_start, clock = os.getloadavg(), time.perf_counter()
    lines: list[Line] = []
    try:
        for name in args.rows:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            lines.extend(ROWS[name](context))
    finally:
        if args.workdir is None:
            shutil.rmtree(folder, ignore_errors=True)
    load_end = os.getloadavg()
    arguments = list(sys.argv[1:] if argv is None else argv)
    command = shlex.join([relative(sys.executable), "benchmarks/run.py", *arguments])
    header = {
        "date": f"{started:%Y-%m-%d %H:%M} UTC, {time.perf_counter() - clock:.0f} s in all",
        "command": f"`{command}`",
        "machine": machine(),
        "load": (
            f"1/5/15-minute load average {load_start[0]:.1f}/{load_start[1]:.1f}/"
            f"{load_start[2]:.1f} at the start, {load_end[0]:.1f}/{load_end[1]:.1f}/"
            f"{load_end[2]:.1f} at the end (above {CORES}, the runs shared the {CORES} cores "
            "with other work)"
        ),
        "techeval rows": versions(
            sys.executable,
            ("techeval", "numpy", "pandas", "scipy", "scikit-learn", "statsmodels", "pyarrow"),
        ),
        "DoWhy and EconML rows": versions(
            args.bench_python, ("dowhy", "econml", "numpy", "pandas", "scipy", "scikit-learn")
        ),
        "sizes": (
            f"{sizes.cases:,} cases (synth, validate, AIPW vs EconML, quick-v1), "
            f"{sizes.dowhy_cases:,} vs DoWhy, {sizes.draws:,} Monte Carlo draws; "
            f"{args.repeat} run(s) per row, medians shown"
        ),
    }
    assessed = not args.quick
    text = dict(header=header, prepared=context.prepared, assessed=assessed)
    print(report_text(lines, markdown=False, **text))
    if args.markdown is not None:
        write_markdown(args.markdown, report_text(lines, markdown=True, **text))
        print(f"written to {args.markdown}", file=sys.stderr)
    return 0 if all(line.met is not False for line in lines) else 1


if __name__ == "__main__":
    sys.exit(main())
