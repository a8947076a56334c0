"""Progress bars for long runs: one rich bar per step, with elapsed and remaining time.

The runner reports progress through a plain callback ``progress(label, done, total)``
(:data:`techeval.protocols.execute.Progress`) and knows nothing about the terminal. A call
with ``done == 0`` starts a new step (validation, estimation, synthesis, rendering); the
calls after it advance that step and name what just finished. :class:`StepProgress`
turns those calls into rich bars on standard error; ``quiet`` makes it silent.

While it is open (and not quiet) it also receives every bootstrap replicate through
:func:`techeval.inference.report_replicates` and shows them on a ``bootstrap
replicates`` bar under the current step: the runner forwards the replicates that joblib
or dask workers run. On a console that is not a terminal (a CI log, a pipe) rich draws
only the final state, so nothing fills with redraws.
"""

from __future__ import annotations

import threading
from contextlib import ExitStack
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from techeval.inference import report_replicates

__all__ = ["StepProgress"]


class StepProgress:
    """A rich progress display fed by ``progress(label, done, total)`` calls.

    Parameters
    ----------
    console
        Where the bars go (standard error in the CLI).
    quiet
        Show nothing.

    Examples
    --------
    >>> from rich.console import Console
    >>> with StepProgress(Console(file=open("/dev/null", "w")), quiet=False) as show:
    ...     show("validating the case file", 0, 1)
    ...     show("estimating", 0, 2)
    ...     show("undercover · outcome.aipw", 1, 2)
    ...     show("undercover · cost.summary", 2, 2)
    >>> show.steps
    ['validating the case file', 'estimating']

    A bootstrap inside the block advances its own bar, one replicate at a time:

    >>> from techeval.inference import bootstrap_replicates
    >>> with StepProgress(Console(file=open("/dev/null", "w"))) as show:
    ...     show("estimating", 0, 1)
    ...     _ = bootstrap_replicates(lambda rows, seed: rows.mean(), 10, n_replicates=5,
    ...                              random_state=0)
    >>> show.replicates_done, show.replicates_planned
    (5, 5)
    """

    def __init__(self, console: Console, *, quiet: bool = False):
        self.quiet = quiet
        self.steps: list[str] = []
        self._bar = Progress(
            TextColumn("{task.fields[step]:<26}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("elapsed"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            TextColumn("{task.description}", style="dim"),
            console=console,
            disable=quiet,
        )
        self._current: TaskID | None = None
        self._replicates: TaskID | None = None
        self._bar_planned = self._bar_done = 0
        #: replicates planned and finished over the whole run, all bars together
        self.replicates_planned = 0
        self.replicates_done = 0
        # replicate calls come from a thread that forwards the workers' progress
        self._lock = threading.Lock()
        self._context = ExitStack()

    def __enter__(self) -> StepProgress:
        self._bar.__enter__()
        if not self.quiet:
            self._context.enter_context(report_replicates(self.replicate))
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._context.close()
        if kind is None:
            self._finish()
        self._bar.__exit__(kind, error, trace)

    def _finish(self) -> None:
        with self._lock:
            if self._current is not None:
                task = self._bar.tasks[self._current]
                self._bar.update(self._current, completed=task.total or 1, total=task.total or 1)
            if self._replicates is not None:
                planned = max(self._bar_planned, 1)
                self._bar.update(self._replicates, completed=planned, total=planned)
            # a bootstrap in a later step gets a bar of its own
            self._replicates = None
            self._bar_planned = self._bar_done = 0

    def __call__(self, label: str, done: int, total: int) -> None:
        if done == 0 or self._current is None:
            self._finish()
            self.steps.append(label)
            self._current = self._bar.add_task("", step=label[:26], total=max(total, 1))
        else:
            self._bar.update(self._current, description=label, completed=done, total=total)

    def replicate(self, done: int, total: int) -> None:
        """Count one bootstrap replicate (``done > 0``) or a new bootstrap of ``total``.

        Bootstraps running at the same time (one per worker) share the bar: its total
        is the sum of the replicates they plan, so the time left covers all of them.
        """
        with self._lock:
            if done == 0:
                self.replicates_planned += total
                self._bar_planned += total
                if self._replicates is None:
                    self._replicates = self._bar.add_task(
                        "", step="  bootstrap replicates", total=total
                    )
                else:
                    self._bar.update(self._replicates, total=self._bar_planned)
            else:
                self.replicates_done += 1
                if self._replicates is not None:
                    self._bar_done += 1
                    self._bar.update(self._replicates, completed=self._bar_done)
