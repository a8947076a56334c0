"""Reading the harm estimators' columns: checks that name the column and suggest a fix."""

from __future__ import annotations

import difflib
from collections.abc import Mapping

import numpy as np
import pandas as pd

from techeval.errors import EstimatorError
from techeval.estimators._columns import as_binary_treatment as _as_binary_treatment


def _require_columns(frame: pd.DataFrame, columns: Mapping[str, str]) -> None:
    """Raise a techeval error naming the first role whose column is absent."""
    if not isinstance(frame, pd.DataFrame):
        raise EstimatorError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    for column, role in columns.items():
        if column not in frame.columns:
            close = difflib.get_close_matches(column, [str(c) for c in frame.columns], n=3)
            hint = f"Did you mean {' or '.join(map(repr, close))}?" if close else None
            raise EstimatorError(f"the {role} column {column!r} is not in the data", hint=hint)


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column as float64 with ``nan`` for missing (booleans as 0/1)."""
    values = frame[column]
    if not (
        pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype)
    ):
        raise EstimatorError(
            f"the column {column!r} is not numeric or yes/no (dtype {values.dtype})",
            hint="Validate the case file first (techeval.cases.validate_frame)",
        )
    return values.astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def _counts(frame: pd.DataFrame, column: str) -> np.ndarray:
    values = _numbers(frame, column)
    present = values[~np.isnan(values)]
    if (present < 0).any() or (present != np.floor(present)).any():
        raise EstimatorError(
            f"the harm column {column!r} must hold whole numbers >= 0",
            hint="Harm columns count events per case",
        )
    return values


def _treatment(frame: pd.DataFrame, treatment: str) -> tuple[np.ndarray, np.ndarray]:
    """Treatment as bool and a mask of rows where it is missing."""
    values = frame[treatment]
    missing = values.isna().to_numpy()
    treated = np.zeros(len(frame), dtype=bool)
    if (~missing).any():
        treated[~missing] = _as_binary_treatment(values[~missing], treatment)
    return treated, missing
