"""Ratio estimators of the harm estimators, and exact and continuity-corrected intervals.

Pooled rates and shares over cases (``sum(a) / sum(b)``, cases as clusters) with
cluster-robust intervals on the log or logit scale, Garwood's exact Poisson interval
when there are no events, and the crude rate ratio with zero events in one arm
(continuity-corrected, and its exact conditional interval). Also the labels of the
rows these estimates make: :func:`exposure_scale`, :func:`arm_label` and
:func:`ratio_diagnostics`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from techeval.estimators._rows import json_number
from techeval.inference import Interval, wald_from_influence


def z_value(level: float) -> float:
    """Two-sided normal quantile for a confidence level."""
    return float(stats.norm.ppf(0.5 + level / 2))


def log_wald(log_estimate: float, std_error: float, level: float) -> Interval:
    """Interval for a ratio from its logarithm's estimate and standard error (null ratio 1)."""
    z = z_value(level)
    if not (math.isfinite(log_estimate) and math.isfinite(std_error) and std_error > 0):
        return Interval(_exp(log_estimate), math.nan, math.nan, math.nan, math.nan)
    estimate = _exp(log_estimate)
    p_value = float(2 * stats.norm.sf(abs(log_estimate) / std_error))
    return Interval(
        estimate,
        estimate * std_error,
        _exp(log_estimate - z * std_error),
        _exp(log_estimate + z * std_error),
        p_value,
    )


def _exp(value: float) -> float:
    """``exp`` that returns ``inf`` instead of raising for a huge argument."""
    if math.isnan(value):
        return math.nan
    return math.exp(value) if value < 700 else math.inf


# ---- crude rate ratios with zero events ------------------------------------------------------


def continuity_corrected_rate_ratio(
    events_treated: float,
    exposure_treated: float,
    events_control: float,
    exposure_control: float,
    level: float,
) -> Interval:
    """Crude rate ratio with 0.5 added to each arm's events, and its log-scale Wald interval.

    ``RR = ((y1 + 0.5) / E1) / ((y0 + 0.5) / E0)``, ``se(log RR) = sqrt(1/(y1 + 0.5) +
    1/(y0 + 0.5))`` — finite whichever arm has no events (the Haldane–Anscombe
    correction applied to rates).
    """
    a, b = events_treated + 0.5, events_control + 0.5
    log_ratio = math.log(a / exposure_treated) - math.log(b / exposure_control)
    return log_wald(log_ratio, math.sqrt(1 / a + 1 / b), level)


def exact_conditional_rate_ratio_interval(
    events_treated: int,
    exposure_treated: float,
    events_control: int,
    exposure_control: float,
    level: float,
) -> tuple[float, float]:
    """Exact conditional interval for a rate ratio (Clopper–Pearson on y1 | y1 + y0).

    Given ``y1 + y0 = k``, ``y1 ~ Binomial(k, p)`` with ``p = RR E1 / (RR E1 + E0)``;
    the limits for ``p`` map to ``RR = p / (1 - p) * E0 / E1``. The upper limit is
    infinite when the comparator has no events.
    """
    k = events_treated + events_control
    alpha = 1 - level
    if k == 0:
        return 0.0, math.inf
    p_low = (
        0.0
        if events_treated == 0
        else stats.beta.ppf(alpha / 2, events_treated, k - events_treated + 1)
    )
    p_high = (
        1.0
        if events_treated == k
        else stats.beta.ppf(1 - alpha / 2, events_treated + 1, k - events_treated)
    )
    scale = exposure_control / exposure_treated
    low = p_low / (1 - p_low) * scale
    high = math.inf if p_high >= 1 else p_high / (1 - p_high) * scale
    return float(low), float(high)


# ---- ratio estimators -------------------------------------------------------------------------


def exact_poisson_interval(events: float, exposure: float, level: float) -> tuple[float, float]:
    """Garwood's exact interval for a Poisson rate ``events / exposure``."""
    alpha = 1 - level
    low = 0.0 if events == 0 else stats.chi2.ppf(alpha / 2, 2 * events) / 2
    high = stats.chi2.ppf(1 - alpha / 2, 2 * events + 2) / 2
    return float(low / exposure), float(high / exposure)


@dataclass(frozen=True)
class RatioEstimate:
    """A pooled ratio ``sum(a) / sum(b)`` with its interval and how it was computed."""

    interval: Interval
    method: str
    n_clusters: int
    numerator: float
    denominator: float
    note: str | None = None


def ratio_influence(numerator: np.ndarray, denominator: np.ndarray) -> tuple[float, np.ndarray]:
    """Ratio ``R = sum(a) / sum(b)`` and its per-cluster influence ``(a_i - R b_i) / mean(b)``."""
    total = float(denominator.sum())
    ratio = float(numerator.sum()) / total
    return ratio, (numerator - ratio * denominator) / (total / denominator.size)


def rate_ratio_estimate(
    numerator: np.ndarray, denominator: np.ndarray, *, level: float, scale: float = 1.0
) -> RatioEstimate:
    """A rate pooled over clusters (cases): cluster-robust log-scale interval, exact if no events.

    ``R = scale * sum(a) / sum(b)``; ``se(log R) = sqrt(sum(psi_i^2)) / (n R)`` with the
    ratio-estimator influence ``psi_i`` (HC0 convention, cases as clusters, so
    overdispersion and within-case correlation of events are allowed). With no events the
    log scale is undefined and Garwood's exact Poisson interval is used instead.
    """
    events, exposure = float(numerator.sum()), float(denominator.sum())
    n = int(numerator.size)
    if n == 0 or exposure <= 0:
        nan = Interval(math.nan, math.nan, math.nan, math.nan, math.nan)
        return RatioEstimate(nan, "ratio_estimator", n, events, exposure, "no exposure")
    if events == 0 or n < 2:
        low, high = exact_poisson_interval(events, exposure, level)
        interval = Interval(
            scale * events / exposure, math.nan, scale * low, scale * high, math.nan
        )
        return RatioEstimate(
            interval,
            "exact_poisson",
            n,
            events,
            exposure,
            "no events: Garwood exact Poisson interval" if events == 0 else "one case only",
        )
    ratio, influence = ratio_influence(numerator, denominator)
    interval = wald_from_influence(
        scale * ratio, influence / ratio, level=level, null=1.0, log_scale=True
    )
    # a rate has no null value: the p-value against 1 would mean nothing
    interval = Interval(
        interval.estimate, interval.std_error, interval.ci_low, interval.ci_high, math.nan
    )
    return RatioEstimate(interval, "ratio_estimator", n, events, exposure)


def share_estimate(
    numerator: np.ndarray, denominator: np.ndarray, *, level: float
) -> RatioEstimate:
    """A share pooled over clusters: cluster-robust interval on the logit scale.

    ``S = sum(a) / sum(b)`` with ``0 <= a_i <= b_i``; ``se(logit S) = se(S) / (S (1 - S))``
    with ``se(S) = sqrt(sum(psi_i^2)) / n``; the logit keeps the limits inside (0, 1).
    When ``S`` is 0 or 1 the logit is undefined and a Clopper–Pearson interval on the
    pooled counts is used, which treats items as independent (a warning says so).
    """
    n = int(numerator.size)
    total, part = float(denominator.sum()), float(numerator.sum())
    if n == 0 or total <= 0:
        nan = Interval(math.nan, math.nan, math.nan, math.nan, math.nan)
        return RatioEstimate(nan, "ratio_estimator", n, part, total, "nothing to share")
    share, influence = ratio_influence(numerator, denominator)
    if share in (0.0, 1.0) or n < 2:
        alpha = 1 - level
        k, m = round(part), round(total)
        low = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, m - k + 1))
        high = 1.0 if k == m else float(stats.beta.ppf(1 - alpha / 2, k + 1, m - k))
        interval = Interval(share, math.nan, low, high, math.nan)
        note = "share is 0 or 1: Clopper–Pearson interval on pooled counts (ignores clustering)"
        return RatioEstimate(interval, "clopper_pearson", n, part, total, note)
    std_error = float(np.sqrt(np.sum(influence**2)) / n)
    logit = math.log(share / (1 - share))
    se_logit = std_error / (share * (1 - share))
    z = z_value(level)
    low = 1 / (1 + math.exp(-(logit - z * se_logit)))
    high = 1 / (1 + math.exp(-(logit + z * se_logit)))
    return RatioEstimate(
        Interval(share, std_error, low, high, math.nan), "ratio_estimator", n, part, total
    )


def exposure_scale(column: str, unit: float) -> str:
    """The ``scale`` of a rate per ``unit`` of the exposure ``column``."""
    if column == "officer_days" and unit == 1000:
        return "rate_per_1000_officer_days"
    if column == "duration_days" and unit == 365:
        return "rate_per_case_year"
    return f"rate_per_{unit:g}_{column}"


def ratio_diagnostics(estimate: RatioEstimate) -> dict[str, Any]:
    """The diagnostics of a row made from ``estimate``: its sums, cases and interval."""
    out: dict[str, Any] = {
        "numerator": json_number(estimate.numerator),
        "denominator": json_number(estimate.denominator),
        "n_cases": estimate.n_clusters,
        "interval": estimate.method,
    }
    if estimate.note:
        out["note"] = estimate.note
    return out


def arm_label(treatment: str, arm: bool) -> str:
    """The ``subgroup`` label of one arm, ``"undercover=true"``."""
    return f"{treatment}={'true' if arm else 'false'}"
