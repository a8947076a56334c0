"""The pooled report: what it says (a plain-data context) and its Markdown rendering.

:func:`pooled_report_context` turns a pooled document (``pooled.json``) into plain data
— title, summary paragraphs, sections with paragraphs, tables (lists of dicts) and
figure file names with alt texts — that the Markdown writer here and the HTML/PDF
renderer of :mod:`techeval.report` both use. Nothing is estimated here: every number
comes from the document, and a withheld estimate is shown as withheld.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from techeval.report import text as tx
from techeval.report.pooled_figures import figure_name
from techeval.report.pooled_text import (
    fmt_interval,
    fmt_p,
    fmt_value,
    headline_rows,
    quantity_phrase,
    quantity_title,
    variation_words,
)

__all__ = ["describe_pooled", "pooled_report_context", "render_markdown"]

_STATUS_WORDS = {
    "pooled": "pooled",
    "suppressed": "withheld (disclosure control)",
    "not_estimated": "not estimated",
    "absent": "not in the file",
}

#: How the methods paragraph names each between-region variance estimator, by the names
#: of :data:`techeval.pooling.meta.TAU2_METHODS` (the report may not import pooling/,
#: which imports the report; a test keeps the two in step).
TAU2_WORDS = {
    "reml": "restricted maximum likelihood (REML)",
    "dl": "DerSimonian–Laird",
    "pm": "Paule–Mandel",
}

_SOURCES = (
    "Twelfth United Nations Congress on Crime Prevention and Criminal Justice, Salvador, "
    "Brazil, 12–19 April 2010. Workshop 4, “Links between drug trafficking and other forms "
    "of organized crime”: background paper, A/CONF.213/15 (prepared with UNICRI and the US "
    "National Institute of Justice), paras 33 and 60 (standard, periodic assessments; "
    "regional assessments synthesised so that regions learn from one another)."
)


def _ci_words(document: Mapping[str, Any]) -> str:
    settings = document["settings"]
    level = f"{100 * float(settings['ci_level']):g}%"
    if settings["ci_method"] == "hartung_knapp":
        return f"{level} CI, Hartung–Knapp"
    return f"{level} CI"


def describe_pooled(row: Mapping[str, Any], document: Mapping[str, Any]) -> str:
    """One pooled quantity in plain words: average effect, spread, what a new region can expect."""
    currency = document["settings"]["currency"]
    technique = tx.technique_label(row["technique"])
    phrase = quantity_phrase(row)
    where = f" in {tx.subgroup_phrase(row['subgroup'])}" if row.get("subgroup") else ""
    withheld = (
        f" {row['k_suppressed']} region(s) withheld this estimate under disclosure control; "
        "it is not pooled."
        if row["k_suppressed"]
        else ""
    )
    if row["k"] < 2:
        return (
            f"{technique}, {phrase}{where}: only {row['k']} region(s) published an estimate, "
            f"so nothing is pooled.{withheld}"
        )
    ratio = row["pooled_on"] == "log"
    value = fmt_value(row, row["estimate"], currency, unit=True)
    if ratio:
        change = f"multiplied {phrase} by {value} on average"
    else:
        change = f"changed {phrase} by {value} on average"
    text = (
        f"Across {row['k']} regions, {technique.lower()} {change}{where} "
        f"({_ci_words(document)} {fmt_interval(row, row['ci_low'], row['ci_high'], currency)}; "
        f"{fmt_p(row['p_value'])})."
    )
    i2 = row["i_squared"]
    spread = f" How much the effect varies between regions beyond chance: {variation_words(i2)}"
    scale_note = " on the log scale" if ratio else ""
    tau = tx.fmt_number(row["tau"], 2) if ratio else fmt_value(row, row["tau"], currency, unit=True)
    text += (
        f"{spread} (I² = {tx.fmt_probability(i2)}, between-region standard deviation "
        f"τ = {tau}{scale_note}; Cochran's Q = {tx.fmt_number(row['q'], 3)} on {row['q_df']} df, "
        f"{fmt_p(row['q_p_value'])})."
    )
    if row.get("prediction_low") is not None:
        text += (
            " A new region could expect "
            + fmt_interval(row, row["prediction_low"], row["prediction_high"], currency, unit=True)
            + f" ({100 * float(row['ci_level']):g}% prediction interval)."
        )
    else:
        text += " With fewer than 3 regions there is no prediction interval for a new region."
    if row["k"] < document["settings"]["min_studies"]:
        text += f" With only {row['k']} regions these figures are imprecise."
    return text + withheld


def _pooled_table_row(row: Mapping[str, Any], currency: str) -> dict[str, str]:
    return {
        "technique": tx.technique_label(row["technique"]),
        "quantity": quantity_title(row),
        "regions pooled": f"{row['k']} of {len(row['regions'])}",
        "pooled estimate": fmt_value(row, row["estimate"], currency),
        "confidence interval": fmt_interval(row, row["ci_low"], row["ci_high"], currency),
        "prediction interval": fmt_interval(
            row, row["prediction_low"], row["prediction_high"], currency
        ),
        "I²": tx.fmt_probability(row["i_squared"]) if row["i_squared"] is not None else "—",
        "Q test": fmt_p(row["q_p_value"]) if row["q_p_value"] is not None else "—",
        "withheld (disclosure control)": ", ".join(
            r["label"] for r in row["regions"] if r["status"] == "suppressed"
        )
        or "—",
    }


def _region_rows(row: Mapping[str, Any], currency: str) -> list[dict[str, str]]:
    out = []
    for region in row["regions"]:
        out.append(
            {
                "region": region["label"],
                "estimate": fmt_value(row, region["estimate"], currency)
                if region["status"] in ("pooled", "not_estimated")
                else "—",
                "confidence interval": fmt_interval(
                    row, region["ci_low"], region["ci_high"], currency
                )
                if region["status"] in ("pooled", "not_estimated")
                else "—",
                "weight": tx.fmt_probability(region["weight"])
                if region.get("weight") is not None
                else "—",
                "status": _STATUS_WORDS[region["status"]],
            }
        )
    pooled = fmt_value(row, row["estimate"], currency)
    out.append(
        {
            "region": "pooled (random effects)",
            "estimate": pooled,
            "confidence interval": fmt_interval(row, row["ci_low"], row["ci_high"], currency),
            "weight": "100%" if row["k"] >= 2 else "—",
            "status": "pooled" if row["k"] >= 2 else "not pooled",
        }
    )
    return out


def _alt_text(technique: str, rows: Sequence[Mapping[str, Any]], currency: str) -> str:
    parts = []
    for row in rows:
        shown = ", ".join(
            f"{r['label']} {fmt_value(row, r['estimate'], currency)}"
            if r["status"] == "pooled"
            else f"{r['label']} {_STATUS_WORDS[r['status']]}"
            for r in row["regions"]
        )
        parts.append(
            f"{quantity_title(row)}: {shown}; pooled {fmt_value(row, row['estimate'], currency)} "
            f"({fmt_interval(row, row['ci_low'], row['ci_high'], currency)})"
        )
    return f"Forest plot for {tx.technique_label(technique).lower()}. " + ". ".join(parts) + "."


def pooled_report_context(document: Mapping[str, Any]) -> dict[str, Any]:
    """Plain data for a pooled report (Markdown here; HTML and PDF in :mod:`techeval.report`).

    Parameters
    ----------
    document
        A pooled document (``pooled.json``, from :func:`~techeval.pooling.pool.pool_results`).

    Returns
    -------
    dict
        ``title`` (str), ``subtitle`` (str), ``summary`` (list of paragraphs),
        ``sections`` (list of ``{"title", "paragraphs", "tables", "figures"}`` where a
        table is ``{"title", "columns", "rows"}`` with rows as dicts of display strings
        keyed by the columns, and a figure is ``{"file", "svg", "alt", "caption"}``),
        ``methods`` (paragraphs), ``sources`` (references) and ``warnings``. All values
        are plain strings, lists and dicts.
    """
    settings = document["settings"]
    currency = settings["currency"]
    protocol = document["protocol"]
    labels = [i["label"] for i in document["inputs"]]
    pooled = document["pooled"]
    title = f"Pooled assessment across {len(labels)} regions"
    subtitle = (
        f"Protocol {protocol['name']} {protocol['version']}; regions: {', '.join(labels)}; "
        f"techeval {document['techeval_version']}"
    )
    summary = [
        f"{len(labels)} agencies ran the standard protocol {protocol['name']} "
        f"{protocol['version']} on their own case records and exchanged only their result "
        "files. Each adjusted effect is combined across them by random-effects "
        f"meta-analysis, which estimates the average effect and how much it varies between "
        "regions; the prediction interval says what a new region could expect.",
    ]
    summary += [describe_pooled(row, document) for row in headline_rows(pooled)]
    sections = []
    for technique in settings.get("techniques") or []:
        rows = [r for r in pooled if r["technique"] == technique]
        if not rows:
            continue
        headline = headline_rows(rows)
        figures = []
        if headline:
            stem = figure_name("forest", technique)
            figures.append(
                {
                    "file": f"{stem}.png",
                    "svg": f"{stem}.svg",
                    "alt": _alt_text(technique, headline, currency),
                    "caption": "Each region's estimate with its confidence interval (square "
                    "size: weight in the pooled estimate), the pooled estimate (diamond) and "
                    "the prediction interval for a new region (dashed).",
                }
            )
        tables = [
            {
                "title": f"{quantity_title(row)}: regions",
                "columns": ["region", "estimate", "confidence interval", "weight", "status"],
                "rows": _region_rows(row, currency),
            }
            for row in headline
        ]
        subgroup_rows = [r for r in rows if r.get("subgroup") and r.get("method") != "naive"]
        if subgroup_rows:
            tables.append(
                {
                    "title": "Kinds of case: pooled effects",
                    "columns": list(_pooled_table_row(subgroup_rows[0], currency)),
                    "rows": [_pooled_table_row(r, currency) for r in subgroup_rows],
                }
            )
        sections.append(
            {
                "title": tx.technique_label(technique),
                "paragraphs": [describe_pooled(r, document) for r in headline],
                "tables": tables,
                "figures": figures,
            }
        )
    if pooled:
        sections.append(
            {
                "title": "Every pooled quantity",
                "paragraphs": [
                    "Every effect the regions' result files share, pooled the same way "
                    "(ratios on the log scale); unadjusted contrasts are marked."
                ],
                "tables": [
                    {
                        "title": "Pooled quantities",
                        "columns": list(_pooled_table_row(pooled[0], currency)),
                        "rows": [_pooled_table_row(r, currency) for r in pooled],
                    }
                ],
                "figures": [],
            }
        )
    sections.append(
        {
            "title": "Result files pooled",
            "paragraphs": [
                "Each region is identified by its label only; the hashes let anyone check "
                "which result files, case data and protocol files were combined."
            ],
            "tables": [
                {
                    "title": "Inputs",
                    "columns": [
                        "region",
                        "result file sha256",
                        "case data sha256",
                        "protocol sha256",
                    ],
                    "rows": [
                        {
                            "region": i["label"],
                            "result file sha256": i["sha256"][:12],
                            "case data sha256": str(i["data_sha256"])[:12],
                            "protocol sha256": str(i["protocol_sha256"])[:12],
                        }
                        for i in document["inputs"]
                    ],
                }
            ],
            "figures": [],
        }
    )
    level = f"{100 * float(settings['ci_level']):g}%"
    methods = [
        "Random-effects meta-analysis of each region's published estimate and standard "
        "error. Between-region variance τ² by "
        f"{TAU2_WORDS[settings['tau2_method']]}; "
        + (
            f"{level} confidence intervals by the Hartung–Knapp method (t distribution on "
            "k − 1 degrees of freedom, scale estimated from the data)."
            if settings["ci_method"] == "hartung_knapp"
            else f"{level} confidence intervals from the normal distribution."
        ),
        "Differences are pooled as they are; risk, odds and rate ratios on the log scale "
        "(standard error of the log ratio = standard error / ratio) and transformed back, "
        "so their τ is on the log scale. I² is the share of the variability between "
        "regions' estimates that is not sampling error (from τ² and the typical "
        "within-region variance); Cochran's Q tests whether the regions share one effect. "
        f"The {level} prediction interval for a new region is the pooled estimate ± "
        "t(k − 2) × √(τ² + SE²) (Higgins, Thompson & Spiegelhalter 2009).",
        "Disclosure control carries through: an estimate a region withheld is never pooled "
        "and is shown as withheld; a region's estimate resting on fewer than "
        f"{settings['min_cell']} cases in either group is withheld here too. Pooled numbers "
        "are computed from published numbers only, so they cannot reveal a withheld one. "
        "No case records were read.",
        "Software: techeval (REML by Fisher scoring, validated against the R package "
        "metafor on the BCG-vaccine trials); DerSimonian–Laird and Paule–Mandel and "
        "weighted least squares from statsmodels.",
    ]
    return {
        "title": title,
        "subtitle": subtitle,
        "summary": summary,
        "sections": sections,
        "methods": methods,
        "sources": [_SOURCES],
        "warnings": list(document.get("warnings") or []),
    }


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_table(table: Mapping[str, Any]) -> list[str]:
    columns = table["columns"]
    lines = [
        f"*{table['title']}*",
        "",
        "| " + " | ".join(_md_cell(c) for c in columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    for row in table["rows"]:
        lines.append("| " + " | ".join(_md_cell(row.get(c, "")) for c in columns) + " |")
    return [*lines, ""]


def render_markdown(context: Mapping[str, Any]) -> str:
    """A report context (:func:`pooled_report_context` or the trend context) as Markdown."""
    lines = [f"# {context['title']}", "", f"_{context['subtitle']}_", ""]
    if context.get("warnings"):
        lines += ["**Warnings**", ""]
        lines += [f"- {w}" for w in context["warnings"]]
        lines.append("")
    lines += ["## Summary", ""]
    for paragraph in context["summary"]:
        lines += [paragraph, ""]
    for section in context["sections"]:
        lines += [f"## {section['title']}", ""]
        for paragraph in section["paragraphs"]:
            lines += [paragraph, ""]
        for figure in section["figures"]:
            lines += [f"![{_md_cell(figure['alt'])}]({figure['file']})", "", figure["caption"], ""]
        for table in section["tables"]:
            lines += _md_table(table)
    lines += ["## Methods", ""]
    for paragraph in context["methods"]:
        lines += [paragraph, ""]
    lines += ["## Sources", ""]
    lines += [f"- {source}" for source in context["sources"]]
    return "\n".join(lines).rstrip() + "\n"


def summary_lines(document: Mapping[str, Any]) -> list[str]:
    """A few lines for the terminal: the pooled headline effects and the warnings."""
    currency = document["settings"]["currency"]
    protocol = document["protocol"]
    lines = [
        f"{protocol['name']} {protocol['version']}: {len(document['inputs'])} regions "
        f"({', '.join(i['label'] for i in document['inputs'])}), "
        f"{len(document['pooled'])} quantities pooled"
    ]
    for row in headline_rows(document["pooled"]):
        if row["k"] < 2:
            continue
        lines.append(
            f"  {tx.technique_label(row['technique']).lower()}, {quantity_title(row)}: "
            f"{fmt_value(row, row['estimate'], currency)} "
            f"({fmt_interval(row, row['ci_low'], row['ci_high'], currency)}), "
            f"I² {tx.fmt_probability(row['i_squared'])}, "
            f"prediction {fmt_interval(row, row['prediction_low'], row['prediction_high'], currency)}"
        )
    lines += [f"warning: {w}" for w in document.get("warnings") or []]
    return lines
