"""Two pieces of plumbing every estimator family needs: a result row, a parameter check.

* :func:`result_row` builds an :class:`~techeval.results.EffectResult` from an interval
  and labels, with ``nan`` for the numbers no interval gives;
* :func:`check_parameters` checks an estimator's parameters against a table of
  constraints (as scikit-learn's ``_parameter_constraints``), in ``fit``, and names the
  first one that is not allowed;
* :func:`json_number` makes a number fit for a row's diagnostics (JSON has no ``nan``).

Nothing here is public; the estimators are.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from techeval.errors import ArgumentError
from techeval.estimators.base import Estimator
from techeval.inference import Interval
from techeval.results import EffectResult

__all__ = ["Constraint", "check_parameters", "json_number", "result_row"]

#: A test of a parameter's value, and what is allowed, in words (``"a number >= 0"``).
Constraint = tuple[Callable[[Any], bool], str]


def result_row(interval: Interval | None = None, /, **fields: Any) -> EffectResult:
    """A result row: the numbers of ``interval`` and the labels in ``fields``.

    Parameters
    ----------
    interval
        Supplies ``estimate``, ``std_error``, ``ci_low``, ``ci_high`` and ``p_value``;
        ``None`` makes all five ``nan`` (a quantity not estimated).
    **fields
        The other :class:`~techeval.results.EffectResult` fields (``technique``,
        ``outcome``, ``measure``, ``scale``, ``estimand``, ``method``, ``n_treated``,
        ``n_control``, ...). A number given here overrides the interval's, e.g. the
        ``estimate`` of a descriptive row with no interval. ``warnings`` may be any
        sequence of strings; the row holds a tuple.

    Returns
    -------
    EffectResult
    """
    if interval is None:
        numbers = dict.fromkeys(("estimate", "std_error", "ci_low", "ci_high", "p_value"), math.nan)
    else:
        numbers = {
            "estimate": float(interval.estimate),
            "std_error": float(interval.std_error),
            "ci_low": float(interval.ci_low),
            "ci_high": float(interval.ci_high),
            "p_value": float(interval.p_value),
        }
    if "warnings" in fields:
        fields["warnings"] = tuple(fields["warnings"])
    return EffectResult(**{**numbers, **fields})


def json_number(value: float | None) -> float | None:
    """A float for diagnostics (JSON has no inf or nan: those become ``None``)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def check_parameters(owner: Estimator, constraints: Mapping[str, Constraint]) -> None:
    """Raise for the first parameter of ``owner`` whose value fails its constraint.

    Parameters
    ----------
    owner
        The estimator; each name in ``constraints`` is one of its parameters.
    constraints
        Parameter name to ``(test, allowed)``; checked in order.

    Raises
    ------
    ArgumentError
        ``"IPW: truncate=0.3 is not allowed"``, with the hint ``"Use None or a quantile
        in (0.5, 1), e.g. 0.99"``.
    """
    for name, (allowed, expected) in constraints.items():
        value = getattr(owner, name)
        if not allowed(value):
            raise ArgumentError(
                f"{type(owner).__name__}: {name}={value!r} is not allowed",
                hint=f"Use {expected}",
            )
