"""From a result document to report files: render, read a run folder, render again.

:func:`render_reports` takes the result document (``result.json``) and the run's
plot-ready frames (``frames/*.csv``) and returns the report files; it never recomputes
a statistic. ``techeval run --format html,md,pdf`` calls it on a fresh run;
``techeval report DIR`` calls :func:`rerender` on a folder written earlier.
:func:`render_context` renders the pooled and trend reports in the same style.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from techeval.errors import ArgumentError

__all__ = ["REPORT_FORMATS", "load_run", "render_context", "render_reports", "rerender"]

#: Report formats beside ``json`` (which the runner writes itself).
REPORT_FORMATS = ("html", "md", "pdf")

#: File names of the report files in an output folder.
_FILES = {"html": "report.html", "md": "report.md", "pdf": "report.pdf"}


def render_reports(
    document: Mapping[str, Any],
    frames: Mapping[str, pd.DataFrame],
    formats: Sequence[str],
    *,
    protocol_text: str | None = None,
    result_text: str | None = None,
) -> dict[str, bytes]:
    """Report files for ``formats`` as ``{relative path: bytes}``.

    Parameters
    ----------
    document
        The result document (parsed ``result.json``).
    frames
        The run's plot-ready frames by name (``ce_plane``, ``acceptability``, ``balance``,
        ``propensity_quantiles``, ``programme_projection``); missing ones leave their
        figures out.
    formats
        Any of ``html``, ``md``, ``pdf`` (others are ignored).
    protocol_text
        The protocol file's text, reproduced in the methods appendix.
    result_text
        The exact text of ``result.json``; its SHA-256 is printed in the HTML footer.

    Returns
    -------
    dict
        ``report.html``, ``report.md`` with ``figures/<key>.png``, ``report.pdf``.
    """
    from techeval.report.content import build_report
    from techeval.report.figures import draw_figures
    from techeval.report.render import render_html, render_markdown, render_pdf, result_sha256
    from techeval.results import canonical_json

    wanted = [f for f in REPORT_FORMATS if f in formats]
    if not wanted:
        return {}
    report = build_report(document, protocol_text=protocol_text)
    kinds = frozenset(
        ({"svg"} if "html" in wanted else set())
        | ({"png"} if {"md", "pdf"} & set(wanted) else set())
    )
    figures = draw_figures(document, frames, kinds)
    files: dict[str, bytes] = {}
    if "html" in wanted:
        digest = result_sha256(result_text if result_text is not None else canonical_json(document))
        files[_FILES["html"]] = render_html(report, figures, result_sha256=digest).encode("utf-8")
    if "md" in wanted:
        files[_FILES["md"]] = render_markdown(report, figures).encode("utf-8")
        for key, figure in sorted(figures.items()):
            files[f"figures/{key}.png"] = figure.png
    if "pdf" in wanted:
        files[_FILES["pdf"]] = render_pdf(report, figures)
    return files


def render_context(
    context: Mapping[str, Any],
    figure_files: Mapping[str, bytes],
    formats: Sequence[str],
    *,
    stem: str,
    source_text: str,
) -> dict[str, bytes]:
    """HTML and PDF files for a pooled or trend report context, in the single-run style.

    Parameters
    ----------
    context
        A plain report context (see :func:`techeval.report.content.report_from_context`).
    figure_files
        The folder's figure files by name (``<key>.png`` and ``<key>.svg``).
    formats
        Any of ``html``, ``pdf`` (Markdown comes with the context's own renderer).
    stem
        File name stem: ``pooled`` gives ``pooled.html`` and ``pooled.pdf``.
    source_text
        The JSON document the report renders (its SHA-256 is printed in the HTML).
    """
    from techeval.report.content import report_from_context
    from techeval.report.figures import RenderedFigure
    from techeval.report.render import render_html, render_pdf, result_sha256

    report = report_from_context(context)
    keys = {name.rsplit(".", 1)[0] for name in figure_files if name.endswith(".png")}
    figures = {
        key: RenderedFigure(
            key,
            figure_files.get(f"{key}.png", b""),
            figure_files.get(f"{key}.svg", b"").decode("utf-8"),
        )
        for key in keys
    }
    files: dict[str, bytes] = {}
    if "html" in formats:
        files[f"{stem}.html"] = render_html(
            report, figures, result_sha256=result_sha256(source_text)
        ).encode("utf-8")
    if "pdf" in formats:
        files[f"{stem}.pdf"] = render_pdf(report, figures)
    return files


def load_run(folder: str | Path) -> tuple[dict[str, Any], dict[str, pd.DataFrame], str | None, str]:
    """Read a run folder: the result document, its frames, the protocol text and the JSON text.

    Raises
    ------
    ArgumentError
        If the folder has no readable ``result.json``.
    """
    folder = Path(folder)
    path = folder / "result.json"
    if not path.is_file():
        raise ArgumentError(
            f"{folder}: no result.json here",
            hint="Give the folder a `techeval run` wrote (it holds result.json)",
        )
    try:
        text = path.read_text(encoding="utf-8")
        document = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArgumentError(f"{path}: not a readable result file ({exc})") from None
    if not isinstance(document, dict) or not str(document.get("schema", "")).startswith(
        "techeval.result/"
    ):
        raise ArgumentError(
            f"{path}: not a techeval result file (no 'schema': 'techeval.result/…')"
        )
    frames: dict[str, pd.DataFrame] = {}
    frame_dir = folder / "frames"
    if frame_dir.is_dir():
        for csv in sorted(frame_dir.glob("*.csv")):
            frames[csv.stem] = pd.read_csv(csv)
    protocol = folder / "protocol.yaml"
    protocol_text = protocol.read_text(encoding="utf-8") if protocol.is_file() else None
    return document, frames, protocol_text, text


def render_folder(folder: str | Path, formats: Sequence[str]) -> dict[str, bytes]:
    """The report files of a run folder, rendered from its ``result.json`` and frames.

    What :func:`techeval.protocols.write.write_outputs` calls (as ``render``) on the
    folder it has just written, and :func:`rerender` on an earlier one.
    """
    document, frames, protocol_text, text = load_run(Path(folder))
    return render_reports(document, frames, formats, protocol_text=protocol_text, result_text=text)


def rerender(folder: str | Path, formats: Sequence[str] = REPORT_FORMATS) -> list[Path]:
    """Render the reports of an existing run folder again, without re-estimating.

    Each file is written beside its final name and renamed into place, so a failure
    leaves the previous report whole.

    Returns
    -------
    list of Path
        The files written.
    """
    folder = Path(folder)
    files = render_folder(folder, formats)
    written = []
    if "md" in formats and (folder / "figures").is_dir():
        for old in (folder / "figures").glob("*.png"):
            if f"figures/{old.name}" not in files:
                old.unlink()
    for name, content in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
        partial.write_bytes(content)
        os.replace(partial, target)
        written.append(target)
    return written
