"""Render a report as HTML, Markdown and PDF from one :class:`~techeval.report.model.Report`.

- **HTML**: one self-contained file (inline CSS, SVG figures as data URIs, a
  Content-Security-Policy that forbids any request), autoescaped by Jinja2 so no value
  from the data can inject markup.
- **Markdown**: ``report.md`` with PNG figures in ``figures/`` beside it.
- **PDF**: the same sections through fpdf2 (pure Python), with the DejaVu fonts that
  matplotlib ships, so any Unicode in the data prints.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import html
import io
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from techeval._version import __version__
from techeval.report.figures import RenderedFigure
from techeval.report.model import Figure, Num, Preformatted, Report, Section, Table

__all__ = ["render_html", "render_markdown", "render_pdf"]


# ---- HTML ---------------------------------------------------------------------------------------


def _parts(parts) -> list[dict[str, Any]]:
    out = []
    for part in parts:
        if isinstance(part, Num):
            out.append(
                {
                    "num": True,
                    "text": part.text,
                    "value": "" if part.value is None else repr(part.value),
                    "row": "" if part.row is None else part.row,
                    "field": part.field,
                    "kind": part.kind,
                }
            )
        else:
            out.append({"text": str(part)})
    return out


_SVG_SIZE = re.compile(r'<svg[^>]*?width="([\d.]+)pt"[^>]*?height="([\d.]+)pt"', re.S)


def _html_block(block, figures: Mapping[str, RenderedFigure], section_id: str) -> dict[str, Any]:
    if isinstance(block, Table):
        return {
            "type": "table",
            "caption": block.caption,
            "columns": block.columns,
            "rows": [[_parts(cell) for cell in row] for row in block.rows],
            "note": block.note,
        }
    if isinstance(block, Figure):
        drawn = figures.get(block.key)
        item = {
            "type": "figure",
            "key": block.key,
            "title": block.title,
            "alt": block.alt,
            "src": None,
        }
        if drawn is not None:
            size = _SVG_SIZE.search(drawn.svg)
            width, height = (float(size.group(1)), float(size.group(2))) if size else (640, 400)
            item.update(
                src="data:image/svg+xml;base64,"
                + base64.b64encode(drawn.svg.encode("utf-8")).decode("ascii"),
                width=round(width * 4 / 3),
                height=round(height * 4 / 3),
            )
        return item
    if isinstance(block, Preformatted):
        return {"type": "pre", "caption": block.caption, "body": block.body}
    return {
        "type": "paragraph",
        "parts": _parts(block),
        "technique": section_id == "by-technique" and any(isinstance(p, Num) for p in block),
    }


def _html_section(section: Section, figures) -> dict[str, Any]:
    return {
        "id": section.id,
        "title": section.title,
        "blocks": [_html_block(b, figures, section.id) for b in section.blocks],
        "subsections": [_html_section(s, figures) for s in section.subsections],
    }


def render_html(
    report: Report, figures: Mapping[str, RenderedFigure], *, result_sha256: str
) -> str:
    """The report as one self-contained HTML page."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    environment = Environment(
        loader=PackageLoader("techeval.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
        keep_trailing_newline=True,
    )
    template = environment.get_template("report.html.j2")
    model = {
        "title": report.title,
        "subtitle": report.subtitle,
        "sections": [_html_section(s, figures) for s in report.sections],
    }
    return template.render(report=model, version=__version__, result_sha256=result_sha256)


# ---- Markdown ----------------------------------------------------------------------------------


def _md_text(text: str) -> str:
    """Text that Markdown shows as written: no HTML passes through, no emphasis starts."""
    text = html.escape(text, quote=False)
    return re.sub(r"([\\`*_\[\]#|])", r"\\\1", text)


def _md_parts(parts) -> str:
    return "".join(_md_text(p.text if isinstance(p, Num) else str(p)) for p in parts)


def _md_blocks(section: Section, level: int, figure_dir: str, figures) -> list[str]:
    lines = [f"{'#' * level} {_md_text(section.title)}", ""]
    for block in section.blocks:
        if isinstance(block, Table):
            lines.append(f"**{_md_text(block.caption)}**")
            lines.append("")
            lines.append("| " + " | ".join(_md_text(c) or " " for c in block.columns) + " |")
            lines.append("|" + "---|" * len(block.columns))
            for row in block.rows:
                lines.append("| " + " | ".join(_md_parts(cell) for cell in row) + " |")
            if block.note:
                lines += ["", f"*{_md_text(block.note)}*"]
        elif isinstance(block, Figure):
            if block.key in figures:
                lines.append(f"![{_md_text(block.alt)}]({figure_dir}/{block.key}.png)")
                lines += ["", f"*{_md_text(block.title)}*"]
            else:
                lines.append(f"*Figure “{_md_text(block.title)}” is not shown: no numbers.*")
        elif isinstance(block, Preformatted):
            fence = "~" * max(
                4, max((len(m) for m in re.findall(r"~+", block.body)), default=0) + 1
            )
            lines += [
                f"**{_md_text(block.caption)}**",
                "",
                f"{fence}yaml",
                block.body.rstrip(),
                fence,
            ]
        else:
            lines.append(_md_parts(block))
        lines.append("")
    for sub in section.subsections:
        lines += _md_blocks(sub, level + 1, figure_dir, figures)
    return lines


def render_markdown(
    report: Report, figures: Mapping[str, RenderedFigure], *, figure_dir: str = "figures"
) -> str:
    """The report as Markdown; figures are referenced as ``figure_dir/<key>.png``."""
    lines = [f"# {_md_text(report.title)}", "", f"*{_md_text(report.subtitle)}*", ""]
    for section in report.sections:
        lines += _md_blocks(section, 2, figure_dir, figures)
    lines.append(f"*Generated by techeval {__version__} from result.json alone.*")
    return "\n".join(lines) + "\n"


# ---- PDF ---------------------------------------------------------------------------------------


def _font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def _pdf_text(parts) -> str:
    return "".join(p.text if isinstance(p, Num) else str(p) for p in parts)


def render_pdf(report: Report, figures: Mapping[str, RenderedFigure]) -> bytes:
    """The report as PDF bytes (A4, headings in the document outline)."""
    from fpdf import FPDF

    pdf = FPDF(format="A4", unit="mm")
    # a fixed date: the same result gives the same PDF
    pdf.set_creation_date(datetime.datetime(2010, 4, 12, tzinfo=datetime.UTC))
    pdf.set_title(report.title)
    pdf.set_creator(f"techeval {__version__}")
    fonts = _font_dir()
    pdf.add_font("DejaVu", "", str(fonts / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(fonts / "DejaVuSans-Bold.ttf"))
    pdf.add_font("DejaVu", "I", str(fonts / "DejaVuSans-Oblique.ttf"))
    pdf.add_font("DejaVuMono", "", str(fonts / "DejaVuSansMono.ttf"))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_margins(15, 15, 15)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 16)
    pdf.multi_cell(0, 8, report.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    pdf.multi_cell(0, 5, report.subtitle, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    for section in report.sections:
        _pdf_section(pdf, section, figures, level=0)
    return bytes(pdf.output())


def _pdf_section(pdf, section: Section, figures, *, level: int) -> None:
    from fpdf.fonts import FontFace

    if level == 0 and section.id not in ("summary", "league") and pdf.get_y() > 60:
        pdf.add_page()
    pdf.start_section(section.title, level=level)
    pdf.set_font("DejaVu", "B", 13 if level == 0 else 11)
    pdf.multi_cell(0, 7, section.title, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    width = pdf.epw
    for block in section.blocks:
        if isinstance(block, Table):
            pdf.set_font("DejaVu", "B", 9)
            pdf.multi_cell(0, 5, block.caption, new_x="LMARGIN", new_y="NEXT")
            size = 6.5 if len(block.columns) > 5 else 8
            pdf.set_font("DejaVu", "", size)
            with pdf.table(
                headings_style=FontFace(emphasis="BOLD", fill_color=(236, 240, 244)),
                line_height=size * 0.5,
                text_align="LEFT",
                width=width,
            ) as table:
                header = table.row()
                for column in block.columns:
                    header.cell(column)
                for row in block.rows:
                    cells = table.row()
                    for cell in row:
                        cells.cell(_pdf_text(cell))
            if block.note:
                pdf.set_font("DejaVu", "I", 7.5)
                pdf.multi_cell(0, 4, block.note, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif isinstance(block, Figure):
            drawn = figures.get(block.key)
            if drawn is None:
                continue
            from PIL import Image

            with Image.open(io.BytesIO(drawn.png)) as image:
                ratio = image.height / image.width
            height = width * ratio
            if pdf.get_y() + height + 8 > pdf.h - pdf.b_margin:
                pdf.add_page()
            pdf.image(io.BytesIO(drawn.png), w=width, alt_text=block.alt)
            pdf.set_font("DejaVu", "I", 8)
            pdf.multi_cell(0, 4, block.title, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif isinstance(block, Preformatted):
            pdf.set_font("DejaVu", "B", 9)
            pdf.multi_cell(0, 5, block.caption, new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("DejaVuMono", "", 6.5)
            pdf.multi_cell(0, 3.2, block.body, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        else:
            pdf.set_font("DejaVu", "", 9.5)
            pdf.multi_cell(0, 5, _pdf_text(block), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1.5)
    for sub in section.subsections:
        _pdf_section(pdf, sub, figures, level=level + 1)


def result_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
