"""One section per technique: its summary, raw against adjusted effects, costs, harms,
diagnostics and caveats."""

from __future__ import annotations

from techeval.report import text as tx
from techeval.report.costs import cost_table
from techeval.report.document import ResultDocument
from techeval.report.findings import summary_paragraph
from techeval.report.harms import harm_table
from techeval.report.model import Figure, Num, Paragraph, Part, Section, Table
from techeval.report.parts import finite, merge, plain, with_ci
from techeval.report.subgroups import best_cases_sentence

__all__ = ["technique_section"]


def _effects_table(results: ResultDocument, technique: str) -> Table:
    rows = []
    method = results.graded_method(technique) or "adjusted"
    for outcome in results.settings.outcomes:
        naive = results.naive_effect(technique, outcome)
        adjusted = results.adjusted_effect(technique, outcome)
        rows.append(
            (
                plain(tx.measure_label(outcome)),
                with_ci(results, naive, "pp"),
                with_ci(results, adjusted, "pp"),
            )
        )
    return Table(
        caption="Raw and adjusted effects (percentage points)",
        columns=("Outcome", "Raw comparison", f"Adjusted ({method})"),
        rows=tuple(rows),
        note="The raw comparison ignores that techniques go to bigger, harder cases; "
        "the adjusted estimate compares like with like.",
    )


def _diagnostics_paragraphs(results: ResultDocument, technique: str) -> list[Paragraph]:
    item = results.adjusted_effect(technique, results.settings.primary)
    if item is None or item.row.get("suppressed"):
        return []
    index, row = item
    d = row.get("diagnostics") or {}
    paragraphs: list[Paragraph] = []
    if finite(d.get("max_abs_smd_before")) and finite(d.get("max_abs_smd_after")):
        after = d["max_abs_smd_after"]
        paragraphs.append(
            merge(
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
    if finite(d.get("share_outside_common_support")):
        paragraphs.append(
            merge(
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
                        if finite(d.get("share_clipped"))
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
                        if finite(d.get("effective_sample_size_ratio_min"))
                        else []
                    ),
                    ".",
                ]
            )
        )
    if finite(d.get("e_value_point")):
        label = tx.technique_label(technique).lower()
        sentence: list[Part] = [
            "Sensitivity: to explain away the estimated effect, an unmeasured factor would "
            f"have to be linked both to the use of {label} and to {results.settings.primary.replace('_', ' ')} "
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
        if finite(limit) and limit > 1:
            sentence += [
                "; to make the confidence interval include no effect, ",
                Num(tx.fmt_ratio(limit), limit, index, "diagnostics.e_value_ci_limit", "ratio"),
                ".",
            ]
        else:
            sentence.append("; the confidence interval already includes no effect.")
        paragraphs.append(merge(sentence))
    return paragraphs


def _caveats(results: ResultDocument, technique: str) -> list[Paragraph]:
    grade = results.grade(technique)
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


def technique_section(results: ResultDocument, technique: str) -> Section:
    """The technique's section, with diagnostics and caveats as subsections."""
    label = tx.technique_label(technique)
    section = Section(id=f"technique-{technique.replace('_', '-')}", title=label)
    section.blocks.append(summary_paragraph(results, technique))
    section.blocks.append(_effects_table(results, technique))
    best = best_cases_sentence(results, technique)
    if best:
        section.blocks.append(best)
    for table in (cost_table(results, technique), harm_table(results, technique)):
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
