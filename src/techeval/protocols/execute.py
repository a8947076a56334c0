"""Executing a plan: tasks in units of work on the local or a dask back-end.

:func:`execute` runs every :class:`~techeval.protocols.plan.Task` and returns its
:class:`TaskOutput` in plan order. Tasks of one bootstrap group run together
(:func:`units`); units run in one process (``n_jobs`` 1), joblib's loky processes
(``local``) or on a ``dask.distributed`` cluster. Bootstrap progress inside the
workers is forwarded to the caller's display. No number depends on the back-end: every
task has its own seed.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from techeval.errors import ArgumentError, EstimatorError
from techeval.estimators.registry import get_estimator
from techeval.protocols.plan import Task, label
from techeval.results import EffectResult

__all__ = [
    "Progress",
    "TaskOutput",
    "check_backend",
    "execute",
    "release_memory",
    "run_task",
    "run_unit",
    "units",
]

#: Called as ``progress(label, done, total)`` before each step of a run and at its end.
Progress = Callable[[str, int, int], None]


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


@dataclass
class TaskOutput:
    """What one task produced: result rows, report frames, a warning, its run time."""

    rows: list[tuple[tuple, EffectResult]] = field(default_factory=list)
    frames: dict[str, list[pd.DataFrame]] = field(default_factory=dict)
    warning: str | None = None
    seconds: float = 0.0


def run_task(task: Task, frame: pd.DataFrame) -> TaskOutput:
    """Fit one task's estimator on its technique's cases.

    An estimator that cannot estimate from these data gives a warning, never a number.
    """
    from techeval.estimators.subgroups import estimate_by_subgroup

    output = TaskOutput()
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
        output.warning = f"{label(task)}: not estimated — {exc.describe()}"
        results = ()
    for result in results:
        output.rows.append(((task.technique, task.spec_index, task.name), result))
    output.seconds = time.perf_counter() - tick
    return output


def release_memory(*, collect: bool = True) -> None:
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


def run_unit(
    unit: Sequence[tuple[int, Task]],
    frame: pd.DataFrame,
    replicates: Callable[[int, int], None] | None = None,
) -> list[tuple[int, TaskOutput]]:
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
            return [(index, run_task(task, frame)) for index, task in unit]
    finally:
        if isinstance(replicates, _SendReplicates):
            replicates.close()
        release_memory(collect=False)  # an idle worker should not sit on its last peak


def units(tasks: Sequence[Task]) -> list[list[int]]:
    """Tasks grouped into units of work, heaviest first.

    A technique's estimators of one bootstrap group (``Tags.bootstrap_group``: its
    ``cost.effectiveness`` and ``cost.benefit``) form one unit, so the second reuses the
    first's bootstrap in the same process; every other task is a unit of its own. Units are independent (each task has its own seed), so their order and
    the worker they run on never change a number.
    """

    joint: dict[tuple[str, str], list[int]] = {}
    single: list[list[int]] = []
    for index, task in enumerate(tasks):
        group = get_estimator(task.name).tags.bootstrap_group
        if group is not None and task.subgroup_by is None:
            joint.setdefault((task.technique, group), []).append(index)
        else:
            single.append([index])
    return [*joint.values(), *single]


def execute(
    tasks: Sequence[Task],
    frames: Mapping[str, pd.DataFrame],
    *,
    backend: str,
    n_jobs: int,
    progress: Progress | None,
) -> list[TaskOutput]:
    """Run every task, in parallel units on the back-end; outputs in task order."""
    from techeval.inference import replicate_progress

    outputs: list[TaskOutput | None] = [None] * len(tasks)
    # set by techeval.cli.progress.StepProgress (None when quiet or without a display)
    advance = replicate_progress()
    grouped = units(tasks)
    done = 0

    def finished(results: list[tuple[int, TaskOutput]]) -> None:
        nonlocal done
        for index, output in results:
            outputs[index] = output
            done += 1
            if progress:
                progress(label(tasks[index]), done, len(tasks))

    if backend == "local" and n_jobs == 1:
        from techeval.estimators._nuisance import shared_nuisance

        # in one process every unit shares designs and propensity fits: the techniques'
        # estimators build the same design (kept until the last unit ends)
        with shared_nuisance():
            for unit in grouped:
                frame = frames[tasks[unit[0]].technique]
                finished(run_unit([(i, tasks[i]) for i in unit], frame, advance))
        return outputs  # type: ignore[return-value]

    from joblib import Parallel, delayed

    def sequential(task: Task) -> Task:
        # the units are the parallelism: a bootstrap inside one runs in its worker
        if "n_jobs" in task.params:
            return replace(task, params={**task.params, "n_jobs": 1})
        return task

    with (
        _backend(backend, n_jobs) as (workers, client),
        _forward_replicates(advance, client) as replicates,
    ):
        jobs = (
            delayed(run_unit)(
                [(i, sequential(tasks[i])) for i in unit],
                frames[tasks[unit[0]].technique],
                replicates,
            )
            for unit in grouped
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
