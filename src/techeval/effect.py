"""Generic entry points: an adjusted effect from any table, comparators and subgroups.

* :func:`estimate_effect` — one call from a data frame to an
  :class:`~techeval.results.EffectResult` with any registered outcome estimator (works
  on any table, not only case records: e.g. a job-training evaluation);
* :func:`comparison_frame` — the cases a technique is compared within ("without the
  technique" or "traditional investigation only");
* :func:`estimate_by_subgroup` — effects within levels of a column (which case types a
  technique fits), a heterogeneity test and multiplicity-adjusted p-values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from techeval.errors import ArgumentError, EstimatorError
from techeval.estimators._columns import as_binary_treatment, infer_outcome_kind
from techeval.estimators.base import Estimator
from techeval.estimators.registry import get_estimator
from techeval.results import EffectResult

__all__ = [
    "comparison_frame",
    "estimate_by_subgroup",
    "estimate_effect",
    "make_estimator",
    "resolve_method",
]

#: Default smallest number of treated and of control cases for a subgroup estimate.
MIN_SUBGROUP_CASES = 20


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


def comparison_frame(
    cases: pd.DataFrame,
    technique: str,
    comparator: Literal["without_technique", "traditional_only"] = "without_technique",
    *,
    techniques: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The cases a technique is compared within.

    Parameters
    ----------
    cases
        Analysis-ready case records with one boolean column per technique.
    technique
        The technique column.
    comparator
        ``"without_technique"``: all cases (those that did not use ``technique`` are
        the comparison group). ``"traditional_only"``: cases that used ``technique``
        plus cases that used no special technique at all; cases that used another
        technique but not this one are left out.
    techniques
        The technique columns (default: :data:`techeval.cases.schema.TECHNIQUES`
        present in ``cases``).

    Returns
    -------
    pandas.DataFrame
        A filtered copy (row labels kept), ready for ``fit(..., treatment=technique)``.
    """
    from techeval.cases.schema import TECHNIQUES

    if technique not in cases.columns:
        raise ArgumentError(f"there is no technique column {technique!r} in the cases")
    if comparator == "without_technique":
        # copy-on-write (pandas 3): a shallow copy behaves as a copy without holding a
        # second copy of every column (four techniques at a million cases)
        return cases.copy(deep=False)
    if comparator != "traditional_only":
        raise ArgumentError(
            f"unknown comparator {comparator!r}",
            hint="Use without_technique or traditional_only",
        )
    columns = [c for c in (techniques or TECHNIQUES) if c in cases.columns]
    used = cases[technique].astype(bool)
    others = cases[[c for c in columns if c != technique]].astype(bool).any(axis=1)
    return cases.loc[used | ~others].copy()


def _too_few(
    template: dict[str, Any], subgroup: str, n_treated: int, n_control: int, min_cases: int
) -> EffectResult:
    return EffectResult(
        **template,
        subgroup=subgroup,
        estimate=math.nan,
        std_error=math.nan,
        ci_low=math.nan,
        ci_high=math.nan,
        p_value=math.nan,
        n_treated=n_treated,
        n_control=n_control,
        diagnostics={"too_few_cases": True, "min_cases": min_cases},
        warnings=(
            f"too few cases: {n_treated} treated and {n_control} control "
            f"(at least {min_cases} of each needed); not estimated",
        ),
    )


def estimate_by_subgroup(
    estimator: Estimator,
    frame: pd.DataFrame,
    *,
    by: str,
    treatment: str,
    outcome: str,
    covariates: Sequence[str] = (),
    min_cases: int = MIN_SUBGROUP_CASES,
) -> tuple[EffectResult, ...]:
    """Effects within each level of ``by``, a heterogeneity test and adjusted p-values.

    Parameters
    ----------
    estimator
        An (unfitted) estimator; it is cloned per subgroup with the same parameters.
    frame
        The data. Rows with a missing ``by`` are left out (and counted in the
        heterogeneity row's diagnostics).
    by
        The subgroup column (e.g. ``"offence"``, ``"group_structure"``,
        ``"jurisdiction"``). When it is also a covariate, it is dropped from the
        covariates within subgroups (it is constant there).
    treatment, outcome, covariates
        As for ``fit``.
    min_cases
        Subgroups with fewer treated or fewer control cases are reported as too few
        cases and not estimated.

    Returns
    -------
    tuple of EffectResult
        One row per level (sorted), primary scale only, ``subgroup="by=level"``, with
        ``diagnostics["p_value_holm"]`` and ``diagnostics["p_value_bh"]`` (adjusted over
        the estimated subgroups); too-few-cases rows have ``nan`` numbers,
        ``diagnostics["too_few_cases"] = True`` and a warning. Then one heterogeneity
        row: ``scale="heterogeneity_q"``, ``subgroup=by``, ``estimate`` = Cochran's
        ``Q``, ``p_value`` from ``chi2(k - 1)``, interval ``nan``, and diagnostics
        ``df``, ``i_squared``, ``pooled_estimate``, ``subgroups`` and the adjusted
        p-values by subgroup.

    Notes
    -----
    ``Q = sum_g w_g (est_g - pooled)^2`` with ``w_g = 1 / se_g^2`` and ``pooled`` the
    inverse-variance mean over estimated subgroups; the subgroups are disjoint, so their
    estimates are independent and ``Q ~ chi2(k - 1)`` under equal effects (Cochran 1954).
    Holm and Benjamini–Hochberg adjustments use
    :func:`statsmodels.stats.multitest.multipletests`.

    References
    ----------
    Cochran, W. G. (1954). The combination of estimates from different experiments.
    *Biometrics*, 10(1), 101–129.
    """
    if by not in frame.columns:
        raise ArgumentError(f"there is no subgroup column {by!r} in the data")
    if min_cases < 1:
        raise ArgumentError("min_cases must be at least 1")
    within_covariates = [c for c in covariates if c != by]
    levels = frame[by]
    labels = sorted(str(v) for v in levels.dropna().unique())
    params = estimator.get_params()
    template = _template(estimator, frame, treatment, outcome, params)
    rows: list[EffectResult] = []
    estimated: list[int] = []
    for label in labels:
        subset = frame.loc[levels.astype("string") == label]
        subgroup = f"{by}={label}"
        flags = as_binary_treatment(subset[treatment].dropna(), treatment)
        n_treated, n_control = int(flags.sum()), int((~flags).sum())
        if min(n_treated, n_control) < min_cases:
            rows.append(_too_few(template, subgroup, n_treated, n_control, min_cases))
            continue
        try:
            fitted = type(estimator)(**params).fit(
                subset, treatment=treatment, outcome=outcome, covariates=within_covariates
            )
        except EstimatorError as exc:
            rows.append(_too_few(template, subgroup, n_treated, n_control, min_cases))
            rows[-1] = _replace(rows[-1], warnings=(f"not estimated: {exc.describe()}",))
            continue
        rows.append(_replace(fitted.result_, subgroup=subgroup))
        estimated.append(len(rows) - 1)

    # statsmodels is slow to import; only subgroup analyses need it
    from statsmodels.stats.multitest import multipletests

    p_values = np.array([rows[i].p_value for i in estimated])
    adjusted: dict[str, dict[str, float]] = {}
    if estimated:
        holm = multipletests(p_values, method="holm")[1]
        bh = multipletests(p_values, method="fdr_bh")[1]
        for i, p_holm, p_bh in zip(estimated, holm, bh, strict=True):
            diagnostics = dict(rows[i].diagnostics)
            diagnostics["p_value_holm"] = float(p_holm)
            diagnostics["p_value_bh"] = float(p_bh)
            rows[i] = _replace(rows[i], diagnostics=diagnostics)
            adjusted[rows[i].subgroup] = {"holm": float(p_holm), "bh": float(p_bh)}
    rows.append(
        _heterogeneity_row(
            [rows[i] for i in estimated],
            by,
            template=template,
            adjusted=adjusted,
            rows_missing_by=int(levels.isna().sum()),
        )
    )
    return tuple(rows)


def _template(
    estimator: Estimator, frame: pd.DataFrame, treatment: str, outcome: str, params: dict
) -> dict[str, Any]:
    name = type(estimator).name or type(estimator).__name__
    values = frame[outcome].dropna() if outcome in frame.columns else pd.Series([], dtype=float)
    binary = (
        values.size > 0
        and pd.api.types.is_numeric_dtype(values.dtype)
        and (infer_outcome_kind(values.to_numpy(dtype=float)) == "binary")
    )
    return {
        "technique": treatment,
        "outcome": outcome,
        "measure": outcome,
        "scale": "risk_difference"
        if binary or pd.api.types.is_bool_dtype(values.dtype)
        else "mean_difference",
        "estimand": params.get("estimand", "ATE"),
        "method": name.split(".")[-1],
        "family": type(estimator).family,
        "ci_level": float(params.get("ci_level", 0.95)),
    }


def _replace(result: EffectResult, **changes: Any) -> EffectResult:
    from dataclasses import replace

    return replace(result, **changes)


def _heterogeneity_row(
    rows: list[EffectResult],
    by: str,
    *,
    template: dict[str, Any],
    adjusted: dict[str, dict[str, float]],
    rows_missing_by: int,
) -> EffectResult:
    usable = [r for r in rows if math.isfinite(r.std_error) and r.std_error > 0]
    k = len(usable)
    template = {**template, "scale": "heterogeneity_q"}
    warnings: tuple[str, ...] = ()
    if k < 2:
        q = p_value = pooled = i_squared = math.nan
        warnings = ("fewer than two subgroups could be estimated: no heterogeneity test",)
    else:
        estimates = np.array([r.estimate for r in usable])
        weights = 1 / np.array([r.std_error for r in usable]) ** 2
        pooled = float(weights @ estimates / weights.sum())
        q = float(weights @ (estimates - pooled) ** 2)
        p_value = float(stats.chi2.sf(q, k - 1))
        i_squared = max(0.0, (q - (k - 1)) / q) if q > 0 else 0.0
    return EffectResult(
        **template,
        subgroup=by,
        estimate=q,
        std_error=math.nan,
        ci_low=math.nan,
        ci_high=math.nan,
        p_value=p_value,
        n_treated=sum(r.n_treated for r in usable),
        n_control=sum(r.n_control for r in usable),
        diagnostics={
            "test": "Cochran's Q across subgroups (inverse-variance weights)",
            "df": max(k - 1, 0),
            "i_squared": i_squared,
            "pooled_estimate": pooled,
            "subgroups": [r.subgroup for r in usable],
            "adjusted_p_values": adjusted,
            "rows_missing_subgroup": rows_missing_by,
        },
        warnings=warnings,
    )


# ---- helpers for the command line ---------------------------------------------------------


def read_data(source: str | Path) -> tuple[pd.DataFrame, list[str]]:
    """Read a table for :func:`estimate_effect` from a file or database URL.

    Any table works. A table holding every required case-record column is a case file:
    it is validated and the analysis-ready case table is returned (one boolean column
    per technique, ``conviction``, ``high_level_conviction``, ...), with a note when rows
    were set aside. Other tables keep their text columns as text (categorical covariates)
    and turn columns whose every filled cell is a number into numbers.

    Returns
    -------
    frame, notes
        The table, and plain-words notes about how it was read.
    """
    from techeval.cases.readers import read_table
    from techeval.cases.schema import REQUIRED_COLUMNS
    from techeval.cases.validate import infer_column, validate_table

    table = read_table(source)
    columns = {str(c).strip().lower() for c in table.frame.columns}
    if all(name in columns for name in REQUIRED_COLUMNS):
        report = validate_table(table)
        notes = [f"read as a case file: {report.rows_used:,} of {report.rows_in:,} rows used"]
        if report.rows_set_aside:
            notes.append(
                f"{report.rows_set_aside:,} rows set aside by validation "
                f"(run `techeval validate {table.source}` to see why)"
            )
        return report.cases, notes
    frame = pd.DataFrame(
        {column: infer_column(table.frame[column]) for column in table.frame.columns}
    )
    return frame, list(table.notes)
