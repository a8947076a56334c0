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

* What the runner, grades and report need to know about an estimator it declares in
  its :class:`Tags` (``tags`` class attribute): which columns it is fitted on, its
  default outcomes, the techniques it applies to, whether it adjusts for confounding,
  whether it shares a bootstrap, and how it names the inference methods. Nothing
  outside ``techeval.estimators`` branches on an estimator's name.
* Optionally, after ``fit``, ``frames_`` maps names to small aggregated tables for the
  reports (plot-ready, no case-level rows).

Register a subclass under a stable dotted name with
:func:`techeval.estimators.registry.register`; third-party packages expose theirs in the
``techeval.estimators`` entry-point group. ``docs/estimators.md`` lists everything the
runner, disclosure control and the report read from an estimator.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, ClassVar, Literal, Self

import pandas as pd

from techeval.errors import EstimatorError
from techeval.results import EffectResult, results_frame


@dataclass(frozen=True)
class Tags:
    """What an estimator needs and is, read by the runner, the grades and the report.

    As scikit-learn's estimator tags (``__sklearn_tags__``): the estimator says what it
    needs, and the callers read it instead of branching on its name.

    Attributes
    ----------
    roles
        How the runner calls ``fit`` for each technique:

        * ``"per_outcome"``: one fit per outcome, ``fit(frame, treatment=technique,
          outcome=o, covariates=...)``; the outcomes are the protocol entry's
          ``outcomes``, else :attr:`default_outcomes`, else the protocol's outcomes;
        * ``"treatment_covariates"``: one fit, ``fit(frame, treatment=technique,
          covariates=...)``;
        * ``"treatment_only"``: one fit, ``fit(frame, treatment=technique)``.
    covariates
        Which columns go to ``covariates``: the protocol's ``covariates``
        (``"protocol"``), or its ``subgroups.by`` columns, passed only when the protocol
        names some (``"subgroups"``: an estimator that reports rates by kind of case).
    default_outcomes
        The outcome columns of a ``"per_outcome"`` estimator when the protocol entry
        names none (e.g. ``("cost_total",)`` for the cost estimators).
    techniques
        The techniques the estimator applies to (``None``: every technique). It runs
        only for these unless the protocol entry names its own ``techniques``.
    adjusted
        Whether the estimate is adjusted for case characteristics (``False`` for a raw
        contrast or a descriptive summary). Carried on every result row; grades and
        the report use only adjusted rows as evidence of an effect.
    bootstrap_group
        Estimators with the same group share one seed per technique and run in one
        process, so a joint bootstrap of a technique's cost and effects is drawn and
        fitted once (e.g. ``"cost.joint_bootstrap"``).
    inference_names
        How the estimator names the protocol's ``inference.method`` values, where it
        differs (e.g. ``{"influence_function": "linearisation"}``).
    needs_outcomes
        Whether a protocol entry must name its ``outcomes`` (``harm.rates``: the harm
        columns differ between case files, so there is no sensible default).
    """

    roles: Literal["per_outcome", "treatment_covariates", "treatment_only"] = "per_outcome"
    covariates: Literal["protocol", "subgroups"] = "protocol"
    default_outcomes: tuple[str, ...] = ()
    techniques: tuple[str, ...] | None = None
    adjusted: bool = True
    bootstrap_group: str | None = None
    inference_names: Mapping[str, str] = field(default_factory=dict)
    needs_outcomes: bool = False

    def __post_init__(self) -> None:
        if self.roles not in ("per_outcome", "treatment_covariates", "treatment_only"):
            raise ValueError(f"unknown Tags.roles {self.roles!r}")
        if self.covariates not in ("protocol", "subgroups"):
            raise ValueError(f"unknown Tags.covariates {self.covariates!r}")
        object.__setattr__(self, "default_outcomes", tuple(self.default_outcomes))
        if self.techniques is not None:
            object.__setattr__(self, "techniques", tuple(self.techniques))
        object.__setattr__(self, "inference_names", MappingProxyType(dict(self.inference_names)))

    def inference_name(self, method: str) -> str:
        """The estimator's name for the protocol's inference ``method``."""
        return self.inference_names.get(method, method)


class Estimator:
    """Base class for techeval estimators.

    Subclasses set the class attribute ``family`` (``"outcome"``, ``"cost"``, ``"harm"``
    or ``"synthesis"``; by default the registered name's first part), declare their
    :class:`Tags` in ``tags`` and implement :meth:`fit`. The registered name is set on
    the class by the ``register`` decorator as ``name`` (e.g. ``"outcome.aipw"``).

    Rows assigned to ``results_`` are stamped with the estimator's registered ``name``
    and its ``tags.adjusted``, so every row says which estimator made it (a registered
    estimator that wraps another stamps the rows as its own).
    """

    family: ClassVar[str] = "outcome"
    name: ClassVar[str | None] = None
    tags: ClassVar[Tags] = Tags()

    @property
    def results_(self) -> tuple[EffectResult, ...]:
        """The rows of the last :meth:`fit` (not fitted: ``AttributeError``)."""
        try:
            return self.__dict__["_results"]
        except KeyError:
            raise AttributeError("results_") from None

    @results_.setter
    def results_(self, rows: Sequence[EffectResult]) -> None:
        if self.name is not None:  # an unregistered helper class keeps the rows' own
            rows = [replace(row, estimator=self.name, adjusted=self.tags.adjusted) for row in rows]
        self.__dict__["_results"] = tuple(rows)

    @classmethod
    def description(cls) -> str:
        """The first paragraph of the class docstring, on one line.

        The report's method text and ``result.json``'s ``estimators`` section quote it,
        so it should say in words what the estimator estimates and how. Empty under
        ``python -OO``, which strips docstrings.
        """
        doc = (inspect.getdoc(cls) if cls.__doc__ else None) or ""
        lines = doc.splitlines() + [""]
        paragraph: list[str] = []
        for line, after in zip(lines, lines[1:], strict=False):
            if not line.strip() or (after.strip() and set(after.strip()) == {"-"}):
                break  # a blank line, or a numpydoc section header ("Parameters" + "---")
            paragraph.append(line)
        return " ".join(" ".join(paragraph).split())

    @classmethod
    def param_names(cls) -> list[str]:
        """The constructor's parameter names, sorted (all keyword-only)."""
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
        return {name: getattr(self, name) for name in self.param_names()}

    def set_params(self, **params: Any) -> Self:
        """Set constructor parameters; unknown names are an error listing valid ones."""
        valid = self.param_names()
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
