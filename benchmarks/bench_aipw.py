"""Benchmark: AIPW on a million cases, and techeval against DoWhy on 100,000.

1. AIPW (5-fold cross-fitting, penalised logistic nuisances with splines,
   influence-function SEs) for one technique on 1,000,000 cases with 10 covariates
   (5 continuous, 2 categorical, 2 binary, 1 count). Target: <= 60 s and <= 4 GB peak
   memory on a 2-core machine (a later issue: <= 15 s).
2. The same data-generating process at 100,000 cases: techeval's AIPW and IPW (each with
   a 95% CI) against DoWhy's ``backdoor.propensity_score_weighting`` with its default
   (bootstrap) confidence interval. Accuracy is the absolute error against the
   population ATE. DoWhy is optional (``pip install 'techeval[bench]'``); without it
   the comparison is skipped with a message.

    python benchmarks/bench_aipw.py [--n 1000000] [--n-dowhy 100000] [--skip-dowhy]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd
from scipy.special import expit

from techeval.estimators.outcome import AIPW, IPW

COVARIATES = ["x1", "x2", "x3", "x4", "x5", "region", "offence", "b1", "b2", "k1"]


def simulate(n: int, seed: int) -> tuple[pd.DataFrame, float]:
    """Confounded binary treatment and outcome; returns the frame and the population ATE."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    region = rng.integers(0, 8, n)
    offence = rng.integers(0, 4, n)
    b = rng.random((n, 2)) < 0.3
    k1 = rng.poisson(2.0, n)
    severity = (
        0.6 * x[:, 0] + 0.4 * x[:, 1] ** 2 - 0.4 + 0.3 * b[:, 0] + 0.1 * k1 + 0.2 * (offence == 1)
    )
    treated = rng.random(n) < expit(-0.5 + severity + 0.1 * (region - 4) * 0.2)
    base = -0.2 - 0.5 * severity + 0.3 * x[:, 2] + 0.2 * b[:, 1]
    y = rng.random(n) < expit(base + 0.5 * treated)
    frame = pd.DataFrame(x, columns=["x1", "x2", "x3", "x4", "x5"])
    frame["region"] = pd.Series([f"R{r}" for r in range(8)], dtype="string").to_numpy()[region]
    frame["offence"] = np.array(["drugs", "fraud", "arms", "other"], dtype=object)[offence]
    frame["b1"], frame["b2"], frame["k1"] = b[:, 0], b[:, 1], k1
    frame["t"], frame["y"] = treated, y.astype(int)
    ate = float(np.mean(expit(base + 0.5) - expit(base)))
    return frame, ate


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def timed(label, estimator, frame, truth):
    start = time.perf_counter()
    result = estimator.fit(frame, treatment="t", outcome="y", covariates=COVARIATES).result_
    seconds = time.perf_counter() - start
    return {
        "method": label, "n": len(frame), "seconds": seconds, "estimate": result.estimate,
        "ci_low": result.ci_low, "ci_high": result.ci_high, "abs_error": abs(result.estimate - truth),
        "covers": result.ci_low <= truth <= result.ci_high,
    }  # fmt: skip


def dowhy_row(frame: pd.DataFrame, truth: float) -> dict | None:
    try:
        from dowhy import CausalModel
    except ImportError:
        print("DoWhy is not installed (pip install 'techeval[bench]'): comparison skipped")
        return None
    import logging

    logging.getLogger("dowhy").setLevel(logging.ERROR)
    start = time.perf_counter()
    model = CausalModel(data=frame, treatment="t", outcome="y", common_causes=COVARIATES)
    estimand = model.identify_effect(proceed_when_unidentifiable=True)
    estimate = model.estimate_effect(
        estimand,
        method_name="backdoor.propensity_score_weighting",
        method_params={"weighting_scheme": "ips_weight"},
        confidence_intervals=True,
    )
    low, high = np.asarray(estimate.get_confidence_intervals(), dtype=float).ravel()[:2]
    seconds = time.perf_counter() - start
    return {
        "method": "dowhy psw (bootstrap CI)", "n": len(frame), "seconds": seconds,
        "estimate": float(estimate.value), "ci_low": low, "ci_high": high,
        "abs_error": abs(float(estimate.value) - truth), "covers": low <= truth <= high,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--n-dowhy", type=int, default=100_000)
    parser.add_argument("--skip-dowhy", action="store_true")
    args = parser.parse_args()
    pd.set_option("display.width", 200)

    frame, truth = simulate(args.n, seed=1)
    print(f"data: {len(frame):,} rows, {len(COVARIATES)} covariates, true ATE {truth:.4f}, "
          f"peak RSS after simulation {peak_rss_gb():.2f} GB")  # fmt: skip
    row = timed("techeval aipw (5 folds, IF SE)", AIPW(random_state=0), frame, truth)
    row["peak_rss_gb"] = peak_rss_gb()
    print(pd.DataFrame([row]).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    del frame

    if args.skip_dowhy:
        return
    small, truth = simulate(args.n_dowhy, seed=2)
    rows = [
        timed("techeval aipw (5 folds, IF SE)", AIPW(random_state=0), small, truth),
        timed("techeval ipw (IF SE)", IPW(random_state=0), small, truth),
    ]
    dowhy = dowhy_row(small, truth)
    if dowhy is not None:
        rows.append(dowhy)
    table = pd.DataFrame(rows)
    print(f"\n{args.n_dowhy:,} cases, true ATE {truth:.4f}")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if dowhy is not None:
        for label in table.method[:2]:
            speedup = dowhy["seconds"] / table.loc[table.method == label, "seconds"].item()
            print(f"{label}: {speedup:.1f}x faster than DoWhy")


if __name__ == "__main__":
    main()
