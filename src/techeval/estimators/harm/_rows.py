"""Result rows of the harm estimators, and the parameter check they share."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pandas as pd

from techeval.errors import ArgumentError
from techeval.estimators.base import Estimator
from techeval.estimators.harm._ratios import RatioEstimate
from techeval.estimators.registry import get_estimator
from techeval.inference import Interval
from techeval.results import EffectResult


def _json_number(value: float | None) -> float | None:
    """A float for diagnostics (JSON has no inf or nan: those become ``None``)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _check(owner: Estimator, name: str, ok: bool, expected: str) -> None:
    if not ok:
        raise ArgumentError(
            f"{type(owner).__name__}: {name}={getattr(owner, name)!r} is not allowed",
            hint=f"Use {expected}",
        )


def _row(
    *,
    technique: str,
    outcome: str,
    measure: str,
    scale: str,
    method: str,
    interval: Interval,
    n_treated: int,
    n_control: int,
    ci_level: float,
    estimand: str | None = None,
    subgroup: str | None = None,
    diagnostics: Mapping[str, Any] | None = None,
    warnings: Sequence[str] = (),
) -> EffectResult:
    return EffectResult(
        technique=technique,
        outcome=outcome,
        measure=measure,
        scale=scale,
        estimand=estimand,
        method=method,
        estimate=float(interval.estimate),
        std_error=float(interval.std_error),
        ci_low=float(interval.ci_low),
        ci_high=float(interval.ci_high),
        p_value=float(interval.p_value),
        n_treated=int(n_treated),
        n_control=int(n_control),
        family="harm",
        subgroup=subgroup,
        ci_level=float(ci_level),
        diagnostics=dict(diagnostics or {}),
        warnings=tuple(warnings),
    )


def _exposure_scale(column: str, unit: float) -> str:
    if column == "officer_days" and unit == 1000:
        return "rate_per_1000_officer_days"
    if column == "duration_days" and unit == 365:
        return "rate_per_case_year"
    return f"rate_per_{unit:g}_{column}"


def _ratio_diagnostics(estimate: RatioEstimate) -> dict[str, Any]:
    out: dict[str, Any] = {
        "numerator": _json_number(estimate.numerator),
        "denominator": _json_number(estimate.denominator),
        "n_cases": estimate.n_clusters,
        "interval": estimate.method,
    }
    if estimate.note:
        out["note"] = estimate.note
    return out


def _arm_label(treatment: str, arm: bool) -> str:
    return f"{treatment}={'true' if arm else 'false'}"


def _relabel(result: EffectResult, *, measure: str, extra: Mapping[str, Any]) -> EffectResult:
    """An outcome-family row re-issued as a harm row (family, measure and diagnostics)."""
    return replace(
        result,
        family="harm",
        measure=measure,
        outcome=measure,
        diagnostics={**dict(result.diagnostics), **extra},
    )


def _aipw_rows(
    frame: pd.DataFrame,
    *,
    treatment: str,
    outcome_column: str,
    measure: str,
    covariates: Sequence[str],
    aipw_params: Mapping[str, Any] | None,
    defaults: Mapping[str, Any],
    extra: Mapping[str, Any],
) -> tuple[EffectResult, ...]:
    """Fit the registered ``outcome.aipw`` estimator and re-issue its rows as harm rows."""
    params = {**defaults, **dict(aipw_params or {})}
    estimator = get_estimator("outcome.aipw")(**params)
    estimator.fit(frame, treatment=treatment, outcome=outcome_column, covariates=covariates)
    return tuple(_relabel(r, measure=measure, extra=extra) for r in estimator.results_)
