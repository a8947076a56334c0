"""Evidence grades: how far a reader can rely on an estimated effect.

Each technique, and each technique within a case type (``offence=drug_trafficking``),
gets one of four grades — ``strong``, ``moderate``, ``limited``, ``insufficient`` —
with its reasons in plain words. The rules are in the spirit of GRADE (start from the
study design, then rate down for specific concerns; Guyatt et al. 2008) and of the
Maryland Scientific Methods Scale (what the design can rule out; Sherman et al. 1997,
Farrington et al. 2002). They read only the result rows (the estimate, its interval,
counts and the diagnostics kept in ``result.json``), so anyone can recompute a grade
from the result file.

The rules
---------
1. **Design.** An adjusted observational comparison (a doubly robust, weighting or
   regression estimator with the protocol's covariates) starts at ``moderate``: it is
   Maryland level 3–4 (comparison of cases with and without the technique, controlling
   for measured case characteristics), never a randomised design. An unadjusted
   comparison starts at ``limited``. A withheld (suppressed) or non-estimable result is
   ``insufficient``.
2. **Rate down one level for each concern:**

   * *imbalance*: a covariate still differs after weighting, max ``|SMD| >`` 0.1
     (Austin 2009);
   * *poor overlap*: more than 5% of cases outside the common support, more than 1% of
     propensities clipped, or an arm's effective sample size below 20% of its size
     (the warning thresholds of :mod:`techeval.estimators.diagnostics`);
   * *imprecision*: the confidence interval includes no effect, or (risk differences)
     it is wider than 20 percentage points;
   * *small sample*: fewer than 100 cases in the smaller group;
   * *fragility*: the interval excludes no effect but an unmeasured confounder
     associated with both technique and outcome by a risk ratio of 1.25 could move it
     to include no effect (E-value of the confidence limit below 1.25; VanderWeele &
     Ding 2017).
3. **Rate up one level** (to ``strong`` at most) when an adjusted estimate has no
   concern at all and its E-value for the confidence limit is at least 2: only an
   unmeasured confounder doubling the risk of both could explain it away (GRADE's
   upgrade for a large effect; Guyatt et al. 2011).

The thresholds 100 cases, 20 percentage points, 1.25 and 2 are assumptions of
techeval, stated here so that a protocol's readers can judge them.

References
----------
Guyatt, G. H., et al. (2008). GRADE: an emerging consensus on rating quality of evidence
and strength of recommendations. *BMJ*, 336, 924–926.

Guyatt, G. H., et al. (2011). GRADE guidelines 9: rating up the quality of evidence.
*Journal of Clinical Epidemiology*, 64(12), 1311–1316.

Sherman, L. W., et al. (1997). *Preventing Crime: What Works, What Doesn't, What's
Promising*. US Department of Justice.

Farrington, D. P., Gottfredson, D. C., Sherman, L. W., & Welsh, B. C. (2002). The
Maryland Scientific Methods Scale. In *Evidence-Based Crime Prevention*. Routledge.

Austin, P. C. (2009). Balance diagnostics for comparing the distribution of baseline
covariates between treatment groups in propensity-score matched samples. *Statistics in
Medicine*, 28(25), 3083–3107.

VanderWeele, T. J., & Ding, P. (2017). Sensitivity analysis in observational research:
introducing the E-value. *Annals of Internal Medicine*, 167(4), 268–274.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from techeval.assumptions import ESS_WARNING_RATIO, OUTSIDE_SUPPORT_WARNING, SMD_THRESHOLD

__all__ = ["LEVELS", "Grade", "grade_result", "grade_techniques"]

#: Grades from worst to best.
LEVELS: tuple[str, ...] = ("insufficient", "limited", "moderate", "strong")

#: Share of propensities clipped above which overlap is called poor (assumption).
CLIPPED_LIMIT = 0.01
#: Width of a risk-difference interval above which it is called very wide (assumption).
WIDE_RISK_DIFFERENCE = 0.20
#: Fewer cases than this in the smaller group is a small sample (assumption).
SMALL_SAMPLE = 100
#: E-value of the confidence limit below which a result is fragile (assumption).
FRAGILE_E_VALUE = 1.25
#: E-value of the confidence limit at or above which an unflawed result is rated up.
ROBUST_E_VALUE = 2.0

_NULL = {"risk_ratio": 1.0, "odds_ratio": 1.0, "rate_ratio": 1.0}


@dataclass(frozen=True)
class Grade:
    """A grade and its reasons in plain words."""

    grade: str
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """``{"grade": ..., "reasons": [...]}``."""
        return {"grade": self.grade, "reasons": list(self.reasons)}


def _number(value: Any) -> float:
    return (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan
    )


def grade_result(row: Mapping[str, Any]) -> Grade:
    """Grade one effect row of a result file.

    Parameters
    ----------
    row
        A result row as written to ``result.json``: ``adjusted``, ``method``, ``scale``,
        ``estimate``, ``ci_low``, ``ci_high``, ``ci_level``, ``n_treated``,
        ``n_control``, ``suppressed`` and ``diagnostics`` (``max_abs_smd_after``,
        ``share_outside_common_support``, ``share_clipped``,
        ``effective_sample_size_ratio_min``, ``e_value_ci_limit``).

    Returns
    -------
    Grade

    Examples
    --------
    >>> row = {"adjusted": True, "method": "aipw", "scale": "risk_difference", "estimate": 0.1,
    ...        "ci_low": 0.06, "ci_high": 0.14, "ci_level": 0.95, "n_treated": 800,
    ...        "n_control": 4000, "suppressed": False,
    ...        "diagnostics": {"max_abs_smd_after": 0.02, "share_outside_common_support": 0.0,
    ...                        "share_clipped": 0.0, "effective_sample_size_ratio_min": 0.7,
    ...                        "e_value_ci_limit": 1.4}}
    >>> grade_result(row).grade
    'moderate'
    """
    if row.get("suppressed"):
        return Grade(
            "insufficient",
            ("the result is withheld: it rests on too few cases to publish",),
        )
    estimate, low, high = (_number(row.get(k)) for k in ("estimate", "ci_low", "ci_high"))
    if not all(math.isfinite(v) for v in (estimate, low, high)):
        return Grade("insufficient", ("no estimate with a confidence interval could be made",))
    diagnostics = row.get("diagnostics") or {}
    # only a row that says it is adjusted (the estimator's tags) starts at moderate
    adjusted = row.get("adjusted") is True
    level = LEVELS.index("moderate" if adjusted else "limited")
    reasons = [
        "design: observational comparison adjusted for case characteristics "
        f"({row.get('method')}), so it starts at moderate"
        if adjusted
        else "design: unadjusted comparison of cases with and without the technique, "
        "so it starts at limited"
    ]
    concerns = 0

    smd = _number(diagnostics.get("max_abs_smd_after"))
    if adjusted and math.isfinite(smd) and smd > SMD_THRESHOLD:
        concerns += 1
        reasons.append(
            f"imbalance: case characteristics still differ after weighting "
            f"(largest standardised difference {_above(smd, SMD_THRESHOLD)}, "
            f"above {SMD_THRESHOLD})"
        )
    overlap_problems = []
    outside = _number(diagnostics.get("share_outside_common_support"))
    if math.isfinite(outside) and outside > OUTSIDE_SUPPORT_WARNING:
        overlap_problems.append(
            f"{outside:.0%} of cases have no comparable cases in the other group"
        )
    clipped = _number(diagnostics.get("share_clipped"))
    if math.isfinite(clipped) and clipped > CLIPPED_LIMIT:
        overlap_problems.append(f"{clipped:.1%} of cases had extreme propensities")
    ess = _number(diagnostics.get("effective_sample_size_ratio_min"))
    if math.isfinite(ess) and ess < ESS_WARNING_RATIO:
        overlap_problems.append(f"weighting leaves an effective sample of {ess:.0%} of a group")
    if overlap_problems:
        concerns += 1
        reasons.append("poor overlap: " + "; ".join(overlap_problems))

    null = _NULL.get(str(row.get("scale")), 0.0)
    includes_null = low <= null <= high
    level_text = f"{_number(row.get('ci_level')):.0%}" if row.get("ci_level") else "the"
    if includes_null:
        concerns += 1
        reasons.append(f"imprecision: the {level_text} confidence interval includes no effect")
    elif row.get("scale") == "risk_difference" and high - low > WIDE_RISK_DIFFERENCE:
        concerns += 1
        reasons.append(
            f"imprecision: the confidence interval spans {100 * (high - low):.0f} percentage points"
        )
    counts = [_number(row.get("n_treated")), _number(row.get("n_control"))]
    smallest = min(counts)
    if math.isfinite(smallest) and smallest < SMALL_SAMPLE:
        concerns += 1
        reasons.append(
            f"small sample: only {smallest:.0f} cases in the smaller group "
            f"(fewer than {SMALL_SAMPLE})"
        )
    e_limit = _number(diagnostics.get("e_value_ci_limit"))
    if not includes_null and math.isfinite(e_limit) and e_limit < FRAGILE_E_VALUE:
        concerns += 1
        reasons.append(
            "fragile to unmeasured confounding: a confounder associated with both the "
            f"technique and the outcome by a risk ratio of {e_limit:.2f} could make the "
            "interval include no effect"
        )
    if adjusted and concerns == 0 and math.isfinite(e_limit) and e_limit >= ROBUST_E_VALUE:
        reasons.append(
            "rated up: no concern found, and only an unmeasured confounder associated with "
            f"both technique and outcome by a risk ratio of {e_limit:.1f} could explain it away"
        )
        return Grade("strong", tuple(reasons))
    if concerns == 0:
        reasons.append("no concern about balance, overlap, precision, sample size or fragility")
    return Grade(LEVELS[max(level - concerns, 0)], tuple(reasons))


def _primary(rows: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The first adjusted row (result-file order is protocol order), else the first row."""
    return next((r for r in rows if r.get("adjusted") is True), rows[0] if rows else None)


def grade_techniques(
    rows: Sequence[Mapping[str, Any]], *, techniques: Sequence[str], outcome: str
) -> dict[str, dict[str, Any]]:
    """Grades per technique and per technique × case type, from result-file rows.

    Parameters
    ----------
    rows
        Result rows (``result.json`` ``results``), after disclosure control.
    techniques
        Techniques to grade, in protocol order.
    outcome
        The outcome graded (the protocol's first outcome, usually ``conviction``).

    Returns
    -------
    dict
        ``{technique: {"grade", "reasons", "outcome", "method", "by_subgroup":
        {"offence=...": {"grade", "reasons"}}}}``. The graded row is the outcome
        family's risk (or mean) difference of the first adjusted estimator the protocol
        lists (rows with ``adjusted`` true); without one, of the first unadjusted one.
    """
    out: dict[str, dict[str, Any]] = {}
    for technique in techniques:
        candidates = [
            r
            for r in rows
            if r.get("technique") == technique
            and r.get("family") == "outcome"
            and r.get("outcome") == outcome
            and r.get("scale") in ("risk_difference", "mean_difference")
        ]
        primary = _primary([r for r in candidates if r.get("subgroup") is None])
        if primary is None:
            out[technique] = {
                **Grade(
                    "insufficient", (f"no estimate of the effect on {outcome} was made",)
                ).to_dict(),
                "outcome": outcome,
                "method": None,
                "by_subgroup": {},
            }
            continue
        by_subgroup = {
            str(r["subgroup"]): grade_result(r).to_dict()
            for r in candidates
            if r.get("method") == primary.get("method")
            and isinstance(r.get("subgroup"), str)
            and "=" in r["subgroup"]
        }
        out[technique] = {
            **grade_result(primary).to_dict(),
            "outcome": outcome,
            "method": primary.get("method"),
            "by_subgroup": dict(sorted(by_subgroup.items())),
        }
    return out


def _above(value: float, threshold: float) -> str:
    """``value`` with the fewest decimals (at least two) that show it above ``threshold``."""
    decimals = 2
    while round(value, decimals) <= threshold and decimals < 6:
        decimals += 1
    return f"{value:.{decimals}f}"
