"""What a report says, built from a result document alone.

:func:`build_report` turns ``result.json`` (and, for the appendix, the protocol's text)
into a :class:`Report`: sections of paragraphs, tables and figure references. Every
number in it is a :class:`Num` that remembers which result row and field it came from,
so the HTML can carry the exact value beside the rounded one and tests can check the
two agree. Nothing here estimates anything: a number missing from the result file is
missing from the report, said in words.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from techeval.report import text as tx

__all__ = [
    "Figure",
    "Num",
    "Paragraph",
    "Report",
    "Section",
    "ResultIndex",
    "Table",
    "build_report",
]

_SOURCES = (
    "Twelfth United Nations Congress on Crime Prevention and Criminal Justice, Salvador, "
    "Brazil, 12–19 April 2010. Workshop 4, “Links between drug trafficking and other forms "
    "of organized crime”: background paper, A/CONF.213/15 (prepared with UNICRI and the US "
    "National Institute of Justice), sections H (paras 46–51) and paras 33, 40, 43 and 60.",
    "Report of Committee I on Workshop 4 of the Twelfth United Nations Congress on Crime "
    "Prevention and Criminal Justice (addendum on Workshop 4), paras 14, 16 and 17.",
)

_ESTIMATOR_TEXT = {
    "outcome.aipw": "Augmented inverse-probability weighting (doubly robust), with "
    "cross-fitted propensity and outcome models; influence-function confidence intervals.",
    "outcome.ipw": "Inverse-probability weighting with a logistic propensity model.",
    "outcome.regression": "Outcome regression (g-computation) over the case characteristics.",
    "outcome.naive": "The raw difference between cases with and without the technique: "
    "shown only to make the effect of adjustment visible.",
    "cost.summary": "Mean, median and per-suspect and per-officer-day cost in each arm "
    "(unadjusted).",
    "cost.incremental": "Adjusted difference in cost per case (gamma models of cost in each "
    "arm, doubly robust).",
    "cost.effectiveness": "Cost per additional conviction (ICER) with its quadrant, a joint "
    "bootstrap of cost and effect, the cost-effectiveness plane and acceptability curve.",
    "cost.benefit": "Benefit–cost synthesis by Monte Carlo: monetised convictions, "
    "disruptions and recovered assets against cost and monetised harms.",
    "harm.rates": "Adjusted rate ratios of harms (Poisson or negative binomial model with an "
    "exposure offset, robust standard errors) and rates per case in each arm.",
    "harm.collateral_intrusion": "Uninvolved people intercepted by electronic surveillance, "
    "per case and per suspect.",
    "harm.undercover_risk": "Rate at which undercover identities are compromised, per 1,000 "
    "officer-days.",
    "harm.witness_offending": "Offences by protected witnesses per witness-year in the programme.",
    "harm.index": "Severity-weighted harm per case (days-of-imprisonment weights), adjusted "
    "difference by AIPW.",
}

_PRIMARY_SCALE = "risk_difference"


# ---- the model -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Num:
    """A number as shown, with the result row and field it came from.

    ``row`` is the index in ``result["results"]`` (``None`` for document-level values
    such as row counts), ``field`` the key read, ``kind`` the formatter used.
    """

    text: str
    value: float | None = None
    row: int | None = None
    field: str = "estimate"
    kind: str = "number"


Part = str | Num
Paragraph = tuple[Part, ...]


@dataclass(frozen=True)
class Table:
    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Paragraph, ...], ...]
    note: str = ""


@dataclass(frozen=True)
class Figure:
    """A reference to a figure by key (``figures.py`` draws it); alt text lives here."""

    key: str
    title: str
    alt: str


@dataclass(frozen=True)
class Preformatted:
    caption: str
    body: str


Block = Paragraph | Table | Figure | Preformatted


@dataclass
class Section:
    id: str
    title: str
    blocks: list[Block] = field(default_factory=list)
    subsections: list[Section] = field(default_factory=list)


@dataclass
class Report:
    title: str
    subtitle: str
    sections: list[Section]
    summary_ids: tuple[str, ...] = ()


# ---- reading the result document -------------------------------------------------------------


class ResultIndex:
    """Result rows with a first-match lookup."""

    def __init__(self, document: Mapping[str, Any]):
        self.document = document
        self.rows: list[Mapping[str, Any]] = list(document.get("results", []))
        settings = document.get("settings", {})
        self.ci_level = float(settings.get("ci_level", 0.95))
        self.currency = str(settings.get("currency", "USD"))
        self.min_cell = int(settings.get("min_cell", 10))
        outcomes = settings.get("outcomes") or ["conviction"]
        self.primary = outcomes[0]
        self.techniques: list[str] = list(settings.get("techniques") or [])
        self.grades: Mapping[str, Any] = document.get("grades", {})

    def find(self, **criteria: Any) -> tuple[int, Mapping[str, Any]] | None:
        for index, row in enumerate(self.rows):
            if all(row.get(k) == v for k, v in criteria.items()):
                return index, row
        return None

    def all(self, **criteria: Any) -> list[tuple[int, Mapping[str, Any]]]:
        return [
            (i, r)
            for i, r in enumerate(self.rows)
            if all(r.get(k) == v for k, v in criteria.items())
        ]

    def adjusted_method(self, technique: str) -> str | None:
        grade = self.grades.get(technique) or {}
        return grade.get("method")

    def adjusted(self, technique: str, outcome: str, subgroup: str | None = None):
        method = self.adjusted_method(technique)
        criteria = dict(
            technique=technique,
            family="outcome",
            outcome=outcome,
            scale=_PRIMARY_SCALE,
            subgroup=subgroup,
        )
        if method:
            criteria["method"] = method
        found = self.find(**criteria)
        if found is None and method:
            criteria.pop("method")
            found = next(
                (
                    item
                    for item in self.all(**criteria)
                    if item[1].get("estimator") != "outcome.naive"
                ),
                None,
            )
        return found

    def naive(self, technique: str, outcome: str):
        return self.find(
            technique=technique,
            estimator="outcome.naive",
            outcome=outcome,
            scale=_PRIMARY_SCALE,
            subgroup=None,
        )

    def subgroup_effect(self, technique: str, outcome: str, label: str):
        """The effect in one kind of case: the protocol's subgroup estimator's row."""
        found = self.all(
            technique=technique,
            family="outcome",
            outcome=outcome,
            scale=_PRIMARY_SCALE,
            subgroup=label,
        )
        adjusted = [item for item in found if item[1].get("estimator") != "outcome.naive"]
        return (adjusted or found or [None])[0]

    @property
    def level_text(self) -> str:
        return f"{100 * self.ci_level:.0f}%"


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


_FORMATTERS = {
    "pp": tx.fmt_pp,
    "prob": tx.fmt_probability,
    "ratio": tx.fmt_ratio,
    "number": tx.fmt_number,
    "count": tx.fmt_count,
}


def _num(value: Any, kind: str, *, row: int | None = None, field: str = "estimate", currency="USD"):
    if not _finite(value):
        return Num("—", None, row, field, kind)
    shown = tx.fmt_money(value, currency) if kind == "money" else _FORMATTERS[kind](value)
    return Num(shown, float(value), row, field, kind)


def _kind_for_scale(scale: str) -> str:
    if scale in ("risk_difference",):
        return "pp"
    if scale in ("probability", "share"):
        return "prob"
    if scale.startswith("currency") or scale == "currency":
        return "money"
    if scale in ("rate_ratio", "odds_ratio", "risk_ratio", "ratio"):
        return "ratio"
    return "number"


def _with_ci(
    results: ResultIndex, item: tuple[int, Mapping[str, Any]] | None, kind: str | None = None
) -> Paragraph:
    """``8.3 (6.6 to 9.9)``, ``suppressed`` or ``—``, as parts."""
    if item is None:
        return ("not estimated",)
    index, row = item
    if row.get("suppressed"):
        return (f"suppressed (fewer than {results.min_cell} cases)",)
    kind = kind or _kind_for_scale(str(row.get("scale", "")))
    parts: list[Part] = [_num(row.get("estimate"), kind, row=index, currency=results.currency)]
    if _finite(row.get("ci_low")) and _finite(row.get("ci_high")):
        parts += [
            " (",
            _num(row["ci_low"], kind, row=index, field="ci_low", currency=results.currency),
            " to ",
            _num(row["ci_high"], kind, row=index, field="ci_high", currency=results.currency),
            ")",
        ]
    return tuple(parts)


def _est_ci(
    results: ResultIndex, item: tuple[int, Mapping[str, Any]], kind: str
) -> tuple[Num, list[Part]]:
    """The estimate and its interval as parts (``[low, " to ", high]``, empty if none)."""
    index, row = item
    estimate = _num(row.get("estimate"), kind, row=index, currency=results.currency)
    if not (_finite(row.get("ci_low")) and _finite(row.get("ci_high"))):
        return estimate, []
    return estimate, [
        _num(row["ci_low"], kind, row=index, field="ci_low", currency=results.currency),
        " to ",
        _num(row["ci_high"], kind, row=index, field="ci_high", currency=results.currency),
    ]


def _ci_phrase(results: ResultIndex, interval: list[Part], *, short: bool = False) -> list[Part]:
    """`` (95% CI a to b)`` (or `` (a to b)`` when ``short``); nothing without an interval."""
    if not interval:
        return []
    return [" (", *([] if short else [results.level_text, " CI "]), *interval, ")"]


def _direction(row: Mapping[str, Any], null: float = 0.0) -> str:
    """``up``, ``down`` or ``none`` (interval includes ``null``, or no interval)."""
    low, high = row.get("ci_low"), row.get("ci_high")
    if not (_finite(low) and _finite(high)):
        return "none"
    if low > null:
        return "up"
    if high < null:
        return "down"
    return "none"


# ---- the summary -------------------------------------------------------------------------------


def _effect_sentence(
    results: ResultIndex, technique: str, outcome: str, *, lead: str
) -> list[Part]:
    item = results.adjusted(technique, outcome)
    phrase = tx.outcome_phrase(outcome)
    if item is None:
        return [f"{lead} was not assessed for {phrase}"]
    index, row = item
    if row.get("suppressed"):
        return [
            f"{lead}: the effect on {phrase} is withheld because it rests on fewer than "
            f"{results.min_cell} cases"
        ]
    estimate, interval = _est_ci(results, item, "pp")
    ci = _ci_phrase(results, interval)
    direction = _direction(row)
    if direction == "up":
        return [f"{lead} raised {phrase} by ", estimate, " percentage points", *ci]
    if direction == "down":
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
        *([", ", results.level_text, " CI ", *interval] if interval else []),
        ", an interval that includes no effect)",
    ]


def _covariate_words(document: Mapping[str, Any]) -> str:
    covariates = [tx.covariate_label(c) for c in document.get("settings", {}).get("covariates", [])]
    if not covariates:
        return "without adjustment"
    if len(covariates) <= 3:
        return "after adjusting for " + _and(covariates)
    return (
        f"after adjusting for {len(covariates)} case characteristics "
        f"({', '.join(covariates[:3])} and others)"
    )


def _and(words: Sequence[str]) -> str:
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _quadrant(results: ResultIndex, technique: str, outcome: str) -> str | None:
    found = results.find(
        technique=technique,
        estimator="cost.effectiveness",
        measure="icer_quadrant",
        outcome=outcome,
    )
    if found is None or found[1].get("suppressed"):
        return None
    return (found[1].get("diagnostics") or {}).get("quadrant")


def _cost_sentences(results: ResultIndex, technique: str) -> list[Part]:
    parts: list[Part] = []
    incremental = results.find(
        technique=technique, estimator="cost.incremental", measure="incremental_cost"
    )
    if incremental is not None and not incremental[1].get("suppressed"):
        estimate, interval = _est_ci(results, incremental, "money")
        parts += [" It added ", estimate, " per case", *_ci_phrase(results, interval)]
    icer = results.find(
        technique=technique, estimator="cost.effectiveness", measure="icer", outcome=results.primary
    )
    quadrant = _quadrant(results, technique, results.primary)
    if icer is not None and not icer[1].get("suppressed"):
        index, row = icer
        connector = "; " if parts else " "
        if quadrant == "more costly, more effective" and _finite(row.get("estimate")):
            estimate, interval = _est_ci(results, icer, "money")
            parts += [
                connector + "each additional conviction cost about ",
                estimate,
                *_ci_phrase(results, interval),
            ]
        elif quadrant == "dominant":
            parts += [connector + "it cost less and convicted more (it dominates the comparison)"]
        elif quadrant == "dominated":
            parts += [connector + "it cost more without convicting more"]
        elif quadrant == "less costly, less effective":
            parts += [connector + "it saved money but convicted fewer"]
        else:
            parts += [
                connector + "no cost per additional conviction is given because the effect on "
                "conviction is not distinguishable from zero"
            ]
    if parts:
        parts.append(".")
    probability = results.find(
        technique=technique,
        estimator="cost.effectiveness",
        measure="prob_cost_effective",
        outcome=results.primary,
    )
    if probability is not None and not probability[1].get("suppressed"):
        index, row = probability
        wtp = (row.get("diagnostics") or {}).get("willingness_to_pay")
        if _finite(row.get("estimate")) and _finite(wtp):
            parts += [
                " At ",
                tx.fmt_money(wtp, results.currency),
                " per additional conviction, the chance that it is cost-effective is ",
                _num(row["estimate"], "prob", row=index),
                ".",
            ]
    return parts


def _main_harms(results: ResultIndex, technique: str) -> list[tuple[str, list[Part]]]:
    """The harms worth a sentence: technique-specific ones, then detectably raised rates."""
    found: list[tuple[str, list[Part]]] = []
    collateral = results.find(
        technique=technique,
        estimator="harm.collateral_intrusion",
        measure="non_suspects_intercepted",
        scale="rate_per_case",
    )
    if collateral is not None and not collateral[1].get("suppressed"):
        estimate, interval = _est_ci(results, collateral, "number")
        found.append(
            (
                "non_suspects_intercepted",
                [
                    "it intercepted about ",
                    estimate,
                    " non-suspects per case",
                    *_ci_phrase(results, interval, short=True),
                ],
            )
        )
    offending = results.find(
        technique=technique, estimator="harm.witness_offending", measure="witness_offence_rate"
    )
    if offending is not None and not offending[1].get("suppressed"):
        estimate, interval = _est_ci(results, offending, "number")
        found.append(
            (
                "witness_offence_rate",
                [
                    "protected witnesses committed ",
                    estimate,
                    " offences per witness-year",
                    *_ci_phrase(results, interval, short=True),
                ],
            )
        )
    seen = {name for name, _ in found}
    for index, row in results.all(
        technique=technique, estimator="harm.rates", scale="rate_ratio", subgroup=None
    ):
        measure = row["measure"]
        if measure in seen or row.get("suppressed"):
            continue
        seen.add(measure)
        if _direction(row, 1.0) == "up":
            estimate, interval = _est_ci(results, (index, row), "ratio")
            found.append(
                (
                    measure,
                    [
                        f"{tx.harm_label(measure)} were ",
                        estimate,
                        " times as frequent",
                        *_ci_phrase(results, interval, short=True),
                    ],
                )
            )
    return found


def _harm_sentence(results: ResultIndex, technique: str) -> list[Part]:
    harms = _main_harms(results, technique)
    if not harms:
        any_harm = results.find(technique=technique, family="harm")
        if any_harm is None:
            return []
        return [" No harm was detectably more frequent than in comparable cases without it."]
    parts: list[Part] = [" Harms: "]
    for position, (_, sentence) in enumerate(harms):
        if position:
            parts.append("; " if position < len(harms) - 1 else "; and ")
        parts += sentence
    parts.append(".")
    return parts


def _benefit_sentence(results: ResultIndex, technique: str) -> list[Part]:
    probability = results.find(
        technique=technique, estimator="cost.benefit", measure="prob_benefits_exceed_costs"
    )
    ratio = results.find(
        technique=technique, estimator="cost.benefit", measure="benefit_cost_ratio"
    )
    if probability is None or probability[1].get("suppressed"):
        return []
    parts: list[Part] = [
        " Counting the monetised value of its results and harms, benefits exceeded costs "
        "with probability ",
        _num(probability[1].get("estimate"), "prob", row=probability[0]),
    ]
    if ratio is not None and not ratio[1].get("suppressed"):
        estimate, interval = _est_ci(results, ratio, "ratio")
        parts += [" (benefit–cost ratio ", estimate]
        parts += [", ", results.level_text, " CI ", *interval] if interval else []
        parts.append(")")
    parts.append(".")
    return parts


def _grade_sentence(results: ResultIndex, technique: str) -> list[Part]:
    grade = results.grades.get(technique) or {}
    if not grade:
        return []
    reasons = [r for r in grade.get("reasons", []) if not r.startswith(("design:", "no concern"))]
    parts: list[Part] = [f" Evidence: {grade.get('grade', 'not graded')}"]
    if reasons:
        parts.append(f" — {reasons[0].split(': ', 1)[-1]}")
    parts.append(".")
    return parts


def summary_paragraph(results: ResultIndex, technique: str) -> Paragraph:
    """One paragraph for decision makers about one technique."""
    label = tx.technique_label(technique)
    parts: list[Part] = _effect_sentence(results, technique, results.primary, lead=label)
    parts.append(" " + _covariate_words(results.document))
    secondary = [o for o in results.document.get("settings", {}).get("outcomes", [])[1:2]]
    for outcome in secondary:
        item = results.adjusted(technique, outcome)
        if item is not None and not item[1].get("suppressed"):
            estimate, interval = _est_ci(results, item, "pp")
            parts += [
                f"; for {tx.outcome_phrase(outcome).removeprefix('the chance of ')} the "
                "change was ",
                estimate,
                " points",
                *_ci_phrase(results, interval, short=True),
            ]
    parts.append(".")
    parts += _cost_sentences(results, technique)
    parts += _harm_sentence(results, technique)
    parts += _benefit_sentence(results, technique)
    parts += _grade_sentence(results, technique)
    return _merge(parts)


def _merge(parts: Iterable[Part]) -> Paragraph:
    """Join neighbouring strings (the renderers then see whole phrases)."""
    merged: list[Part] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] = merged[-1] + part
        elif part != "":
            merged.append(part)
    return tuple(merged)


# ---- at a glance -------------------------------------------------------------------------------


def _names(techniques: Sequence[str]) -> str:
    return _and([tx.technique_label(t).lower() for t in techniques])


def key_findings(results: ResultIndex) -> list[Paragraph]:
    """The report's first lines: which technique, for which cases, at what cost and harm."""
    findings: list[list[Part]] = []
    effects, flat = [], []
    for technique in results.techniques:
        item = results.adjusted(technique, results.primary)
        if item is None or item[1].get("suppressed"):
            continue
        (effects if _direction(item[1]) == "up" else flat).append((technique, item))
    if effects:
        effects.sort(key=lambda e: -e[1][1]["estimate"])
        parts: list[Part] = ["Largest estimated gain in convictions: "]
        for position, (technique, item) in enumerate(effects):
            if position:
                parts.append(", then " if position == 1 else ", ")
            label = tx.technique_label(technique)
            parts += [
                label if not position else label.lower(),
                " (+" if item[1]["estimate"] > 0 else " (",
                _est_ci(results, item, "pp")[0],
                " points)",
            ]
        if len(effects) > 1 and effects[0][1][1]["ci_low"] < effects[1][1][1]["ci_high"]:
            parts.append("; the intervals overlap, so the order is uncertain")
        parts.append(".")
        findings.append(parts)
    if flat:
        findings.append(
            [
                f"No detectable effect on {tx.outcome_phrase(results.primary)}: "
                f"{_names([t for t, _ in flat])}."
            ]
        )
    icers = []
    for technique in results.techniques:
        icer = results.find(
            technique=technique,
            estimator="cost.effectiveness",
            measure="icer",
            outcome=results.primary,
        )
        if (
            icer is not None
            and not icer[1].get("suppressed")
            and _finite(icer[1].get("estimate"))
            and _quadrant(results, technique, results.primary) == "more costly, more effective"
        ):
            icers.append((technique, icer))
    if icers:
        icers.sort(key=lambda i: i[1][1]["estimate"])
        parts = [
            "Lowest cost per additional conviction: ",
            tx.technique_label(icers[0][0]).lower(),
            " (",
            _est_ci(results, icers[0][1], "money")[0],
            ")",
        ]
        if len(icers) > 1:
            parts += [
                "; highest: ",
                tx.technique_label(icers[-1][0]).lower(),
                " (",
                _est_ci(results, icers[-1][1], "money")[0],
                ")",
            ]
        parts.append(".")
        findings.append(parts)
    effective, wtp = [], None
    for technique in results.techniques:
        item = results.find(
            technique=technique,
            estimator="cost.effectiveness",
            measure="prob_cost_effective",
            outcome=results.primary,
        )
        if item is not None and not item[1].get("suppressed") and _finite(item[1].get("estimate")):
            wtp = (item[1].get("diagnostics") or {}).get("willingness_to_pay", wtp)
            if item[1]["estimate"] > 0.5:
                effective.append(technique)
    if _finite(wtp):
        findings.append(
            [
                f"At a willingness to pay of {tx.fmt_money(wtp, results.currency)} per additional "
                "conviction, "
                + (
                    f"{_names(effective)} {'is' if len(effective) == 1 else 'are'} likely to be "
                    "cost-effective."
                    if effective
                    else "no technique is likely to be cost-effective."
                )
            ]
        )
    probabilities = []
    for technique in results.techniques:
        item = results.find(
            technique=technique, estimator="cost.benefit", measure="prob_benefits_exceed_costs"
        )
        if item is not None and not item[1].get("suppressed") and _finite(item[1].get("estimate")):
            probabilities.append((technique, item))
    if probabilities:
        probabilities.sort(key=lambda p: -p[1][1]["estimate"])
        likely = [(t, i) for t, i in probabilities if i[1]["estimate"] > 0.5]
        technique, item = probabilities[0]
        if likely:
            parts = [
                "Benefits more likely than not exceed costs for ",
                _names([t for t, _ in likely]),
                " (highest chance ",
                _num(item[1]["estimate"], "prob", row=item[0]),
                ").",
            ]
        else:
            parts = [
                "For no technique are benefits more likely than not to exceed costs "
                f"(highest chance: {tx.technique_label(technique).lower()}, ",
                _num(item[1]["estimate"], "prob", row=item[0]),
                ").",
            ]
        findings.append(parts)
    harmful = [(t, _main_harms(results, t)) for t in results.techniques]
    harmful = [(t, h) for t, h in harmful if h]
    if harmful:
        findings.append(
            ["Harms to weigh: "]
            + [
                "; ".join(
                    f"{tx.technique_label(t).lower()} ({', '.join(tx.harm_label(n) for n, _ in h)})"
                    for t, h in harmful
                )
            ]
            + ["."]
        )
    fits = []
    for technique in results.techniques:
        best = []
        for subgroup in subgroup_labels(results):
            item = results.subgroup_effect(technique, results.primary, subgroup)
            if item is not None and not item[1].get("suppressed") and _direction(item[1]) == "up":
                best.append((item[1]["estimate"], tx.subgroup_phrase(subgroup)))
        if best:
            best.sort(key=lambda b: -b[0])
            fits.append(
                f"{tx.technique_label(technique).lower()}: {_and([level for _, level in best[:3]])}"
            )
    if fits:
        findings.append(
            [
                "Kinds of case where each helped most (estimates for kinds of case are less "
                "certain than the overall ones; see “Where each technique works best”): "
                + "; ".join(fits)
                + "."
            ]
        )
    by_grade: dict[str, list[str]] = {}
    for technique in results.techniques:
        grade = (results.grades.get(technique) or {}).get("grade")
        if grade:
            by_grade.setdefault(grade, []).append(technique)
    if by_grade:
        findings.append(
            ["Strength of evidence: "]
            + ["; ".join(f"{grade} for {_names(ts)}" for grade, ts in by_grade.items())]
            + ["."]
        )
    return [_merge(f) for f in findings]


# ---- tables ------------------------------------------------------------------------------------


def _plain(text: str) -> Paragraph:
    return (text,)


def league_table(results: ResultIndex) -> Table:
    """Techniques side by side: effects, cost, cost-effectiveness, benefit–cost, harms, grade."""
    currency = results.currency
    outcomes = results.document.get("settings", {}).get("outcomes", [])[:2]
    columns = ["Technique"]
    columns += [f"{tx.measure_label(o)} (points)" for o in outcomes]
    columns += [
        f"Incremental cost per case ({currency})",
        "Cost per additional conviction",
        "Chance cost-effective",
        "Benefit–cost ratio",
        "Chance benefits exceed costs",
        "Main harms",
        "Evidence",
    ]
    rows = []
    for technique in results.techniques:
        cells: list[Paragraph] = [_plain(tx.technique_label(technique))]
        for outcome in outcomes:
            cells.append(_with_ci(results, results.adjusted(technique, outcome), "pp"))
        cells.append(
            _with_ci(
                results,
                results.find(
                    technique=technique, estimator="cost.incremental", measure="incremental_cost"
                ),
                "money",
            )
        )
        icer = results.find(
            technique=technique,
            estimator="cost.effectiveness",
            measure="icer",
            outcome=results.primary,
        )
        quadrant = _quadrant(results, technique, results.primary)
        if icer is None:
            cells.append(_plain("not estimated"))
        elif quadrant == "more costly, more effective" or icer[1].get("suppressed"):
            cells.append(_with_ci(results, icer, "money"))
        else:
            cells.append(_plain(quadrant or "no difference in effect"))
        for estimator, measure in (
            ("cost.effectiveness", "prob_cost_effective"),
            ("cost.benefit", "benefit_cost_ratio"),
            ("cost.benefit", "prob_benefits_exceed_costs"),
        ):
            criteria = dict(technique=technique, estimator=estimator, measure=measure)
            if estimator == "cost.effectiveness":
                criteria["outcome"] = results.primary
            cells.append(_with_ci(results, results.find(**criteria)))
        harms = _main_harms(results, technique)
        cells.append(_plain(", ".join(tx.harm_label(name) for name, _ in harms) or "none detected"))
        grade = (results.grades.get(technique) or {}).get("grade", "not graded")
        cells.append(_plain(grade))
        rows.append(tuple(cells))
    return Table(
        caption="Techniques side by side",
        columns=tuple(columns),
        rows=tuple(rows),
        note=(
            f"Effects in percentage points with {results.level_text} confidence intervals, "
            "adjusted for case characteristics. Cost per additional conviction is shown when "
            "the technique costs more and convicts more; otherwise its cost-effectiveness "
            "quadrant. Main harms: harms detectably more frequent than without the technique."
        ),
    )


def subgroup_labels(results: ResultIndex) -> list[str]:
    """``variable=level`` labels of the adjusted subgroup effects, in result order."""
    labels: list[str] = []
    for row in results.rows:
        label = row.get("subgroup")
        if (
            row.get("family") == "outcome"
            and row.get("scale") == _PRIMARY_SCALE
            and row.get("outcome") == results.primary
            and label
            and "=" in label
            and label not in labels
        ):
            labels.append(label)
    return labels


def matrix_table(results: ResultIndex) -> Table | None:
    """Case type × technique: adjusted effect on the primary outcome with its grade."""
    labels = subgroup_labels(results)
    if not labels:
        return None
    rows = []
    for label in labels:
        variable, level = tx.subgroup_label(label)
        cells: list[Paragraph] = [_plain(f"{variable}: {level}")]
        for technique in results.techniques:
            item = results.subgroup_effect(technique, results.primary, label)
            cell = list(_with_ci(results, item, "pp"))
            grade = ((results.grades.get(technique) or {}).get("by_subgroup") or {}).get(label)
            if item is not None and not item[1].get("suppressed") and grade:
                cell.append(f" · {grade['grade']}")
            cells.append(tuple(cell))
        rows.append(tuple(cells))
    return Table(
        caption=f"Effect on {tx.outcome_phrase(results.primary)} by kind of case (points)",
        columns=("Kind of case", *(tx.technique_label(t) for t in results.techniques)),
        rows=tuple(rows),
        note=(
            f"Adjusted effect in percentage points ({results.level_text} CI) and evidence "
            f"grade. Cells resting on fewer than {results.min_cell} cases are suppressed; "
            "kinds of case with too few cases for an adjusted estimate are not estimated."
        ),
    )


def heterogeneity_table(results: ResultIndex) -> Table | None:
    """Cochran's Q per technique and breakdown: do effects differ between kinds of case?"""
    variables: list[str] = []
    for row in results.rows:
        label = row.get("subgroup")
        if row.get("scale") == "heterogeneity_q" and label and label not in variables:
            variables.append(label)
    if not variables:
        return None
    rows = []
    for technique in results.techniques:
        cells: list[Paragraph] = [_plain(tx.technique_label(technique))]
        for variable in variables:
            found = results.find(technique=technique, scale="heterogeneity_q", subgroup=variable)
            if found is None:
                cells.append(_plain("not tested"))
                continue
            index, row = found
            if row.get("suppressed"):
                cells.append(_plain(f"suppressed (fewer than {results.min_cell} cases)"))
                continue
            p = row.get("p_value")
            df = (row.get("diagnostics") or {}).get("df")
            p_text = (
                "p < 0.001" if _finite(p) and p < 0.001 else f"p = {p:.3f}" if _finite(p) else ""
            )
            cells.append(
                _merge(
                    [
                        "Q = ",
                        _num(row.get("estimate"), "number", row=index),
                        f" on {df} df, " if df is not None else ", ",
                        Num(p_text, p, index, "p_value", "p") if _finite(p) else "",
                    ]
                )
            )
        rows.append(tuple(cells))
    return Table(
        caption="Do effects differ between kinds of case? (Cochran's Q)",
        columns=("Technique", *(f"By {v.replace('_', ' ')}" for v in variables)),
        rows=tuple(rows),
        note="A small p-value says the effect differs between kinds of case more than chance "
        "would make it; with many kinds of case, single cells above can look different by "
        "chance alone.",
    )


def _best_cases_sentence(results: ResultIndex, technique: str) -> Paragraph:
    label = tx.technique_label(technique)
    good, weak = [], []
    for subgroup in subgroup_labels(results):
        item = results.subgroup_effect(technique, results.primary, subgroup)
        if item is None or item[1].get("suppressed"):
            continue
        level = tx.subgroup_phrase(subgroup)
        if _direction(item[1]) == "up":
            good.append((item[1]["estimate"], item, level))
        elif _direction(item[1]) == "none":
            weak.append(level)
    if not good and not weak:
        return ()
    parts: list[Part] = []
    if good:
        good.sort(key=lambda g: -g[0])
        parts.append(f"{label} raised {tx.outcome_phrase(results.primary)} most in ")
        for position, (_, item, level) in enumerate(good[:3]):
            if position:
                parts.append(", " if position < min(len(good), 3) - 1 else " and ")
            parts += [f"{level} (", _est_ci(results, item, "pp")[0], " points)"]
        parts.append(". ")
    if weak:
        parts.append(
            f"No detectable effect in {_and(weak[:6])}{' and others' if len(weak) > 6 else ''}."
        )
    return _merge(parts)


# ---- per technique -----------------------------------------------------------------------------


def _effects_table(results: ResultIndex, technique: str) -> Table:
    rows = []
    method = results.adjusted_method(technique) or "adjusted"
    for outcome in results.document.get("settings", {}).get("outcomes", []):
        naive = results.naive(technique, outcome)
        adjusted = results.adjusted(technique, outcome)
        rows.append(
            (
                _plain(tx.measure_label(outcome)),
                _with_ci(results, naive, "pp"),
                _with_ci(results, adjusted, "pp"),
            )
        )
    return Table(
        caption="Raw and adjusted effects (percentage points)",
        columns=("Outcome", "Raw comparison", f"Adjusted ({method})"),
        rows=tuple(rows),
        note="The raw comparison ignores that techniques go to bigger, harder cases; "
        "the adjusted estimate compares like with like.",
    )


def _cost_table(results: ResultIndex, technique: str) -> Table | None:
    rows = []
    for index, row in results.all(technique=technique, subgroup=None):
        estimator = row.get("estimator")
        if estimator not in (
            "cost.summary",
            "cost.incremental",
            "cost.effectiveness",
            "cost.benefit",
        ):
            continue
        if row.get("measure") in ("icer_quadrant", "incremental_effect"):
            continue
        label = tx.measure_label(row["measure"])
        if estimator == "cost.effectiveness" and row.get("outcome") in (
            "conviction",
            "high_level_conviction",
        ):
            if row["measure"] != "incremental_cost":
                label += f" ({tx.measure_label(row['outcome']).lower()})"
        value = _with_ci(results, (index, row))
        if row["measure"] == "icer":
            quadrant = _quadrant(results, technique, row["outcome"])
            if quadrant and quadrant != "more costly, more effective":
                value = (f"not meaningful: {quadrant}",)
        rows.append((_plain(label), _plain(row.get("method", "")), value))
    if not rows:
        return None
    return Table(
        caption=f"Costs ({results.currency})",
        columns=("Measure", "Method", f"Estimate ({results.level_text} CI)"),
        rows=tuple(rows),
    )


def _harm_table(results: ResultIndex, technique: str) -> Table | None:
    rows = []
    for index, row in results.all(technique=technique, family="harm"):
        subgroup = row.get("subgroup")
        where = ""
        if subgroup:
            variable, _, level = subgroup.partition("=")
            if variable != technique:
                continue
            where = "with the technique" if level.lower() == "true" else "without it"
        scale = str(row.get("scale", "")).replace("_", " ")
        rows.append(
            (
                _plain(tx.harm_label(row["measure"]).capitalize()),
                _plain(f"{scale}{', ' + where if where else ''}"),
                _plain(row.get("method", "")),
                _with_ci(results, (index, row)),
            )
        )
    if not rows:
        return None
    return Table(
        caption="Harms",
        columns=("Harm", "Measure", "Method", f"Estimate ({results.level_text} CI)"),
        rows=tuple(rows),
        note="Rate ratios compare cases with the technique to comparable cases without it "
        "(1 means no difference).",
    )


def _diagnostics_paragraphs(results: ResultIndex, technique: str) -> list[Paragraph]:
    item = results.adjusted(technique, results.primary)
    if item is None or item[1].get("suppressed"):
        return []
    index, row = item
    d = row.get("diagnostics") or {}
    paragraphs: list[Paragraph] = []
    if _finite(d.get("max_abs_smd_before")) and _finite(d.get("max_abs_smd_after")):
        after = d["max_abs_smd_after"]
        paragraphs.append(
            _merge(
                [
                    "Balance: the largest standardised difference in case characteristics "
                    "between cases with and without the technique was ",
                    Num(
                        tx.fmt_number(d["max_abs_smd_before"]),
                        d["max_abs_smd_before"],
                        index,
                        "diagnostics.max_abs_smd_before",
                    ),
                    " before weighting and ",
                    Num(tx.fmt_number(after), after, index, "diagnostics.max_abs_smd_after"),
                    " after ("
                    + ("below" if after <= 0.1 else "above")
                    + " the usual 0.1 threshold).",
                ]
            )
        )
    if _finite(d.get("share_outside_common_support")):
        paragraphs.append(
            _merge(
                [
                    "Overlap: ",
                    Num(
                        tx.fmt_probability(d["share_outside_common_support"]),
                        d["share_outside_common_support"],
                        index,
                        "diagnostics.share_outside_common_support",
                        "prob",
                    ),
                    " of cases had no comparable case in the other group",
                    *(
                        [
                            "; weights were clipped for ",
                            Num(
                                tx.fmt_probability(d["share_clipped"]),
                                d["share_clipped"],
                                index,
                                "diagnostics.share_clipped",
                                "prob",
                            ),
                        ]
                        if _finite(d.get("share_clipped"))
                        else []
                    ),
                    *(
                        [
                            "; the effective sample size is ",
                            Num(
                                tx.fmt_probability(d["effective_sample_size_ratio_min"]),
                                d["effective_sample_size_ratio_min"],
                                index,
                                "diagnostics.effective_sample_size_ratio_min",
                                "prob",
                            ),
                            " of the smaller group's size",
                        ]
                        if _finite(d.get("effective_sample_size_ratio_min"))
                        else []
                    ),
                    ".",
                ]
            )
        )
    if _finite(d.get("e_value_point")):
        label = tx.technique_label(technique).lower()
        sentence: list[Part] = [
            "Sensitivity: to explain away the estimated effect, an unmeasured factor would "
            f"have to be linked both to the use of {label} and to {results.primary.replace('_', ' ')} "
            "by a risk ratio of at least ",
            Num(
                tx.fmt_ratio(d["e_value_point"]),
                d["e_value_point"],
                index,
                "diagnostics.e_value_point",
                "ratio",
            ),
            " each, beyond the case characteristics adjusted for (E-value; VanderWeele and "
            "Ding 2017)",
        ]
        limit = d.get("e_value_ci_limit")
        if _finite(limit) and limit > 1:
            sentence += [
                "; to make the confidence interval include no effect, ",
                Num(tx.fmt_ratio(limit), limit, index, "diagnostics.e_value_ci_limit", "ratio"),
                ".",
            ]
        else:
            sentence.append("; the confidence interval already includes no effect.")
        paragraphs.append(_merge(sentence))
    return paragraphs


def _caveats(results: ResultIndex, technique: str) -> list[Paragraph]:
    grade = results.grades.get(technique) or {}
    seen: list[str] = []
    for reason in grade.get("reasons", []):
        if reason not in seen:
            seen.append(reason[0].upper() + reason[1:])
    for row in results.rows:
        if row.get("technique") != technique or row.get("subgroup"):
            continue
        for warning in row.get("warnings") or []:
            text = warning[0].upper() + warning[1:]
            if text not in seen:
                seen.append(text)
    return [(f"• {text}",) for text in seen]


def technique_section(results: ResultIndex, technique: str) -> Section:
    label = tx.technique_label(technique)
    section = Section(id=f"technique-{technique.replace('_', '-')}", title=label)
    section.blocks.append(summary_paragraph(results, technique))
    section.blocks.append(_effects_table(results, technique))
    best = _best_cases_sentence(results, technique)
    if best:
        section.blocks.append(best)
    for table in (_cost_table(results, technique), _harm_table(results, technique)):
        if table is not None:
            section.blocks.append(table)
    diagnostics = _diagnostics_paragraphs(results, technique)
    if diagnostics:
        section.subsections.append(
            Section(
                id=f"diagnostics-{technique.replace('_', '-')}",
                title=f"{label}: diagnostics and sensitivity",
                blocks=[
                    *diagnostics,
                    Figure(
                        f"balance-{technique}",
                        f"{label}: covariate balance before and after weighting",
                        f"Love plot for {label.lower()}: absolute standardised differences of "
                        "each case characteristic before and after weighting; after weighting "
                        "they should lie left of the 0.1 line.",
                    ),
                    Figure(
                        f"overlap-{technique}",
                        f"{label}: propensity overlap",
                        f"Distribution of the estimated probability of using {label.lower()} "
                        "among cases with and without it; where the curves do not overlap, "
                        "cases have no comparable counterpart.",
                    ),
                ],
            )
        )
    caveats = _caveats(results, technique)
    if caveats:
        section.subsections.append(
            Section(
                id=f"caveats-{technique.replace('_', '-')}",
                title=f"{label}: caveats",
                blocks=list(caveats),
            )
        )
    return section


# ---- programme, appendices ---------------------------------------------------------------------


def programme_section(results: ResultIndex) -> Section | None:
    rows = results.all(technique="witness_protection", method="programme_model")
    if not rows:
        return None
    section = Section(id="witness-programme", title="Witness-protection programme: plan and actual")
    for _, row in rows:
        for warning in row.get("warnings") or []:
            if row["measure"] == "intake_ratio_to_plan":
                section.blocks.append((warning[0].upper() + warning[1:],))
    table_rows = []
    for index, row in rows:
        kind = "money" if row.get("scale") == "currency" else "number"
        table_rows.append(
            (_plain(tx.measure_label(row["measure"])), _with_ci(results, (index, row), kind))
        )
    section.blocks.append(
        Table(
            caption="Programme model",
            columns=("Measure", "Value"),
            rows=tuple(table_rows),
            note="A deterministic projection from the protocol's planning figures and the "
            "intake seen in the case records (A/CONF.213/15, para 43): no interval.",
        )
    )
    section.blocks.append(
        Figure(
            "programme",
            "Witness protection: plan against actual intake, and the projection",
            "Bar chart of planned against actual admissions of witnesses per year, and line "
            "chart of people under protection and cumulative cost over the projection.",
        )
    )
    return section


def methods_section(results: ResultIndex, protocol_text: str | None) -> Section:
    document = results.document
    settings = document.get("settings", {})
    used: dict[str, set[str]] = {}
    for row in results.rows:
        used.setdefault(str(row.get("estimator")), set()).add(str(row.get("method")))
    rows = tuple(
        (
            _plain(name),
            _plain(", ".join(sorted(used[name]))),
            _plain(
                _ESTIMATOR_TEXT.get(
                    name, "A registered plug-in estimator; see its own documentation."
                )
            ),
        )
        for name in used
    )
    inference = settings.get("inference_method", "influence_function").replace("_", " ")
    section = Section(id="methods", title="Methods")
    section.blocks += [
        (
            "Each technique is compared with cases that did not use it "
            f"(comparator: {settings.get('comparator', 'without_technique').replace('_', ' ')}). "
            "Techniques are chosen for the biggest, hardest cases (confounding by indication), "
            "so every effect is adjusted for the case characteristics known when the case "
            f"opened: {', '.join(tx.covariate_label(c) for c in settings.get('covariates', []))}.",
        ),
        (
            "Assumptions: no unmeasured factor drives both the choice of technique and the "
            "outcome once these characteristics are accounted for (the E-values say how strong "
            "such a factor would have to be); every kind of case could have received the "
            "technique or not (the overlap diagnostics check this); one case's technique does "
            "not change another case's outcome.",
        ),
        (
            f"Inference: {inference} by default"
            + (
                f", with {settings['n_bootstrap']} bootstrap replicates where a joint "
                "distribution is needed"
                if settings.get("n_bootstrap")
                else ""
            )
            + f"; {results.level_text} confidence intervals. Any number resting on fewer than "
            f"{results.min_cell} cases is suppressed, with the cells that would reveal it. "
            "Evidence grades start at moderate for an adjusted observational comparison and "
            "go down for imbalance, poor overlap, imprecision, small samples or fragility.",
        ),
        Table(
            caption="Estimators used",
            columns=("Estimator", "Method", "What it does"),
            rows=rows,
        ),
        ("Sources: " + " ".join(_SOURCES),),
    ]
    if protocol_text:
        section.blocks.append(
            Preformatted(
                caption=(
                    f"The protocol as run ({document.get('protocol', {}).get('name', '')} "
                    f"{document.get('protocol', {}).get('version', '')}), with the source or "
                    "assumption behind each default in its comments"
                ),
                body=protocol_text,
            )
        )
    return section


def data_section(results: ResultIndex) -> Section:
    data = results.document.get("data", {})
    section = Section(id="data", title="Data")
    counts = [
        ("rows_in", "Rows in the case file"),
        ("rows_used", "Rows used"),
        ("rows_set_aside", "Rows set aside"),
    ]
    section.blocks.append(
        Table(
            caption="Rows in, used and set aside",
            columns=("", "Rows"),
            rows=tuple(
                (_plain(label), (_num(data.get(key), "count", field=f"data.{key}"),))
                for key, label in counts
            ),
            note="Every row is either used or set aside with its reasons: rows in = rows "
            "used + rows set aside.",
        )
    )
    ledger = data.get("set_aside") or []
    if ledger:
        section.blocks.append(
            Table(
                caption="Rows set aside, by column and rule",
                columns=("Column", "Rule", "Rows"),
                rows=tuple(
                    (
                        _plain(str(item.get("column", ""))),
                        _plain(str(item.get("rule", ""))),
                        (_num(item.get("count"), "count", field="data.set_aside.count"),),
                    )
                    for item in ledger
                ),
                note="A row can break more than one rule, so these counts can add up to more "
                "than the rows set aside.",
            )
        )
    else:
        section.blocks.append(("No row was set aside.",))
    warnings = results.document.get("warnings") or []
    if warnings:
        section.blocks += [(f"• {w}",) for w in warnings]
    return section


def provenance_section(document: Mapping[str, Any]) -> Section:
    protocol = document.get("protocol", {})
    data = document.get("data", {})
    rows = (
        ("techeval version", str(document.get("techeval_version", ""))),
        ("Result format", str(document.get("schema", ""))),
        ("Protocol", f"{protocol.get('name', '')} {protocol.get('version', '')}"),
        ("Protocol SHA-256", str(protocol.get("sha256", ""))),
        ("Data SHA-256", str(data.get("sha256", ""))),
        ("Seed", str(document.get("seed", ""))),
    )
    return Section(
        id="provenance",
        title="Provenance",
        blocks=[
            Table(
                caption="What produced this report",
                columns=("", ""),
                rows=tuple((_plain(a), _plain(b)) for a, b in rows),
                note="The same data, protocol and seed give the same result file, byte for "
                "byte; this report is rendered from that file alone.",
            )
        ],
    )


# ---- the whole report --------------------------------------------------------------------------


def build_report(document: Mapping[str, Any], *, protocol_text: str | None = None) -> Report:
    """The report's content from a result document (``result.json``).

    Parameters
    ----------
    document
        The parsed result file.
    protocol_text
        The protocol file's text, shown in the methods appendix when given.

    Returns
    -------
    Report
        Sections in reading order: summary, league table, where each technique works best,
        witness programme (when run), one section per technique, methods, data, provenance.
    """
    results = ResultIndex(document)
    protocol = document.get("protocol", {})
    summary = Section(id="summary", title="Summary for decision makers")
    summary.blocks.append(
        (
            "Which special investigative techniques work, for which cases, at what cost and "
            "with what harms, judged from this agency's case records. Each paragraph compares "
            "cases that used a technique with similar cases that did not.",
        )
    )
    glance = Section(id="at-a-glance", title="At a glance", blocks=list(key_findings(results)))
    summary.subsections.append(glance)
    details = Section(id="by-technique", title="Technique by technique")
    details.blocks += [summary_paragraph(results, t) for t in results.techniques]
    details.blocks.append(
        Figure(
            "forest",
            "Adjusted effects of each technique (naive estimates faint)",
            "Forest plot: for each technique and outcome, the adjusted effect in percentage "
            "points with its confidence interval, and the raw comparison beside it, faint.",
        )
    )
    summary.subsections.append(details)
    league = Section(id="league", title="Techniques side by side", blocks=[league_table(results)])
    league.blocks += [
        Figure(
            "ce-plane",
            "Cost-effectiveness plane",
            "Scatter of bootstrap replicates of incremental cost against additional "
            "convictions per case for each technique, with the willingness-to-pay line.",
        ),
        Figure(
            "ceac",
            "Cost-effectiveness acceptability curves",
            "Lines showing, for each technique, the probability of being cost-effective at "
            "each willingness to pay per additional conviction.",
        ),
        Figure(
            "harms",
            "Harm rate ratios",
            "Rate ratios of harms with confidence intervals on a log scale; 1 means the harm "
            "is as frequent as without the technique.",
        ),
    ]
    sections = [summary, league]
    matrix = matrix_table(results)
    if matrix is not None:
        where = Section(id="where", title="Where each technique works best", blocks=[matrix])
        heterogeneity = heterogeneity_table(results)
        if heterogeneity is not None:
            where.blocks.append(heterogeneity)
        for technique in results.techniques:
            sentence = _best_cases_sentence(results, technique)
            if sentence:
                where.blocks.append(sentence)
        where.blocks.append(
            Figure(
                "matrix",
                "Effect by kind of case",
                "Heat map of adjusted effects on conviction by technique (columns) and kind of "
                "case (rows), in percentage points; suppressed or missing cells are blank.",
            )
        )
        sections.append(where)
    programme = programme_section(results)
    if programme is not None:
        sections.append(programme)
    sections += [technique_section(results, t) for t in results.techniques]
    sections += [
        methods_section(results, protocol_text),
        data_section(results),
        provenance_section(document),
    ]
    return Report(
        title="Special investigative techniques: effectiveness report",
        subtitle=(
            f"Protocol {protocol.get('name', '')} {protocol.get('version', '')} · "
            f"{tx.fmt_count(document.get('data', {}).get('rows_used', 0))} cases · "
            f"techeval {document.get('techeval_version', '')}"
        ),
        sections=sections,
        summary_ids=("summary",),
    )


# ---- reports from a plain context (pooled and trend reports) ----------------------------------


def _slug(title: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in title.lower()).split()) or "section"


def report_from_context(context: Mapping[str, Any]) -> Report:
    """A :class:`Report` from a plain context (``techeval.pooling.report``'s contexts).

    The context's keys: ``title``, ``subtitle``, ``summary`` (paragraphs), ``sections``
    (``title``, ``paragraphs``, ``tables`` with ``title``/``columns``/``rows`` as dicts,
    ``figures`` with ``file``/``svg``/``alt``/``caption``), ``methods``, ``sources``,
    ``warnings``. Figures are referred to by their file stem.
    """
    summary = Section(id="summary", title="Summary")
    summary.blocks += [(f"Warning: {w}",) for w in context.get("warnings") or []]
    summary.blocks += [(p,) for p in context.get("summary") or []]
    sections = [summary]
    used = {"summary", "methods"}
    for item in context.get("sections") or []:
        slug = _slug(item["title"])
        while slug in used:
            slug += "-more"
        used.add(slug)
        section = Section(id=slug, title=item["title"])
        section.blocks += [(p,) for p in item.get("paragraphs") or []]
        for figure in item.get("figures") or []:
            section.blocks.append(
                Figure(figure["file"].rsplit(".", 1)[0], figure["caption"], figure["alt"])
            )
        for table in item.get("tables") or []:
            columns = tuple(str(c) for c in table["columns"])
            section.blocks.append(
                Table(
                    caption=str(table["title"]),
                    columns=columns,
                    rows=tuple(
                        tuple((str(row.get(c, "")),) for c in table["columns"])
                        for row in table["rows"]
                    ),
                )
            )
        sections.append(section)
    methods = Section(id="methods", title="Methods")
    methods.blocks += [(p,) for p in context.get("methods") or []]
    methods.blocks += [(f"Source: {s}",) for s in context.get("sources") or []]
    sections.append(methods)
    return Report(title=context["title"], subtitle=context.get("subtitle", ""), sections=sections)
