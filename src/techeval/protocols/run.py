"""The protocol runner: case records → estimators → synthesis → grades → disclosure → files.

:func:`run_protocol` validates the case file (keeping the set-aside ledger), runs every
estimator the protocol names for every technique, synthesises (benefit–cost, the
witness-protection programme model), applies disclosure control, grades the evidence
and returns a :class:`RunOutcome`. :func:`write_outputs` writes it to a folder
atomically. Nothing here formats a report: reports read ``result.json``.

The result file is a stable contract (``docs/result-schema.md``): the same data,
protocol, seed and techeval version give a byte-identical ``result.json``. Run times
go to ``run.log``, never into the result.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import platform
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from techeval import __version__
from techeval.errors import ArgumentError, EstimatorError, ProtocolError
from techeval.estimators.base import Tags
from techeval.protocols.grades import grade_techniques
from techeval.protocols.model import LoadedProtocol, Protocol, load_protocol
from techeval.results import EffectResult, canonical_json, canonical_value
from techeval.results.disclosure import apply_disclosure_control, scrub_text

__all__ = [
    "RESULT_SCHEMA",
    "RunOutcome",
    "check_backend",
    "check_formats",
    "check_output_folder",
    "run_protocol",
    "staged_folder",
    "write_outputs",
]

#: Identifier of the result-file format (``docs/result-schema.md``).
RESULT_SCHEMA = "techeval.result/1"

_ALL_FORMATS = ("json", "html", "md", "pdf")

_FAMILY_ORDER = ("outcome", "cost", "harm", "synthesis")

Progress = Callable[[str, int, int], None]


# ---- options checked before any work ---------------------------------------------------


def check_formats(formats: Sequence[str]) -> tuple[str, ...]:
    """The requested output formats (``json`` is always written: reports render from it).

    Raises
    ------
    ArgumentError
        For an unknown format.
    """
    chosen = tuple(dict.fromkeys(f.strip().lower() for f in formats if f.strip()))
    unknown = [f for f in chosen if f not in _ALL_FORMATS]
    if unknown:
        raise ArgumentError(
            f"unknown output format(s): {', '.join(unknown)}",
            hint=f"Use one or more of {', '.join(_ALL_FORMATS)}, separated by commas",
        )
    return ("json", *(f for f in chosen if f != "json"))


def check_backend(backend: str) -> str:
    """``local`` (joblib's loky processes), ``dask`` (a local dask cluster) or ``dask:ADDRESS``.

    Raises
    ------
    ArgumentError
        For an unknown back-end, or ``dask`` when ``dask.distributed`` is not installed.
    """
    name, colon, address = backend.strip().partition(":")
    name = name.lower()
    if name == "local" and not colon:
        return name
    if name == "dask":
        if colon and not address.strip():
            raise ArgumentError(
                "--backend dask: needs a scheduler address after the colon",
                hint="Use dask:tcp://HOST:8786, or plain dask for a local cluster",
            )
        import importlib.util

        if importlib.util.find_spec("distributed") is None:
            raise ArgumentError(
                "the dask back-end needs dask.distributed, which is not installed",
                hint='Install it with: pip install "techeval[dask]"',
            )
        return f"dask:{address.strip()}" if colon else "dask"
    raise ArgumentError(
        f"unknown back-end {backend!r}",
        hint="Use local, dask (a local cluster) or dask:tcp://HOST:PORT (an existing one)",
    )


def check_output_folder(out: str | Path, *, overwrite: bool) -> Path:
    """The output folder, refusing paths techeval should not write to.

    Refused: a path with a ``..`` part; a path that is, or passes through, a symbolic
    link (techeval writes, and with ``overwrite`` replaces, only where the path says,
    never where a link leads); an existing file; an existing non-empty folder unless
    ``overwrite``. The messages give the real path to use instead.

    Raises
    ------
    ArgumentError
        For any of the above, naming the path.
    """
    path = Path(out)
    absolute = Path(os.path.abspath(path))  # abspath removes ".." lexically
    if ".." in path.parts:
        raise ArgumentError(
            "the output path goes through '..', so it may lead outside the folder it names",
            where=str(path),
            hint=f"Give the folder without '..', e.g. --out {absolute}",
        )
    current = Path(absolute.anchor)
    for part in absolute.parts[1:]:
        current = current / part
        if current.is_symlink():
            raise ArgumentError(
                f"the output path goes through a symbolic link ({current} -> "
                f"{os.readlink(current)}); techeval writes only where the path says",
                where=str(path),
                hint=f"Give the real folder instead: --out {os.path.realpath(absolute)}",
            )
        if not current.exists():
            break
    if path.exists() and not path.is_dir():
        raise ArgumentError("the output path exists and is not a folder", where=str(path))
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise ArgumentError(
            "the output folder exists and is not empty",
            where=str(path),
            hint="Choose another --out folder, or add --overwrite to replace its contents",
        )
    return path


# ---- the run ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RunOutcome:
    """Everything a run produced, ready to be written.

    Attributes
    ----------
    document
        The result document (``result.json``), JSON-ready.
    frames
        Small aggregated, disclosure-controlled tables for the reports
        (``frames/<name>.csv``).
    set_aside
        Set-aside ledger: counts by column and rule.
    log
        Lines of ``run.log`` (timings, versions; no case data).
    elapsed
        Run time in seconds.
    protocol_text
        The protocol file as run (written beside the result as ``protocol.yaml``).
    """

    document: dict[str, Any]
    frames: dict[str, pd.DataFrame]
    set_aside: pd.DataFrame
    log: tuple[str, ...]
    elapsed: float
    protocol_text: str = ""


@dataclass
class _Task:
    technique: str
    spec_index: int
    name: str
    params: dict[str, Any]
    fit: dict[str, Any]
    subgroup_by: str | None = None
    min_cases: int = 20


@dataclass
class _Collected:
    rows: list[tuple[tuple, EffectResult]] = field(default_factory=list)
    frames: dict[str, list[pd.DataFrame]] = field(default_factory=dict)
    #: estimators' ``frames_``: (frame name, technique, estimator, table), in task order
    estimator_frames: list[tuple[str, str, str, pd.DataFrame]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def derive_seed(seed: int, key: str) -> int:
    """A 32-bit seed for one estimator call, from the run seed and the call's label.

    Each call's randomness depends only on the run seed and what the call is (technique,
    estimator, outcome, subgroup), so adding or reordering estimators in a protocol never
    changes the numbers of the others.
    """
    digest = hashlib.sha256(f"{int(seed)}|{key}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def _data_sha256(source: str | Path, cases: pd.DataFrame) -> str:
    path = Path(str(source))
    if path.is_file():
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    # a database table or query: hash the analysis table as read
    return hashlib.sha256(cases.to_csv(index=False).encode("utf-8")).hexdigest()


def _check_columns(protocol: Protocol, cases: pd.DataFrame, source: str) -> None:
    columns = set(cases.columns)
    needed: list[tuple[str, str]] = [(c, "covariate") for c in protocol.covariates]
    needed += [(c, "outcome") for c in protocol.outcomes]
    needed += [(c, "subgroup") for c in protocol.subgroups.by]
    needed += [
        (c, "subgroup outcome") for c in protocol.subgroups.outcomes if protocol.subgroups.by
    ]
    from techeval.estimators.registry import get_estimator

    for spec in protocol.estimators:
        if get_estimator(spec.name).tags.roles == "per_outcome":
            needed += [(c, f"{spec.name} outcome") for c in spec.outcomes or ()]
    missing = [(c, role) for c, role in needed if c not in columns]
    if missing:
        listed = ", ".join(f"{c!r} ({role})" for c, role in dict(missing).items())
        raise ProtocolError(
            f"the protocol names column(s) the case data do not have: {listed}",
            where=source,
            hint="Map your column names with the protocol's 'columns' section, or remove "
            "them from the protocol",
        )


def _shared_params(
    tags: Tags, names: Sequence[str], protocol: Protocol, seed: int, key: str
) -> dict[str, Any]:
    inference = protocol.inference
    economics = protocol.economics
    shared: dict[str, Any] = {
        "random_state": derive_seed(seed, key),
        "ci_level": inference.ci_level,
        "n_jobs": inference.n_jobs,
        "n_bootstrap": inference.n_bootstrap,
        "bootstrap_max_n": inference.bootstrap_max_n,
        "n_draws": inference.n_draws,
        "inference": tags.inference_name(inference.method),
        "comparator": protocol.comparator,
        "values": economics.monetary_values(),
        "willingness_to_pay": economics.wtp(),
        "weights": protocol.weights(),
        "unit_costs": economics.unit_costs(),
        # cost.benefit prices offences by protected witnesses itself (the
        # cost_per_witness_offence value); leaving them in the harm costs would count
        # them twice
        "harm_unit_costs": {
            k: v for k, v in economics.unit_costs().items() if k != "witness_offences"
        },
    }
    return {k: v for k, v in shared.items() if k in names}


def _roles(tags: Tags, spec: Any, protocol: Protocol, technique: str) -> list[dict[str, Any]]:
    """The keyword arguments of each ``fit`` call for one protocol entry (from its tags)."""
    role: dict[str, Any] = {"treatment": technique}
    if tags.covariates == "subgroups":
        if protocol.subgroups.by:
            role["covariates"] = list(protocol.subgroups.by)
    elif tags.roles != "treatment_only":
        role["covariates"] = list(protocol.covariates)
    if tags.roles != "per_outcome":
        return [role]
    outcomes = spec.outcomes or tags.default_outcomes or protocol.outcomes
    return [{"treatment": technique, "outcome": o, **role} for o in outcomes]


def _tasks(protocol: Protocol, seed: int) -> list[_Task]:
    from techeval.estimators.registry import get_estimator

    tasks: list[_Task] = []
    for technique in protocol.techniques:
        for index, spec in enumerate(protocol.estimators):
            cls = get_estimator(spec.name)
            tags = cls.tags
            allowed = spec.techniques or tags.techniques or protocol.techniques
            if technique not in allowed:
                continue
            names = cls.param_names()
            for role in _roles(tags, spec, protocol, technique):
                # estimators of one bootstrap group share one seed: the same bootstrap
                # resamples, computed once (techeval.estimators.cost._bootstrap)
                name = tags.bootstrap_group or spec.name
                key = f"{technique}|{name}|{role.get('outcome', '')}"
                params = {**_shared_params(tags, names, protocol, seed, key), **spec.params}
                tasks.append(_Task(technique, index, spec.name, params, role))
        if protocol.subgroups.by:
            name = protocol.subgroups.estimator
            cls = get_estimator(name)
            names = cls.param_names()
            base = next((s.params for s in protocol.estimators if s.name == name), {})
            for outcome in protocol.subgroups.outcomes:
                for by in protocol.subgroups.by:
                    key = f"{technique}|{name}|{outcome}|{by}"
                    params = {**_shared_params(cls.tags, names, protocol, seed, key), **base}
                    spec_index = next(
                        (i for i, s in enumerate(protocol.estimators) if s.name == name),
                        len(protocol.estimators),
                    )
                    tasks.append(
                        _Task(
                            technique,
                            spec_index,
                            name,
                            params,
                            {
                                "treatment": technique,
                                "outcome": outcome,
                                "covariates": list(protocol.covariates),
                            },
                            subgroup_by=by,
                            min_cases=protocol.subgroups.min_cases,
                        )
                    )
    return tasks


def _inference_for_size(task: _Task, n_cases: int, limit: int | None) -> _Task:
    """Influence-function inference instead of a bootstrap above ``limit`` cases.

    Estimators with a ``bootstrap_max_n`` parameter decide themselves (on the cases
    they use); for the others the runner switches ``inference`` here. Each row's
    ``diagnostics.inference`` says which was used.
    """
    if limit is None or n_cases <= limit or "bootstrap_max_n" in task.params:
        return task
    from techeval.estimators.registry import get_estimator

    tags = get_estimator(task.name).tags
    if task.params.get("inference") != tags.inference_name("bootstrap"):
        return task
    analytic = tags.inference_name("influence_function")
    return replace(task, params={**task.params, "inference": analytic})


def _label(task: _Task) -> str:
    outcome = task.fit.get("outcome")
    parts = [task.technique.replace("_", " "), task.name] + ([outcome] if outcome else [])
    if task.subgroup_by:
        parts.append(f"by {task.subgroup_by}")
    return " · ".join(parts)


@dataclass
class _TaskOutput:
    """What one task produced: result rows, report frames, a warning, its run time."""

    rows: list[tuple[tuple, EffectResult]] = field(default_factory=list)
    frames: dict[str, list[pd.DataFrame]] = field(default_factory=dict)
    warning: str | None = None
    seconds: float = 0.0


def _run_task(task: _Task, frame: pd.DataFrame) -> _TaskOutput:
    from techeval.effect import estimate_by_subgroup
    from techeval.estimators.registry import get_estimator

    output = _TaskOutput()
    tick = time.perf_counter()
    cls = get_estimator(task.name)
    estimator = cls(**task.params)
    try:
        if task.subgroup_by is not None:
            results = estimate_by_subgroup(
                estimator, frame, by=task.subgroup_by, min_cases=task.min_cases, **task.fit
            )
        else:
            estimator.fit(frame, **task.fit)
            results = estimator.results_
            for name, table in (getattr(estimator, "frames_", None) or {}).items():
                output.frames.setdefault(name, []).append(table.assign(technique=task.technique))
    except EstimatorError as exc:
        output.warning = f"{_label(task)}: not estimated — {exc.describe()}"
        results = ()
    for result in results:
        output.rows.append(((task.technique, task.spec_index, task.name), result))
    output.seconds = time.perf_counter() - tick
    return output


def _release_memory(*, collect: bool = True) -> None:
    """Hand memory freed by finished work back to the operating system.

    Reading a million cases leaves about half a GB of freed-but-kept memory in the
    C allocator and Arrow's pool, and every finished estimator more; the process keeps
    it as resident memory while the workers (or the next unit) need theirs. Both are
    told to let go: ``malloc_trim`` on glibc (elsewhere a no-op) and Arrow's
    ``release_unused``, after a garbage collection when ``collect`` (0.1 s, so not
    after every unit). The numbers are unaffected.
    """
    import ctypes
    import gc

    if collect:
        gc.collect()
    try:
        import pyarrow

        pyarrow.default_memory_pool().release_unused()
    except ImportError:  # pragma: no cover - pyarrow is a dependency of the readers
        pass
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (AttributeError, OSError):  # not glibc
        pass


def _run_unit(
    unit: Sequence[tuple[int, _Task]],
    frame: pd.DataFrame,
    replicates: Callable[[int, int], None] | None = None,
) -> list[tuple[int, _TaskOutput]]:
    """Run tasks in order in one process (a worker, or the main process).

    ``replicates`` receives every bootstrap replicate the tasks run (progress only; see
    :func:`_forward_replicates`).
    """
    from threadpoolctl import threadpool_limits

    from techeval.estimators._nuisance import shared_nuisance
    from techeval.inference import report_replicates

    # one BLAS thread: on a busy machine oversubscribed BLAS threads collapse; the
    # parallelism is across tasks (and replicates), never inside a matrix product.
    # The unit's estimators share designs and propensity fits (dropped at its end).
    try:
        with threadpool_limits(limits=1), report_replicates(replicates), shared_nuisance():
            return [(index, _run_task(task, frame)) for index, task in unit]
    finally:
        if isinstance(replicates, _SendReplicates):
            replicates.close()
        _release_memory(collect=False)  # an idle worker should not sit on its last peak


def _units(tasks: Sequence[_Task]) -> list[list[int]]:
    """Tasks grouped into units of work, heaviest first.

    A technique's estimators of one bootstrap group (``Tags.bootstrap_group``: its
    ``cost.effectiveness`` and ``cost.benefit``) form one unit, so the second reuses the
    first's bootstrap in the same process; every other task is a unit of its own. Units are independent (each task has its own seed), so their order and
    the worker they run on never change a number.
    """
    from techeval.estimators.registry import get_estimator

    joint: dict[tuple[str, str], list[int]] = {}
    single: list[list[int]] = []
    for index, task in enumerate(tasks):
        group = get_estimator(task.name).tags.bootstrap_group
        if group is not None and task.subgroup_by is None:
            joint.setdefault((task.technique, group), []).append(index)
        else:
            single.append([index])
    return [*joint.values(), *single]


def _execute(
    tasks: Sequence[_Task],
    frames: Mapping[str, pd.DataFrame],
    *,
    backend: str,
    n_jobs: int,
    progress: Progress | None,
) -> list[_TaskOutput]:
    """Run every task, in parallel units on the back-end; outputs in task order."""
    from techeval.inference import replicate_progress

    outputs: list[_TaskOutput | None] = [None] * len(tasks)
    # set by techeval.progress.StepProgress (None when quiet or without a display)
    advance = replicate_progress()
    units = _units(tasks)
    done = 0

    def finished(results: list[tuple[int, _TaskOutput]]) -> None:
        nonlocal done
        for index, output in results:
            outputs[index] = output
            done += 1
            if progress:
                progress(_label(tasks[index]), done, len(tasks))

    if backend == "local" and n_jobs == 1:
        from techeval.estimators._nuisance import shared_nuisance

        # in one process every unit shares designs and propensity fits: the techniques'
        # estimators build the same design (kept until the last unit ends)
        with shared_nuisance():
            for unit in units:
                frame = frames[tasks[unit[0]].technique]
                finished(_run_unit([(i, tasks[i]) for i in unit], frame, advance))
        return outputs  # type: ignore[return-value]

    from joblib import Parallel, delayed

    def sequential(task: _Task) -> _Task:
        # the units are the parallelism: a bootstrap inside one runs in its worker
        if "n_jobs" in task.params:
            return replace(task, params={**task.params, "n_jobs": 1})
        return task

    with (
        _backend(backend, n_jobs) as (workers, client),
        _forward_replicates(advance, client) as replicates,
    ):
        jobs = (
            delayed(_run_unit)(
                [(i, sequential(tasks[i])) for i in unit],
                frames[tasks[unit[0]].technique],
                replicates,
            )
            for unit in units
        )
        # one unit queued per worker (joblib's default queues two): each queued unit
        # holds a pickled copy of the technique's cases in this process
        parallel = Parallel(n_jobs=workers, return_as="generator_unordered", pre_dispatch="n_jobs")
        for results in parallel(jobs):
            finished(results)
    return outputs  # type: ignore[return-value]


@contextmanager
def _forward_replicates(
    advance: Callable[[int, int], None] | None, client: Any
) -> Iterator[Callable[[int, int], None] | None]:
    """A picklable stand-in for ``advance`` that workers call; their calls reach it here.

    Bootstrap replicates run inside the units, in worker processes, where the parent's
    progress callback does not exist. On loky each unit that bootstraps connects to a
    :class:`multiprocessing.connection.Listener` here (authenticated with the process
    key loky workers inherit) and sends ``(done, total)``; a thread per connection
    passes them on. On dask the workers log them as events on a topic this ``client``
    subscribes to, which also works with a remote cluster. The messages carry counts
    only, never data or seeds.
    """
    if advance is None:
        yield None
        return
    if client is not None:
        topic = f"techeval-replicates-{uuid.uuid4().hex}"
        client.subscribe_topic(topic, lambda event: advance(*event[1]))
        try:
            yield _LogReplicates(topic)
        finally:
            client.unsubscribe_topic(topic)
        return
    from multiprocessing import AuthenticationError, current_process
    from multiprocessing.connection import Client, Listener

    authkey = bytes(current_process().authkey)
    readers: list[threading.Thread] = []

    def read(connection: Any, message: tuple[int, int]) -> None:
        show = True
        with connection:
            while True:
                if show:
                    try:
                        advance(*message)
                    except Exception:
                        # keep reading: a worker blocked on a full socket would stall the run
                        logging.getLogger(__name__).exception("the progress display failed")
                        show = False
                try:
                    message = connection.recv()
                except (EOFError, OSError):
                    return  # the unit is finished

    def accept(listener: Listener) -> None:
        while True:
            try:
                connection = listener.accept()
                message = connection.recv()
            except (AuthenticationError, EOFError, OSError):
                continue
            if message is None:  # sent below when every unit has finished
                connection.close()
                return
            reader = threading.Thread(target=read, args=(connection, message), daemon=True)
            reader.start()
            readers.append(reader)

    with Listener(authkey=authkey) as listener:
        accepter = threading.Thread(target=accept, args=(listener,), daemon=True)
        accepter.start()
        try:
            yield _SendReplicates(listener.address)
        finally:
            with Client(listener.address, authkey=authkey) as stop:
                stop.send(None)
            accepter.join()
            # finished units have closed their connections; a unit cut short by an
            # error elsewhere may still run, so do not wait for it long
            for reader in readers:
                reader.join(timeout=5)


class _SendReplicates:
    """Worker side of :func:`_forward_replicates` on loky: ``(done, total)`` to the parent."""

    def __init__(self, address: Any):
        self.address = address
        self._connection: Any = None
        self._broken = False

    def __reduce__(self):
        return (_SendReplicates, (self.address,))

    def __call__(self, done: int, total: int) -> None:
        from multiprocessing import AuthenticationError, current_process
        from multiprocessing.connection import Client

        if self._broken:
            return
        try:
            if self._connection is None:
                authkey = bytes(current_process().authkey)
                self._connection = Client(self.address, authkey=authkey)
            self._connection.send((done, total))
        except (AuthenticationError, EOFError, OSError):
            self._broken = True  # no display to update; the estimation goes on

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class _LogReplicates:
    """Worker side of :func:`_forward_replicates` on dask: ``(done, total)`` as an event."""

    def __init__(self, topic: str):
        self.topic = topic

    def __call__(self, done: int, total: int) -> None:
        from distributed import get_worker

        get_worker().log_event(self.topic, [done, total])


@contextmanager
def _backend(backend: str, n_jobs: int) -> Iterator[tuple[int, Any]]:
    """The joblib back-end the units run on; yields the number of workers and the client.

    ``local``: joblib's loky processes, one BLAS thread each (no client). ``dask``: a
    ``dask.distributed`` LocalCluster of ``n_jobs`` single-threaded worker processes,
    closed at the end; ``dask:ADDRESS``: an existing cluster's scheduler (its workers
    need techeval installed), left running.
    """
    from joblib import parallel_config

    name, _, address = backend.partition(":")
    if name == "local":
        with parallel_config(backend="loky", inner_max_num_threads=1):
            yield n_jobs, None
        return
    client, cluster = _dask_client(address, n_jobs)
    try:
        with parallel_config(backend="dask"):
            yield max(len(client.scheduler_info().get("workers", {})), 1), client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _dask_client(address: str, n_jobs: int):
    """A ``dask.distributed`` client: to ``address``, or to a new LocalCluster."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ArgumentError(
            "the dask back-end needs dask.distributed, which is not installed",
            hint='Install it with: pip install "techeval[dask]"',
        ) from None
    if not address:
        cluster = LocalCluster(
            n_workers=n_jobs,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        return Client(cluster), cluster
    try:
        return Client(address, timeout="10s"), None
    except (OSError, TimeoutError) as exc:
        raise ArgumentError(
            f"cannot reach the dask scheduler at {address}: {exc}",
            hint="Start it with `dask scheduler` (and workers with `dask worker ADDRESS`), "
            "or use --backend dask for a local cluster",
        ) from None


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
    for each technique, the comparison cases (:func:`techeval.effect.comparison_frame`)
    and every estimator the protocol names (seeded by :func:`derive_seed`); subgroup
    effects; the witness-protection programme model; disclosure control
    (:mod:`techeval.protocols.disclosure`); evidence grades
    (:mod:`techeval.protocols.grades`). An estimator that cannot estimate from these
    data (e.g. no events in one arm) adds a warning to the result, never a number.
    """
    from techeval.cases import load_cases
    from techeval.effect import comparison_frame

    started = time.perf_counter()
    loaded = protocol if isinstance(protocol, LoadedProtocol) else load_protocol(protocol)
    spec = loaded.protocol
    backend = check_backend(spec.inference.backend if backend is None else backend)
    run_seed = spec.inference.seed if seed is None else int(seed)
    if run_seed < 0:
        raise ArgumentError(f"the seed must be a whole number >= 0, got {run_seed}")
    collected = _Collected()
    log = [
        f"techeval {__version__} on Python {platform.python_version()} "
        f"(numpy {np.__version__}, pandas {pd.__version__})",
        f"protocol {spec.name} {spec.version} from {loaded.path} (sha256 {loaded.sha256})",
    ]

    tick = time.perf_counter()
    if progress:
        progress("validating the case file", 0, 1)
    report = load_cases(cases, columns=spec.columns, aliases=spec.aliases)
    data_hash = _data_sha256(cases, report.cases)
    _check_columns(spec, report.cases, str(loaded.path))
    collected.timings["validation"] = time.perf_counter() - tick
    log.append(
        f"data sha256 {data_hash}: rows in {report.rows_in:,} = used {report.rows_used:,} "
        f"+ set aside {report.rows_set_aside:,}"
    )

    # the estimators never need the case ID or the raw technique list (the technique
    # columns hold it): leaving both out keeps IDs out of every estimator (and worker
    # process), and each worker's copy of the cases smaller
    named = {*spec.covariates, *spec.outcomes, *spec.subgroups.by}
    unused = [c for c in ("case_id", "techniques") if c in report.cases.columns and c not in named]
    analysed = report.cases.drop(columns=unused)
    frames = {t: comparison_frame(analysed, t, spec.comparator) for t in spec.techniques}
    _release_memory()  # what reading the file needed, before the estimators need theirs
    limit = spec.inference.bootstrap_max_n
    tasks = [
        _inference_for_size(t, len(frames[t.technique]), limit) for t in _tasks(spec, run_seed)
    ]
    tick = time.perf_counter()
    if progress:
        progress("estimating", 0, len(tasks))
    outputs = _execute(
        tasks, frames, backend=backend, n_jobs=spec.inference.n_jobs, progress=progress
    )
    for task, output in zip(tasks, outputs, strict=True):
        collected.rows.extend(output.rows)
        for name, parts in output.frames.items():
            collected.estimator_frames += [(name, task.technique, task.name, p) for p in parts]
        if output.warning:
            collected.warnings.append(output.warning)
        collected.timings[_label(task)] = output.seconds
    collected.timings[f"estimation ({backend}, wall clock)"] = time.perf_counter() - tick
    if progress:
        progress("synthesis, disclosure control and grades", 0, 1)

    if spec.witness_programme is not None and "witness_protection" in spec.techniques:
        collected.rows.extend(_programme_rows(spec, report.cases, collected))

    ordered = _order(collected.rows, spec)
    originals = [result for _, result in ordered]
    min_cell = spec.disclosure.min_cell
    published = apply_disclosure_control(originals, min_cell=min_cell)
    rows = [
        _serialise(result, name, min_cell)
        for (name, _), result in zip(ordered, published, strict=True)
    ]
    grades = grade_techniques(rows, techniques=spec.techniques, outcome=spec.outcomes[0])
    set_aside = _set_aside_ledger(report)
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
            "years": _year_span(report.cases),
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
        "estimators": _estimators_section(rows),
        "grades": grades,
        "warnings": [scrub_text(w, min_cell=min_cell) for w in collected.warnings],
    }
    document = canonical_value(document)
    out_frames = _frames(collected, originals, published, min_cell)
    for label, seconds in collected.timings.items():
        log.append(f"{seconds:8.2f} s  {label}")
    log.append(f"{elapsed:8.2f} s  total")
    return RunOutcome(
        document=document,
        frames=out_frames,
        set_aside=set_aside,
        log=tuple(log),
        elapsed=elapsed,
        protocol_text=loaded.text,
    )


_PROGRAMME_MODEL = (
    "The witness-protection programme model: planned intake and cost against the "
    "intake the case records show, and a deterministic projection of the programme "
    "from the protocol's planning figures (no interval)."
)


def _estimators_section(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """What made the rows: for each estimator name, its family, adjustment and method text.

    The report quotes ``description`` (the first paragraph of the estimator's
    docstring) instead of keeping its own text per estimator name, so a plug-in
    estimator is described in the report in its own words.
    """
    from techeval.estimators.registry import get_estimator

    section: dict[str, dict[str, Any]] = {}
    for row in rows:
        name = row["estimator"]
        if name in section:
            continue
        if name == "programme_model":
            section[name] = {
                "family": row["family"],
                "adjusted": bool(row["adjusted"]),
                "description": _PROGRAMME_MODEL,
            }
            continue
        cls = get_estimator(name)
        section[name] = {
            "family": cls.family,
            "adjusted": bool(cls.tags.adjusted),
            "description": cls.description(),
        }
    return dict(sorted(section.items()))


def _year_span(cases: pd.DataFrame) -> dict[str, int] | None:
    """The first and last data year of the cases used (the period ``techeval trend`` reads)."""
    if "year" not in cases.columns:
        return None
    years = pd.to_numeric(cases["year"], errors="coerce").dropna()
    if years.empty:
        return None
    return {"first": int(years.min()), "last": int(years.max())}


def _order(
    rows: list[tuple[tuple, EffectResult]], protocol: Protocol
) -> list[tuple[str, EffectResult]]:
    """Rows in the result file's order, each with its registered estimator name."""
    techniques = list(protocol.techniques)

    def key(item: tuple[tuple, EffectResult]) -> tuple:
        (technique, spec_index, name), result = item
        family = result.family
        return (
            techniques.index(technique) if technique in techniques else len(techniques),
            _FAMILY_ORDER.index(family) if family in _FAMILY_ORDER else len(_FAMILY_ORDER),
            spec_index,
            name,
            result.outcome,
            result.measure,
            result.scale,
            result.method,
            result.subgroup is not None,
            result.subgroup or "",
        )

    return [(name, result) for (_, _, name), result in sorted(rows, key=key)]


# ---- serialisation ------------------------------------------------------------------------


def _get(mapping: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(mapping, Mapping) or part not in mapping:
            return None
        mapping = mapping[part]
    return mapping


#: The diagnostics kept in the result file: small, aggregated, useful to reports.
_DIAGNOSTIC_PATHS: dict[str, tuple[str, ...]] = {
    "max_abs_smd_before": ("balance", "max_abs_smd_before"),
    "max_abs_smd_after": ("balance", "max_abs_smd_after"),
    "share_outside_common_support": ("overlap", "share_outside_common_support"),
    "share_clipped": ("overlap", "share_clipped"),
    "effective_sample_size_treated": ("overlap", "effective_sample_size", "treated"),
    "effective_sample_size_control": ("overlap", "effective_sample_size", "control"),
    "e_value_point": ("e_value", "point"),
    "e_value_ci_limit": ("e_value", "ci_limit"),
    "arm_mean_treated": ("arm_means", "treated"),
    "arm_mean_control": ("arm_means", "control"),
    "rows_used": ("rows_used",),
    "inference": ("inference",),
    "n_bootstrap": ("n_bootstrap",),
    "bootstrap_max_n": ("bootstrap_max_n",),
    "quadrant": ("quadrant",),
    "quadrant_probabilities": ("quadrant_probabilities",),
    "willingness_to_pay": ("willingness_to_pay",),
    "harms_included": ("harms_included",),
    "p_value_holm": ("p_value_holm",),
    "p_value_bh": ("p_value_bh",),
    "df": ("df",),
    "i_squared": ("i_squared",),
    "pooled_estimate": ("pooled_estimate",),
    "too_few_cases": ("too_few_cases",),
    "overdispersed": ("overdispersion", "overdispersed"),
    "benchmark": ("benchmark",),
    "benchmark_source": ("benchmark_source",),
    "above_benchmark": ("above_benchmark",),
    "interval_excludes_benchmark": ("interval_excludes_benchmark",),
    "exposure": ("exposure",),
    "suppression": ("suppression",),
    "programme": ("programme",),
}


def _slim_diagnostics(diagnostics: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for name, path in _DIAGNOSTIC_PATHS.items():
        value = _get(diagnostics, *path)
        if value is not None:
            out[name] = value
    ratio = _get(diagnostics, "overlap", "effective_sample_size_ratio")
    if isinstance(ratio, Mapping) and ratio:
        out["effective_sample_size_ratio_min"] = min(float(v) for v in ratio.values())
    return out


def _serialise(result: EffectResult, estimator: str, min_cell: int) -> dict[str, Any]:
    """One result row as written to result.json (see docs/result-schema.md)."""
    row = {
        "technique": result.technique,
        "family": result.family,
        "estimator": result.estimator or estimator,
        "adjusted": bool(result.adjusted),
        "outcome": result.outcome,
        "measure": result.measure,
        "scale": result.scale,
        "subgroup": result.subgroup,
        "estimand": result.estimand,
        "method": result.method,
        "estimate": result.estimate,
        "std_error": result.std_error,
        "ci_low": result.ci_low,
        "ci_high": result.ci_high,
        "ci_level": result.ci_level,
        "p_value": result.p_value,
        "n_treated": None if result.suppressed else int(result.n_treated),
        "n_control": None if result.suppressed else int(result.n_control),
        "suppressed": bool(result.suppressed),
        "warnings": [scrub_text(w, min_cell=min_cell) for w in result.warnings],
        "diagnostics": _slim_diagnostics(result.diagnostics),
    }
    for name in ("estimate", "std_error", "ci_low", "ci_high", "p_value"):
        value = row[name]
        row[name] = float(value) if value is not None and math.isfinite(value) else None
    return row


def _set_aside_ledger(report) -> pd.DataFrame:
    columns = ["column", "rule", "count"]
    if not report.problems:
        return pd.DataFrame(columns=columns)
    problems = pd.DataFrame([{"column": p.column, "rule": p.rule} for p in report.problems])
    counts = problems.groupby(["column", "rule"]).size().rename("count").reset_index()
    counts["count"] = counts["count"].astype(int)
    return counts.sort_values(["column", "rule"], ignore_index=True)[columns]


# ---- frames for the reports -----------------------------------------------------------------


def _frames(
    collected: _Collected,
    originals: Sequence[EffectResult],
    published: Sequence[EffectResult],
    min_cell: int,
) -> dict[str, pd.DataFrame]:
    """Plot-ready aggregated frames; anything behind a suppressed row is left out."""
    frames: dict[str, pd.DataFrame] = {}
    # an estimator's frames describe the cases behind its rows: withheld with any of them
    withheld = {(r.technique, r.estimator) for r in published if r.suppressed}
    parts: dict[str, list[pd.DataFrame]] = {}
    for name, technique, estimator, table in collected.estimator_frames:
        if (technique, estimator) not in withheld:
            parts.setdefault(name, []).append(table)
    for name, tables in parts.items():
        table = pd.concat(tables, ignore_index=True)
        first = ["technique"] + [c for c in table.columns if c != "technique"]
        frames[name] = table[first]

    balance, overlap = [], []
    for result, shown in zip(originals, published, strict=True):
        if result.family != "outcome" or result.subgroup is not None or shown.suppressed:
            continue
        if result.scale not in ("risk_difference", "mean_difference"):
            continue
        table = _get(result.diagnostics, "balance", "covariates")
        for item in table or ():
            balance.append(
                {
                    "technique": result.technique,
                    "outcome": result.outcome,
                    "method": result.method,
                    "covariate": item["covariate"],
                    "smd_before": item["smd_before"],
                    "smd_after": item["smd_after"],
                }
            )
        quantiles = _get(result.diagnostics, "overlap", "propensity_quantiles") or {}
        for arm, values in quantiles.items():
            size = result.n_treated if arm == "treated" else result.n_control
            for label, value in values.items():
                q = float(label[1:])
                # a quantile with fewer than min_cell cases beyond it describes those
                # few cases (q0 and q1 are single cases): left out
                if min(q, 1 - q) * size < min_cell:
                    continue
                overlap.append(
                    {
                        "technique": result.technique,
                        "outcome": result.outcome,
                        "method": result.method,
                        "arm": arm,
                        "quantile": q,
                        "propensity": value,
                    }
                )
    if balance:
        frames["balance"] = pd.DataFrame(balance)
    if overlap:
        frames["propensity_quantiles"] = pd.DataFrame(overlap)
    # the programme projection is built from the intake the programme rows report: it is
    # withheld whenever any of them is
    programme_withheld = any(
        shown.suppressed for shown in published if shown.method == "programme_model"
    )
    for name, parts in collected.frames.items():
        if name.startswith("programme") and not programme_withheld:
            frames[name] = pd.concat(parts, ignore_index=True)
    return frames


# ---- witness-protection programme model ------------------------------------------------------


def _programme_rows(
    protocol: Protocol, cases: pd.DataFrame, collected: _Collected
) -> list[tuple[tuple, EffectResult]]:
    """The programme model (para 43): plan against actual intake, and a projection.

    Actual intake comes from the case records (protected witnesses and family members
    in cases that used witness protection, over the years the records span); offences
    per witness-year come from ``harm.witness_offending`` when the protocol runs it;
    high-level prosecutions per witness are high-level convictions in those cases per
    protected witness. The projection uses the protocol's planning figures and the
    expected monetary values. It is a deterministic projection: no interval.
    """
    from techeval.witness_programme import plan_vs_actual, project_programme

    plan = protocol.witness_programme
    if plan is None:
        return []
    columns = ("protected_witnesses", "protected_family", "high_level_convicted", "year")
    if not all(c in cases.columns for c in columns):
        collected.warnings.append(
            "witness programme model not run: the data lack "
            + ", ".join(c for c in columns if c not in cases.columns)
        )
        return []
    used = cases.loc[cases["witness_protection"].astype(bool)]
    with_witnesses = used.loc[pd.to_numeric(used["protected_witnesses"]).fillna(0) > 0]
    n_cases = len(with_witnesses)
    witnesses = float(pd.to_numeric(with_witnesses["protected_witnesses"]).sum())
    family = float(pd.to_numeric(with_witnesses["protected_family"]).fillna(0).sum())
    if n_cases == 0 or witnesses == 0:
        collected.warnings.append(
            "witness programme model not run: no case with a protected witness"
        )
        return []
    years = float(with_witnesses["year"].max() - with_witnesses["year"].min() + 1)
    prosecutions = float(pd.to_numeric(with_witnesses["high_level_convicted"]).fillna(0).sum())
    offence_rate = next(
        (
            r.estimate
            for _, r in collected.rows
            if r.measure == "witness_offence_rate" and r.technique == "witness_protection"
        ),
        math.nan,
    )
    values = protocol.economics.monetary_values().expected()
    low_high = plan.plan_witnesses_per_year
    comparison = plan_vs_actual(
        plan_witnesses_per_year=(low_high[0], low_high[-1]),
        actual_witnesses=witnesses,
        actual_family=family,
        years=years,
        plan_annual_budget=plan.plan_annual_budget,
        currency=protocol.economics.currency,
    )
    projection = project_programme(
        witnesses / years,
        family_per_witness=plan.family_per_witness,
        annual_cost_per_person=plan.annual_cost_per_person,
        mean_years_in_programme=plan.mean_years_in_programme,
        attrition=plan.attrition,
        horizon_years=plan.horizon_years,
        offences_per_witness_year=offence_rate if math.isfinite(offence_rate) else 0.0,
        cost_per_offence=values["cost_per_witness_offence"],
        high_level_prosecutions_per_witness=prosecutions / witnesses,
        value_per_prosecution=values["value_conviction"] + values["value_high_level_conviction"],
    )
    collected.frames.setdefault("programme_projection", []).append(projection)
    last = projection.iloc[-1]
    notes = [
        "a projection from the protocol's planning figures and the data's intake: no "
        "interval (vary the planning figures to see their effect)"
    ]
    if not math.isfinite(offence_rate):
        notes.append(
            "offending by protected witnesses is not counted (harm.witness_offending not run)"
        )
    common = dict(
        technique="witness_protection",
        outcome="protected_witnesses",
        estimand=None,
        method="programme_model",
        std_error=math.nan,
        ci_low=math.nan,
        ci_high=math.nan,
        p_value=math.nan,
        n_treated=n_cases,
        n_control=0,
        family="synthesis",
        ci_level=protocol.inference.ci_level,
    )
    horizon = f"{plan.horizon_years}-year projection"
    rows = [
        EffectResult(
            measure="witnesses_admitted_per_year",
            scale="per_year",
            estimate=comparison.actual_witnesses_per_year,
            diagnostics={"programme": {"family_per_witness": comparison.family_per_witness}},
            **common,
        ),
        EffectResult(
            measure="intake_ratio_to_plan",
            scale="ratio",
            estimate=comparison.ratio_to_plan_low,
            diagnostics={
                "programme": {
                    "ratio_to_plan_low": comparison.ratio_to_plan_low,
                    "ratio_to_plan_high": comparison.ratio_to_plan_high,
                    "note": "actual intake per year over the plan's upper figure (and lower "
                    "figure in ratio_to_plan_high)",
                }
            },
            warnings=(comparison.sentence,),
            **common,
        ),
        EffectResult(
            measure="high_level_prosecutions_per_witness",
            scale="per_witness",
            estimate=prosecutions / witnesses,
            **common,
        ),
        EffectResult(
            measure="programme_cost_total",
            scale="currency",
            estimate=float(last["cumulative_cost"]),
            diagnostics={"programme": {"horizon": horizon}},
            warnings=tuple(notes),
            **common,
        ),
        EffectResult(
            measure="programme_net_benefit",
            scale="currency",
            estimate=float(projection["net_benefit"].sum()),
            diagnostics={"programme": {"horizon": horizon}},
            warnings=tuple(notes),
            **common,
        ),
        EffectResult(
            measure="programme_people_protected",
            scale="count",
            estimate=float(last["active_witnesses"] + last["active_family"]),
            diagnostics={"programme": {"horizon": horizon, "at": "end of projection"}},
            **common,
        ),
    ]
    return [(("witness_protection", len(protocol.estimators), "programme_model"), r) for r in rows]


# ---- writing ------------------------------------------------------------------------------------


def _csv_text(frame: pd.DataFrame) -> str:
    """CSV with canonical numbers, so the same run gives the same bytes (RFC 4180 line ends)."""
    canonical = frame.copy()
    for column in canonical.columns:
        if pd.api.types.is_float_dtype(canonical[column].dtype):
            canonical[column] = [
                "" if v is None else repr(v)
                for v in (canonical_value(float(x)) for x in canonical[column])
            ]
    # CRLF (RFC 4180): a cell holding a lone carriage return is then quoted, not split
    return canonical.to_csv(index=False, lineterminator="\r\n")


def results_table(document: Mapping[str, Any]) -> pd.DataFrame:
    """The result rows of a result document as one flat table (``results.csv``)."""
    columns = [
        "technique",
        "family",
        "estimator",
        "outcome",
        "measure",
        "scale",
        "subgroup",
        "estimand",
        "method",
        "estimate",
        "std_error",
        "ci_low",
        "ci_high",
        "ci_level",
        "p_value",
        "n_treated",
        "n_control",
        "suppressed",
        "warnings",
    ]
    rows = []
    for row in document["results"]:
        flat = {c: row.get(c) for c in columns}
        flat["warnings"] = "; ".join(row.get("warnings") or [])
        rows.append(flat)
    table = pd.DataFrame(rows, columns=columns)
    for column in ("n_treated", "n_control"):
        table[column] = table[column].astype("Int64")
    for column in ("estimate", "std_error", "ci_low", "ci_high", "ci_level", "p_value"):
        table[column] = table[column].astype("float64")
    return table


def write_outputs(
    outcome: RunOutcome,
    out: str | Path,
    *,
    overwrite: bool = False,
    formats: Sequence[str] = ("json",),
    progress: Progress | None = None,
) -> Path:
    """Write a run's files into ``out``, all or nothing.

    Files: ``result.json`` (canonical JSON), ``results.csv`` (the same rows, flat),
    ``set_aside.csv`` (set-aside rows counted by column and rule), ``run.log`` (run
    times and versions), ``protocol.yaml`` (the protocol as run) and ``frames/*.csv``;
    with ``formats`` including ``html``, ``md`` or ``pdf``, the reports
    (:func:`techeval.report.render_reports`), rendered from the files just written —
    exactly what ``techeval report`` re-renders. Everything is written to a temporary
    sibling folder first and renamed into place at the end, so a failure never leaves
    a half-written result.

    Raises
    ------
    ArgumentError
        If ``out`` exists and is not empty and ``overwrite`` is false, or for an unknown
        format.
    """
    formats = check_formats(formats)
    target = check_output_folder(out, overwrite=overwrite)
    with staged_folder(target, overwrite=overwrite) as staging:
        (staging / "result.json").write_text(canonical_json(outcome.document), encoding="utf-8")
        (staging / "results.csv").write_text(
            _csv_text(results_table(outcome.document)), encoding="utf-8"
        )
        (staging / "set_aside.csv").write_text(_csv_text(outcome.set_aside), encoding="utf-8")
        if outcome.protocol_text:
            (staging / "protocol.yaml").write_text(outcome.protocol_text, encoding="utf-8")
        if outcome.frames:
            (staging / "frames").mkdir()
            for name, frame in sorted(outcome.frames.items()):
                (staging / "frames" / f"{name}.csv").write_text(_csv_text(frame), encoding="utf-8")
        log = list(outcome.log)
        reports = [f for f in formats if f != "json"]
        if reports:
            from techeval.report import load_run, render_reports

            if progress:
                progress(f"rendering the {', '.join(reports)} report", 0, 1)
            tick = time.perf_counter()
            document, frames, protocol_text, text = load_run(staging)
            files = render_reports(
                document, frames, reports, protocol_text=protocol_text, result_text=text
            )
            for name, content in files.items():
                (staging / name).parent.mkdir(parents=True, exist_ok=True)
                (staging / name).write_bytes(content)
            log.append(f"{time.perf_counter() - tick:8.2f} s  reports ({', '.join(reports)})")
        (staging / "run.log").write_text(
            f"run at {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n" + "\n".join(log) + "\n",
            encoding="utf-8",
        )
    return target


@contextmanager
def staged_folder(out: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """A temporary sibling folder that replaces ``out`` when the block ends without error.

    Everything is written into the yielded folder; only at the end is it renamed into
    place (an existing ``out`` is moved aside first and removed after), so a failure
    never leaves a half-written folder: the staging folder is removed and ``out`` stays
    as it was.

    Raises
    ------
    ArgumentError
        From :func:`check_output_folder` (a non-empty ``out`` without ``overwrite``, a
        path through ``..`` or a symlink).
    """
    target = check_output_folder(out, overwrite=overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.partial-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    try:
        staging.mkdir()
        yield staging
        if target.exists():
            retired = target.parent / f".{target.name}.replaced-{os.getpid()}"
            target.rename(retired)
            staging.rename(target)
            shutil.rmtree(retired)
        else:
            staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
