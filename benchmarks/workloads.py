"""The measured work behind ``benchmarks/run.py``: one function per library comparison.

Each workload runs in a fresh interpreter started by the runner (so that one row's
imports, caches and memory never leak into the next), reads the analysis data the
runner prepared, times only the estimation and writes one JSON object to ``--result``.
The runner measures the child's wall time and peak memory from outside.

    python benchmarks/workloads.py prepare --n 100000 --seed 2 --out data.parquet --result facts.json
    python benchmarks/workloads.py techeval_aipw --data data.parquet --result out.json
    python benchmarks/workloads.py techeval_ipw --data data.parquet --result out.json
    python benchmarks/workloads.py econml_drlearner --data data.parquet --result out.json
    python benchmarks/workloads.py dowhy_psw --data data.parquet --result out.json
    python benchmarks/workloads.py benefit_cost --draws 10000 --result out.json

The data are synthetic case records (:mod:`techeval.simulate`, scenario ``default``),
validated like a real case file, reduced to one technique, the derived outcome
``conviction`` and the synthetic data's adjustment set (8 covariates: 3 text, 5
numeric). The truth is the scenario's population ATE
(:func:`techeval.simulate.population_truth`).

DoWhy and EconML are optional (``pip install -e '.[bench]'``, best in a separate
environment such as ``.venv-bench``); each is imported only by its own workload.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
# Run as a script, this folder comes first on sys.path: keep it off, so that no file here
# can shadow an installed package (numba, an EconML dependency, imports `coverage`).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

#: The technique whose effect on conviction every comparison estimates.
TECHNIQUE = "undercover"
OUTCOME = "conviction"
#: 95% intervals everywhere.
CI_LEVEL = 0.95
#: The issue: DoWhy's bootstrap CI with 100 simulations.
DOWHY_BOOTSTRAP_SIMULATIONS = 100
#: techeval's AIPW default (5 folds); EconML is given the same number.
FOLDS = 5


def _covariates() -> list[str]:
    from techeval.simulate import SYNTHETIC_COVARIATES

    return list(SYNTHETIC_COVARIATES)


def prepare(n: int, seed: int, out: Path) -> dict[str, Any]:
    """Write the analysis table (treatment, outcome, covariates) and return its facts.

    Numbers are stored as int64 and text as strings, with treatment and outcome as 0/1,
    so every library reads the same values without conversions of its own.
    """
    import numpy as np
    import pandas as pd

    from techeval.cases import validate_frame
    from techeval.simulate import generate_cases, population_truth

    covariates = _covariates()
    report = validate_frame(generate_cases(n, seed=seed).cases, source="synthetic")
    cases = report.cases
    table = pd.DataFrame(
        {
            column: cases[column].to_numpy(dtype=np.int64)
            if pd.api.types.is_numeric_dtype(cases[column].dtype)
            else cases[column].astype("string").to_numpy(dtype=object)
            for column in covariates
        }
    )
    table[TECHNIQUE] = cases[TECHNIQUE].to_numpy(dtype=np.int64)
    table[OUTCOME] = cases[OUTCOME].to_numpy(dtype=np.int64)
    table.to_parquet(out, index=False)
    truth = population_truth("default")[TECHNIQUE][OUTCOME]["ate"]
    return {
        "rows": len(table),
        "rows_set_aside": report.rows_set_aside,
        "treated_share": float(table[TECHNIQUE].mean()),
        "truth": float(truth),
        "technique": TECHNIQUE,
        "outcome": OUTCOME,
        "covariates": covariates,
    }


def _read(data: Path):
    import pandas as pd

    frame = pd.read_parquet(data)
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column].dtype):
            frame[column] = frame[column].astype("string")
    return frame


def _summary(estimate: float, low: float, high: float, seconds: float) -> dict[str, Any]:
    return {
        "seconds": seconds,
        "estimate": float(estimate),
        "ci_low": float(low),
        "ci_high": float(high),
    }


def _techeval(data: Path, method: str) -> dict[str, Any]:
    # techeval imports its statistical stack and its registered estimators on first
    # use; load them before the clock starts, as the other libraries are imported first
    from techeval.effect import estimate_effect
    from techeval.estimators.registry import available_estimators

    available_estimators()

    frame = _read(data)
    start = time.perf_counter()
    result = estimate_effect(
        frame,
        treatment=TECHNIQUE,
        outcome=OUTCOME,
        covariates=_covariates(),
        method=method,
        random_state=0,
    )
    seconds = time.perf_counter() - start
    return {
        **_summary(result.estimate, result.ci_low, result.ci_high, seconds),
        "method": f"techeval {result.method}",
        "version": _version("techeval"),
    }


def techeval_aipw(data: Path) -> dict[str, Any]:
    """techeval's default: AIPW, 5-fold cross-fitting, influence-function 95% CI."""
    return _techeval(data, "aipw")


def techeval_ipw(data: Path) -> dict[str, Any]:
    """techeval's IPW (DoWhy's method), with its influence-function 95% CI."""
    return _techeval(data, "ipw")


def econml_drlearner(data: Path) -> dict[str, Any]:
    """EconML's ``LinearDRLearner`` with ``ate_inference()`` on techeval's nuisance design.

    EconML gets exactly the design matrix techeval's AIPW builds (text one-hot encoded,
    numbers as cubic B-splines with knots at quantiles, standardised; building it is
    timed), logistic propensity and outcome models with techeval's penalties and
    solver, 5-fold cross-fitting and the same propensity clip (0.01), so the two
    estimators differ only in their machinery. BLAS is held to one thread, as inside
    techeval's estimators.
    """
    import numpy as np
    from econml.dr import LinearDRLearner
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    from techeval.estimators._nuisance import build_design

    frame = _read(data)

    def logistic(l2_penalty: float) -> LogisticRegression:
        # techeval's GLM for a binary target (C = 1 / l2_penalty)
        return LogisticRegression(
            C=1.0 / l2_penalty, solver="newton-cholesky", max_iter=200, tol=1e-8
        )

    start = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):
        design = build_design(frame[_covariates()], spline_knots=5, drop_first=True).matrix
        learner = LinearDRLearner(
            model_propensity=logistic(30.0),
            model_regression=logistic(1.0),
            discrete_outcome=True,
            cv=FOLDS,
            min_propensity=0.01,
            random_state=0,
        )
        learner.fit(frame[OUTCOME].to_numpy(), frame[TECHNIQUE].to_numpy(), X=None, W=design)
        inference = learner.ate_inference()
        low, high = np.ravel(inference.conf_int_mean(alpha=1 - CI_LEVEL))[:2]
        estimate = float(np.ravel(inference.mean_point)[0])
    seconds = time.perf_counter() - start
    return {
        **_summary(estimate, low, high, seconds),
        "method": f"econml LinearDRLearner (cv={FOLDS}), ate_inference",
        "version": _version("econml"),
        "design_columns": int(design.shape[1]),
    }


def dowhy_psw(data: Path) -> dict[str, Any]:
    """DoWhy's propensity-score weighting with its bootstrap 95% CI (100 simulations).

    Measured at its best: raw text columns (DoWhy one-hot encodes them itself) and an
    explicit, well-conditioned propensity model (standardised inputs, logistic
    regression with a Newton solver) instead of DoWhy's default ``LogisticRegression()``
    on unscaled columns, which needs many more iterations. BLAS is held to one thread.
    """
    import logging

    import numpy as np
    from dowhy import CausalModel
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    logging.getLogger("dowhy").setLevel(logging.ERROR)
    frame = _read(data)
    start = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):
        model = CausalModel(
            data=frame, treatment=TECHNIQUE, outcome=OUTCOME, common_causes=_covariates()
        )
        estimand = model.identify_effect(proceed_when_unidentifiable=True)
        estimate = model.estimate_effect(
            estimand,
            method_name="backdoor.propensity_score_weighting",
            method_params={
                "weighting_scheme": "ips_weight",
                "propensity_score_model": make_pipeline(
                    StandardScaler(), LogisticRegression(solver="newton-cholesky", max_iter=200)
                ),
                "num_simulations": DOWHY_BOOTSTRAP_SIMULATIONS,
            },
            confidence_intervals=True,
            target_units="ate",
        )
        low, high = np.asarray(
            estimate.get_confidence_intervals(confidence_level=CI_LEVEL), dtype=float
        ).ravel()[:2]
    seconds = time.perf_counter() - start
    return {
        **_summary(estimate.value, low, high, seconds),
        "method": (
            "dowhy backdoor.propensity_score_weighting (ips_weight), "
            f"bootstrap CI ({DOWHY_BOOTSTRAP_SIMULATIONS} simulations)"
        ),
        "version": _version("dowhy"),
    }


def benefit_cost(draws: int) -> dict[str, Any]:
    """The benefit–cost Monte Carlo, ``draws`` × 4 techniques (``bench_benefit_cost``)."""
    import importlib.util

    path = _HERE / "bench_benefit_cost.py"
    spec = importlib.util.spec_from_file_location("bench_benefit_cost", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {"seconds": module.monte_carlo_only(draws), "draws": draws, "techniques": 4}


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


WORKLOADS: dict[str, Callable[..., dict[str, Any]]] = {
    "techeval_aipw": techeval_aipw,
    "techeval_ipw": techeval_ipw,
    "econml_drlearner": econml_drlearner,
    "dowhy_psw": dowhy_psw,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=["prepare", "benefit_cost", *WORKLOADS])
    parser.add_argument("--data", type=Path, help="analysis table written by 'prepare'")
    parser.add_argument("--out", type=Path, help="prepare: where to write the table")
    parser.add_argument("--n", type=int, default=100_000, help="prepare: number of cases")
    parser.add_argument("--seed", type=int, default=1, help="prepare: synthetic data seed")
    parser.add_argument("--draws", type=int, default=10_000, help="benefit_cost: draws")
    parser.add_argument("--result", type=Path, required=True, help="JSON file to write")
    args = parser.parse_args(argv)
    if args.workload == "prepare":
        if args.out is None:
            parser.error("prepare needs --out")
        result = prepare(args.n, args.seed, args.out)
    elif args.workload == "benefit_cost":
        result = benefit_cost(args.draws)
    else:
        if args.data is None:
            parser.error(f"{args.workload} needs --data")
        result = WORKLOADS[args.workload](args.data)
    args.result.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
