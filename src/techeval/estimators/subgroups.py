"""Effects within levels of a column, a heterogeneity test and adjusted p-values.

:func:`estimate_by_subgroup` refits any registered estimator within each level of a
column (which kinds of case a technique fits), tests whether the effects differ
(Cochran's Q) and adjusts the subgroups' p-values for multiplicity (Holm,
Benjamini–Hochberg). The protocol runner calls it for a protocol's ``subgroups``;
it is also importable as ``techeval.effect.estimate_by_subgroup``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from techeval.errors import ArgumentError, EstimatorError
from techeval.estimators._columns import as_binary_treatment, infer_outcome_kind
from techeval.estimators._rows import result_row
from techeval.estimators.base import Estimator
from techeval.results import EffectResult

__all__ = ["MIN_SUBGROUP_CASES", "estimate_by_subgroup"]

#: Default smallest number of treated and of control cases for a subgroup estimate.
MIN_SUBGROUP_CASES = 20


def _too_few(
    template: dict[str, Any], subgroup: str, n_treated: int, n_control: int, min_cases: int
) -> EffectResult:
    return result_row(
        **template,
        subgroup=subgroup,
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
            rows[-1] = replace(rows[-1], warnings=(f"not estimated: {exc.describe()}",))
            continue
        rows.append(replace(fitted.result_, subgroup=subgroup))
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
            rows[i] = replace(rows[i], diagnostics=diagnostics)
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
    return result_row(
        **template,
        subgroup=by,
        estimate=q,
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
