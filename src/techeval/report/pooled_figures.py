"""Figures of pooled and periodic assessments: forest plots and trends over periods.

Every figure draws numbers already in the pooled or trend document; nothing is
estimated here. Colours come from seaborn's colour-blind-safe palette, axes carry units,
suppressed estimates are marked as withheld (never drawn), and files are written as PNG
and SVG with fixed metadata so the same document gives the same bytes.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

from techeval.report.pooled_text import axis_label, display_factor, headline_rows, quantity_title

__all__ = ["draw_forest_plots", "draw_trend_plots", "figure_name"]

_DPI = 150


def figure_name(kind: str, technique: str) -> str:
    """The file stem of a figure (``forest_undercover``, ``trend_witness_protection``)."""
    return f"{kind}_{technique}"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _style() -> dict[str, Any]:
    return {
        "svg.hashsalt": "techeval",
        "svg.fonttype": "path",
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }


def _colours() -> tuple[Any, Any, Any]:
    import seaborn as sns

    palette = sns.color_palette("colorblind")
    return palette[0], palette[3], palette[7]  # regions, pooled, withheld (grey)


def _save(fig) -> dict[str, bytes]:
    png, svg = io.BytesIO(), io.BytesIO()
    fig.savefig(png, format="png", dpi=_DPI, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(svg, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    _pyplot().close(fig)
    return {"png": png.getvalue(), "svg": svg.getvalue()}


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _forest_panel(ax, row: Mapping[str, Any], currency: str) -> None:
    region_colour, pooled_colour, grey = _colours()
    factor = display_factor(row)
    log_scale = row["pooled_on"] == "log"
    regions = row["regions"]
    labels = [r["label"] for r in regions] + ["Pooled (random effects)"]
    positions = list(range(len(labels), 0, -1))
    weights = [r["weight"] for r in regions if _finite(r.get("weight"))]
    largest = max(weights) if weights else 1.0
    for region, y in zip(regions, positions, strict=False):
        if region["status"] in ("pooled", "not_estimated") and _finite(region["estimate"]):
            low, high = region.get("ci_low"), region.get("ci_high")
            if _finite(low) and _finite(high):
                ax.plot([low * factor, high * factor], [y, y], color=region_colour, lw=1.2)
            size = 20 + 80 * (region["weight"] or 0) / largest
            ax.scatter([region["estimate"] * factor], [y], s=size, marker="s", color=region_colour)
        else:
            words = {"suppressed": "withheld (disclosure control)", "absent": "not in file"}
            ax.annotate(
                words.get(region["status"], "not estimated"),
                xy=(0.02, y),
                xycoords=("axes fraction", "data"),
                va="center",
                color=grey,
                fontsize=8,
                style="italic",
            )
    y0 = positions[-1]
    if _finite(row.get("estimate")):
        low, mid, high = (row[k] * factor for k in ("ci_low", "estimate", "ci_high"))
        ax.fill([low, mid, high, mid], [y0, y0 + 0.3, y0, y0 - 0.3], color=pooled_colour)
        if _finite(row.get("prediction_low")) and _finite(row.get("prediction_high")):
            ax.plot(
                [row["prediction_low"] * factor, row["prediction_high"] * factor],
                [y0 - 0.45, y0 - 0.45],
                color=pooled_colour,
                lw=1,
                ls="--",
                label="prediction interval for a new region",
            )
            ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)
    else:
        ax.annotate(
            "not pooled (fewer than 2 published estimates)",
            xy=(0.02, y0),
            xycoords=("axes fraction", "data"),
            va="center",
            color=grey,
            fontsize=8,
            style="italic",
        )
    ax.axvline(1.0 if log_scale else 0.0, color="black", lw=0.8)
    if log_scale:
        ax.set_xscale("log")
    ax.set_yticks(positions, labels)
    ax.set_ylim(y0 - 0.8, positions[0] + 0.6)
    ax.set_xlabel(axis_label(row, currency))
    ax.set_title(quantity_title(row), loc="left", fontsize=9)


def draw_forest_plots(document: Mapping[str, Any]) -> dict[str, bytes]:
    """Forest plots of a pooled document: one figure per technique.

    Each figure has one panel per headline quantity of the technique (adjusted effects
    on the outcomes, incremental cost, harm index) with every region's estimate and
    interval (marker size: random-effects weight), withheld regions marked in words,
    the pooled estimate as a diamond and the prediction interval as a dashed line.

    Returns
    -------
    dict
        ``{"forest_<technique>.png": bytes, "forest_<technique>.svg": bytes, ...}``.
    """
    plt = _pyplot()
    currency = document["settings"]["currency"]
    files: dict[str, bytes] = {}
    for technique in document["settings"].get("techniques") or []:
        rows = [r for r in headline_rows(document["pooled"]) if r["technique"] == technique]
        if not rows:
            continue
        height = sum(0.35 * (len(r["regions"]) + 2) + 0.9 for r in rows)
        with plt.rc_context(_style()):
            fig, axes = plt.subplots(len(rows), 1, figsize=(7.0, max(2.5, height)), squeeze=False)
            for ax, row in zip(axes[:, 0], rows, strict=True):
                _forest_panel(ax, row, currency)
            fig.tight_layout()
            for suffix, data in _save(fig).items():
                files[f"{figure_name('forest', technique)}.{suffix}"] = data
    return files


def draw_trend_plots(document: Mapping[str, Any]) -> dict[str, bytes]:
    """Trend figures of a trend document: each headline quantity over the periods.

    One figure per technique, one panel per headline quantity: the estimate of each
    period with its confidence interval (withheld periods marked), against the period's
    position in time, with the fitted meta-regression line when there is one.

    Returns
    -------
    dict
        ``{"trend_<technique>.png": bytes, "trend_<technique>.svg": bytes, ...}``.
    """
    plt = _pyplot()
    currency = document["settings"]["currency"]
    files: dict[str, bytes] = {}
    colour, line_colour, grey = _colours()
    for technique in document["settings"].get("techniques") or []:
        rows = [r for r in headline_rows(document["trends"]) if r["technique"] == technique]
        if not rows:
            continue
        with plt.rc_context(_style()):
            fig, axes = plt.subplots(len(rows), 1, figsize=(7.0, 2.6 * len(rows)), squeeze=False)
            for ax, row in zip(axes[:, 0], rows, strict=True):
                _trend_panel(ax, row, currency, colour, line_colour, grey)
            fig.tight_layout()
            for suffix, data in _save(fig).items():
                files[f"{figure_name('trend', technique)}.{suffix}"] = data
    return files


def _trend_panel(ax, row: Mapping[str, Any], currency: str, colour, line_colour, grey) -> None:
    factor = display_factor(row)
    log_scale = row["scale"] in ("risk_ratio", "odds_ratio", "rate_ratio")
    periods: Sequence[Mapping[str, Any]] = row["periods"]
    xs = [p["position"] for p in periods]
    for period in periods:
        x = period["position"]
        if _finite(period.get("estimate")) and period["status"] != "suppressed":
            if _finite(period.get("ci_low")) and _finite(period.get("ci_high")):
                ax.plot(
                    [x, x], [period["ci_low"] * factor, period["ci_high"] * factor], color=colour
                )
            ax.scatter([x], [period["estimate"] * factor], color=colour, zorder=3)
        else:
            words = "withheld" if period["status"] == "suppressed" else "no estimate"
            ax.annotate(
                words,
                xy=(x, 0.05),
                xycoords=("data", "axes fraction"),
                ha="center",
                color=grey,
                fontsize=8,
                style="italic",
            )
    slope = row.get("slope_per_year")
    if _finite(slope) and _finite(row.get("intercept")):
        centre = row["centre"]
        line = [row["intercept"] + slope * (x - centre) for x in (min(xs), max(xs))]
        if log_scale:
            line = [math.exp(v) for v in line]
        ax.plot(
            [min(xs), max(xs)],
            [v * factor for v in line],
            color=line_colour,
            ls="--",
            lw=1,
            label="meta-regression on period",
        )
        ax.legend(loc="best", fontsize=7, frameon=False)
    ax.axhline(1.0 if log_scale else 0.0, color="black", lw=0.8)
    if log_scale:
        ax.set_yscale("log")
    ax.set_xticks(xs, [p["period"] for p in periods])
    ax.set_xlabel("period (data years)")
    ax.set_ylabel(axis_label(row, currency), fontsize=8)
    ax.set_title(quantity_title(row), loc="left", fontsize=9)
