"""Private machinery shared by the outcome estimators: input checks and nuisance models.

Three jobs, kept apart from the estimators so that each estimator reads as its formula:

* :func:`prepare` checks the columns, drops rows with a missing treatment, outcome or
  covariate (counting them per reason) and returns plain arrays;
* :func:`build_design` turns covariates into a lean design matrix: text, category and
  boolean columns one-hot encoded, continuous numeric columns expanded into cubic
  B-splines with knots at quantiles, then standardised so an L2 penalty treats
  every column alike;
* :class:`GLM` and :class:`Boosting` fit the propensity and outcome models.  The GLM
  also exposes what the influence-function corrections for ``ipw`` and ``regression``
  need (the penalised Hessian and the variance function), so those standard errors
  account for the nuisance model having been estimated.

Nothing here is public; the estimators in :mod:`techeval.estimators.outcome` are.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, PoissonRegressor, Ridge
from sklearn.preprocessing import OneHotEncoder, SplineTransformer

from techeval.errors import EstimatorError

OutcomeKind = Literal["binary", "count", "continuous"]
Task = Literal["binary", "count", "continuous"]

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

    @property
    def n(self) -> int:
        return int(self.treated.shape[0])


def _missing_column_error(name: str, role: str, columns: Sequence[str]) -> EstimatorError:
    close = difflib.get_close_matches(name, [str(c) for c in columns], n=3, cutoff=0.6)
    hint = (
        f"Close matches: {', '.join(repr(c) for c in close)}"
        if close
        else f"Available columns: {', '.join(map(str, list(columns)[:20]))}"
    )
    return EstimatorError(f"the {role} column {name!r} is not in the data", hint=hint)


def _as_binary_treatment(values: pd.Series, name: str) -> np.ndarray:
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
    if not isinstance(frame, pd.DataFrame):
        raise EstimatorError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    if isinstance(covariates, str):
        covariates = [covariates]
    covariates = list(dict.fromkeys(covariates))
    for name, role in [(treatment, "treatment"), (outcome, "outcome")] + [
        (c, "covariate") for c in covariates
    ]:
        if name not in frame.columns:
            raise _missing_column_error(name, role, list(frame.columns))
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
    keep = ~(missing_treatment | missing_outcome)
    missing_by_covariate: dict[str, int] = {}
    for column in covariates:
        missing = frame[column].isna().to_numpy()
        if missing.any():
            missing_by_covariate[column] = int(missing.sum())
        keep &= ~missing
    rows_dropped: dict[str, object] = {
        "total": int((~keep).sum()),
        "missing_treatment": int(missing_treatment.sum()),
        "missing_outcome": int(missing_outcome.sum()),
        "missing_covariate": missing_by_covariate,
        "rule": "rows with a missing treatment, outcome or covariate are dropped",
    }
    kept = frame.loc[keep, [treatment, outcome, *covariates]]

    treated = _as_binary_treatment(kept[treatment], treatment)
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
    )


# ---- design matrices -------------------------------------------------------------------


def _is_categorical(series: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(
        series.dtype
    )


def _spline_knots(values: np.ndarray, n_knots: int) -> np.ndarray | None:
    """Knots at quantiles, or ``None`` when the column has too few distinct values."""
    if n_knots < 3:
        return None
    knots = np.unique(np.quantile(values, np.linspace(0.0, 1.0, n_knots)))
    # a spline needs at least three distinct knots; fewer means a near-discrete column
    # that a linear term (or the user's own coding) describes well enough
    return knots.reshape(-1, 1) if knots.size >= 3 else None


@dataclass
class Design:
    """A dense design matrix (no intercept column) and the names of its columns."""

    matrix: np.ndarray
    names: list[str]


def build_design(covariates: pd.DataFrame, *, spline_knots: int, drop_first: bool) -> Design:
    """Encode covariates for a GLM: one-hot text, B-spline continuous numbers, standardise.

    Preprocessing is unsupervised (it never looks at treatment or outcome), so fitting it
    once on all rows and reusing it inside cross-fitting folds and bootstrap replicates
    leaks nothing about the outcome.
    """
    n = len(covariates)
    blocks: list[np.ndarray] = []
    names: list[str] = []
    for column in covariates.columns:
        series = covariates[column]
        if _is_categorical(series):
            encoder = OneHotEncoder(
                drop="first" if drop_first else None,
                sparse_output=False,
                handle_unknown="ignore",
                dtype=np.float64,
            )
            text = series.astype("string").to_numpy(dtype=object).reshape(-1, 1)
            block = encoder.fit_transform(text)
            blocks.append(block)
            names.extend(f"{column}={level}" for level in encoder.get_feature_names_out([""]))
            continue
        values = series.to_numpy(dtype=float).reshape(-1, 1)
        knots = _spline_knots(values[:, 0], spline_knots) if np.unique(values).size > 4 else None
        if knots is None:
            blocks.append(values)
            names.append(str(column))
        else:
            spline = SplineTransformer(
                knots=knots, degree=3, extrapolation="linear", include_bias=False
            )
            block = spline.fit_transform(values)
            blocks.append(block)
            names.extend(f"{column}:spline{j}" for j in range(block.shape[1]))
    if not blocks:
        return Design(np.empty((n, 0)), [])
    # always a fresh array: a lone numeric column would otherwise be a view of the
    # caller's frame, and standardising in place would change the caller's data
    matrix = np.hstack(blocks) if len(blocks) > 1 else np.array(blocks[0], dtype=np.float64)
    matrix = np.ascontiguousarray(matrix, dtype=np.float64)
    names = [name.replace("=_", "=") for name in names]
    # standardise in place: keeps one copy of the matrix at a million rows
    mean = matrix.mean(axis=0)
    scale = matrix.std(axis=0)
    scale[scale == 0] = 1.0
    matrix -= mean
    matrix /= scale
    return Design(matrix, names)


def balance_matrix(covariates: pd.DataFrame) -> Design:
    """Covariates as analysts read them: numbers as they are, every text level a 0/1 column."""
    blocks, names = [], []
    for column in covariates.columns:
        series = covariates[column]
        if _is_categorical(series):
            text = series.astype("string")
            for level in sorted(text.unique()):
                blocks.append((text == level).to_numpy(dtype=float))
                names.append(f"{column}={level}")
        else:
            blocks.append(series.to_numpy(dtype=float))
            names.append(str(column))
    # column-major: the balance table reads it column by column
    matrix = np.empty((len(covariates), len(blocks)), order="F")
    for j, block in enumerate(blocks):
        matrix[:, j] = block
    return Design(matrix, names)


def boosting_frame(covariates: pd.DataFrame) -> pd.DataFrame:
    """Covariates for histogram gradient boosting: numbers as floats, text as categories."""
    out = {}
    for column in covariates.columns:
        series = covariates[column]
        if _is_categorical(series):
            out[column] = series.astype("string").astype("category")
        else:
            out[column] = series.astype(float)
    return pd.DataFrame(out)


# ---- nuisance models --------------------------------------------------------------------


class GLM:
    """L2-penalised GLM with canonical link: logistic, Poisson (log) or Gaussian (identity).

    The objective is ``sum_i loss_i(beta) + l2_penalty / 2 * ||beta_without_intercept||^2``
    with ``loss_i`` the negative log-likelihood (up to constants), so the penalised
    Hessian is ``X1' diag(V(mu)) X1 + l2_penalty * P`` with ``X1 = [1, X]``, ``V`` the
    variance function and ``P`` the identity with a zero for the intercept.  The
    scikit-learn estimators are parameterised to minimise exactly that objective
    (``C = 1/l2_penalty`` for logistic, ``alpha = l2_penalty / n`` for Poisson,
    ``alpha = l2_penalty`` for ridge).
    """

    def __init__(self, task: Task, *, l2_penalty: float):
        self.task = task
        self.l2_penalty = float(l2_penalty)
        self.model_: LogisticRegression | PoissonRegressor | Ridge | None = None

    def fit(self, X: np.ndarray, y: np.ndarray) -> GLM:
        penalty = self.l2_penalty
        if self.task == "binary":
            if self.model_ is None:
                self.model_ = LogisticRegression(
                    C=np.inf if penalty == 0 else 1.0 / penalty,
                    solver="newton-cholesky",
                    max_iter=200,
                    tol=1e-8,
                    # folds overlap by (K-2)/(K-1): starting from the previous fold's
                    # coefficients saves most Newton steps
                    warm_start=True,
                )
            target = y
        elif self.task == "count":
            if self.model_ is None:
                self.model_ = PoissonRegressor(
                    alpha=0.0, solver="newton-cholesky", max_iter=200, tol=1e-8, warm_start=True
                )
            self.model_.set_params(alpha=penalty / X.shape[0])
            target = y
        else:
            if self.model_ is None:
                self.model_ = Ridge(alpha=max(penalty, 1e-10), solver="cholesky")
            target = y
        if X.shape[1] == 0:
            X = np.zeros((X.shape[0], 1))
        with warnings.catch_warnings():
            # Near-separation is handled by the penalty and reported by the diagnostics;
            # scikit-learn's warning would only reach a log nobody reads.
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            self.model_.fit(X, target)
        if self.task == "count":
            fitted = self._linear_predictor(X)
            self.linear_predictor_range_ = (float(fitted.min()), float(fitted.max()))
        return self

    def _linear_predictor(self, X: np.ndarray) -> np.ndarray:
        return X @ self.model_.coef_ + self.model_.intercept_

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted mean; log-link predictions stay within the range seen in fitting.

        A log-link model predicting for covariate values beyond its fitting rows (another
        cross-fitting fold, the other arm, a heavy-tailed covariate) extrapolates
        exponentially; one such case can move an average by millions. Holding the linear
        predictor to the fitted range keeps predictions where the data support them.
        """
        if X.shape[1] == 0:
            X = np.zeros((X.shape[0], 1))
        if self.task == "binary":
            return self.model_.predict_proba(X)[:, 1]
        if self.task == "count":
            low, high = self.linear_predictor_range_
            return np.exp(np.clip(self._linear_predictor(X), low, high))
        return self.model_.predict(X)

    def variance(self, mean: np.ndarray) -> np.ndarray:
        """Derivative of the mean with respect to the linear predictor (canonical link)."""
        if self.task == "binary":
            return mean * (1.0 - mean)
        if self.task == "count":
            return mean
        return np.ones_like(mean)

    def penalised_hessian(self, X: np.ndarray, mean: np.ndarray) -> np.ndarray:
        """``X1' diag(V) X1 + l2_penalty * P`` for the rows the model was fitted on."""
        X1 = _with_intercept(X)
        hessian = (X1 * self.variance(mean)[:, None]).T @ X1
        hessian[np.arange(1, hessian.shape[0]), np.arange(1, hessian.shape[0])] += self.l2_penalty
        return hessian


def _with_intercept(X: np.ndarray) -> np.ndarray:
    return np.hstack([np.ones((X.shape[0], 1)), X])


def score_correction(
    X: np.ndarray,
    gradient: np.ndarray,
    hessian: np.ndarray,
    residual_rows: np.ndarray,
    residuals: np.ndarray,
) -> np.ndarray:
    """Per-row influence of having estimated a GLM's coefficients.

    Returns ``c_i = gradient' H^{-1} x1_i * residual_i`` for the rows in
    ``residual_rows`` (zero elsewhere), where ``gradient`` is the derivative of the
    target functional's estimating equation with respect to the coefficients
    (averaged over all ``n`` rows, length ``p + 1``), ``H`` the penalised Hessian
    divided by ``n`` and ``x1_i (residual_i)`` the GLM score of row ``i``.
    """
    n = X.shape[0]
    direction = np.linalg.solve(hessian / n, gradient)
    correction = np.zeros(n)
    rows = np.flatnonzero(residual_rows)
    correction[rows] = (direction[0] + X[rows] @ direction[1:]) * residuals
    return correction


class Boosting:
    """Histogram gradient boosting (scikit-learn) for propensity or outcome models."""

    def __init__(self, task: Task, *, random_state: int):
        self.task = task
        self.random_state = random_state
        self.model_ = None

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> Boosting:
        common = dict(
            categorical_features="from_dtype",
            random_state=self.random_state,
            max_iter=200,
            early_stopping=True,
            l2_regularization=1.0,
        )
        if self.task == "binary":
            self.model_ = HistGradientBoostingClassifier(**common)
            self.model_.fit(X, y.astype(int))
        else:
            loss = "poisson" if self.task == "count" else "squared_error"
            self.model_ = HistGradientBoostingRegressor(loss=loss, **common)
            self.model_.fit(X, y)
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        if self.task == "binary":
            return self.model_.predict_proba(X)[:, 1]
        return self.model_.predict(X)
