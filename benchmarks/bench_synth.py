"""Time the synthetic case generator and writers, step by step; print a table and exit.

Run with ``.venv/bin/python benchmarks/bench_synth.py [n ...]`` (default 20,000,
200,000 and 1,000,000 cases). Not a test. Issue #10's target is ``techeval synth --n
1000000`` in at most 10 s including start-up; ``benchmarks/run.py`` times that command
in a fresh process, this script shows where the time goes. ``cpu`` is user + system
time of this process (steadier than wall time on a shared machine); ``MB`` the size of
the file written. The population truth is computed once per process and scenario
(1,000,000 fixed draws) and shown on its own line.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from techeval.simulate import generate_cases, population_truth, write_cases


def _timed(action: Callable[[], Any]) -> tuple[Any, float, float]:
    """The result of ``action()`` with its wall and CPU (user + system) seconds."""
    start_wall, start_cpu = time.perf_counter(), sum(os.times()[:2])
    result = action()
    return result, time.perf_counter() - start_wall, sum(os.times()[:2]) - start_cpu


def main(sizes: list[int]) -> None:
    _, wall, cpu = _timed(lambda: population_truth("default"))
    print(f"population truth (first call per process): wall {wall:.2f} s, cpu {cpu:.2f} s\n")
    print(f"{'n':>10} {'step':<14} {'wall s':>7} {'cpu s':>7} {'MB':>7}")
    with tempfile.TemporaryDirectory() as folder:
        csv, parquet, truth = (Path(folder) / name for name in ("c.csv", "c.parquet", "t.json"))
        for n in sizes:
            synthetic, wall, cpu = _timed(lambda n=n: generate_cases(n, seed=1))
            print(f"{n:>10,} {'generate':<14} {wall:>7.2f} {cpu:>7.2f}")
            for step, out, truth_out in (
                ("write csv", csv, truth),
                ("write parquet", parquet, None),
            ):
                _, wall, cpu = _timed(lambda: write_cases(synthetic, out, truth_out))  # noqa: B023
                print(
                    f"{n:>10,} {step:<14} {wall:>7.2f} {cpu:>7.2f} {out.stat().st_size / 1e6:7.1f}"
                )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [20_000, 200_000, 1_000_000])
