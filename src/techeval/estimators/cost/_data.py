"""The cost estimators' analysis arrays: the missing-data rule, the components and the design.

Every cost estimator reads its cases through :func:`_prepare`: rows missing the
treatment, the cost or a covariate are dropped and counted; effect columns (the other
components) keep ``nan`` where they are not recorded and are estimated on the cases
where they are (available-case).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from techeval.errors import EstimatorError
from techeval.estimators._columns import prepare, require_columns
from techeval.estimators._nuisance import build_design


@dataclass(frozen=True)
class _Data:
    """Analysis arrays after the missing-data rule (rows missing treatment/cost/covariate dropped)."""

    treated: np.ndarray
    components: dict[str, np.ndarray]  # name -> values (nan where not recorded)
    kinds: dict[str, str]  # name -> "gamma" | "poisson" | "binary"
    features: np.ndarray
    feature_names: list[str]
    rows_dropped: dict[str, Any]

    @property
    def n(self) -> int:
        return int(self.treated.size)


def _working_covariates(
    frame: pd.DataFrame, covariates: Sequence[str], log_covariates: Sequence[str]
) -> tuple[pd.DataFrame, list[str]]:
    """A copy of the covariates with heavy-tailed counts on the log scale."""
    work = pd.DataFrame(index=frame.index)
    names = []
    for column in covariates:
        values = frame[column]
        if column in log_covariates and pd.api.types.is_numeric_dtype(values.dtype):
            # In a log-link model a linear term in a heavy-tailed count extrapolates
            # exponentially; log1p keeps zero counts and bounds that extrapolation.
            name = f"log1p({column})"
            work[name] = np.log1p(values.astype("float64"))
        else:
            name = column
            work[name] = values
        names.append(name)
    return work, names


def _design(covariates: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Linear design (text one-hot, first level dropped), standardised, via the shared builder."""
    if covariates.shape[1] == 1 and pd.api.types.is_numeric_dtype(covariates.iloc[:, 0].dtype):
        # build_design standardises its only block in place, and a lone numeric column
        # is a read-only view under copy-on-write; hand it a private copy
        values = covariates.iloc[:, 0].to_numpy(dtype=float, copy=True)
        scale = values.std() or 1.0
        return ((values - values.mean()) / scale)[:, None], [str(covariates.columns[0])]
    design = build_design(covariates, spline_knots=0, drop_first=True)
    return design.matrix, design.names


def _component_kind(values: np.ndarray, name: str) -> str:
    observed = values[np.isfinite(values)]
    if observed.size == 0:
        raise EstimatorError(f"the column {name!r} has no recorded values in the analysed cases")
    if (observed < 0).any():
        raise EstimatorError(
            f"the column {name!r} has negative values; costs and counts must be >= 0"
        )
    if np.isin(observed, (0.0, 1.0)).all() and name != "incremental_cost":
        return "binary"
    # Gamma needs positive values; with zeros the Poisson quasi-likelihood (log link)
    # still estimates the mean consistently (Santos Silva & Tenreyro 2006).
    return "gamma" if (observed > 0).all() else "poisson"


def _prepare(
    frame: pd.DataFrame,
    *,
    treatment: str,
    cost: str,
    covariates: Sequence[str],
    log_covariates: Sequence[str],
    extra: Mapping[str, pd.Series] | None = None,
) -> _Data:
    """Apply the missing-data rule and build the design (shared by every cost estimator)."""
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    require_columns(
        frame,
        [(treatment, "treatment"), (cost, "outcome")] + [(c, "covariate") for c in covariates],
    )
    work, names = _working_covariates(frame, covariates, tuple(log_covariates))
    work[treatment] = frame[treatment]
    work[cost] = frame[cost]
    prepared = prepare(
        work, treatment=treatment, outcome=cost, covariates=names, outcome_type="continuous"
    )
    components: dict[str, np.ndarray] = {"incremental_cost": prepared.outcome}
    for name, series in (extra or {}).items():
        values = pd.to_numeric(series, errors="coerce")
        components[name] = values.astype("Float64").to_numpy(dtype=float, na_value=np.nan)[
            prepared.kept
        ]
    kinds = {name: _component_kind(values, name) for name, values in components.items()}
    features, feature_names = _design(prepared.covariates)
    return _Data(
        treated=prepared.treated,
        components=components,
        kinds=kinds,
        features=features,
        feature_names=feature_names,
        rows_dropped=prepared.rows_dropped,
    )


def per_case_outcome(frame: pd.DataFrame, name: str) -> pd.Series:
    """An outcome column per case, as economic evaluation counts it.

    ``high_level_conviction`` is undefined (missing) for cases without a high-level
    target, which is right for its effect among such cases, but cost is counted per case
    over all cases: there a case without a target has, structurally, no high-level
    conviction. Dividing an all-case cost by an eligible-case effect would understate the
    cost per additional high-level conviction by the share of eligible cases.
    """
    values = frame[name]
    if name == "high_level_conviction" and "high_level_targets" in frame.columns:
        no_target = (pd.to_numeric(frame["high_level_targets"], errors="coerce") == 0).fillna(False)
        values = values.astype("boolean").mask(no_target.to_numpy(dtype=bool), False)
    return values
