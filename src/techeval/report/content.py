"""What a report says, built from a result document alone.

:func:`build_report` turns ``result.json`` (and, for the appendix, the protocol's text)
into a :class:`~techeval.report.model.Report`: sections of paragraphs, tables and
figure references, in reading order. Every number in it is a
:class:`~techeval.report.model.Num` that remembers which result row and field it came
from. Nothing here estimates anything: a number missing from the result file is
missing from the report, said in words.

The words come from one module per job: :mod:`~techeval.report.findings` (at a glance,
one paragraph per technique), :mod:`~techeval.report.league` (techniques side by side),
:mod:`~techeval.report.subgroups` (where each works best),
:mod:`~techeval.report.programme` (the witness-protection programme),
:mod:`~techeval.report.technique` (a section per technique, with
:mod:`~techeval.report.costs` and :mod:`~techeval.report.harms`) and
:mod:`~techeval.report.methods` (the appendices). They read the document through
:class:`~techeval.report.document.ResultDocument`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from techeval.report import text as tx
from techeval.report.document import ResultDocument
from techeval.report.findings import key_findings, summary_paragraph
from techeval.report.league import league_table
from techeval.report.methods import data_section, methods_section, provenance_section
from techeval.report.model import Figure, Report, Section, Table
from techeval.report.programme import programme_section
from techeval.report.subgroups import best_cases_sentence, heterogeneity_table, matrix_table
from techeval.report.technique import technique_section

__all__ = ["build_report", "report_from_context"]


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
    results = ResultDocument(document)
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
    details.blocks += [summary_paragraph(results, t) for t in results.settings.techniques]
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
        for technique in results.settings.techniques:
            sentence = best_cases_sentence(results, technique)
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
    sections += [technique_section(results, t) for t in results.settings.techniques]
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
    """A :class:`Report` from a plain context (the contexts of :mod:`techeval.report.pooled` and :mod:`techeval.report.trend`).

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
