"""Where each technique works best: effects by kind of case, and whether they differ."""

from __future__ import annotations

from techeval.report import text as tx
from techeval.report.document import ResultDocument
from techeval.report.model import Num, Paragraph, Part, Table
from techeval.report.parts import (
    direction,
    estimate_interval,
    finite,
    join_and,
    merge,
    number,
    plain,
    with_ci,
)

__all__ = ["best_cases_sentence", "heterogeneity_table", "matrix_table"]


def matrix_table(results: ResultDocument) -> Table | None:
    """Case type × technique: adjusted effect on the primary outcome with its grade."""
    settings = results.settings
    labels = results.subgroup_labels()
    if not labels:
        return None
    rows = []
    for label in labels:
        variable, level = tx.subgroup_label(label)
        cells: list[Paragraph] = [plain(f"{variable}: {level}")]
        for technique in settings.techniques:
            item = results.subgroup_effect(technique, settings.primary, label)
            cell = list(with_ci(results, item, "pp"))
            grade = (results.grade(technique).get("by_subgroup") or {}).get(label)
            if item is not None and not item.row.get("suppressed") and grade:
                cell.append(f" · {grade['grade']}")
            cells.append(tuple(cell))
        rows.append(tuple(cells))
    return Table(
        caption=f"Effect on {tx.outcome_phrase(settings.primary)} by kind of case (points)",
        columns=("Kind of case", *(tx.technique_label(t) for t in settings.techniques)),
        rows=tuple(rows),
        note=(
            f"Adjusted effect in percentage points ({settings.level_text} CI) and evidence "
            f"grade. Cells resting on fewer than {settings.min_cell} cases are suppressed; "
            "kinds of case with too few cases for an adjusted estimate are not estimated."
        ),
    )


def _q_cell(results: ResultDocument, technique: str, variable: str) -> Paragraph:
    found = results.heterogeneity_test(technique, variable)
    if found is None:
        return plain("not tested")
    index, row = found
    if row.get("suppressed"):
        return plain(f"suppressed (fewer than {results.settings.min_cell} cases)")
    p = row.get("p_value")
    df = (row.get("diagnostics") or {}).get("df")
    p_text = "p < 0.001" if finite(p) and p < 0.001 else f"p = {p:.3f}" if finite(p) else ""
    return merge(
        [
            "Q = ",
            number(row.get("estimate"), "number", row=index),
            f" on {df} df, " if df is not None else ", ",
            Num(p_text, p, index, "p_value", "p") if finite(p) else "",
        ]
    )


def heterogeneity_table(results: ResultDocument) -> Table | None:
    """Cochran's Q per technique and breakdown: do effects differ between kinds of case?"""
    variables = results.heterogeneity_variables()
    if not variables:
        return None
    rows = []
    for technique in results.settings.techniques:
        cells: list[Paragraph] = [plain(tx.technique_label(technique))]
        cells += [_q_cell(results, technique, variable) for variable in variables]
        rows.append(tuple(cells))
    return Table(
        caption="Do effects differ between kinds of case? (Cochran's Q)",
        columns=("Technique", *(f"By {v.replace('_', ' ')}" for v in variables)),
        rows=tuple(rows),
        note="A small p-value says the effect differs between kinds of case more than chance "
        "would make it; with many kinds of case, single cells above can look different by "
        "chance alone.",
    )


def best_cases_sentence(results: ResultDocument, technique: str) -> Paragraph:
    """The kinds of case where the technique raised the primary outcome most, and where not."""
    label = tx.technique_label(technique)
    primary = results.settings.primary
    good, weak = [], []
    for subgroup in results.subgroup_labels():
        item = results.subgroup_effect(technique, primary, subgroup)
        if item is None or item.row.get("suppressed"):
            continue
        level = tx.subgroup_phrase(subgroup)
        if direction(item.row) == "up":
            good.append((item.row["estimate"], item, level))
        elif direction(item.row) == "none":
            weak.append(level)
    if not good and not weak:
        return ()
    parts: list[Part] = []
    if good:
        good.sort(key=lambda g: -g[0])
        parts.append(f"{label} raised {tx.outcome_phrase(primary)} most in ")
        for position, (_, item, level) in enumerate(good[:3]):
            if position:
                parts.append(", " if position < min(len(good), 3) - 1 else " and ")
            parts += [f"{level} (", estimate_interval(results, item, "pp")[0], " points)"]
        parts.append(". ")
    if weak:
        parts.append(
            f"No detectable effect in {join_and(weak[:6])}{' and others' if len(weak) > 6 else ''}."
        )
    return merge(parts)
