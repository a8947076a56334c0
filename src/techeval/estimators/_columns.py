"""The checks on the columns an estimator is fitted on, and the missing-data rule.

* :func:`prepare` checks the columns (a missing one is named with close matches), drops
  rows with a missing treatment, outcome or covariate (counting them per reason) and
  returns plain arrays as :class:`Prepared`; every family applies this one rule (the
  harm estimators, whose columns differ by harm, read their columns with the readers
  below and drop the incomplete rows of the columns each harm uses);
* :func:`missing_values` finds the rows missing any of some columns, counted per column;
* :func:`require_columns` checks that ``frame`` is a data frame holding each column,
  and :func:`missing_column_error` names a missing one with close matches;
* :func:`as_binary_treatment` reads a treatment column as booleans (``True``/``False``,
  ``0``/``1``, ``yes``/``no``) or says which values it found, and
  :func:`treatment_column` does so for a column with missing values;
* :func:`numeric_column` and :func:`count_column` read a numeric (or yes/no) column,
  and a column of whole numbers ``>= 0``, keeping ``nan`` where a value is missing;
* :func:`infer_outcome_kind` tells binary, count and continuous outcomes apart.

Nothing here is public; the estimators are.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from techeval.errors import EstimatorError

__all__ = [
    "MIN_ROWS_PER_ARM",
    "OutcomeKind",
    "Prepared",
    "as_binary_treatment",
    "count_column",
    "infer_outcome_kind",
    "missing_column_error",
    "missing_values",
    "numeric_column",
    "prepare",
    "require_columns",
    "treatment_column",
]

OutcomeKind = Literal["binary", "count", "continuous"]

#: Fewest rows each arm must keep after dropping missing values.
MIN_ROWS_PER_ARM = 5


@dataclass
class Prepared:
    """Analysis arrays after the missing-data rule has been applied."""

    treated: np.ndarray  # bool, shape (n,)
    outcome: np.ndarray  # float64, shape (n,)
    covariates: pd.DataFrame  # the covariate columns of the kept rows, index reset
    outcome_kind: OutcomeKind
    rows_dropped: dict[str, object] = field(default_factory=dict)
    kept: np.ndarray | None = None  # bool over the frame's rows: the rows kept

    @property
    def n(self) -> int:
        return int(self.treated.shape[0])


def missing_column_error(name: str, role: str, columns: Sequence[str]) -> EstimatorError:
    """The error for a column not in the data, with close matches or the columns there are."""
    close = difflib.get_close_matches(name, [str(c) for c in columns], n=3, cutoff=0.6)
    hint = (
        f"Did you mean {' or '.join(repr(c) for c in close)}?"
        if close
        else f"Available columns: {', '.join(map(str, list(columns)[:20]))}"
    )
    return EstimatorError(f"the {role} column {name!r} is not in the data", hint=hint)


def require_columns(
    frame: pd.DataFrame, columns: Mapping[str, str] | Iterable[tuple[str, str]]
) -> None:
    """Raise unless ``frame`` is a data frame with every column (checked in order).

    Parameters
    ----------
    frame
        The cases.
    columns
        Column name to its role in words (``"treatment"``, ``"exposure"``), or
        ``(name, role)`` pairs; the error names the role of the first one missing.
    """
    if not isinstance(frame, pd.DataFrame):
        raise EstimatorError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    pairs = columns.items() if isinstance(columns, Mapping) else columns
    for name, role in pairs:
        if name not in frame.columns:
            raise missing_column_error(name, role, list(frame.columns))


def as_binary_treatment(values: pd.Series, name: str) -> np.ndarray:
    """A treatment column (no missing values) as booleans; any other values are an error."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(values.dtype):
        numbers = values.to_numpy(dtype=float)
        if np.isin(numbers, (0.0, 1.0)).all():
            return numbers == 1.0
    else:
        text = values.astype("string").str.strip().str.lower()
        mapping = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
        if text.isin(list(mapping)).all():
            return text.map(mapping).to_numpy(dtype=bool)
    found = ", ".join(repr(v) for v in pd.unique(values)[:6])
    raise EstimatorError(
        f"the treatment column {name!r} is not binary (found values {found})",
        hint="Use a boolean column, or 0/1, true/false, yes/no",
    )


def treatment_column(frame: pd.DataFrame, treatment: str) -> tuple[np.ndarray, np.ndarray]:
    """The treatment as booleans (``False`` where missing) and the mask of missing rows."""
    values = frame[treatment]
    missing = values.isna().to_numpy()
    treated = np.zeros(len(frame), dtype=bool)
    if (~missing).any():
        treated[~missing] = as_binary_treatment(values[~missing], treatment)
    return treated, missing


def numeric_column(frame: pd.DataFrame, column: str, *, role: str | None = None) -> np.ndarray:
    """A column as float64 with ``nan`` for missing (booleans as 0/1).

    ``role`` (``"harm"``) names the column's role in the error for a column that is
    neither numeric nor yes/no.
    """
    values = frame[column]
    if not (
        pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype)
    ):
        raise EstimatorError(
            f"the {role + ' ' if role else ''}column {column!r} is not numeric or yes/no (dtype {values.dtype})",
            hint="Validate the case file first (techeval.cases.validate_frame)",
        )
    return values.astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def count_column(frame: pd.DataFrame, column: str, *, role: str = "harm") -> np.ndarray:
    """A column of event counts (whole numbers ``>= 0``) as float64, ``nan`` for missing."""
    values = numeric_column(frame, column)
    present = values[~np.isnan(values)]
    if (present < 0).any() or (present != np.floor(present)).any():
        raise EstimatorError(
            f"the {role} column {column!r} must hold whole numbers >= 0",
            hint=f"{role.capitalize()} columns count events per case",
        )
    return values


def missing_values(
    frame: pd.DataFrame, columns: Sequence[str]
) -> tuple[np.ndarray, dict[str, int]]:
    """The rows missing a value in any of ``columns``, and how many miss each column that does."""
    missing_any = np.zeros(len(frame), dtype=bool)
    counts: dict[str, int] = {}
    for column in columns:
        missing = frame[column].isna().to_numpy()
        if missing.any():
            counts[column] = int(missing.sum())
        missing_any |= missing
    return missing_any, counts


def infer_outcome_kind(y: np.ndarray) -> OutcomeKind:
    """``binary`` for 0/1 values, ``count`` for other non-negative integers, else ``continuous``."""
    if np.isin(y, (0.0, 1.0)).all():
        return "binary"
    if (y >= 0).all() and np.equal(np.floor(y), y).all():
        return "count"
    return "continuous"


def prepare(
    frame: pd.DataFrame,
    *,
    treatment: str,
    outcome: str,
    covariates: Sequence[str],
    outcome_type: str = "auto",
    min_rows_per_arm: int = MIN_ROWS_PER_ARM,
) -> Prepared:
    """Check columns and apply the missing-data rule (drop and count)."""
    if isinstance(covariates, str):
        covariates = [covariates]
    covariates = list(dict.fromkeys(covariates))
    require_columns(
        frame,
        [(treatment, "treatment"), (outcome, "outcome")] + [(c, "covariate") for c in covariates],
    )
    overlap = {treatment, outcome} & set(covariates)
    if overlap or treatment == outcome:
        raise EstimatorError(
            f"the columns {sorted(overlap or {treatment})} are used in two roles",
            hint="Treatment, outcome and covariates must be different columns",
        )
    if outcome_type not in ("auto", "binary", "count", "continuous"):
        raise EstimatorError(
            f"outcome_type must be auto, binary, count or continuous, not {outcome_type!r}"
        )

    missing_treatment = frame[treatment].isna().to_numpy()
    missing_outcome = frame[outcome].isna().to_numpy()
    missing_covariate, missing_by_covariate = missing_values(frame, covariates)
    keep = ~(missing_treatment | missing_outcome | missing_covariate)
    rows_dropped: dict[str, object] = {
        "total": int((~keep).sum()),
        "missing_treatment": int(missing_treatment.sum()),
        "missing_outcome": int(missing_outcome.sum()),
        "missing_covariate": missing_by_covariate,
        "rule": "rows with a missing treatment, outcome or covariate are dropped",
    }
    kept = frame.loc[keep, [treatment, outcome, *covariates]]

    treated = as_binary_treatment(kept[treatment], treatment)
    outcome_values = kept[outcome]
    if pd.api.types.is_bool_dtype(outcome_values.dtype):
        y = outcome_values.to_numpy(dtype=float)
    elif pd.api.types.is_numeric_dtype(outcome_values.dtype):
        y = outcome_values.to_numpy(dtype=float)
    else:
        raise EstimatorError(
            f"the outcome column {outcome!r} is not numeric or boolean "
            f"(dtype {outcome_values.dtype})",
            hint="Convert it to numbers (e.g. 0/1 for a binary outcome)",
        )
    if not np.isfinite(y).all():
        raise EstimatorError(f"the outcome column {outcome!r} contains infinite values")

    n_treated, n_control = int(treated.sum()), int((~treated).sum())
    if n_treated == 0 or n_control == 0:
        raise EstimatorError(
            f"the treatment column {treatment!r} is constant after dropping "
            f"{rows_dropped['total']} incomplete rows ({n_treated} treated, "
            f"{n_control} control)",
            hint="An effect needs cases with and without the treatment",
        )
    if min(n_treated, n_control) < min_rows_per_arm:
        raise EstimatorError(
            f"too few rows: {n_treated} treated and {n_control} control after dropping "
            f"{rows_dropped['total']} incomplete rows; each group needs at least "
            f"{min_rows_per_arm}",
            hint="Use more data or fewer covariates with missing values",
        )
    kind = infer_outcome_kind(y) if outcome_type == "auto" else outcome_type
    if kind == "binary" and not np.isin(y, (0.0, 1.0)).all():
        raise EstimatorError(f"outcome_type='binary' but {outcome!r} has values other than 0/1")
    if kind == "count" and (y < 0).any():
        raise EstimatorError(f"outcome_type='count' but {outcome!r} has negative values")
    return Prepared(
        treated=treated,
        outcome=y,
        covariates=kept[covariates].reset_index(drop=True),
        outcome_kind=kind,  # type: ignore[arg-type]
        rows_dropped=rows_dropped,
        kept=keep,
    )
