"""Progress bars for long runs: one rich bar per step, with elapsed and remaining time.

The runner reports progress through a plain callback ``progress(label, done, total)``
(:data:`techeval.protocols.run.Progress`) and knows nothing about the terminal. A call
with ``done == 0`` starts a new step (validation, estimation, synthesis, rendering); the
calls after it advance that step and name what just finished. :class:`StepProgress`
turns those calls into rich bars on standard error; ``quiet`` makes it silent.
"""

from __future__ import annotations

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

    def __enter__(self) -> StepProgress:
        self._bar.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self._finish()
        self._bar.__exit__(kind, error, trace)

    def _finish(self) -> None:
        if self._current is not None:
            task = self._bar.tasks[self._current]
            self._bar.update(self._current, completed=task.total or 1, total=task.total or 1)

    def __call__(self, label: str, done: int, total: int) -> None:
        if done == 0 or self._current is None:
            self._finish()
            self.steps.append(label)
            self._current = self._bar.add_task("", step=label[:26], total=max(total, 1))
        else:
            self._bar.update(self._current, description=label, completed=done, total=total)
