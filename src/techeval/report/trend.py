"""What a trend report says: plan against actual in words, trends in words, the context.

The trend document (``trend.json``, :func:`techeval.pooling.trend.trend_results`) holds
the numbers: each period's estimate, the test of change, and every planned figure
against each period's actual. This module only puts them into words —
:func:`plan_sentence` for one planned figure in one period (the sentence ``trend.json``
records), :func:`trend_report_context` for the report (the layout of
:func:`techeval.report.pooled.pooled_report_context`, rendered by the same writers) and
:func:`trend_summary_lines` for the terminal. Nothing is estimated here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
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
)
from techeval.synthesis.programme import plan_vs_actual as programme_plan_vs_actual

__all__ = ["plan_sentence", "plan_words", "trend_report_context", "trend_summary_lines"]


def plan_words(low: float, high: float, unit: str) -> str:
    """A planned range in words: ``"25–50 witnesses a year"``, ``"12.5 cases"``."""

    def shown(value: float) -> str:
        return f"{value:,.0f}" if float(value).is_integer() else tx.fmt_number(value, 3)

    plan = shown(low) if low == high else f"{shown(low)}–{shown(high)}"
    return f"{plan} {unit}".strip()


def plan_sentence(
    figure: Mapping[str, Any],
    comparison: Mapping[str, Any],
    *,
    years: int,
    row: Mapping[str, Any] | None,
    currency: str,
) -> str:
    """One planned figure against one period's actual, in plain words.

    Parameters
    ----------
    figure
        The planned figure (``measure``, ``planned_low``, ``planned_high``,
        ``threshold``, ``unit``, optional ``annual_budget``).
    comparison
        The numbers of :func:`techeval.pooling.trend.plan_versus_actual`: ``period``,
        ``actual``, ``ratio_to_plan``, ``departure``, ``direction``, ``flagged``.
    years
        The period's length in data years.
    row
        The period's result row (its ``diagnostics["programme"]`` gives the family
        members per witness for the witness programme's intake).
    currency
        Currency of a budget.

    Returns
    -------
    str
        ``"<period>: FLAGGED — overrun of …"``, ``"<period>: within the plan (…)"`` and
        the like, followed by the actual figure against the plan. For the witness
        programme's intake the second part is
        :func:`techeval.synthesis.programme.plan_vs_actual`'s sentence, which adds family
        members and the implied cost at the plan's own cost per witness when the plan
        has a budget.
    """
    period, direction = comparison["period"], comparison["direction"]
    if direction == "absent":
        return f"{period}: no {figure['measure'].replace('_', ' ')} in the result file."
    if direction == "withheld":
        return f"{period}: the actual figure is withheld (disclosure control)."
    low, high = figure["planned_low"], figure["planned_high"]
    plan_text = plan_words(low, high, figure["unit"])
    actual, ratio = comparison["actual"], comparison["ratio_to_plan"]
    departure = comparison["departure"]
    threshold_text = f"{100 * figure['threshold']:g}%"
    if (
        figure.get("annual_budget") is not None
        or figure["measure"] == "witnesses_admitted_per_year"
    ):
        family = (
            ((row or {}).get("diagnostics") or {}).get("programme", {}).get("family_per_witness")
        )
        family_per_witness = float(family) if isinstance(family, int | float) else 0.0
        detail = programme_plan_vs_actual(
            plan_witnesses_per_year=(low, high),
            actual_witnesses=actual * years,
            actual_family=actual * family_per_witness * years,
            years=years,
            plan_annual_budget=figure.get("annual_budget"),
            currency=currency,
        ).sentence
    else:
        detail = (
            f"The actual figure, {tx.fmt_number(actual, 3)} {figure['unit']}".rstrip()
            + f", is {direction} the plan of {plan_text}"
            + (
                ""
                if direction == "within"
                else f" ({tx.fmt_ratio(ratio)} times the nearest planned figure)"
            )
            + "."
        )
    if comparison["flagged"]:
        verdict = (
            f"{period}: FLAGGED — {'over' if direction == 'above' else 'under'}run of "
            f"{100 * departure:.0f}% beyond the plan ({plan_text}), more than the "
            f"{threshold_text} threshold. "
        )
    elif direction == "within":
        verdict = f"{period}: within the plan ({plan_text}). "
    else:
        verdict = (
            f"{period}: {direction} the plan ({plan_text}) by {100 * departure:.0f}%, within "
            f"the {threshold_text} threshold. "
        )
    return verdict + detail


def _describe_trend(row: Mapping[str, Any], currency: str) -> str:
    technique = tx.technique_label(row["technique"])
    phrase = quantity_phrase(row)
    shown = "; ".join(
        f"{p['period']}: {fmt_value(row, p['estimate'], currency, unit=False)}"
        if p["status"] == "used"
        else f"{p['period']}: {'withheld' if p['status'] == 'suppressed' else 'no estimate'}"
        for p in row["periods"]
    )
    text = f"{technique}, effect on {phrase} by period ({shown})."
    if row["slope_per_year"] is None:
        return text + " Too few periods with an estimate to test for change."
    if row["trend_on"] == "log":
        factor = math.exp(row["slope_per_year"])
        change = f"the ratio changed by a factor of {tx.fmt_number(factor, 3)} a year"
        interval = (
            f"{tx.fmt_number(math.exp(row['slope_ci_low']), 3)} to "
            f"{tx.fmt_number(math.exp(row['slope_ci_high']), 3)}"
        )
    else:
        change = f"the effect changed by {fmt_value(row, row['slope_per_year'], currency, unit=True)} a year"
        interval = fmt_interval(row, row["slope_ci_low"], row["slope_ci_high"], currency)
    level = f"{100 * float(row['ci_level']):g}%"
    how = (
        "meta-regression on period" if row["test"] == "meta_regression" else "two periods compared"
    )
    significant = row["slope_p_value"] < 1 - float(row["ci_level"])
    verdict = "a clear change" if significant else "no clear change"
    return (
        text
        + f" On average {change} ({level} CI {interval}; {fmt_p(row['slope_p_value'])}; {how}): {verdict}."
    )


def trend_report_context(document: Mapping[str, Any]) -> dict[str, Any]:
    """Plain data for a trend report, in the layout of :func:`~techeval.report.pooled.pooled_report_context`."""
    settings = document["settings"]
    currency = settings["currency"]
    protocol = document["protocol"]
    labels = [i["period"] for i in document["inputs"]]
    flags = [
        p["sentence"] for figure in document["plan"] for p in figure["periods"] if p["flagged"]
    ]
    summary = [
        f"{len(labels)} assessment(s) with protocol {protocol['name']} {protocol['version']}, "
        f"periods {', '.join(labels)}. Each effect is followed across periods and tested for "
        "change by a random-effects meta-regression on the period's mid-year.",
        *flags,
        *[_describe_trend(r, currency) for r in headline_rows(document["trends"])],
    ]
    sections = []
    if document["plan"]:
        sections.append(
            {
                "title": "Plan versus actual",
                "paragraphs": [p["sentence"] for f in document["plan"] for p in f["periods"]],
                "tables": [
                    {
                        "title": "Planned and actual figures",
                        "columns": [
                            "measure",
                            "period",
                            "planned",
                            "actual",
                            "departure",
                            "flagged",
                        ],
                        "rows": [
                            {
                                "measure": tx.measure_label(f["measure"]),
                                "period": p["period"],
                                "planned": plan_words(
                                    f["planned_low"], f["planned_high"], f["unit"]
                                ),
                                "actual": tx.fmt_number(p["actual"], 3)
                                if p["actual"] is not None
                                else "withheld"
                                if p["direction"] == "withheld"
                                else "—",
                                "departure": f"{100 * p['departure']:.0f}% {p['direction']}"
                                if p["departure"] is not None
                                else "—",
                                "flagged": "yes" if p["flagged"] else "no",
                            }
                            for f in document["plan"]
                            for p in f["periods"]
                        ],
                    }
                ],
                "figures": [],
            }
        )
    for technique in settings.get("techniques") or []:
        rows = [r for r in headline_rows(document["trends"]) if r["technique"] == technique]
        if not rows:
            continue
        stem = figure_name("trend", technique)
        sections.append(
            {
                "title": tx.technique_label(technique),
                "paragraphs": [_describe_trend(r, currency) for r in rows],
                "tables": [
                    {
                        "title": f"{quantity_title(r)} by period",
                        "columns": ["period", "estimate", "confidence interval", "status"],
                        "rows": [
                            {
                                "period": p["period"],
                                "estimate": fmt_value(r, p["estimate"], currency)
                                if p["status"] == "used"
                                else "—",
                                "confidence interval": fmt_interval(
                                    r, p["ci_low"], p["ci_high"], currency
                                )
                                if p["status"] == "used"
                                else "—",
                                "status": {
                                    "used": "used",
                                    "suppressed": "withheld (disclosure control)",
                                    "not_estimated": "not estimated",
                                    "absent": "not in the file",
                                }[p["status"]],
                            }
                            for p in r["periods"]
                        ],
                    }
                    for r in rows
                ],
                "figures": [
                    {
                        "file": f"{stem}.png",
                        "svg": f"{stem}.svg",
                        "alt": f"Trend plot for {tx.technique_label(technique).lower()}: "
                        + ". ".join(_describe_trend(r, currency) for r in rows),
                        "caption": "Each period's estimate with its confidence interval; the "
                        "dashed line is the fitted meta-regression on period.",
                    }
                ],
            }
        )
    methods = [
        "Each period's published estimate and standard error; periods placed at the "
        "mid-year of their data. With three or more periods, a random-effects "
        "meta-regression on the mid-year (between-period variance by restricted maximum "
        "likelihood) tests for a linear change"
        + (" with Knapp–Hartung intervals" if settings["ci_method"] == "hartung_knapp" else "")
        + "; with two, the difference between them. Ratios are followed on the log scale. "
        "Cochran's Q tests whether all periods share one value.",
        "Plan versus actual: each planned figure from the protocol is set beside each "
        "period's actual figure; a departure beyond the planned range of more than the "
        "threshold is flagged.",
        "Disclosure control carries through: a withheld estimate is shown as withheld and "
        "never enters a test. No case records were read.",
    ]
    return {
        "title": f"Assessments over time: {len(labels)} periods",
        "subtitle": f"Protocol {protocol['name']} {protocol['version']}; periods: {', '.join(labels)}; techeval {document['techeval_version']}",
        "summary": summary,
        "sections": sections,
        "methods": methods,
        "sources": [
            "Twelfth United Nations Congress on Crime Prevention and Criminal Justice, "
            "Workshop 4: background paper A/CONF.213/15, paras 33 and 60 (standard, periodic "
            "assessments) and para 43 (the witness-protection programme planned for 25–50 "
            "witnesses a year that took in more than 4,400 witnesses and 8,000 family "
            "members in its first 13 years)."
        ],
        "warnings": list(document.get("warnings") or []),
    }


def trend_summary_lines(document: Mapping[str, Any]) -> list[str]:
    """A few lines for the terminal: flagged departures from plan, headline trends, warnings."""
    currency = document["settings"]["currency"]
    protocol = document["protocol"]
    lines = [
        f"{protocol['name']} {protocol['version']}: periods "
        + ", ".join(i["period"] for i in document["inputs"])
    ]
    lines += [p["sentence"] for f in document["plan"] for p in f["periods"] if p["flagged"]]
    lines += [_describe_trend(r, currency) for r in headline_rows(document["trends"])]
    lines += [f"warning: {w}" for w in document.get("warnings") or []]
    return lines
