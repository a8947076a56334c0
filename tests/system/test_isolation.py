"""Determinism, isolation and load (issue #11).

Real ``techeval run`` processes, started together: byte-identical ``result.json`` across
time zones and locales, no network connection (refused and recorded by a
``sitecustomize`` in every Python process, and the network namespace removed with
``unshare -n`` where the system allows it), and concurrent runs on different data that
each give their own correct result. The default run uses four 2,000-case files; the
slow suite runs ten processes and a 1,000,000-case file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from techeval.protocols.run import run_protocol
from techeval.results import canonical_json
from techeval.simulate import generate_cases, write_cases

from .._helpers import _ENTRY, write_sitecustomize


def _locales() -> set[str]:
    done = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False)
    return {line.strip() for line in done.stdout.splitlines()}


def _pick_locale(*wanted: str) -> str:
    available = {name.lower().replace("-", "") for name in _locales()}
    for name in wanted:
        if name.lower().replace("-", "") in available:
            return name
    return "C.UTF-8"


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    done = subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False)
    return done.returncode == 0


def _start(cases: Path, out: Path, env: dict[str, str], *, isolate_network: bool = False):
    command = [sys.executable, "-c", _ENTRY, "run", "quick-v1", "--cases", str(cases)]
    command += ["--out", str(out), "--quiet"]
    if isolate_network:
        command = ["unshare", "-n", *command]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "run.log"  # run.log holds the run's date and timings
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Four quick-v1 processes at once: A and B on the same file, C1 and C2 on others."""
    folder = tmp_path_factory.mktemp("isolation")
    files = []
    for i in range(3):
        path = folder / f"cases{i}.csv"
        write_cases(generate_cases(2000, seed=30 + i), path)
        files.append(path)
    record = folder / "network-attempts.log"
    site = write_sitecustomize(folder / "site", record)
    base = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
    }
    a_env = {**base, "TZ": "UTC", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    b_locale = _pick_locale("tr_TR.UTF-8", "de_DE.UTF-8", "fr_FR.UTF-8")
    b_env = {
        **base,
        "TZ": "Pacific/Chatham",  # UTC+12:45/+13:45: every date differs from UTC
        "LANG": _pick_locale("de_DE.UTF-8", "fr_FR.UTF-8"),  # decimal commas
        "LC_ALL": b_locale,  # Turkish: dotless i in case mapping
    }
    isolate = _unshare_works()
    outs = {name: folder / f"out-{name}" for name in ("A", "B", "C1", "C2")}
    started = time.perf_counter()
    processes = {
        "A": _start(files[0], outs["A"], a_env),
        "B": _start(files[0], outs["B"], b_env, isolate_network=isolate),
        "C1": _start(files[1], outs["C1"], base),
        "C2": _start(files[2], outs["C2"], base),
    }
    finished = {name: (p.wait(timeout=600), *p.communicate()) for name, p in processes.items()}
    return {
        "folder": folder,
        "files": files,
        "outs": outs,
        "finished": finished,
        "record": record,
        "isolated": isolate,
        "locale": b_locale,
        "seconds": time.perf_counter() - started,
    }


def test_every_concurrent_run_finishes_cleanly(runs):
    for name, (code, out, err) in runs["finished"].items():
        assert code == 0, (name, err)
        assert "Traceback" not in out + err and out == "", name
    assert not [p.name for p in runs["folder"].iterdir() if p.name.startswith(".")]


def test_result_is_byte_identical_across_time_zones_and_locales(runs):
    a, b = _files(runs["outs"]["A"]), _files(runs["outs"]["B"])
    assert "result.json" in a and set(a) == set(b)
    for name in a:
        assert a[name] == b[name], name
    log_a = (runs["outs"]["A"] / "run.log").read_text(encoding="utf-8")
    log_b = (runs["outs"]["B"] / "run.log").read_text(encoding="utf-8")
    assert "+0000" in log_a.splitlines()[0]
    assert "+0000" not in log_b.splitlines()[0]  # the environments really differed


def test_no_network_connection_is_attempted(runs):
    if _unshare_works():
        assert runs["isolated"]  # B ran with no network at all
    record = runs["record"]
    assert not record.exists() or record.read_text() == "", record.read_text()


def test_the_network_blocker_really_blocks(tmp_path):
    """The sitecustomize used above refuses and records an internet connection."""
    record = tmp_path / "attempts.log"
    site = write_sitecustomize(tmp_path / "site", record)
    probe = "import socket; socket.create_connection(('192.0.2.1', 80), timeout=1)"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0 and "network blocked" in done.stderr
    assert "192.0.2.1" in record.read_text()


def test_concurrent_runs_are_correct_and_independent(runs):
    documents = {}
    for name, out in runs["outs"].items():
        documents[name] = json.loads((out / "result.json").read_text(encoding="utf-8"))
    sources = {"A": 0, "B": 0, "C1": 1, "C2": 2}
    for name, index in sources.items():
        data = documents[name]["data"]
        expected = hashlib.sha256(runs["files"][index].read_bytes()).hexdigest()
        assert data["sha256"] == expected and data["rows_in"] == 2000, name
    estimates = {
        name: tuple(r["estimate"] for r in documents[name]["results"]) for name in ("A", "C1", "C2")
    }
    assert len(set(estimates.values())) == 3  # different data, different results
    # correct: a concurrent run gives exactly what a run on its own gives
    alone = run_protocol("quick-v1", runs["files"][1]).document
    assert canonical_json(alone) == (runs["outs"]["C1"] / "result.json").read_text(encoding="utf-8")


# ---- load (slow) ---------------------------------------------------------------------------


@pytest.mark.slow
def test_ten_concurrent_runs_on_different_data(tmp_path):
    files, processes = [], []
    for i in range(10):
        path = tmp_path / f"cases{i}.csv"
        write_cases(generate_cases(5000, seed=100 + i), path)
        files.append(path)
    for i, path in enumerate(files):
        processes.append(_start(path, tmp_path / f"out{i}", dict(os.environ)))
    results = [(p.wait(timeout=3600), *p.communicate()) for p in processes]
    assert all(code == 0 for code, _, _ in results), [err for _, _, err in results]
    hashes = set()
    for i, path in enumerate(files):
        document = json.loads((tmp_path / f"out{i}" / "result.json").read_text(encoding="utf-8"))
        assert document["data"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        hashes.add(document["data"]["sha256"])
    assert len(hashes) == 10
    alone = run_protocol("quick-v1", files[3]).document
    assert canonical_json(alone) == (tmp_path / "out3" / "result.json").read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_million_cases_validate_in_bounded_memory(tmp_path):
    path = tmp_path / "million.csv"
    write_cases(generate_cases(1_000_000, seed=1), path)
    script = (
        "import resource, sys, time\n"
        "from techeval.cases import load_cases\n"
        "started = time.perf_counter()\n"
        "report = load_cases(sys.argv[1])\n"
        "print(report.rows_in, report.rows_used, time.perf_counter() - started,\n"
        "      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    rows_in, rows_used, seconds, peak_kb = done.stdout.split()
    assert int(rows_in) == int(rows_used) == 1_000_000
    size_mb = path.stat().st_size / 1024**2
    # measured: 138 MB file, about 1.5 GB peak; 15x leaves room, and any whole-file
    # copy on top of the table would break it
    assert int(peak_kb) / 1024 < 15 * size_mb, (peak_kb, size_mb)
    print(f"1,000,000 cases validated in {float(seconds):.0f} s, peak {int(peak_kb) / 1024:.0f} MB")


def _run_sampling_memory(command: list[str], timeout: float) -> tuple[int, float, dict, str]:
    """Run ``command``; return its exit code, wall time, the peaks of its process tree's
    memory (it and all its descendants, sampled every 0.2 s) and its stderr.

    Peaks: ``"pss"``, the summed proportional set sizes (a page shared by k processes,
    such as a library or an array joblib memory-maps into both workers, counts 1/k in
    each: the tree's real footprint), and ``"rss"``, the summed resident sets (shared
    pages counted once per process: an upper bound).
    """
    psutil = pytest.importorskip("psutil")  # installed with the test extra's dask[distributed]
    started = time.perf_counter()
    process = psutil.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peaks = {"pss": 0, "rss": 0}
    while process.poll() is None:
        if time.perf_counter() - started > timeout:
            process.kill()
            pytest.fail(f"{command[3:5]} did not finish within {timeout:.0f} s")
        sums = {"pss": 0, "rss": 0}
        for member in [process, *process.children(recursive=True)]:
            try:
                memory = member.memory_full_info()
            except psutil.Error:  # a worker that ended between listing and reading
                continue
            sums["pss"] += memory.pss
            sums["rss"] += memory.rss
        peaks = {key: max(peaks[key], sums[key]) for key in peaks}
        time.sleep(0.2)
    return process.returncode, time.perf_counter() - started, peaks, process.stderr.read()


@pytest.mark.slow
def test_the_standard_protocol_runs_on_a_million_cases_in_bounded_memory(tmp_path):
    # the benchmark issue's memory target for a protocol on a million cases (4 GB, its
    # GB being 1024^3 bytes), here for the whole process tree: the runner and its two
    # loky workers together
    data = tmp_path / "million.parquet"
    write_cases(generate_cases(1_000_000, seed=1), data)
    out = tmp_path / "out"
    command = [sys.executable, "-c", _ENTRY, "run", "standard-v1", "--cases", str(data)]
    command += ["--out", str(out), "--format", "json", "--quiet"]
    code, seconds, peaks, stderr = _run_sampling_memory(command, timeout=3600)
    assert code == 0, stderr[-2000:]
    assert "Traceback" not in stderr
    document = json.loads((out / "result.json").read_text(encoding="utf-8"))
    data_block = document["data"]
    assert data_block["rows_in"] == 1_000_000
    assert data_block["rows_used"] + data_block["rows_set_aside"] == 1_000_000
    # every technique has every family's results: nothing was skipped for size
    techniques = document["settings"]["techniques"]
    for technique in techniques:
        families = {r["family"] for r in document["results"] if r["technique"] == technique}
        assert families >= {"outcome", "cost", "harm", "synthesis"}, (technique, families)
    assert not [w for w in document["warnings"] if "not estimated" in w], document["warnings"]
    rates = [r for r in document["results"] if r["scale"] == "rate_ratio"]
    assert {r["method"] for r in rates} >= {"poisson_glm_robust", "negative_binomial"}
    assert not [w for r in rates for w in r["warnings"] if "converge" in w]
    gib = {key: round(value / 1024**3, 2) for key, value in peaks.items()}
    assert peaks["pss"] <= 4 * 1024**3, f"peak {gib}"
    print(f"standard-v1 on 1,000,000 cases: {seconds:.0f} s, peak memory (GiB) {gib}")
