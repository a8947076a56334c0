"""The report's words for decision makers: the lines "at a glance" and one paragraph per technique.

Each sentence reads the rows :class:`~techeval.report.document.ResultDocument` selects
by what they are, and says in words when a number is missing or withheld.
"""

from __future__ import annotations

from techeval.report import text as tx
from techeval.report.costs import (
    MORE_COSTLY_MORE_EFFECTIVE,
    benefit_sentence,
    cost_sentences,
    quadrant,
)
from techeval.report.document import ResultDocument
from techeval.report.harms import harm_sentence, main_harms
from techeval.report.model import Paragraph, Part
from techeval.report.parts import (
    ci_phrase,
    direction,
    estimate_interval,
    finite,
    join_and,
    merge,
    number,
    technique_names,
)

__all__ = ["key_findings", "summary_paragraph"]


# ---- one paragraph per technique ---------------------------------------------------------------


def _effect_sentence(
    results: ResultDocument, technique: str, outcome: str, *, lead: str
) -> list[Part]:
    item = results.adjusted_effect(technique, outcome)
    phrase = tx.outcome_phrase(outcome)
    settings = results.settings
    if item is None:
        return [f"{lead} was not assessed for {phrase}"]
    if item.row.get("suppressed"):
        return [
            f"{lead}: the effect on {phrase} is withheld because it rests on fewer than "
            f"{settings.min_cell} cases"
        ]
    estimate, interval = estimate_interval(results, item, "pp")
    ci = ci_phrase(results, interval)
    way = direction(item.row)
    if way == "up":
        return [f"{lead} raised {phrase} by ", estimate, " percentage points", *ci]
    if way == "down":
        return [
            f"{lead} changed {phrase} by ",
            estimate,
            " percentage points",
            *ci,
            ", a reduction",
        ]
    return [
        f"{lead} had no detectable effect on {phrase} (",
        estimate,
        " percentage points",
        *([", ", settings.level_text, " CI ", *interval] if interval else []),
        ", an interval that includes no effect)",
    ]


def covariate_words(results: ResultDocument) -> str:
    """``after adjusting for …`` (or ``without adjustment``)."""
    covariates = [tx.covariate_label(c) for c in results.settings.covariates]
    if not covariates:
        return "without adjustment"
    if len(covariates) <= 3:
        return "after adjusting for " + join_and(covariates)
    return (
        f"after adjusting for {len(covariates)} case characteristics "
        f"({', '.join(covariates[:3])} and others)"
    )


def _grade_sentence(results: ResultDocument, technique: str) -> list[Part]:
    grade = results.grade(technique)
    if not grade:
        return []
    reasons = [r for r in grade.get("reasons", []) if not r.startswith(("design:", "no concern"))]
    parts: list[Part] = [f" Evidence: {grade.get('grade', 'not graded')}"]
    if reasons:
        parts.append(f" — {reasons[0].split(': ', 1)[-1]}")
    parts.append(".")
    return parts


def summary_paragraph(results: ResultDocument, technique: str) -> Paragraph:
    """One paragraph for decision makers about one technique."""
    label = tx.technique_label(technique)
    settings = results.settings
    parts: list[Part] = _effect_sentence(results, technique, settings.primary, lead=label)
    parts.append(" " + covariate_words(results))
    for outcome in settings.outcomes[1:2]:
        item = results.adjusted_effect(technique, outcome)
        if item is not None and not item.row.get("suppressed"):
            estimate, interval = estimate_interval(results, item, "pp")
            parts += [
                f"; for {tx.outcome_phrase(outcome).removeprefix('the chance of ')} the "
                "change was ",
                estimate,
                " points",
                *ci_phrase(results, interval, short=True),
            ]
    parts.append(".")
    parts += cost_sentences(results, technique)
    parts += harm_sentence(results, technique)
    parts += benefit_sentence(results, technique)
    parts += _grade_sentence(results, technique)
    return merge(parts)


# ---- at a glance -------------------------------------------------------------------------------


def _gains(results: ResultDocument) -> list[list[Part]]:
    """Techniques ranked by their gain in the primary outcome; those without one."""
    primary = results.settings.primary
    findings: list[list[Part]] = []
    effects, flat = [], []
    for technique in results.settings.techniques:
        item = results.adjusted_effect(technique, primary)
        if item is None or item.row.get("suppressed"):
            continue
        (effects if direction(item.row) == "up" else flat).append((technique, item))
    if effects:
        effects.sort(key=lambda e: -e[1].row["estimate"])
        parts: list[Part] = ["Largest estimated gain in convictions: "]
        for position, (technique, item) in enumerate(effects):
            if position:
                parts.append(", then " if position == 1 else ", ")
            label = tx.technique_label(technique)
            parts += [
                label if not position else label.lower(),
                " (+" if item.row["estimate"] > 0 else " (",
                estimate_interval(results, item, "pp")[0],
                " points)",
            ]
        if len(effects) > 1 and effects[0][1].row["ci_low"] < effects[1][1].row["ci_high"]:
            parts.append("; the intervals overlap, so the order is uncertain")
        parts.append(".")
        findings.append(parts)
    if flat:
        findings.append(
            [
                f"No detectable effect on {tx.outcome_phrase(primary)}: "
                f"{technique_names([t for t, _ in flat])}."
            ]
        )
    return findings


def _cheapest(results: ResultDocument) -> list[list[Part]]:
    """The lowest and highest cost per additional conviction, where one is meaningful."""
    primary = results.settings.primary
    icers = []
    for technique in results.settings.techniques:
        icer = results.icer(technique, primary)
        if (
            icer is not None
            and not icer.row.get("suppressed")
            and finite(icer.row.get("estimate"))
            and quadrant(results, technique, primary) == MORE_COSTLY_MORE_EFFECTIVE
        ):
            icers.append((technique, icer))
    if not icers:
        return []
    icers.sort(key=lambda i: i[1].row["estimate"])
    parts: list[Part] = [
        "Lowest cost per additional conviction: ",
        tx.technique_label(icers[0][0]).lower(),
        " (",
        estimate_interval(results, icers[0][1], "money")[0],
        ")",
    ]
    if len(icers) > 1:
        parts += [
            "; highest: ",
            tx.technique_label(icers[-1][0]).lower(),
            " (",
            estimate_interval(results, icers[-1][1], "money")[0],
            ")",
        ]
    parts.append(".")
    return [parts]


def _cost_effective(results: ResultDocument) -> list[list[Part]]:
    """Which techniques are likely cost-effective at the willingness to pay."""
    settings = results.settings
    effective, wtp = [], None
    for technique in settings.techniques:
        item = results.prob_cost_effective(technique, settings.primary)
        if item is not None and not item.row.get("suppressed") and finite(item.row.get("estimate")):
            wtp = (item.row.get("diagnostics") or {}).get("willingness_to_pay", wtp)
            if item.row["estimate"] > 0.5:
                effective.append(technique)
    if not finite(wtp):
        return []
    return [
        [
            f"At a willingness to pay of {tx.fmt_money(wtp, settings.currency)} per additional "
            "conviction, "
            + (
                f"{technique_names(effective)} {'is' if len(effective) == 1 else 'are'} likely "
                "to be cost-effective."
                if effective
                else "no technique is likely to be cost-effective."
            )
        ]
    ]


def _benefits(results: ResultDocument) -> list[list[Part]]:
    """For which techniques benefits more likely than not exceed costs."""
    probabilities = []
    for technique in results.settings.techniques:
        item = results.prob_benefits_exceed_costs(technique)
        if item is not None and not item.row.get("suppressed") and finite(item.row.get("estimate")):
            probabilities.append((technique, item))
    if not probabilities:
        return []
    probabilities.sort(key=lambda p: -p[1].row["estimate"])
    likely = [(t, i) for t, i in probabilities if i.row["estimate"] > 0.5]
    technique, item = probabilities[0]
    if likely:
        return [
            [
                "Benefits more likely than not exceed costs for ",
                technique_names([t for t, _ in likely]),
                " (highest chance ",
                number(item.row["estimate"], "prob", row=item.index),
                ").",
            ]
        ]
    return [
        [
            "For no technique are benefits more likely than not to exceed costs "
            f"(highest chance: {tx.technique_label(technique).lower()}, ",
            number(item.row["estimate"], "prob", row=item.index),
            ").",
        ]
    ]


def _harms(results: ResultDocument) -> list[list[Part]]:
    harmful = [(t, main_harms(results, t)) for t in results.settings.techniques]
    harmful = [(t, h) for t, h in harmful if h]
    if not harmful:
        return []
    return [
        ["Harms to weigh: "]
        + [
            "; ".join(
                f"{tx.technique_label(t).lower()} ({', '.join(tx.harm_label(n) for n, _ in h)})"
                for t, h in harmful
            )
        ]
        + ["."]
    ]


def _best_fits(results: ResultDocument) -> list[list[Part]]:
    """The kinds of case where each technique raised the primary outcome most."""
    settings = results.settings
    fits = []
    for technique in settings.techniques:
        best = []
        for subgroup in results.subgroup_labels():
            item = results.subgroup_effect(technique, settings.primary, subgroup)
            if item is not None and not item.row.get("suppressed") and direction(item.row) == "up":
                best.append((item.row["estimate"], tx.subgroup_phrase(subgroup)))
        if best:
            best.sort(key=lambda b: -b[0])
            fits.append(
                f"{tx.technique_label(technique).lower()}: "
                f"{join_and([level for _, level in best[:3]])}"
            )
    if not fits:
        return []
    return [
        [
            "Kinds of case where each helped most (estimates for kinds of case are less "
            "certain than the overall ones; see “Where each technique works best”): "
            + "; ".join(fits)
            + "."
        ]
    ]


def _grades(results: ResultDocument) -> list[list[Part]]:
    by_grade: dict[str, list[str]] = {}
    for technique in results.settings.techniques:
        grade = results.grade(technique).get("grade")
        if grade:
            by_grade.setdefault(grade, []).append(technique)
    if not by_grade:
        return []
    return [
        ["Strength of evidence: "]
        + ["; ".join(f"{grade} for {technique_names(ts)}" for grade, ts in by_grade.items())]
        + ["."]
    ]


def key_findings(results: ResultDocument) -> list[Paragraph]:
    """The report's first lines: which technique, for which cases, at what cost and harm."""
    findings = [
        *_gains(results),
        *_cheapest(results),
        *_cost_effective(results),
        *_benefits(results),
        *_harms(results),
        *_best_fits(results),
        *_grades(results),
    ]
    return [merge(f) for f in findings]
