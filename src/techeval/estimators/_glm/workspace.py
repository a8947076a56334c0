"""What the estimators of one unit of work share: one object instead of module globals.

The estimators of a technique build the same design, fit the same full-data propensity
model and (``cost.effectiveness`` and ``cost.benefit``) draw the same bootstrap
replicates. A :class:`Workspace` keeps those results for the unit of work it is created
for (:func:`techeval.estimators._nuisance.shared_nuisance`, which the protocol runner
wraps around every unit), and is dropped with everything in it when that block ends.
Outside such a block there is none, and nothing is kept. Every kept value is what a
fresh computation gives (a memo of a deterministic function), so sharing never changes
a number; shared arrays are read-only.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any


class Workspace:
    """Designs, balance matrices, full-data propensity fits and replicate columns of a unit.

    Each memo is an ordered mapping, most recently used last, bounded by the class
    attributes below (at a million cases one design is a few hundred MB).
    """

    #: Encoded designs kept (by covariate cells and options).
    max_designs = 2
    #: Balance matrices kept (by covariate cells).
    max_balance = 1
    #: Full-data propensity fits kept (by design, penalty and treatment).
    max_propensity = 8
    #: Bootstrap replicate columns kept (by resample plan and component).
    max_replicates = 64

    def __init__(self) -> None:
        self.designs: OrderedDict[tuple, Any] = OrderedDict()
        self.balance: OrderedDict[tuple, Any] = OrderedDict()
        self.propensity: OrderedDict[tuple, Any] = OrderedDict()
        self.replicates: OrderedDict[tuple, Any] = OrderedDict()

    def design_key(self, matrix: Any) -> tuple | None:
        """The key of a kept design whose matrix is ``matrix`` itself, else ``None``."""
        for key, design in self.designs.items():
            if design.matrix is matrix:
                return key
        return None

    @staticmethod
    def keep(memo: OrderedDict, key: tuple, value: Any, limit: int) -> Any:
        """Store ``value`` as the most recent entry of ``memo``, dropping the oldest."""
        memo[key] = value
        memo.move_to_end(key)
        while len(memo) > limit:
            memo.popitem(last=False)
        return value


_CURRENT: ContextVar[Workspace | None] = ContextVar("techeval_workspace", default=None)


def current_workspace() -> Workspace | None:
    """The workspace of the enclosing unit of work, or ``None`` outside one."""
    return _CURRENT.get()


@contextmanager
def workspace() -> Iterator[Workspace]:
    """A workspace for the block; an enclosing block's one when nested (kept until it ends)."""
    enclosing = _CURRENT.get()
    if enclosing is not None:
        yield enclosing
        return
    created = Workspace()
    token = _CURRENT.set(created)
    try:
        yield created
    finally:
        _CURRENT.reset(token)
