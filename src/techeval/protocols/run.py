"""The protocol runner: case records → estimators → synthesis → disclosure → grades → files.

:func:`run_protocol` validates the case file (keeping the set-aside ledger), plans every
estimator call the protocol asks for (:mod:`techeval.protocols.plan`), executes the plan
(:mod:`techeval.protocols.execute`), synthesises (:mod:`techeval.synthesis`), applies
disclosure control, grades the evidence and assembles the result document
(:mod:`techeval.protocols.document`) in a :class:`RunOutcome`. :func:`write_outputs`
(:mod:`techeval.protocols.write`) writes it to a folder atomically. Nothing here formats
a report: reports read ``result.json``.

The result file is a stable contract (``docs/result-schema.md``): the same data,
protocol, seed and techeval version give a byte-identical ``result.json``. Run times
go to ``run.log``, never into the result.
"""

from __future__ import annotations

import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from techeval._version import __version__
from techeval.errors import ArgumentError
from techeval.protocols.document import (
    RESULT_SCHEMA,
    RunOutcome,
    data_sha256,
    estimators_section,
    order_rows,
    report_frames,
    serialise,
    set_aside_ledger,
    year_span,
)
from techeval.protocols.execute import Progress, check_backend, execute, release_memory
from techeval.protocols.model import LoadedProtocol, load_protocol
from techeval.protocols.plan import check_columns, inference_for_size, label, plan_tasks
from techeval.protocols.write import write_outputs
from techeval.results import EffectResult, canonical_value
from techeval.results.disclosure import apply_disclosure_control, scrub_text
from techeval.synthesis import synthesise
from techeval.synthesis.grades import grade_techniques

__all__ = ["RunOutcome", "run_protocol", "write_outputs"]


def run_protocol(
    protocol: str | Path | LoadedProtocol,
    cases: str | Path,
    *,
    seed: int | None = None,
    backend: str | None = None,
    progress: Progress | None = None,
) -> RunOutcome:
    """Run a protocol on a case file.

    Parameters
    ----------
    protocol
        A protocol file, a shipped protocol's name (``"standard-v1"``) or a
        :class:`~techeval.protocols.model.LoadedProtocol`.
    cases
        Case file or database URL (anything :func:`techeval.cases.load_cases` reads).
    seed
        Overrides the protocol's ``inference.seed``.
    backend
        ``"local"`` (joblib loky processes), ``"dask"`` (a dask.distributed
        LocalCluster of ``inference.n_jobs`` workers) or ``"dask:ADDRESS"`` (an existing
        cluster); ``None`` takes the protocol's ``inference.backend``. The numbers do
        not depend on it: every task has its own seed.
    progress
        Called as ``progress(label, done, total)`` before each step and at the end.

    Returns
    -------
    RunOutcome

    Raises
    ------
    ProtocolError
        For an invalid protocol, an unavailable estimator or a column the data lack.
    CaseFileError
        For an unusable case file.

    Notes
    -----
    Steps: validate the case file (rows set aside are counted by column and rule);
    plan, for each technique, every estimator call the protocol asks for and its
    subgroup effects (:func:`techeval.protocols.plan.plan_tasks`, each call seeded by
    :func:`~techeval.protocols.plan.derive_seed`); execute them on the technique's
    comparison cases (:func:`techeval.cases.comparison_frame`,
    :func:`techeval.protocols.execute.execute`); synthesise
    (:func:`techeval.synthesis.synthesise`: the witness-protection programme model);
    disclosure control (:mod:`techeval.results.disclosure`); evidence grades
    (:mod:`techeval.synthesis.grades`); the result document
    (:mod:`techeval.protocols.document`). An estimator that cannot estimate from these
    data (e.g. no events in one arm) adds a warning to the result, never a number.
    """
    from techeval.cases import comparison_frame, load_cases

    started = time.perf_counter()
    loaded = protocol if isinstance(protocol, LoadedProtocol) else load_protocol(protocol)
    spec = loaded.protocol
    backend = check_backend(spec.inference.backend if backend is None else backend)
    run_seed = spec.inference.seed if seed is None else int(seed)
    if run_seed < 0:
        raise ArgumentError(f"the seed must be a whole number >= 0, got {run_seed}")
    log = [
        f"techeval {__version__} on Python {platform.python_version()} "
        f"(numpy {np.__version__}, pandas {pd.__version__})",
        f"protocol {spec.name} {spec.version} from {loaded.path} (sha256 {loaded.sha256})",
    ]

    # ---- validate
    tick = time.perf_counter()
    if progress:
        progress("validating the case file", 0, 1)
    report = load_cases(cases, columns=spec.columns, aliases=spec.aliases)
    data_hash = data_sha256(cases, report.cases)
    check_columns(spec, report.cases, str(loaded.path))
    timings = {"validation": time.perf_counter() - tick}
    log.append(
        f"data sha256 {data_hash}: rows in {report.rows_in:,} = used {report.rows_used:,} "
        f"+ set aside {report.rows_set_aside:,}"
    )

    # ---- plan
    # the estimators never need the case ID or the raw technique list (the technique
    # columns hold it): leaving both out keeps IDs out of every estimator (and worker
    # process), and each worker's copy of the cases smaller
    named = {*spec.covariates, *spec.outcomes, *spec.subgroups.by}
    unused = [c for c in ("case_id", "techniques") if c in report.cases.columns and c not in named]
    analysed = report.cases.drop(columns=unused)
    frames = {t: comparison_frame(analysed, t, spec.comparator) for t in spec.techniques}
    release_memory()  # what reading the file needed, before the estimators need theirs
    limit = spec.inference.bootstrap_max_n
    tasks = [
        inference_for_size(t, len(frames[t.technique]), limit) for t in plan_tasks(spec, run_seed)
    ]
    # ---- execute
    tick = time.perf_counter()
    if progress:
        progress("estimating", 0, len(tasks))
    outputs = execute(
        tasks, frames, backend=backend, n_jobs=spec.inference.n_jobs, progress=progress
    )
    collected: list[tuple[tuple, EffectResult]] = []
    estimator_frames: list[tuple[str, str, str, pd.DataFrame]] = []
    warnings: list[str] = []
    for task, output in zip(tasks, outputs, strict=True):
        collected.extend(output.rows)
        for name, parts in output.frames.items():
            estimator_frames += [(name, task.technique, task.name, p) for p in parts]
        if output.warning:
            warnings.append(output.warning)
        timings[label(task)] = output.seconds
    timings[f"estimation ({backend}, wall clock)"] = time.perf_counter() - tick
    if progress:
        progress("synthesis, disclosure control and grades", 0, 1)

    # ---- synthesise
    synthesis = synthesise(
        [result for _, result in collected],
        report.cases,
        techniques=spec.techniques,
        programme=spec.witness_programme,
        values=spec.economics.monetary_values().expected(),
        currency=spec.economics.currency,
        ci_level=spec.inference.ci_level,
    )
    # synthesis rows come after every estimator of the protocol
    after = len(spec.estimators)
    collected += [((r.technique, after, r.estimator), r) for r in synthesis.rows]
    warnings += synthesis.warnings

    # ---- disclose, grade, document
    ordered = order_rows(collected, spec.techniques)
    originals = [result for _, result in ordered]
    min_cell = spec.disclosure.min_cell
    published = apply_disclosure_control(originals, min_cell=min_cell)
    rows = [
        serialise(result, name, min_cell)
        for (name, _), result in zip(ordered, published, strict=True)
    ]
    grades = grade_techniques(rows, techniques=spec.techniques, outcome=spec.outcomes[0])
    set_aside = set_aside_ledger(report)
    elapsed = time.perf_counter() - started
    document = {
        "schema": RESULT_SCHEMA,
        "techeval_version": __version__,
        "protocol": {"name": spec.name, "version": spec.version, "sha256": loaded.sha256},
        "data": {
            "sha256": data_hash,
            "rows_in": report.rows_in,
            "rows_used": report.rows_used,
            "rows_set_aside": report.rows_set_aside,
            "set_aside": set_aside.to_dict(orient="records"),
            "years": year_span(report.cases),
        },
        "seed": run_seed,
        "settings": {
            "techniques": list(spec.techniques),
            "comparator": spec.comparator,
            "covariates": list(spec.covariates),
            "outcomes": list(spec.outcomes),
            "subgroups": list(spec.subgroups.by),
            "inference_method": spec.inference.method,
            "n_bootstrap": spec.inference.n_bootstrap,
            "bootstrap_max_n": spec.inference.bootstrap_max_n,
            "ci_level": spec.inference.ci_level,
            "min_cell": min_cell,
            "currency": spec.economics.currency,
        },
        "results": rows,
        "estimators": estimators_section(rows, synthesis.descriptions),
        "grades": grades,
        "warnings": [scrub_text(w, min_cell=min_cell) for w in warnings],
    }
    document = canonical_value(document)
    out_frames = report_frames(estimator_frames, synthesis.frames, originals, published, min_cell)
    for step, seconds in timings.items():
        log.append(f"{seconds:8.2f} s  {step}")
    log.append(f"{elapsed:8.2f} s  total")
    return RunOutcome(
        document=document,
        frames=out_frames,
        set_aside=set_aside,
        log=tuple(log),
        elapsed=elapsed,
        protocol_text=loaded.text,
    )
