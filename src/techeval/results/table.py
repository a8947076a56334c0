"""The long results table: its columns and the identity of a row.

:data:`ROW_KEY` names the fields that identify "the same quantity" — in one run, and
across the result files that pooling and trends combine. :data:`RESULT_COLUMNS` is
that key followed by the numbers, the columns of :func:`results_frame`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from techeval.results.row import EffectResult

__all__ = ["RESULT_COLUMNS", "ROW_KEY", "results_frame", "row_adjusted", "row_key"]

#: The fields that identify a result row: the same key in two result files means the
#: same quantity (technique, measure, case type...). ``adjusted`` is fixed by the
#: estimator; it is part of the key so that pooled and trend rows carry it and their
#: readers can tell an adjusted effect from a raw contrast without knowing names.
ROW_KEY = (
    "technique",
    "family",
    "estimator",
    "adjusted",
    "outcome",
    "measure",
    "scale",
    "estimand",
    "method",
    "subgroup",
)

#: The columns of the long results table, in order: the row's key, then its numbers.
RESULT_COLUMNS = (
    *ROW_KEY,
    "estimate",
    "std_error",
    "ci_low",
    "ci_high",
    "p_value",
    "n_treated",
    "n_control",
    "suppressed",
)


def row_adjusted(row: Mapping[str, Any]) -> bool:
    """Whether a ``result.json`` row is adjusted for case characteristics.

    Rows carry ``adjusted`` since the estimator tags; a result file written before then
    has none, and there every row but the raw contrast (``method`` ``"naive"``, the only
    unadjusted effect those versions wrote) was adjusted. So old and new files pool.
    """
    adjusted = row.get("adjusted")
    if isinstance(adjusted, bool):
        return adjusted
    return row.get("method") != "naive"


def row_key(row: Mapping[str, Any]) -> tuple:
    """The identity of a result row (a ``result.json`` row mapping): its :data:`ROW_KEY` values.

    ``adjusted`` is read by :func:`row_adjusted`, so a file from before rows carried it
    keys its rows as a new file does.
    """
    return tuple(row_adjusted(row) if f == "adjusted" else row.get(f) for f in ROW_KEY)


def results_frame(results: Iterable[EffectResult]) -> pd.DataFrame:
    """Concatenate results into the long, tidy results table.

    The table has the columns of :data:`RESULT_COLUMNS` first, then ``ci_level`` and
    ``warnings`` (joined by ``"; "``). Diagnostics stay on the result objects.
    """
    columns = [*RESULT_COLUMNS, "ci_level"]
    rows = []
    for result in results:
        row = {name: getattr(result, name) for name in columns}
        row["warnings"] = "; ".join(result.warnings)
        rows.append(row)
    return pd.DataFrame(rows, columns=[*columns, "warnings"])
