"""Benchmark: the benefit–cost Monte Carlo for four techniques, and one full cost.benefit fit.

Target (issue 5): 10,000 Monte Carlo draws for each of four techniques in under 10 s on
a 2-core machine. The Monte Carlo runs on the joint bootstrap covariance of the
estimated effects, so its cost does not depend on the number of cases; the bootstrap
that produces that covariance is timed separately (it scales with cases × replicates).

Run: ``.venv/bin/python benchmarks/bench_benefit_cost.py``. Prints a table and exits.
"""

from __future__ import annotations

import time

import numpy as np

from techeval.economics import DEFAULT_MONETARY_VALUES, simulate_benefit_cost
from techeval.simulate import SYNTHETIC_COVARIATES, generate_cases

TECHNIQUES = ("electronic_surveillance", "undercover", "controlled_delivery", "witness_protection")
COVARIATES = list(SYNTHETIC_COVARIATES)


def monte_carlo_only(n_draws: int = 10_000) -> float:
    rng = np.random.default_rng(0)
    names = [
        "incremental_cost",
        "conviction",
        "high_level_conviction",
        "group_disrupted",
        "assets_seized",
        "witness_offences",
        "harm_cost",
    ]
    start = time.perf_counter()
    for k, _ in enumerate(TECHNIQUES):
        estimates = dict(zip(names, [1e5, 0.05, 0.06, 0.03, 9e3, 0.003, 2e3], strict=True))
        a = rng.normal(size=(len(names), len(names)))
        covariance = a @ a.T * 1e-6 + np.diag([4e3, 0.01, 0.01, 0.01, 8e3, 0.005, 1e3]) ** 2
        simulate_benefit_cost(
            estimates, covariance, DEFAULT_MONETARY_VALUES, n_draws=n_draws, random_state=k
        )
    return time.perf_counter() - start


def full_fit(n_cases: int = 3000, n_bootstrap: int = 50, n_draws: int = 10_000) -> float:
    from techeval.cases import validate_frame
    from techeval.estimators.cost import BenefitCost

    cases = validate_frame(generate_cases(n_cases, seed=1).cases).cases
    start = time.perf_counter()
    for technique in TECHNIQUES:
        BenefitCost(n_bootstrap=n_bootstrap, n_draws=n_draws, random_state=0, n_jobs=2).fit(
            cases, treatment=technique, covariates=COVARIATES
        )
    return time.perf_counter() - start


if __name__ == "__main__":
    rows = [
        ("Monte Carlo, 10,000 draws x 4 techniques", monte_carlo_only(), "< 10 s"),
        ("cost.benefit fit, 3,000 cases, 50 bootstrap, 10,000 draws x 4", full_fit(), "-"),
    ]
    print(f"{'task':<66} {'seconds':>8}  target")
    for task, seconds, target in rows:
        print(f"{task:<66} {seconds:>8.2f}  {target}")
