"""The witness-protection programme: planned intake against actual, and the projection.

A/CONF.213/15, para 43: the programme model's rows (``method == "programme_model"``).
"""

from __future__ import annotations

from techeval.report import text as tx
from techeval.report.document import ResultDocument
from techeval.report.model import Figure, Section, Table
from techeval.report.parts import plain, with_ci

__all__ = ["programme_section"]


def programme_section(results: ResultDocument) -> Section | None:
    """Plan against actual intake and the projection, when the protocol ran the model."""
    rows = results.programme_rows()
    if not rows:
        return None
    section = Section(id="witness-programme", title="Witness-protection programme: plan and actual")
    for _, row in rows:
        for warning in row.get("warnings") or []:
            if row["measure"] == "intake_ratio_to_plan":
                section.blocks.append((warning[0].upper() + warning[1:],))
    table_rows = []
    for found in rows:
        kind = "money" if found.row.get("scale") == "currency" else "number"
        table_rows.append(
            (plain(tx.measure_label(found.row["measure"])), with_ci(results, found, kind))
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
