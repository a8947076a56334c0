"""What the report says about cost: incremental cost, cost per additional conviction,
the chance of being cost-effective, and the benefit–cost synthesis.

Rows are chosen by what they are (``family``, ``measure``, ``outcome``) through
:class:`~techeval.report.document.ResultDocument`, never by estimator name.
"""

from __future__ import annotations

from techeval.report import text as tx
from techeval.report.document import ResultDocument
from techeval.report.model import Part, Table
from techeval.report.parts import ci_phrase, estimate_interval, finite, number, plain, with_ci

__all__ = ["benefit_sentence", "cost_sentences", "cost_table", "quadrant"]

#: The quadrant in which a cost per additional conviction means what it says.
MORE_COSTLY_MORE_EFFECTIVE = "more costly, more effective"


def quadrant(results: ResultDocument, technique: str, outcome: str) -> str | None:
    """The ICER's quadrant on the cost-effectiveness plane (``None`` if not published)."""
    found = results.icer_quadrant(technique, outcome)
    if found is None or found.row.get("suppressed"):
        return None
    return (found.row.get("diagnostics") or {}).get("quadrant")


def cost_sentences(results: ResultDocument, technique: str) -> list[Part]:
    """Incremental cost, cost per additional conviction and the chance of cost-effectiveness."""
    settings = results.settings
    parts: list[Part] = []
    incremental = results.incremental_cost(technique)
    if incremental is not None and not incremental.row.get("suppressed"):
        estimate, interval = estimate_interval(results, incremental, "money")
        parts += [" It added ", estimate, " per case", *ci_phrase(results, interval)]
    icer = results.icer(technique, settings.primary)
    where = quadrant(results, technique, settings.primary)
    if icer is not None and not icer.row.get("suppressed"):
        connector = "; " if parts else " "
        if where == MORE_COSTLY_MORE_EFFECTIVE and finite(icer.row.get("estimate")):
            estimate, interval = estimate_interval(results, icer, "money")
            parts += [
                connector + "each additional conviction cost about ",
                estimate,
                *ci_phrase(results, interval),
            ]
        elif where == "dominant":
            parts += [connector + "it cost less and convicted more (it dominates the comparison)"]
        elif where == "dominated":
            parts += [connector + "it cost more without convicting more"]
        elif where == "less costly, less effective":
            parts += [connector + "it saved money but convicted fewer"]
        else:
            parts += [
                connector + "no cost per additional conviction is given because the effect on "
                "conviction is not distinguishable from zero"
            ]
    if parts:
        parts.append(".")
    probability = results.prob_cost_effective(technique, settings.primary)
    if probability is not None and not probability.row.get("suppressed"):
        index, row = probability
        wtp = (row.get("diagnostics") or {}).get("willingness_to_pay")
        if finite(row.get("estimate")) and finite(wtp):
            parts += [
                " At ",
                tx.fmt_money(wtp, settings.currency),
                " per additional conviction, the chance that it is cost-effective is ",
                number(row["estimate"], "prob", row=index),
                ".",
            ]
    return parts


def benefit_sentence(results: ResultDocument, technique: str) -> list[Part]:
    """The chance that monetised benefits exceed costs, with the benefit–cost ratio."""
    probability = results.prob_benefits_exceed_costs(technique)
    ratio = results.benefit_cost_ratio(technique)
    if probability is None or probability.row.get("suppressed"):
        return []
    parts: list[Part] = [
        " Counting the monetised value of its results and harms, benefits exceeded costs "
        "with probability ",
        number(probability.row.get("estimate"), "prob", row=probability.index),
    ]
    if ratio is not None and not ratio.row.get("suppressed"):
        estimate, interval = estimate_interval(results, ratio, "ratio")
        parts += [" (benefit–cost ratio ", estimate]
        parts += [", ", results.settings.level_text, " CI ", *interval] if interval else []
        parts.append(")")
    parts.append(".")
    return parts


def cost_table(results: ResultDocument, technique: str) -> Table | None:
    """Every cost and benefit–cost number of the technique over all cases.

    A measure stated per effect (an ICER, a net monetary benefit, the chance of being
    cost-effective) is labelled with the outcome it is per.
    """
    settings = results.settings
    rows = []
    for found in results.cost_rows(technique):
        row = found.row
        label = tx.measure_label(row["measure"])
        if row.get("outcome") in settings.outcomes:
            label += f" ({tx.measure_label(row['outcome']).lower()})"
        value = with_ci(results, found)
        if row["measure"] == "icer":
            where = quadrant(results, technique, row["outcome"])
            if where and where != MORE_COSTLY_MORE_EFFECTIVE:
                value = (f"not meaningful: {where}",)
        rows.append((plain(label), plain(row.get("method", "")), value))
    if not rows:
        return None
    return Table(
        caption=f"Costs ({settings.currency})",
        columns=("Measure", "Method", f"Estimate ({settings.level_text} CI)"),
        rows=tuple(rows),
    )
