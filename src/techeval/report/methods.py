"""The appendices: methods (with each estimator in its own words), data and provenance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from techeval.report import text as tx
from techeval.report.document import ResultDocument
from techeval.report.model import Preformatted, Section, Table
from techeval.report.parts import number, plain

__all__ = ["data_section", "methods_section", "provenance_section"]

_SOURCES = (
    "Twelfth United Nations Congress on Crime Prevention and Criminal Justice, Salvador, "
    "Brazil, 12–19 April 2010. Workshop 4, “Links between drug trafficking and other forms "
    "of organized crime”: background paper, A/CONF.213/15 (prepared with UNICRI and the US "
    "National Institute of Justice), sections H (paras 46–51) and paras 33, 40, 43 and 60.",
    "Report of Committee I on Workshop 4 of the Twelfth United Nations Congress on Crime "
    "Prevention and Criminal Justice (addendum on Workshop 4), paras 14, 16 and 17.",
)


def methods_section(results: ResultDocument, protocol_text: str | None) -> Section:
    document = results.document
    settings = results.settings
    rows = tuple(
        (plain(name), plain(", ".join(methods)), plain(results.description(name)))
        for name, methods in results.estimators_used().items()
    )
    inference = settings.inference_method.replace("_", " ")
    section = Section(id="methods", title="Methods")
    section.blocks += [
        (
            "Each technique is compared with cases that did not use it "
            f"(comparator: {settings.comparator.replace('_', ' ')}). "
            "Techniques are chosen for the biggest, hardest cases (confounding by indication), "
            "so every effect is adjusted for the case characteristics known when the case "
            f"opened: {', '.join(tx.covariate_label(c) for c in settings.covariates)}.",
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
                f", with {settings.n_bootstrap} bootstrap replicates where a joint "
                "distribution is needed"
                if settings.n_bootstrap
                else ""
            )
            + f"; {settings.level_text} confidence intervals. Any number resting on fewer than "
            f"{settings.min_cell} cases is suppressed, with the cells that would reveal it. "
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


def data_section(results: ResultDocument) -> Section:
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
                (plain(label), (number(data.get(key), "count", field=f"data.{key}"),))
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
                        plain(str(item.get("column", ""))),
                        plain(str(item.get("rule", ""))),
                        (number(item.get("count"), "count", field="data.set_aside.count"),),
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
                rows=tuple((plain(a), plain(b)) for a, b in rows),
                note="The same data, protocol and seed give the same result file, byte for "
                "byte; this report is rendered from that file alone.",
            )
        ],
    )
