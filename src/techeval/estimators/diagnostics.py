"""Diagnostics every effect estimate carries: overlap, balance and sensitivity.

* :func:`overlap_summary` — propensity-score quantiles per arm, the common-support
  interval and the share of cases outside it, clipping, weights and effective sample
  sizes;
* :func:`balance_table` — standardised mean differences (SMD) of every covariate before
  and after weighting, with ``|SMD| > 0.1`` flagged (Austin 2009);
* :func:`e_value` — the E-value for a risk ratio and for its confidence limit closer to
  1 (VanderWeele & Ding 2017);
* :func:`diagnostic_warnings` — the plain-language warnings a report must show.

All outputs are JSON-compatible (floats, lists, dicts), ready to sit in
:attr:`techeval.results.EffectResult.diagnostics`.

References
----------
Austin, P. C. (2009). Balance diagnostics for comparing the distribution of baseline
covariates between treatment groups in propensity-score matched samples. *Statistics in
Medicine*, 28(25), 3083–3107.

VanderWeele, T. J., & Ding, P. (2017). Sensitivity analysis in observational research:
introducing the E-value. *Annals of Internal Medicine*, 167(4), 268–274.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

# the thresholds, with their sources, are in techeval.assumptions
from techeval.assumptions import (
    ESS_WARNING_RATIO,
    MAX_WEIGHT_SHARE_WARNING,
    OUTSIDE_SUPPORT_WARNING,
    SMD_THRESHOLD,
)

_QUANTILES = (0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0)


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2``."""
    weights = np.asarray(weights, dtype=float)
    total = weights.sum()
    squares = np.sum(weights**2)
    return float(total**2 / squares) if squares > 0 else 0.0


def overlap_summary(
    propensity: np.ndarray,
    treated: np.ndarray,
    weights: np.ndarray,
    *,
    clip: float,
    raw_propensity: np.ndarray | None = None,
) -> dict[str, Any]:
    """Summarise propensity-score overlap and the weights built from it.

    Parameters
    ----------
    propensity
        Estimated ``P(treated | covariates)`` per case, after clipping.
    treated
        Boolean treatment indicator.
    weights
        The analysis weights (e.g. ``1/e`` and ``1/(1-e)`` for the ATE).
    clip
        Propensities were clipped to ``[clip, 1 - clip]``.
    raw_propensity
        The propensities before clipping, to count how many were clipped.

    Returns
    -------
    dict
        ``propensity_quantiles`` (``{"treated": {"q0.05": ...}, "control": {...}}``),
        ``common_support`` (``[low, high]``: the overlap of the two arms' propensity
        ranges), ``share_outside_common_support``, ``propensity_clip``
        (``[clip, 1-clip]``), ``share_clipped`` and ``n_clipped``, ``max_weight``,
        ``max_weight_share`` (largest share of its arm's total weight held by one case),
        ``effective_sample_size`` and ``effective_sample_size_ratio`` per arm.

    Examples
    --------
    >>> import numpy as np
    >>> e = np.array([0.2, 0.4, 0.6, 0.3, 0.5, 0.9])
    >>> t = np.array([False, False, False, True, True, True])
    >>> overlap_summary(e, t, np.ones(6), clip=0.01)["share_outside_common_support"]
    0.3333333333333333
    """
    treated = np.asarray(treated, dtype=bool)
    propensity = np.asarray(propensity, dtype=float)
    weights = np.asarray(weights, dtype=float)
    arms = {"treated": treated, "control": ~treated}
    quantiles = {
        arm: {
            f"q{q:g}": float(v)
            for q, v in zip(_QUANTILES, np.quantile(propensity[rows], _QUANTILES), strict=True)
        }
        for arm, rows in arms.items()
    }
    low = max(propensity[treated].min(), propensity[~treated].min())
    high = min(propensity[treated].max(), propensity[~treated].max())
    outside = (propensity < low) | (propensity > high)
    raw = propensity if raw_propensity is None else np.asarray(raw_propensity, dtype=float)
    clipped = (raw < clip) | (raw > 1 - clip)
    ess = {arm: effective_sample_size(weights[rows]) for arm, rows in arms.items()}
    max_share = max(
        float(weights[rows].max() / weights[rows].sum()) if weights[rows].sum() > 0 else 0.0
        for rows in arms.values()
    )
    return {
        "propensity_quantiles": quantiles,
        "common_support": [float(low), float(high)],
        "share_outside_common_support": float(outside.mean()),
        "propensity_clip": [float(clip), float(1 - clip)],
        "share_clipped": float(clipped.mean()),
        "n_clipped": int(clipped.sum()),
        "max_weight": float(weights.max()),
        "max_weight_share": max_share,
        "effective_sample_size": ess,
        "effective_sample_size_ratio": {
            arm: ess[arm] / max(int(rows.sum()), 1) for arm, rows in arms.items()
        },
    }


def _weighted_mean_var(values: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    total = weights.sum()
    mean = float(weights @ values / total)
    var = float(weights @ (values - mean) ** 2 / total)
    return mean, var


def balance_table(
    matrix: np.ndarray,
    names: Sequence[str],
    treated: np.ndarray,
    weights: np.ndarray,
) -> dict[str, Any]:
    """Standardised mean differences of every covariate before and after weighting.

    Parameters
    ----------
    matrix
        Covariates as analysts read them, one column each (numbers as they are, each text
        level a 0/1 column), shape ``(n, k)``.
    names
        Column names.
    treated
        Boolean treatment indicator.
    weights
        Analysis weights (``1`` everywhere gives the "before" table).

    Returns
    -------
    dict
        ``covariates``: list of ``{"covariate", "smd_before", "smd_after"}``;
        ``max_abs_smd_before``, ``max_abs_smd_after``; ``threshold`` (0.1) and
        ``imbalanced_after`` (names with ``|SMD after| > threshold``).

    Notes
    -----
    ``SMD = (mean_treated - mean_control) / sqrt((var_treated + var_control) / 2)``.
    The denominator uses the *unweighted* variances for both columns, so that before
    and after differ only in the means (Austin 2009; the convention of R's ``cobalt``).
    A covariate constant in both arms has SMD 0.
    """
    treated = np.asarray(treated, dtype=bool)
    control = ~treated
    weights = np.asarray(weights, dtype=float)
    t_weights, c_weights = weights[treated], weights[control]
    # column by column: a column-major matrix makes each column one contiguous block
    matrix = np.asfortranarray(matrix)
    rows = []
    for j, name in enumerate(names):
        column = matrix[:, j]
        t_values, c_values = column[treated], column[control]
        pooled = math.sqrt((t_values.var() + c_values.var()) / 2)
        before = t_values.mean() - c_values.mean()
        after = (
            _weighted_mean_var(t_values, t_weights)[0] - _weighted_mean_var(c_values, c_weights)[0]
        )
        smd_before = float(before / pooled) if pooled > 0 else 0.0
        smd_after = float(after / pooled) if pooled > 0 else 0.0
        rows.append({"covariate": str(name), "smd_before": smd_before, "smd_after": smd_after})
    max_before = max((abs(r["smd_before"]) for r in rows), default=0.0)
    max_after = max((abs(r["smd_after"]) for r in rows), default=0.0)
    return {
        "covariates": rows,
        "max_abs_smd_before": max_before,
        "max_abs_smd_after": max_after,
        "threshold": SMD_THRESHOLD,
        "imbalanced_after": [r["covariate"] for r in rows if abs(r["smd_after"]) > SMD_THRESHOLD],
    }


def e_value(
    estimate: float, ci_low: float = math.nan, ci_high: float = math.nan
) -> dict[str, float]:
    """E-value of a risk ratio and of its confidence limit closer to 1.

    Parameters
    ----------
    estimate
        Risk ratio (> 0).
    ci_low, ci_high
        Its confidence limits (``nan`` if unknown).

    Returns
    -------
    dict
        ``point``: the minimum strength of association (risk-ratio scale) an unmeasured
        confounder would need with both treatment and outcome to explain the estimate
        away; ``ci_limit``: the same for the confidence limit closer to 1 (1 when the
        interval includes 1).

    Notes
    -----
    For ``RR >= 1``: ``E = RR + sqrt(RR * (RR - 1))``; for ``RR < 1`` apply the formula to
    ``1 / RR`` (VanderWeele & Ding 2017, eq. 2).

    Examples
    --------
    VanderWeele & Ding (2017) use RR = 3.9 (95% CI 1.8 to 8.7) for formula feeding and
    infant death (Victora et al.), with E-values 7.26 (printed as 7.2) and 3.0:

    >>> ev = e_value(3.9, 1.8, 8.7)
    >>> round(ev["point"], 2), round(ev["ci_limit"], 2)
    (7.26, 3.0)
    """

    def formula(rr: float) -> float:
        if not (math.isfinite(rr) and rr > 0):
            return math.nan
        rr = 1 / rr if rr < 1 else rr
        return rr + math.sqrt(rr * (rr - 1))

    point = formula(estimate)
    if not (math.isfinite(ci_low) and math.isfinite(ci_high)):
        limit = math.nan
    elif ci_low <= 1 <= ci_high:
        limit = 1.0
    else:
        limit = formula(ci_low if estimate >= 1 else ci_high)
    return {"point": point, "ci_limit": limit}


def e_value_mean_difference(
    difference: float, ci_low: float, ci_high: float, outcome_sd: float
) -> dict[str, float]:
    """E-value for a difference in means via the approximation ``RR ~ exp(0.91 * d)``.

    ``d`` is the difference divided by the outcome's standard deviation (VanderWeele &
    Ding 2017, "Continuous outcomes"; the approximation assumes a roughly normal outcome).
    """
    if not outcome_sd > 0:
        return {"point": math.nan, "ci_limit": math.nan}

    def to_rr(value: float) -> float:
        # a difference of hundreds of SDs is "infinitely" strong, not an overflow
        return math.exp(min(0.91 * value / outcome_sd, 700.0))

    return e_value(to_rr(difference), to_rr(ci_low), to_rr(ci_high))


def diagnostic_warnings(
    overlap: dict[str, Any], balance: dict[str, Any], *, adjusted: bool = True
) -> list[str]:
    """Plain-language warnings for positivity problems and remaining imbalance.

    Thresholds: more than 5% of cases outside the common support, any propensity
    clipped, an arm's effective sample size below 20% of its size, one case holding
    more than 5% of its arm's weight, and ``|SMD| > 0.1``.
    """
    out = []
    share_out = overlap["share_outside_common_support"]
    if share_out > OUTSIDE_SUPPORT_WARNING:
        out.append(
            f"{share_out:.0%} of cases lie outside the common support of the propensity "
            "score (no comparable cases in the other group): the effect rests on "
            "extrapolation there"
        )
    if overlap["share_clipped"] > 0:
        low, high = overlap["propensity_clip"]
        out.append(
            f"{overlap['n_clipped']} cases ({overlap['share_clipped']:.2%}) had an "
            f"estimated propensity outside "
            f"[{low:g}, {high:g}] and were clipped to it: positivity is doubtful and the "
            "estimate may be biased"
        )
    ratio = overlap["effective_sample_size_ratio"]
    worst_arm = min(ratio, key=ratio.get)
    if (
        ratio[worst_arm] < ESS_WARNING_RATIO
        or overlap["max_weight_share"] > MAX_WEIGHT_SHARE_WARNING
    ):
        out.append(
            f"extreme weights: the {worst_arm} group's effective sample size is "
            f"{ratio[worst_arm]:.0%} of its size and one case carries "
            f"{overlap['max_weight_share']:.0%} of its group's weight; the interval may be "
            "unreliable"
        )
    if adjusted and balance["max_abs_smd_after"] > SMD_THRESHOLD:
        names = ", ".join(balance["imbalanced_after"][:5])
        out.append(
            f"covariates remain imbalanced after weighting (max |SMD| = "
            f"{balance['max_abs_smd_after']:.2f}; {names})"
        )
    if not adjusted and balance["max_abs_smd_before"] > SMD_THRESHOLD:
        out.append(
            f"this unadjusted comparison ignores covariates that differ between the groups "
            f"(max |SMD| = {balance['max_abs_smd_before']:.2f}); it is not a causal estimate"
        )
    return out
