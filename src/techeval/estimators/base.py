"""The estimator contract every techeval estimator follows.

Modelled on scikit-learn's ``BaseEstimator`` (``sklearn/base.py``):

* ``__init__`` takes keyword-only parameters and stores them unchanged, under the same
  names. No validation there; validate in ``fit``.
* ``fit(frame, *, treatment, outcome, covariates)`` starts from scratch, never mutates
  ``frame``, stores what it learned in attributes ending with ``_`` and returns ``self``.
  ``treatment`` names a boolean column (the technique), ``outcome`` the outcome column,
  ``covariates`` the columns to adjust for.
* After ``fit``, ``results_`` is a non-empty tuple of
  :class:`~techeval.results.EffectResult`; the first is the primary one (``result_``).
* Randomness only through a ``random_state`` parameter (an ``int`` or a
  :class:`numpy.random.Generator`).

Register a subclass under a stable dotted name with
:func:`techeval.estimators.registry.register`; third-party packages expose theirs in the
``techeval.estimators`` entry-point group.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any, ClassVar, Self

import pandas as pd

from techeval.errors import EstimatorError
from techeval.results import EffectResult, results_frame


class Estimator:
    """Base class for techeval estimators.

    Subclasses set the class attribute ``family`` (``"outcome"``, ``"cost"``, ``"harm"``)
    and implement :meth:`fit`. The registered name is set on the class by the
    ``register`` decorator as ``name`` (e.g. ``"outcome.aipw"``).
    """

    family: ClassVar[str] = "outcome"
    name: ClassVar[str | None] = None

    @classmethod
    def _param_names(cls) -> list[str]:
        init = cls.__init__
        if init is object.__init__:
            return []
        signature = inspect.signature(init)
        names = []
        for parameter in signature.parameters.values():
            if parameter.name == "self" or parameter.kind == parameter.VAR_KEYWORD:
                continue
            if parameter.kind != parameter.KEYWORD_ONLY:
                raise TypeError(
                    f"{cls.__name__}.__init__ must take keyword-only parameters "
                    f"(found {parameter.name!r}); write `def __init__(self, *, ...)`"
                )
            names.append(parameter.name)
        return sorted(names)

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters and their current values."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Self:
        """Set constructor parameters; unknown names are an error listing valid ones."""
        valid = self._param_names()
        for key, value in params.items():
            if key not in valid:
                raise EstimatorError(
                    f"{type(self).__name__} has no parameter {key!r}",
                    hint=f"Valid parameters: {', '.join(valid) or '(none)'}",
                )
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    def fit(
        self,
        frame: pd.DataFrame,
        *,
        treatment: str,
        outcome: str,
        covariates: Sequence[str] = (),
    ) -> Self:  # pragma: no cover - abstract
        """Estimate from ``frame``; return ``self``."""
        raise NotImplementedError

    @property
    def result_(self) -> EffectResult:
        """The primary result of the last :meth:`fit`."""
        return self._fitted_results()[0]

    def to_frame(self) -> pd.DataFrame:
        """All results of the last :meth:`fit` as a long, tidy table."""
        return results_frame(self._fitted_results())

    def _fitted_results(self) -> tuple[EffectResult, ...]:
        results = getattr(self, "results_", None)
        if not results:
            raise EstimatorError(
                f"{type(self).__name__} is not fitted yet", hint="Call fit(frame, ...) first"
            )
        return results
