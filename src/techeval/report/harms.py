"""What the report says about harms: the ones worth a sentence, and the table of them all.

Rows are chosen by what they are (``family == "harm"``, ``measure``, ``scale``) through
:class:`~techeval.report.document.ResultDocument`, never by estimator name.
"""

from __future__ import annotations

from techeval.report import text as tx
from techeval.report.document import ResultDocument
from techeval.report.model import Part, Table
from techeval.report.parts import ci_phrase, direction, estimate_interval, plain, with_ci

__all__ = ["harm_sentence", "harm_table", "main_harms"]


def main_harms(results: ResultDocument, technique: str) -> list[tuple[str, list[Part]]]:
    """The harms worth a sentence: technique-specific ones, then detectably raised rates.

    Technique-specific: non-suspects intercepted per case and offences per protected
    witness-year, over all cases. Then each harm's first published adjusted rate ratio
    (document order) whose interval lies above 1.
    """
    found: list[tuple[str, list[Part]]] = []
    collateral = results.harm_rate(technique, "non_suspects_intercepted", "rate_per_case")
    if collateral is not None and not collateral.row.get("suppressed"):
        estimate, interval = estimate_interval(results, collateral, "number")
        found.append(
            (
                "non_suspects_intercepted",
                [
                    "it intercepted about ",
                    estimate,
                    " non-suspects per case",
                    *ci_phrase(results, interval, short=True),
                ],
            )
        )
    offending = results.harm_rate(technique, "witness_offence_rate")
    if offending is not None and not offending.row.get("suppressed"):
        estimate, interval = estimate_interval(results, offending, "number")
        found.append(
            (
                "witness_offence_rate",
                [
                    "protected witnesses committed ",
                    estimate,
                    " offences per witness-year",
                    *ci_phrase(results, interval, short=True),
                ],
            )
        )
    seen = {name for name, _ in found}
    for ratio in results.harm_rate_ratios(technique):
        measure = ratio.row["measure"]
        if measure in seen or ratio.row.get("suppressed"):
            continue
        seen.add(measure)
        if direction(ratio.row, 1.0) == "up":
            estimate, interval = estimate_interval(results, ratio, "ratio")
            found.append(
                (
                    measure,
                    [
                        f"{tx.harm_label(measure)} were ",
                        estimate,
                        " times as frequent",
                        *ci_phrase(results, interval, short=True),
                    ],
                )
            )
    return found


def harm_sentence(results: ResultDocument, technique: str) -> list[Part]:
    """`` Harms: …; and ….`` or that none was detectably more frequent."""
    harms = main_harms(results, technique)
    if not harms:
        if not results.harm_rows(technique):
            return []
        return [" No harm was detectably more frequent than in comparable cases without it."]
    parts: list[Part] = [" Harms: "]
    for position, (_, sentence) in enumerate(harms):
        if position:
            parts.append("; " if position < len(harms) - 1 else "; and ")
        parts += sentence
    parts.append(".")
    return parts


def harm_table(results: ResultDocument, technique: str) -> Table | None:
    """Every harm row of the technique: over all cases, and with and without it."""
    rows = []
    for found in results.harm_rows(technique):
        row = found.row
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
                plain(tx.harm_label(row["measure"]).capitalize()),
                plain(f"{scale}{', ' + where if where else ''}"),
                plain(row.get("method", "")),
                with_ci(results, found),
            )
        )
    if not rows:
        return None
    return Table(
        caption="Harms",
        columns=("Harm", "Measure", "Method", f"Estimate ({results.settings.level_text} CI)"),
        rows=tuple(rows),
        note="Rate ratios compare cases with the technique to comparable cases without it "
        "(1 means no difference).",
    )
