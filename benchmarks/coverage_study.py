"""Simulation study: bias and 95% CI coverage of AIPW on synthetic case records.

Draws R independent synthetic case files of n cases, estimates the ATE of every
technique on conviction with AIPW (5-fold cross-fitting, logistic nuisances,
influence-function SEs) and compares with the scenario's population ATE. Prints
coverage, mean bias, rejection rate at 5% and their Monte Carlo standard errors. The
study itself is :mod:`techeval.simulate.study`, which the slow test runs too.

Targets (issue 4): default scenario — coverage within 93–97% and |mean bias| < 0.01
for every technique; ``no_effect`` scenario — rejection rate within 2–8%.

    python benchmarks/coverage_study.py --replications 500 --n 2000 --jobs 2
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from techeval.simulate.study import run_study


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=500)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--scenarios", default="default,no_effect")
    parser.add_argument(
        "--draws-dir", default=None, help="write each scenario's raw draws to DIR/<scenario>.csv"
    )
    args = parser.parse_args()
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    for scenario in args.scenarios.split(","):
        start = time.perf_counter()
        draws_path = None if args.draws_dir is None else f"{args.draws_dir}/{scenario}.csv"
        table = run_study(args.replications, args.n, scenario, args.jobs, draws_path=draws_path)
        elapsed = time.perf_counter() - start
        print(f"\nscenario={scenario}  R={args.replications}  n={args.n}  ({elapsed:.0f} s)")
        shown = table[["technique", "true_ate", "n_replications", "mean_bias", "mean_bias_mcse",
                       "empirical_se", "mean_std_error", "coverage", "coverage_mcse",
                       "rejection_rate", "rejection_rate_mcse"]]  # fmt: skip
        print(shown.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        band = 3 * np.sqrt(0.05 * 0.95 / args.replications)
        print(f"coverage band 0.95 ± 3·MCSE = [{0.95 - band:.3f}, {0.95 + band:.3f}]")


if __name__ == "__main__":
    main()
