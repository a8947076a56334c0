"""Numbers and phrases as paragraph parts: a result row's estimate, its interval, its direction.

Each number becomes a :class:`~techeval.report.model.Num` citing its row and field; the
helpers here only format and join, they never compute a statistic.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from techeval.report import text as tx
from techeval.report.document import Found, ResultDocument
from techeval.report.model import Num, Paragraph, Part

__all__ = [
    "ci_phrase",
    "direction",
    "estimate_interval",
    "finite",
    "join_and",
    "kind_for_scale",
    "merge",
    "number",
    "plain",
    "technique_names",
    "with_ci",
]

_FORMATTERS = {
    "pp": tx.fmt_pp,
    "prob": tx.fmt_probability,
    "ratio": tx.fmt_ratio,
    "number": tx.fmt_number,
    "count": tx.fmt_count,
}


def finite(value: Any) -> bool:
    """Whether ``value`` is a finite number (``None`` and NaN are not)."""
    return isinstance(value, int | float) and math.isfinite(value)


def number(
    value: Any,
    kind: str,
    *,
    row: int | None = None,
    field: str = "estimate",
    currency: str | None = None,
) -> Num:
    """``value`` formatted as ``kind`` (``pp``, ``prob``, ``ratio``, ``number``, ``count``,
    ``money`` in ``currency``), remembering ``row`` and ``field``; ``—`` if not a number."""
    if not finite(value):
        return Num("—", None, row, field, kind)
    shown = tx.fmt_money(value, currency) if kind == "money" else _FORMATTERS[kind](value)
    return Num(shown, float(value), row, field, kind)


def kind_for_scale(scale: str) -> str:
    """The formatter for a row's ``scale``."""
    if scale in ("risk_difference",):
        return "pp"
    if scale in ("probability", "share"):
        return "prob"
    if scale.startswith("currency") or scale == "currency":
        return "money"
    if scale in ("rate_ratio", "odds_ratio", "risk_ratio", "ratio"):
        return "ratio"
    return "number"


def with_ci(results: ResultDocument, found: Found | None, kind: str | None = None) -> Paragraph:
    """``8.3 (6.6 to 9.9)``, ``suppressed`` or ``—``, as parts."""
    if found is None:
        return ("not estimated",)
    index, row = found
    settings = results.settings
    if row.get("suppressed"):
        return (f"suppressed (fewer than {settings.min_cell} cases)",)
    kind = kind or kind_for_scale(str(row.get("scale", "")))
    parts: list[Part] = [number(row.get("estimate"), kind, row=index, currency=settings.currency)]
    if finite(row.get("ci_low")) and finite(row.get("ci_high")):
        parts += [
            " (",
            number(row["ci_low"], kind, row=index, field="ci_low", currency=settings.currency),
            " to ",
            number(row["ci_high"], kind, row=index, field="ci_high", currency=settings.currency),
            ")",
        ]
    return tuple(parts)


def estimate_interval(results: ResultDocument, found: Found, kind: str) -> tuple[Num, list[Part]]:
    """The estimate and its interval as parts (``[low, " to ", high]``, empty if none)."""
    index, row = found
    currency = results.settings.currency
    estimate = number(row.get("estimate"), kind, row=index, currency=currency)
    if not (finite(row.get("ci_low")) and finite(row.get("ci_high"))):
        return estimate, []
    return estimate, [
        number(row["ci_low"], kind, row=index, field="ci_low", currency=currency),
        " to ",
        number(row["ci_high"], kind, row=index, field="ci_high", currency=currency),
    ]


def ci_phrase(results: ResultDocument, interval: list[Part], *, short: bool = False) -> list[Part]:
    """`` (95% CI a to b)`` (or `` (a to b)`` when ``short``); nothing without an interval."""
    if not interval:
        return []
    return [" (", *([] if short else [results.settings.level_text, " CI "]), *interval, ")"]


def direction(row: Mapping[str, Any], null: float = 0.0) -> str:
    """``up``, ``down`` or ``none`` (interval includes ``null``, or no interval)."""
    low, high = row.get("ci_low"), row.get("ci_high")
    if not (finite(low) and finite(high)):
        return "none"
    if low > null:
        return "up"
    if high < null:
        return "down"
    return "none"


def merge(parts: Iterable[Part]) -> Paragraph:
    """Join neighbouring strings (the renderers then see whole phrases)."""
    merged: list[Part] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] = merged[-1] + part
        elif part != "":
            merged.append(part)
    return tuple(merged)


def join_and(words: Sequence[str]) -> str:
    """``a, b and c``.

    >>> join_and(["a"]), join_and(["a", "b", "c"])
    ('a', 'a, b and c')
    """
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def plain(text: str) -> Paragraph:
    """A paragraph (or table cell) of plain text."""
    return (text,)


def technique_names(techniques: Sequence[str]) -> str:
    """The techniques' labels in lower case, joined: ``undercover operations and …``."""
    return join_and([tx.technique_label(t).lower() for t in techniques])
