"""Canonical JSON and CSV: the same value always gives the same bytes.

Result files from the same data, protocol and seed are compared byte for byte, so
floats are written with a fixed number of significant digits, keys sorted, and
non-finite numbers as ``null`` (JSON) or an empty cell (CSV).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

__all__ = [
    "CANONICAL_DIGITS",
    "canonical_csv",
    "canonical_json",
    "canonical_rows_csv",
    "canonical_value",
]

#: Significant digits kept for floats in canonical JSON: far beyond any reported
#: precision, yet deaf to last-bit differences from summation order.
CANONICAL_DIGITS = 12


def canonical_value(value: Any) -> Any:
    """A JSON-ready copy of ``value`` with floats rounded to :data:`CANONICAL_DIGITS`.

    Non-finite floats become ``None`` (JSON has no NaN); numpy scalars become Python
    numbers; tuples become lists; mapping keys become strings.
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return {str(k): canonical_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical_value(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return canonical_value(value.item())
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        rounded = float(f"{value:.{CANONICAL_DIGITS}g}")
        return 0.0 if rounded == 0 else rounded
    if value is pd.NA:
        return None
    raise TypeError(f"{type(value).__name__} is not JSON-compatible")


def canonical_json(value: Any) -> str:
    """Canonical JSON text: sorted keys, fixed float precision, UTF-8, newline at end.

    The same value always gives the same bytes, so result files from the same data,
    protocol and seed can be compared byte for byte.
    """
    return (
        json.dumps(
            canonical_value(value),
            sort_keys=True,
            ensure_ascii=False,
            indent=1,
            separators=(",", ": "),
            allow_nan=False,
        )
        + "\n"
    )


def canonical_csv(frame: pd.DataFrame) -> str:
    """A run's table as CSV with canonical numbers (RFC 4180 line ends, ``\\r\\n``).

    Float columns are written as the ``repr`` of their canonical value (empty when not
    finite). CRLF line ends mean a cell holding a lone carriage return is quoted, not
    split. Used for ``results.csv``, ``set_aside.csv`` and ``frames/*.csv``.
    """
    canonical = frame.copy()
    for column in canonical.columns:
        if pd.api.types.is_float_dtype(canonical[column].dtype):
            canonical[column] = [
                "" if v is None else repr(v)
                for v in (canonical_value(float(x)) for x in canonical[column])
            ]
    return canonical.to_csv(index=False, lineterminator="\r\n")


def canonical_rows_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> bytes:
    """Rows of canonical values as CSV bytes (``\\n`` line ends): ``pooled.csv``, ``trend.csv``.

    A column whose values are all whole numbers is written as integers.
    """
    data = {c: [canonical_value(r.get(c)) for r in rows] for c in columns}
    frame = pd.DataFrame(data, columns=list(columns))
    for column, values in data.items():
        present = [v for v in values if v is not None]
        if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
            frame[column] = pd.array(values, dtype="Int64")
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
