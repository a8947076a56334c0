"""Write tables that people open in spreadsheets, without formula injection.

A text cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run
as a formula by Excel and LibreOffice (OWASP, "CSV Injection"). Such cells are written
with a leading apostrophe; numbers stay numbers.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# "-5" or "+1.5e3" read from a text file is a number, not a formula: leave it be.
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def neutralise_cell(value: object) -> object:
    """Prefix a text cell that a spreadsheet would read as a formula with ``'``."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_TRIGGERS)
        and not _PLAIN_NUMBER.match(value)
    ):
        return "'" + value
    return value


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells cannot run as spreadsheet formulas."""
    out = frame.copy()
    for column in out.columns:
        if not (
            pd.api.types.is_numeric_dtype(out[column]) or pd.api.types.is_bool_dtype(out[column])
        ):
            out[column] = out[column].map(neutralise_cell)
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    return out


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as .xlsx (by suffix) or CSV (RFC 4180), with formulas neutralised."""
    path = Path(path)
    safe = neutralise_formulas(frame)
    if path.suffix.lower() == ".xlsx":
        safe.to_excel(path, index=False, engine="openpyxl")
    else:
        # CRLF line ends (RFC 4180): Python's csv module quotes a field that holds a
        # character of the line terminator, so a carriage return inside a cell is quoted
        # and cannot split the row
        safe.to_csv(path, index=False, lineterminator="\r\n")
    return path
