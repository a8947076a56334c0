"""The tables an analysis starts from: a technique's comparison cases, and any table read.

* :func:`comparison_frame` — the cases a technique is compared within ("without the
  technique" or "traditional investigation only");
* :func:`read_data` — a table for :func:`techeval.estimate_effect` from a file or
  database URL: a case file is validated, any other table is read as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import pandas as pd

from techeval.cases.readers import read_table
from techeval.cases.schema import REQUIRED_COLUMNS, TECHNIQUES
from techeval.cases.validate import infer_column, validate_table
from techeval.errors import ArgumentError

__all__ = ["comparison_frame", "read_data"]


def comparison_frame(
    cases: pd.DataFrame,
    technique: str,
    comparator: Literal["without_technique", "traditional_only"] = "without_technique",
    *,
    techniques: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The cases a technique is compared within.

    Parameters
    ----------
    cases
        Analysis-ready case records with one boolean column per technique.
    technique
        The technique column.
    comparator
        ``"without_technique"``: all cases (those that did not use ``technique`` are
        the comparison group). ``"traditional_only"``: cases that used ``technique``
        plus cases that used no special technique at all; cases that used another
        technique but not this one are left out.
    techniques
        The technique columns (default: :data:`techeval.cases.schema.TECHNIQUES`
        present in ``cases``).

    Returns
    -------
    pandas.DataFrame
        A filtered copy (row labels kept), ready for ``fit(..., treatment=technique)``.
    """
    if technique not in cases.columns:
        raise ArgumentError(f"there is no technique column {technique!r} in the cases")
    if comparator == "without_technique":
        # copy-on-write (pandas 3): a shallow copy behaves as a copy without holding a
        # second copy of every column (four techniques at a million cases)
        return cases.copy(deep=False)
    if comparator != "traditional_only":
        raise ArgumentError(
            f"unknown comparator {comparator!r}",
            hint="Use without_technique or traditional_only",
        )
    columns = [c for c in (techniques or TECHNIQUES) if c in cases.columns]
    used = cases[technique].astype(bool)
    others = cases[[c for c in columns if c != technique]].astype(bool).any(axis=1)
    return cases.loc[used | ~others].copy()


def read_data(source: str | Path) -> tuple[pd.DataFrame, list[str]]:
    """Read a table for :func:`techeval.estimate_effect` from a file or database URL.

    Any table works. A table holding every required case-record column is a case file:
    it is validated and the analysis-ready case table is returned (one boolean column
    per technique, ``conviction``, ``high_level_conviction``, ...), with a note when rows
    were set aside. Other tables keep their text columns as text (categorical covariates)
    and turn columns whose every filled cell is a number into numbers.

    Returns
    -------
    frame, notes
        The table, and plain-words notes about how it was read.
    """
    table = read_table(source)
    columns = {str(c).strip().lower() for c in table.frame.columns}
    if all(name in columns for name in REQUIRED_COLUMNS):
        report = validate_table(table)
        notes = [f"read as a case file: {report.rows_used:,} of {report.rows_in:,} rows used"]
        if report.rows_set_aside:
            notes.append(
                f"{report.rows_set_aside:,} rows set aside by validation "
                f"(run `techeval validate {table.source}` to see why)"
            )
        return report.cases, notes
    frame = pd.DataFrame(
        {column: infer_column(table.frame[column]) for column in table.frame.columns}
    )
    return frame, list(table.notes)
