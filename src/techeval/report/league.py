"""The league table: techniques side by side on effect, cost, cost-effectiveness, harm, grade."""

from __future__ import annotations

from techeval.report import text as tx
from techeval.report.costs import MORE_COSTLY_MORE_EFFECTIVE, quadrant
from techeval.report.document import ResultDocument
from techeval.report.harms import main_harms
from techeval.report.model import Paragraph, Table
from techeval.report.parts import plain, with_ci

__all__ = ["league_table"]


def league_table(results: ResultDocument) -> Table:
    """Techniques side by side: effects, cost, cost-effectiveness, benefit–cost, harms, grade."""
    settings = results.settings
    outcomes = settings.outcomes[:2]
    columns = ["Technique"]
    columns += [f"{tx.measure_label(o)} (points)" for o in outcomes]
    columns += [
        f"Incremental cost per case ({settings.currency})",
        "Cost per additional conviction",
        "Chance cost-effective",
        "Benefit–cost ratio",
        "Chance benefits exceed costs",
        "Main harms",
        "Evidence",
    ]
    rows = []
    for technique in settings.techniques:
        cells: list[Paragraph] = [plain(tx.technique_label(technique))]
        for outcome in outcomes:
            cells.append(with_ci(results, results.adjusted_effect(technique, outcome), "pp"))
        cells.append(with_ci(results, results.incremental_cost(technique), "money"))
        icer = results.icer(technique, settings.primary)
        where = quadrant(results, technique, settings.primary)
        if icer is None:
            cells.append(plain("not estimated"))
        elif where == MORE_COSTLY_MORE_EFFECTIVE or icer.row.get("suppressed"):
            cells.append(with_ci(results, icer, "money"))
        else:
            cells.append(plain(where or "no difference in effect"))
        cells.append(with_ci(results, results.prob_cost_effective(technique, settings.primary)))
        cells.append(with_ci(results, results.benefit_cost_ratio(technique)))
        cells.append(with_ci(results, results.prob_benefits_exceed_costs(technique)))
        harms = main_harms(results, technique)
        cells.append(plain(", ".join(tx.harm_label(name) for name, _ in harms) or "none detected"))
        cells.append(plain(results.grade(technique).get("grade", "not graded")))
        rows.append(tuple(cells))
    return Table(
        caption="Techniques side by side",
        columns=tuple(columns),
        rows=tuple(rows),
        note=(
            f"Effects in percentage points with {settings.level_text} confidence intervals, "
            "adjusted for case characteristics. Cost per additional conviction is shown when "
            "the technique costs more and convicts more; otherwise its cost-effectiveness "
            "quadrant. Main harms: harms detectably more frequent than without the technique."
        ),
    )
