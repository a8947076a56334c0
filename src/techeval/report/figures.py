"""Report figures, drawn from the result document and the run's plot-ready frames.

Every figure reads numbers the run already estimated (``result.json`` and
``frames/*.csv``); none is computed here. Colours come from seaborn's colour-blind-safe
palette, axes carry units, and each figure's alt text lives with the section that
shows it (:mod:`techeval.report.content` and its modules). Figures are written as PNG
(Markdown, PDF) and SVG (HTML) with fixed metadata, so the same result gives the same
bytes. Rows are selected through :class:`~techeval.report.document.ResultDocument`.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from techeval.report import text as tx
from techeval.report.document import ResultDocument

__all__ = ["RenderedFigure", "draw_figures"]

_DPI = 110
_WIDTH = 7.0  # inches: legible on a phone, full width in print


@dataclass(frozen=True)
class RenderedFigure:
    key: str
    png: bytes
    svg: str


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _style() -> dict[str, Any]:
    return {
        "svg.hashsalt": "techeval",
        "svg.fonttype": "none",  # text stays text: smaller, searchable, crisp
        "font.family": "DejaVu Sans",
        "font.size": 9,
        "axes.titlesize": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "figure.dpi": _DPI,
    }


def _palette(techniques: list[str]) -> dict[str, Any]:
    import seaborn as sns

    colours = sns.color_palette("colorblind", n_colors=max(len(techniques), 4))
    return {t: colours[i] for i, t in enumerate(techniques)}


def _save(fig, key: str, kinds: frozenset[str]) -> RenderedFigure:
    from PIL import Image

    plt = _pyplot()
    png, svg = b"", ""
    if "png" in kinds:
        buffer = io.BytesIO()
        fig.savefig(
            buffer, format="png", dpi=_DPI, bbox_inches="tight", metadata={"Software": None}
        )
        # a 256-colour palette: a third of the bytes, no visible change for line art
        with Image.open(io.BytesIO(buffer.getvalue())) as image:
            small = io.BytesIO()
            image.convert("RGB").quantize(colors=256).save(small, format="PNG", optimize=True)
        png = small.getvalue()
    if "svg" in kinds:
        text = io.StringIO()
        fig.savefig(
            text,
            format="svg",
            dpi=_DPI,
            bbox_inches="tight",
            metadata={"Date": None, "Creator": None},
        )
        svg = text.getvalue()
    plt.close(fig)
    return RenderedFigure(key, png, svg)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


class _Inputs(ResultDocument):
    """The result rows (with their selectors), the frames and a colour per technique."""

    def __init__(self, document: Mapping[str, Any], frames: Mapping[str, pd.DataFrame]):
        super().__init__(document)
        self.frames = frames
        self.colours = _palette(list(self.settings.techniques))


def _row(item):
    return None if item is None else item[1]


def _frame(inputs: _Inputs, name: str, **equal: Any) -> pd.DataFrame | None:
    """The rows of frame ``name`` whose columns equal ``equal``; ``None`` if there are none."""
    table = inputs.frames.get(name)
    if table is None:
        return None
    for column, value in equal.items():
        table = table.loc[table[column] == value]
    return None if table.empty else table


def _usable(row: Mapping[str, Any] | None) -> bool:
    return (
        row is not None
        and not row.get("suppressed")
        and _finite(row.get("estimate"))
        and _finite(row.get("ci_low"))
        and _finite(row.get("ci_high"))
    )


# ---- the figures -------------------------------------------------------------------------------


def forest(inputs: _Inputs):
    plt = _pyplot()
    items = []
    for technique in inputs.settings.techniques:
        for outcome in inputs.settings.outcomes:
            adjusted = _row(inputs.adjusted_effect(technique, outcome))
            if _usable(adjusted):
                naive = _row(inputs.naive_effect(technique, outcome))
                items.append((technique, outcome, adjusted, naive))
    if not items:
        return None
    fig, ax = plt.subplots(figsize=(_WIDTH, 0.42 * len(items) + 1.2))
    for position, (technique, _, adjusted, naive) in enumerate(items):
        y = len(items) - 1 - position
        colour = inputs.colours[technique]
        if _usable(naive):
            ax.errorbar(
                100 * naive["estimate"],
                y - 0.22,
                xerr=[
                    [100 * (naive["estimate"] - naive["ci_low"])],
                    [100 * (naive["ci_high"] - naive["estimate"])],
                ],
                fmt="o",
                mfc="white",
                color=colour,
                alpha=0.35,
                ms=4,
                lw=1,
            )
        ax.errorbar(
            100 * adjusted["estimate"],
            y + 0.08,
            xerr=[
                [100 * (adjusted["estimate"] - adjusted["ci_low"])],
                [100 * (adjusted["ci_high"] - adjusted["estimate"])],
            ],
            fmt="s",
            color=colour,
            ms=5,
            lw=1.8,
        )
    ax.set_yticks(range(len(items)))
    ax.set_yticklabels(
        [
            f"{tx.technique_label(t)} · {tx.measure_label(o).lower()}"
            for t, o, _, _ in reversed(items)
        ]
    )
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_xlabel("Effect (percentage points), with 95% confidence interval")
    from matplotlib.lines import Line2D

    ax.legend(
        handles=[
            Line2D([], [], marker="s", color="0.2", lw=1.8, label="adjusted"),
            Line2D([], [], marker="o", mfc="white", color="0.2", alpha=0.35, label="raw (naive)"),
        ],
        loc="lower right",
        frameon=False,
    )
    return fig


def matrix(inputs: _Inputs):
    import seaborn as sns

    plt = _pyplot()
    labels = inputs.subgroup_labels()
    if not labels:
        return None
    values = np.full((len(labels), len(inputs.settings.techniques)), np.nan)
    notes = np.full(values.shape, "", dtype=object)
    for i, label in enumerate(labels):
        for j, technique in enumerate(inputs.settings.techniques):
            row = _row(inputs.subgroup_effect(technique, inputs.settings.primary, label))
            if row is None:
                notes[i, j] = "–"
            elif row.get("suppressed"):
                notes[i, j] = "suppressed"
            elif _finite(row.get("estimate")):
                values[i, j] = 100 * row["estimate"]
                notes[i, j] = tx.fmt_pp(row["estimate"]).replace("−", "-")
    if np.all(np.isnan(values)):
        return None
    limit = float(np.nanmax(np.abs(values))) or 1.0
    fig, ax = plt.subplots(figsize=(_WIDTH, 0.32 * len(labels) + 1.6))
    sns.heatmap(
        pd.DataFrame(
            values,
            index=[": ".join(tx.subgroup_label(label)) for label in labels],
            columns=[
                tx.technique_label(t).replace(" ", "\n", 1) for t in inputs.settings.techniques
            ],
        ),
        ax=ax,
        cmap="PuOr",  # diverging, colour-blind safe
        center=0,
        vmin=-limit,
        vmax=limit,
        annot=notes,
        fmt="",
        annot_kws={"fontsize": 7},
        linewidths=0.5,
        linecolor="white",
        cbar_kws={"label": "Effect on conviction (percentage points)"},
    )
    ax.set_xlabel("")
    ax.set_ylabel("Kind of case")
    ax.tick_params(axis="x", labelrotation=0, labelsize=8)
    return fig


def _wtp(inputs: _Inputs) -> float | None:
    for row in inputs.rows:
        if row.get("measure") in ("prob_cost_effective", "net_monetary_benefit"):
            value = (row.get("diagnostics") or {}).get("willingness_to_pay")
            if _finite(value):
                return float(value)
    return None


def ce_plane(inputs: _Inputs):
    table = _frame(inputs, "ce_plane", effect=inputs.settings.primary)
    if table is None:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(_WIDTH, 4.4))
    for technique, part in table.groupby("technique", sort=False):
        ax.scatter(
            100 * part["delta_effect"],
            part["delta_cost"] / 1000,
            s=6,
            alpha=0.35,
            color=inputs.colours.get(technique, "0.4"),
            label=tx.technique_label(str(technique)),
            rasterized=True,  # 800 points as one image keeps the SVG small
        )
    wtp = _wtp(inputs)
    x_low, x_high = ax.get_xlim()
    x_low, x_high = min(x_low, 0), max(x_high, 0)
    if wtp is not None:
        xs = np.array([x_low, x_high])
        ax.plot(
            xs,
            wtp * xs / 100 / 1000,
            color="0.2",
            lw=1,
            ls="--",
            label=f"willingness to pay {tx.fmt_money(wtp, inputs.settings.currency)} per conviction",
        )
    ax.axhline(0, color="0.6", lw=0.7)
    ax.axvline(0, color="0.6", lw=0.7)
    ax.set_xlim(x_low, x_high)
    ax.set_xlabel("Additional convictions per 100 cases")
    ax.set_ylabel(f"Incremental cost per case (thousand {inputs.settings.currency})")
    ax.legend(frameon=False, fontsize=8, markerscale=2, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def ceac(inputs: _Inputs):
    table = _frame(inputs, "acceptability", effect=inputs.settings.primary)
    if table is None:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(_WIDTH, 3.6))
    for technique, part in table.groupby("technique", sort=False):
        ax.plot(
            part["willingness_to_pay"] / 1000,
            part["prob_cost_effective"],
            color=inputs.colours.get(technique, "0.4"),
            lw=1.8,
            label=tx.technique_label(str(technique)),
        )
    wtp = _wtp(inputs)
    if wtp is not None:
        ax.axvline(wtp / 1000, color="0.3", lw=0.8, ls="--")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(
        f"Willingness to pay per additional conviction (thousand {inputs.settings.currency})"
    )
    ax.set_ylabel("Probability cost-effective")
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def harms(inputs: _Inputs):
    items, seen = [], set()
    for technique in inputs.settings.techniques:
        for _, row in inputs.harm_rate_ratios(technique):
            key = (technique, row.get("measure"))
            if key not in seen and _usable(row) and row["ci_low"] > 0:
                seen.add(key)
                items.append(row)
    if not items:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(_WIDTH, 0.36 * len(items) + 1.2))
    for position, row in enumerate(items):
        y = len(items) - 1 - position
        ax.errorbar(
            row["estimate"],
            y,
            xerr=[[row["estimate"] - row["ci_low"]], [row["ci_high"] - row["estimate"]]],
            fmt="o",
            color=inputs.colours.get(row["technique"], "0.4"),
            ms=5,
            lw=1.6,
        )
    ax.set_xscale("log")
    ax.axvline(1, color="0.3", lw=0.8)
    ax.set_yticks(range(len(items)))
    ax.set_yticklabels(
        [
            f"{tx.technique_label(r['technique'])} · {tx.harm_label(r['measure'])}"
            for r in reversed(items)
        ]
    )
    ax.set_xlabel("Rate ratio with vs without the technique (log scale), 95% CI")
    return fig


def balance(inputs: _Inputs, technique: str):
    part = _frame(inputs, "balance", technique=technique, outcome=inputs.settings.primary)
    if part is None:
        return None
    method = inputs.graded_method(technique)
    if method is not None and "method" in part.columns:
        part = part.loc[part["method"] == method]
    if part.empty:
        return None
    part = (
        part.drop_duplicates("covariate")
        .assign(before=part["smd_before"].abs(), after=part["smd_after"].abs())
        .sort_values("before")
    )
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(_WIDTH, 0.2 * len(part) + 1.2))
    ys = np.arange(len(part))
    colour = inputs.colours.get(technique, "0.3")
    ax.scatter(
        part["before"],
        ys,
        marker="o",
        facecolors="white",
        edgecolors="0.45",
        label="before weighting",
        zorder=3,
    )
    ax.scatter(part["after"], ys, marker="s", color=colour, label="after weighting", zorder=3)
    ax.axvline(0.1, color="0.3", lw=0.8, ls="--")
    ax.set_yticks(ys)
    ax.set_yticklabels([str(c).replace("_", " ") for c in part["covariate"]], fontsize=7)
    ax.set_xlabel("Absolute standardised mean difference")
    ax.legend(frameon=False, loc="lower right", fontsize=8)
    return fig


def overlap(inputs: _Inputs, technique: str):
    part = _frame(
        inputs, "propensity_quantiles", technique=technique, outcome=inputs.settings.primary
    )
    if part is None:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(_WIDTH, 3.2))
    styles = {"treated": ("-", inputs.colours.get(technique, "0.2")), "control": ("--", "0.45")}
    for arm, arm_part in part.groupby("arm", sort=False):
        arm_part = arm_part.sort_values("quantile")
        line, colour = styles.get(str(arm), (":", "0.6"))
        ax.plot(
            arm_part["propensity"],
            arm_part["quantile"],
            ls=line,
            color=colour,
            lw=1.8,
            marker=".",
            label="cases with the technique" if arm == "treated" else "cases without it",
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("Estimated probability of using the technique (propensity)")
    ax.set_ylabel("Share of cases at or below")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    return fig


def programme(inputs: _Inputs):
    projection = inputs.frames.get("programme_projection")
    ratio = next((r for r in inputs.rows if r.get("measure") == "intake_ratio_to_plan"), None)
    actual = next(
        (r for r in inputs.rows if r.get("measure") == "witnesses_admitted_per_year"), None
    )
    if projection is None or projection.empty or ratio is None or actual is None:
        return None
    details = (ratio.get("diagnostics") or {}).get("programme") or {}
    per_year = actual.get("estimate")
    low_ratio, high_ratio = details.get("ratio_to_plan_low"), details.get("ratio_to_plan_high")
    if not all(_finite(v) and v for v in (per_year, low_ratio, high_ratio)):
        return None
    plan_high, plan_low = per_year / low_ratio, per_year / high_ratio
    plt = _pyplot()
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(_WIDTH, 3.2), gridspec_kw={"width_ratios": [1, 1.6]}
    )
    colours = _palette(["plan", "actual", "family"])
    left.bar(
        ["plan (low)", "plan (high)", "actual"],
        [plan_low, plan_high, per_year],
        color=[colours["plan"], colours["plan"], colours["actual"]],
    )
    left.set_ylabel("Witnesses admitted per year")
    right.plot(
        projection["year"],
        projection["active_witnesses"],
        color=colours["actual"],
        lw=1.8,
        label="witnesses",
    )
    right.plot(
        projection["year"],
        projection["active_family"],
        color=colours["family"],
        lw=1.8,
        ls="--",
        label="family members",
    )
    right.set_xlabel("Year of the programme")
    right.set_ylabel("People under protection")
    right.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


_GLOBAL: dict[str, Callable[[_Inputs], Any]] = {
    "forest": forest,
    "matrix": matrix,
    "ce-plane": ce_plane,
    "ceac": ceac,
    "harms": harms,
    "programme": programme,
}


def draw_figures(
    document: Mapping[str, Any],
    frames: Mapping[str, pd.DataFrame],
    kinds: frozenset[str] = frozenset({"png", "svg"}),
) -> dict[str, RenderedFigure]:
    """Every figure the data allow, keyed as :mod:`techeval.report.content` refers to them.

    ``kinds`` says which files to make (``png`` for Markdown and PDF, ``svg`` for HTML).
    A figure whose numbers are missing or suppressed is left out (the report then shows
    its caption with a note instead).
    """
    import matplotlib

    inputs = _Inputs(document, frames)
    drawn: dict[str, RenderedFigure] = {}
    with matplotlib.rc_context(_style()):
        for key, draw in _GLOBAL.items():
            fig = draw(inputs)
            if fig is not None:
                drawn[key] = _save(fig, key, kinds)
        for technique in inputs.settings.techniques:
            for prefix, draw in (("balance", balance), ("overlap", overlap)):
                fig = draw(inputs, technique)
                if fig is not None:
                    key = f"{prefix}-{technique}"
                    drawn[key] = _save(fig, key, kinds)
    return drawn
