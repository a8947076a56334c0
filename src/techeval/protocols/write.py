"""Writing a run's files: ``result.json``, the flat tables, the log and the reports.

:func:`write_outputs` writes a :class:`~techeval.protocols.document.RunOutcome` into a
folder all or nothing (:func:`techeval._files.staged_folder`); CSV numbers are written
canonically, so the same run gives the same bytes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from techeval._files import check_output_folder, staged_folder
from techeval.errors import ArgumentError
from techeval.protocols.document import RunOutcome
from techeval.protocols.execute import Progress
from techeval.results.canonical import canonical_csv, canonical_json

#: Renders report files from a run folder: ``render(folder, formats) -> {name: bytes}``.
Renderer = Callable[[Path, Sequence[str]], Mapping[str, bytes]]

__all__ = ["check_formats", "results_table", "write_outputs"]

_ALL_FORMATS = ("json", "html", "md", "pdf")


def check_formats(formats: Sequence[str]) -> tuple[str, ...]:
    """The requested output formats (``json`` is always written: reports render from it).

    Raises
    ------
    ArgumentError
        For an unknown format.
    """
    chosen = tuple(dict.fromkeys(f.strip().lower() for f in formats if f.strip()))
    unknown = [f for f in chosen if f not in _ALL_FORMATS]
    if unknown:
        raise ArgumentError(
            f"unknown output format(s): {', '.join(unknown)}",
            hint=f"Use one or more of {', '.join(_ALL_FORMATS)}, separated by commas",
        )
    return ("json", *(f for f in chosen if f != "json"))


_csv_text = canonical_csv  # one name to patch in tests of a failing write


def results_table(document: Mapping[str, Any]) -> pd.DataFrame:
    """The result rows of a result document as one flat table (``results.csv``)."""
    columns = [
        "technique",
        "family",
        "estimator",
        "outcome",
        "measure",
        "scale",
        "subgroup",
        "estimand",
        "method",
        "estimate",
        "std_error",
        "ci_low",
        "ci_high",
        "ci_level",
        "p_value",
        "n_treated",
        "n_control",
        "suppressed",
        "warnings",
    ]
    rows = []
    for row in document["results"]:
        flat = {c: row.get(c) for c in columns}
        flat["warnings"] = "; ".join(row.get("warnings") or [])
        rows.append(flat)
    table = pd.DataFrame(rows, columns=columns)
    for column in ("n_treated", "n_control"):
        table[column] = table[column].astype("Int64")
    for column in ("estimate", "std_error", "ci_low", "ci_high", "ci_level", "p_value"):
        table[column] = table[column].astype("float64")
    return table


def write_outputs(
    outcome: RunOutcome,
    out: str | Path,
    *,
    overwrite: bool = False,
    formats: Sequence[str] = ("json",),
    progress: Progress | None = None,
    render: Renderer | None = None,
) -> Path:
    """Write a run's files into ``out``, all or nothing.

    Files: ``result.json`` (canonical JSON), ``results.csv`` (the same rows, flat),
    ``set_aside.csv`` (set-aside rows counted by column and rule), ``run.log`` (run
    times and versions), ``protocol.yaml`` (the protocol as run) and ``frames/*.csv``;
    with ``formats`` including ``html``, ``md`` or ``pdf``, the reports, which
    ``render`` (:func:`techeval.report.render_folder`) renders from the files just
    written — exactly what ``techeval report`` re-renders. The renderer is passed in
    because the report sits above the runner in the import flow. Everything is written to a temporary
    sibling folder first and renamed into place at the end, so a failure never leaves
    a half-written result.

    Raises
    ------
    ArgumentError
        If ``out`` exists and is not empty and ``overwrite`` is false, for an unknown
        format, or for a report format without ``render``.
    """
    formats = check_formats(formats)
    reports = [f for f in formats if f != "json"]
    if reports and render is None:
        raise ArgumentError(
            f"write_outputs: the {', '.join(reports)} report needs a renderer",
            hint="Pass render=techeval.report.render_folder",
        )
    target = check_output_folder(out, overwrite=overwrite)
    with staged_folder(target, overwrite=overwrite) as staging:
        (staging / "result.json").write_text(canonical_json(outcome.document), encoding="utf-8")
        (staging / "results.csv").write_text(
            _csv_text(results_table(outcome.document)), encoding="utf-8"
        )
        (staging / "set_aside.csv").write_text(_csv_text(outcome.set_aside), encoding="utf-8")
        if outcome.protocol_text:
            (staging / "protocol.yaml").write_text(outcome.protocol_text, encoding="utf-8")
        if outcome.frames:
            (staging / "frames").mkdir()
            for name, frame in sorted(outcome.frames.items()):
                (staging / "frames" / f"{name}.csv").write_text(_csv_text(frame), encoding="utf-8")
        log = list(outcome.log)
        if reports:
            if progress:
                progress(f"rendering the {', '.join(reports)} report", 0, 1)
            tick = time.perf_counter()
            files = render(staging, reports)
            for name, content in files.items():
                (staging / name).parent.mkdir(parents=True, exist_ok=True)
                (staging / name).write_bytes(content)
            log.append(f"{time.perf_counter() - tick:8.2f} s  reports ({', '.join(reports)})")
        (staging / "run.log").write_text(
            f"run at {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n" + "\n".join(log) + "\n",
            encoding="utf-8",
        )
    return target
