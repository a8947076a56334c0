"""Generic entry points: an adjusted effect from any table, and subgroups.

* :func:`estimate_effect` — one call from a data frame to an
  :class:`~techeval.results.EffectResult` with any registered outcome estimator (works
  on any table, not only case records: e.g. a job-training evaluation);
* :func:`estimate_by_subgroup` — effects within levels of a column (which case types a
  technique fits), a heterogeneity test and multiplicity-adjusted p-values (defined in
  :mod:`techeval.estimators.subgroups`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from techeval.errors import ArgumentError
from techeval.estimators.base import Estimator
from techeval.estimators.registry import get_estimator
from techeval.estimators.subgroups import estimate_by_subgroup
from techeval.results import EffectResult

__all__ = [
    "estimate_by_subgroup",
    "estimate_effect",
    "make_estimator",
    "resolve_method",
]


def resolve_method(method: str) -> type[Estimator]:
    """The estimator class for ``"aipw"`` (short, outcome family) or ``"outcome.aipw"``."""
    return get_estimator(method if "." in method else f"outcome.{method}")


def make_estimator(
    method: str = "aipw",
    *,
    estimand: str = "ATE",
    random_state: int | np.random.Generator | None = 0,
    **params: Any,
) -> Estimator:
    """An unfitted estimator by name, with parameters checked against its signature.

    Plug-in estimators without an ``estimand`` parameter accept the default ``"ATE"``
    only (whatever they estimate is described by their own documentation).
    """
    if estimand not in ("ATE", "ATT"):
        raise ArgumentError(f"estimand must be ATE or ATT, not {estimand!r}")
    estimator_class = resolve_method(method)
    names = estimator_class.param_names()
    settings = {**params}
    if "random_state" in names:
        settings["random_state"] = random_state
    if "estimand" in names:
        settings["estimand"] = estimand
    elif estimand != "ATE":
        raise ArgumentError(
            f"the method {method!r} does not offer a choice of estimand",
            hint="Leave out --estimand or choose another method",
        )
    unknown = sorted(set(settings) - set(names))
    if unknown:
        raise ArgumentError(
            f"the method {method!r} has no parameter(s) {', '.join(unknown)}",
            hint=f"Its parameters are: {', '.join(names)}",
        )
    return estimator_class(**settings)


def estimate_effect(
    frame: pd.DataFrame,
    *,
    treatment: str,
    outcome: str,
    covariates: Sequence[str] = (),
    method: str = "aipw",
    estimand: Literal["ATE", "ATT"] = "ATE",
    random_state: int | np.random.Generator | None = 0,
    **params: Any,
) -> EffectResult:
    """Adjusted effect of a binary treatment on an outcome, from any table.

    Parameters
    ----------
    frame
        One row per unit. Not modified.
    treatment
        Boolean or 0/1 column.
    outcome
        Binary, count or continuous column; the nuisance models follow its type.
    covariates
        Columns to adjust for: numeric, boolean or text (text is one-hot encoded).
    method
        Registered estimator: ``"aipw"`` (default), ``"ipw"``, ``"regression"``,
        ``"naive"``, or any dotted name such as a plug-in's ``"outcome.trimmed_ipw"``.
    estimand
        ``"ATE"`` or ``"ATT"``.
    random_state
        Seed (default 0, so repeated calls agree).
    **params
        Further estimator parameters (e.g. ``n_folds=10``, ``nuisance="gbm"``,
        ``inference="bootstrap"``).

    Returns
    -------
    EffectResult
        The primary row: risk difference for a binary outcome, mean difference
        otherwise, with diagnostics (overlap, balance, E-value, rows dropped) and
        warnings. For the risk- and odds-ratio rows fit the estimator yourself:
        ``resolve_method("aipw")(...).fit(...).results_``.

    Notes
    -----
    Rows with a missing treatment, outcome or covariate are dropped and counted in
    ``diagnostics["rows_dropped"]``. Assumes no unmeasured confounding given the
    covariates and positivity; read the warnings.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import techeval
    >>> rng = np.random.default_rng(1)
    >>> age = rng.integers(18, 60, 1000)
    >>> trained = rng.random(1000) < 1 / (1 + np.exp((age - 35) / 10))
    >>> earnings = 1000 + 30 * age + 500 * trained + rng.normal(0, 300, 1000)
    >>> frame = pd.DataFrame({"trained": trained, "earnings": earnings, "age": age})
    >>> result = techeval.estimate_effect(
    ...     frame, treatment="trained", outcome="earnings", covariates=["age"]
    ... )
    >>> result.scale, bool(result.ci_low < 500 < result.ci_high)
    ('mean_difference', True)
    """
    estimator = make_estimator(method, estimand=estimand, random_state=random_state, **params)
    estimator.fit(frame, treatment=treatment, outcome=outcome, covariates=list(covariates))
    return estimator.result_
