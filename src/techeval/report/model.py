"""The shape of a report: sections of paragraphs, tables, figure references and code.

A :class:`Report` is what :func:`techeval.report.content.build_report` says and what
:mod:`techeval.report.render` turns into HTML, Markdown and PDF. Every number in it is a
:class:`Num` that remembers which result row and field it came from, so the HTML can
carry the exact value beside the rounded one and tests can check the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Block",
    "Figure",
    "Num",
    "Paragraph",
    "Part",
    "Preformatted",
    "Report",
    "Section",
    "Table",
]


@dataclass(frozen=True)
class Num:
    """A number as shown, with the result row and field it came from.

    ``row`` is the index in ``result["results"]`` (``None`` for document-level values
    such as row counts), ``field`` the key read, ``kind`` the formatter used.
    """

    text: str
    value: float | None = None
    row: int | None = None
    field: str = "estimate"
    kind: str = "number"


Part = str | Num
Paragraph = tuple[Part, ...]


@dataclass(frozen=True)
class Table:
    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Paragraph, ...], ...]
    note: str = ""


@dataclass(frozen=True)
class Figure:
    """A reference to a figure by key (``figures.py`` draws it); alt text lives here."""

    key: str
    title: str
    alt: str


@dataclass(frozen=True)
class Preformatted:
    caption: str
    body: str


Block = Paragraph | Table | Figure | Preformatted


@dataclass
class Section:
    id: str
    title: str
    blocks: list[Block] = field(default_factory=list)
    subsections: list[Section] = field(default_factory=list)


@dataclass
class Report:
    title: str
    subtitle: str
    sections: list[Section]
    summary_ids: tuple[str, ...] = ()
