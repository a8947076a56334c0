"""Writing a pooled or trend folder: all files or none.

``pooled.json`` (canonical JSON: the same inputs give the same bytes), ``pooled.csv``
(pooled rows and every region's contribution, one table), the report as ``pooled.md``,
``pooled.html`` (self-contained) and ``pooled.pdf`` (the words of
:mod:`techeval.report.pooled` and :mod:`techeval.report.trend`, rendered by
:mod:`techeval.report` in the single-run style), and the forest plots (``forest_<technique>.png`` and
``.svg``); likewise ``trend.json``, ``trend.csv``, ``trend.md/.html/.pdf`` and
``trend_<technique>.png/.svg``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from techeval.errors import ArgumentError
from techeval.results import ROW_KEY, canonical_json
from techeval.results.canonical import canonical_rows_csv

__all__ = ["pooled_files", "trend_files", "write_folder"]


def pooled_table(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``pooled.csv`` as rows: per quantity, the pooled row then one row per region."""
    rows = []
    for pooled in document["pooled"]:
        key = {c: pooled.get(c) for c in ROW_KEY}
        rows.append(
            {
                **key,
                "region": "(pooled)",
                "status": "pooled" if pooled["k"] >= 2 else "not pooled",
                **{c: v for c, v in pooled.items() if c not in key and c != "regions"},
            }
        )
        rows[-1]["warnings"] = "; ".join(pooled["warnings"])
        for region in pooled["regions"]:
            rows.append(
                {
                    **key,
                    "region": region["label"],
                    **{c: v for c, v in region.items() if c != "label"},
                    "ci_level": pooled["ci_level"],
                }
            )
    return rows


POOLED_CSV_COLUMNS = (
    *ROW_KEY,
    "region",
    "status",
    "estimate",
    "std_error",
    "ci_low",
    "ci_high",
    "ci_level",
    "weight",
    "n_treated",
    "n_control",
    "k",
    "k_suppressed",
    "p_value",
    "tau2",
    "tau",
    "i_squared",
    "q",
    "q_df",
    "q_p_value",
    "prediction_low",
    "prediction_high",
    "pooled_on",
    "tau2_method",
    "ci_method",
    "warnings",
)


def pooled_files(document: Mapping[str, Any]) -> dict[str, bytes]:
    """Every file of a pooled folder, as ``{name: bytes}``."""
    from techeval.report import render_context
    from techeval.report.pooled import pooled_report_context, render_markdown
    from techeval.report.pooled_figures import draw_forest_plots

    text = canonical_json(document)
    context = pooled_report_context(document)
    files = {
        "pooled.json": text.encode("utf-8"),
        "pooled.csv": canonical_rows_csv(pooled_table(document), POOLED_CSV_COLUMNS),
        "pooled.md": render_markdown(context).encode("utf-8"),
    }
    files.update(draw_forest_plots(document))
    files.update(render_context(context, files, ("html", "pdf"), stem="pooled", source_text=text))
    return files


def trend_files(document: Mapping[str, Any]) -> dict[str, bytes]:
    """Every file of a trend folder, as ``{name: bytes}``."""
    from techeval.pooling.trend import TREND_CSV_COLUMNS, trend_table
    from techeval.report import render_context
    from techeval.report.pooled import render_markdown
    from techeval.report.pooled_figures import draw_trend_plots
    from techeval.report.trend import trend_report_context

    text = canonical_json(document)
    context = trend_report_context(document)
    files = {
        "trend.json": text.encode("utf-8"),
        "trend.csv": canonical_rows_csv(trend_table(document), TREND_CSV_COLUMNS),
        "trend.md": render_markdown(context).encode("utf-8"),
    }
    files.update(draw_trend_plots(document))
    files.update(render_context(context, files, ("html", "pdf"), stem="trend", source_text=text))
    return files


def write_folder(files: Mapping[str, bytes], out: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``files`` into the folder ``out``, all or nothing.

    Everything goes to a temporary sibling folder first, which is renamed into place at
    the end (:func:`techeval._files.staged_folder`), so a failure never leaves a
    half-written folder.

    Raises
    ------
    ArgumentError
        If ``out`` exists and is not empty and ``overwrite`` is false, or cannot be
        written.
    """
    from techeval._files import check_output_folder, staged_folder

    target = check_output_folder(out, overwrite=overwrite)
    try:
        with staged_folder(target, overwrite=overwrite) as staging:
            for name, data in files.items():
                (staging / name).write_bytes(data)
    except OSError as exc:
        raise ArgumentError(
            f"cannot write the output folder ({exc.strerror or exc})",
            where=str(target),
            hint="Check that you may write there",
        ) from None
    return target
