"""Private machinery shared by the estimators: design matrices and nuisance models.

Two jobs, kept apart from the estimators so that each estimator reads as its formula
(the column checks and the missing-data rule are in :mod:`techeval.estimators._columns`):

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

import hashlib
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import PoissonRegressor
from sklearn.preprocessing import SplineTransformer

from techeval.estimators._glm.design import BLOCK_ROWS, BlockDesign, add_gram, symmetric
from techeval.estimators._glm.newton import Factor, minimise
from techeval.estimators._glm.workspace import Workspace, current_workspace, workspace

Task = Literal["binary", "count", "continuous"]


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


@contextmanager
def shared_nuisance() -> Iterator[Workspace]:
    """Reuse designs, balance matrices, full-data propensity fits and replicates here.

    The protocol runner wraps every unit of work in it: every estimator of a technique
    builds the same design and fits the same propensity model, so later ones take the
    first one's (same cells, same options, same numbers: a cached result is exactly what
    a fresh computation gives); ``cost.benefit`` takes ``cost.effectiveness``'s
    bootstrap replicate columns the same way. Everything is kept in one
    :class:`~techeval.estimators._glm.workspace.Workspace`, dropped when the outermost
    block ends, so nothing outlives a run (and a worker process does not look as if it
    leaked memory). Outside it nothing is kept.
    """
    with workspace() as shared:
        yield shared


def _fingerprint(covariates: pd.DataFrame) -> tuple:
    """A key that changes whenever a cell, a column name, a dtype or the row count does."""
    digest = hashlib.sha256()
    for column in covariates.columns:
        series = covariates[column]
        digest.update(f"{column!r}:{series.dtype}".encode())
        hashed = pd.util.hash_pandas_object(series, index=False).to_numpy()
        digest.update(hashed.tobytes())
        digest.update(series.isna().to_numpy().tobytes())
    return (len(covariates), digest.hexdigest())


def build_design(covariates: pd.DataFrame, *, spline_knots: int, drop_first: bool) -> BlockDesign:
    """Encode covariates for a GLM: one-hot text, B-spline continuous numbers, standardise.

    Preprocessing is unsupervised (it never looks at treatment or outcome), so fitting it
    once on all rows and reusing it inside cross-fitting folds and bootstrap replicates
    leaks nothing about the outcome.

    Inside :func:`shared_nuisance` the matrix is kept (keyed by the cells of
    ``covariates`` and the options) and shared between callers, so it is read-only
    there: copy it to change it.
    """
    shared = current_workspace()
    if shared is None:
        return _build_design(covariates, spline_knots=spline_knots, drop_first=drop_first)
    key = (_fingerprint(covariates), int(spline_knots), bool(drop_first))
    cached = shared.designs.get(key)
    if cached is not None:
        shared.designs.move_to_end(key)
        return BlockDesign(cached.matrix, names=list(cached.names))
    design = _build_design(covariates, spline_knots=spline_knots, drop_first=drop_first)
    design.matrix.flags.writeable = False
    shared.keep(shared.designs, key, design, shared.max_designs)
    return BlockDesign(design.matrix, names=list(design.names))


def _one_hot_levels(series: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes into the sorted text levels (``OneHotEncoder``'s order) and the levels."""
    codes, uniques = pd.factorize(series.astype("string").to_numpy(dtype=object), sort=True)
    return codes, [str(level) for level in uniques]


def _build_design(covariates: pd.DataFrame, *, spline_knots: int, drop_first: bool) -> BlockDesign:
    n = len(covariates)
    # first pass: what each column becomes (codes and levels, raw values or a spline)
    parts: list[tuple[str, object]] = []
    names: list[str] = []
    for column in covariates.columns:
        series = covariates[column]
        if _is_categorical(series):
            codes, levels = _one_hot_levels(series)
            first = 1 if drop_first else 0
            parts.append(("one_hot", (codes, len(levels), first)))
            names.extend(f"{column}={level}" for level in levels[first:])
            continue
        values = series.to_numpy(dtype=float)
        knots = _spline_knots(values, spline_knots) if np.unique(values).size > 4 else None
        if knots is None:
            parts.append(("raw", values))
            names.append(str(column))
        else:
            spline = SplineTransformer(
                knots=knots, degree=3, extrapolation="linear", include_bias=False
            ).fit(values.reshape(-1, 1))
            width = int(spline.n_features_out_)
            parts.append(("spline", (spline, values, width)))
            names.extend(f"{column}:spline{j}" for j in range(width))
    # second pass: fill one preallocated matrix (no stacking copies at a million rows)
    matrix = np.zeros((n, len(names)), dtype=np.float64)
    at = 0
    for kind, part in parts:
        if kind == "one_hot":
            codes, n_levels, first = part
            kept = codes >= first
            matrix[np.flatnonzero(kept), at + codes[kept] - first] = 1.0
            at += n_levels - first
        elif kind == "raw":
            matrix[:, at] = part
            at += 1
        else:
            spline, values, width = part
            for start in range(0, n, BLOCK_ROWS * 8):
                stop = start + BLOCK_ROWS * 8
                matrix[start:stop, at : at + width] = spline.transform(
                    values[start:stop].reshape(-1, 1)
                )
            at += width
    _standardise(matrix)
    return BlockDesign(matrix, names=names)


def _standardise(matrix: np.ndarray) -> None:
    """Centre and scale every column in place (population standard deviation; 1 if 0)."""
    n = matrix.shape[0]
    if n == 0 or matrix.shape[1] == 0:
        return
    mean = matrix.sum(axis=0) / n
    sum_squares = np.zeros(matrix.shape[1])
    for start in range(0, n, BLOCK_ROWS):
        block = matrix[start : start + BLOCK_ROWS] - mean
        sum_squares += np.einsum("ij,ij->j", block, block)
    scale = np.sqrt(sum_squares / n)
    scale[scale == 0] = 1.0
    for start in range(0, n, BLOCK_ROWS):
        block = matrix[start : start + BLOCK_ROWS]
        block -= mean
        block /= scale


def balance_matrix(covariates: pd.DataFrame) -> BlockDesign:
    """Covariates as analysts read them: numbers as they are, every text level a 0/1 column.

    Kept like :func:`build_design` inside :func:`shared_nuisance` (read-only, the last
    one).
    """
    shared = current_workspace()
    if shared is None:
        return _balance_matrix(covariates)
    key = _fingerprint(covariates)
    cached = shared.balance.get(key)
    if cached is None:
        cached = _balance_matrix(covariates)
        cached.matrix.flags.writeable = False
        shared.keep(shared.balance, key, cached, shared.max_balance)
    return BlockDesign(cached.matrix, names=list(cached.names))


def _balance_matrix(covariates: pd.DataFrame) -> BlockDesign:
    # levels first, then one matrix filled column by column: no list of columns beside
    # it (which doubled the memory at a million cases)
    columns: list[tuple[pd.Series, np.ndarray | None, list[str]]] = []
    for column in covariates.columns:
        series = covariates[column]
        if _is_categorical(series):
            codes, levels = _one_hot_levels(series)
            columns.append((series, codes, [f"{column}={level}" for level in levels]))
        else:
            columns.append((series, None, [str(column)]))
    names = [name for _, _, column_names in columns for name in column_names]
    # column-major: the balance table reads it column by column
    matrix = np.empty((len(covariates), len(names)), order="F")
    j = 0
    for series, codes, column_names in columns:
        if codes is None:
            matrix[:, j] = series.to_numpy(dtype=float)
        else:
            for code in range(len(column_names)):
                matrix[:, j + code] = codes == code
        j += len(column_names)
    return BlockDesign(matrix, names=names)


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
    variance function and ``P`` the identity with a zero for the intercept.  Logistic
    models are fitted by :func:`fit_logistic` (Newton–Cholesky over row blocks) and
    Gaussian ones by :func:`fit_ridge` (normal equations), both reading the rows in
    place; Poisson models by scikit-learn's ``PoissonRegressor`` with
    ``alpha = l2_penalty / n``, which minimises the same objective. (The logistic fits
    iterate with :func:`techeval.estimators._glm.newton.minimise`. The Poisson ones do
    not yet: scikit-learn stops at ``tol=1e-8`` on the mean loss's gradient, short of
    the driver's optimum, and fitting them with the driver moved the shipped protocols'
    ``cost.benefit`` point estimates by up to 2.4e-11 and its bootstrap intervals by up
    to 9.5e-5 relative, December 2026.)
    """

    def __init__(self, task: Task, *, l2_penalty: float):
        self.task = task
        self.l2_penalty = float(l2_penalty)
        self.model_: LinearFit | PoissonRegressor | None = None

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        *,
        rows: np.ndarray | None = None,
        start: np.ndarray | None = None,
    ) -> GLM:
        """Fit on ``X[rows]``, ``y[rows]`` (all rows by default).

        ``start`` (intercept first) is where the logistic solver starts; it changes the
        path to the optimum, not the optimum.
        """
        penalty = self.l2_penalty
        if X.shape[1] == 0:
            X = np.zeros((X.shape[0], 1))
        if self.task == "binary":
            self.model_ = fit_logistic(X, y, l2_penalty=penalty, rows=rows, start=start)
            return self
        if self.task == "continuous":
            self.model_ = fit_ridge(X, y, l2_penalty=max(penalty, 1e-10), rows=rows)
            return self
        if rows is not None:
            X, y = X[rows], y[rows]
        if self.model_ is None:
            self.model_ = PoissonRegressor(
                alpha=0.0, solver="newton-cholesky", max_iter=200, tol=1e-8, warm_start=True
            )
        self.model_.set_params(alpha=penalty / X.shape[0])
        with warnings.catch_warnings():
            # Near-separation is handled by the penalty and reported by the diagnostics;
            # scikit-learn's warning would only reach a log nobody reads.
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            self.model_.fit(X, y)
        fitted = self._linear_predictor(X)
        self.linear_predictor_range_ = (float(fitted.min()), float(fitted.max()))
        return self

    @property
    def params_(self) -> np.ndarray:
        """Intercept then coefficients."""
        return np.r_[np.ravel(self.model_.intercept_)[:1], np.ravel(self.model_.coef_)]

    def _linear_predictor(self, X: np.ndarray) -> np.ndarray:
        return X @ self.model_.coef_ + self.model_.intercept_

    def predict(self, X: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Predicted mean for ``X[rows]`` (all rows by default).

        Log-link predictions stay within the range seen in fitting.

        A log-link model predicting for covariate values beyond its fitting rows (another
        cross-fitting fold, the other arm, a heavy-tailed covariate) extrapolates
        exponentially; one such case can move an average by millions. Holding the linear
        predictor to the fitted range keeps predictions where the data support them.
        """
        if self.task == "binary":
            return predict_logistic(self.model_, X, rows)
        if self.task == "continuous":
            return linear_predictor(self.model_, X, rows)
        if X.shape[1] == 0:
            X = np.zeros((X.shape[0], 1))
        if rows is not None:
            X = X[rows]
        low, high = self.linear_predictor_range_
        return np.exp(np.clip(self._linear_predictor(X), low, high))

    def variance(self, mean: np.ndarray) -> np.ndarray:
        """Derivative of the mean with respect to the linear predictor (canonical link)."""
        if self.task == "binary":
            return mean * (1.0 - mean)
        if self.task == "count":
            return mean
        return np.ones_like(mean)

    def penalised_hessian(self, X: np.ndarray, mean: np.ndarray) -> np.ndarray:
        """``X1' diag(V) X1 + l2_penalty * P`` for the rows the model was fitted on."""
        hessian = BlockDesign(X).intercept_gram(self.variance(mean))
        hessian[np.arange(1, hessian.shape[0]), np.arange(1, hessian.shape[0])] += self.l2_penalty
        return hessian


@dataclass
class LinearFit:
    """A fitted linear-predictor model, logistic or ridge (the attributes scikit-learn's have)."""

    intercept_: np.ndarray  # shape (1,)
    coef_: np.ndarray  # shape (p,)
    n_iter_: int
    converged_: bool


#: Below this relative step size the logistic solver keeps its last Hessian.
_LAZY_HESSIAN = 1e-3


def _logistic_pass(
    X: np.ndarray,
    y: np.ndarray,
    beta: np.ndarray,
    rows: np.ndarray | None,
    l2_penalty: float,
    *,
    hessian: bool,
    gradient: bool | None = None,
) -> tuple[float, np.ndarray | None, np.ndarray | None]:
    """Penalised loss, and its gradient and Hessian when asked, over row blocks."""
    p = X.shape[1] + 1
    want_gradient = hessian if gradient is None else gradient
    loss = 0.0
    gradient = np.zeros(p) if want_gradient else None
    gram = np.zeros((p, p)) if hessian else None
    intercept, slopes = beta[0], beta[1:]
    for at, block, weight in BlockDesign(X).row_blocks(rows):
        target = y[at]
        eta = block @ slopes + intercept
        terms = np.logaddexp(0.0, eta) - target * eta
        loss += float(terms.sum() if weight is None else terms @ weight)
        if want_gradient:
            mu = expit(eta)
            residual = mu - target
            if weight is not None:
                residual *= weight
            gradient[0] += residual.sum()
            gradient[1:] += residual @ block
            if hessian:
                variance = mu * (1.0 - mu)
                if weight is not None:
                    variance *= weight
                add_gram(gram, block, variance)
    loss += 0.5 * l2_penalty * float(slopes @ slopes)
    if want_gradient:
        gradient[1:] += l2_penalty * slopes
    if hessian:
        symmetric(gram)
        gram[np.arange(1, p), np.arange(1, p)] += l2_penalty
    return loss, gradient, gram


def fit_logistic(
    X: np.ndarray,
    y: np.ndarray,
    *,
    l2_penalty: float,
    rows: np.ndarray | None = None,
    start: np.ndarray | None = None,
) -> LinearFit:
    """Penalised logistic regression by Newton–Cholesky with a backtracking line search.

    Minimises ``sum_i [log(1 + exp(eta_i)) - y_i eta_i] + l2_penalty / 2 ||b||^2`` over
    ``rows`` of ``X`` (``eta = b0 + X b``; the intercept is not penalised): the
    objective of scikit-learn's ``LogisticRegression(C=1/l2_penalty)``. Every pass over
    the data works on blocks of
    :data:`~techeval.estimators._glm.design.BLOCK_ROWS` rows, so a fit on a subset of rows
    (a cross-fitting fold, an arm) never copies the design, and the Hessian is a
    symmetric rank-k update per block. The iteration is
    :func:`techeval.estimators._glm.newton.minimise` (Armijo halving with loss-only
    passes, the Hessian kept once the step moves no coefficient by more than
    ``1e-3 (1 + max |b|)``, converged once the step is negligible, that last step
    taken);
    without a penalty and with separated classes it stops after 100 steps (the
    diagnostics report the separation).
    """
    p = X.shape[1] + 1
    beta = np.zeros(p) if start is None else np.array(start, dtype=float)
    target = y if rows is None else y[rows]
    share = float(target.mean()) if target.size else 0.5
    if start is None and 0.0 < share < 1.0:
        beta[0] = np.log(share / (1.0 - share))

    def evaluate(params: np.ndarray, order: int):
        return _logistic_pass(
            X, y, params, rows, l2_penalty, hessian=order >= 2, gradient=order >= 1
        )

    fit = minimise(evaluate, beta, lazy_hessian=_LAZY_HESSIAN)
    return LinearFit(
        intercept_=fit.params[:1].copy(),
        coef_=fit.params[1:].copy(),
        n_iter_=fit.n_steps,
        converged_=fit.converged,
    )


def propensity_fit(X: np.ndarray, treated: np.ndarray, *, l2_penalty: float) -> LinearFit:
    """The logistic propensity model on all rows; reused while ``X`` is a kept design.

    Inside :func:`shared_nuisance` the naive and regression estimators' diagnostics,
    IPW, and AIPW's cross-fitting folds (which start from it) all need the same model
    for a technique.
    """
    shared = current_workspace()
    design_key = None if shared is None else shared.design_key(X)
    key = None
    if design_key is not None:
        target = np.ascontiguousarray(treated, dtype=bool)
        key = (design_key, float(l2_penalty), hashlib.sha256(target.tobytes()).hexdigest())
        cached = shared.propensity.get(key)
        if cached is not None:
            shared.propensity.move_to_end(key)
            return cached
    fit = fit_logistic(
        X if X.shape[1] else np.zeros((X.shape[0], 1)),
        treated.astype(float),
        l2_penalty=l2_penalty,
    )
    if key is not None:
        shared.keep(shared.propensity, key, fit, shared.max_propensity)
    return fit


def linear_predictor(fit: LinearFit, X: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """``b0 + X[rows] b`` (all rows by default), over row blocks."""
    if X.shape[1] == 0:
        X = np.zeros((X.shape[0], 1))
    n_rows = X.shape[0] if rows is None else rows.size
    out = np.empty(n_rows)
    for start in range(0, n_rows, BLOCK_ROWS * 8):
        stop = start + BLOCK_ROWS * 8
        block = X[start:stop] if rows is None else X[rows[start:stop]]
        out[start:stop] = block @ fit.coef_ + fit.intercept_[0]
    return out


def predict_logistic(fit: LinearFit, X: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Probabilities for ``X[rows]`` (all rows by default), over row blocks."""
    out = linear_predictor(fit, X, rows)
    return expit(out, out=out)


def fit_ridge(
    X: np.ndarray, y: np.ndarray, *, l2_penalty: float, rows: np.ndarray | None = None
) -> LinearFit:
    """Ridge regression with an unpenalised intercept, from the normal equations.

    Minimises ``sum_i (y_i - b0 - x_i b)^2 / 2 + l2_penalty / 2 ||b||^2`` over ``rows``
    (scikit-learn's ``Ridge(alpha=l2_penalty)``): one pass over row blocks for
    ``X1' X1`` and ``X1' y``, then a Cholesky solve.
    """
    p = X.shape[1] + 1
    gram = np.zeros((p, p))
    moment = np.zeros(p)
    for at, block, weight in BlockDesign(X).row_blocks(rows):
        target = y[at]
        ones = np.ones(block.shape[0]) if weight is None else weight
        add_gram(gram, block, ones)
        weighted = target * ones
        moment[0] += weighted.sum()
        moment[1:] += weighted @ block
    symmetric(gram)
    gram[np.arange(1, p), np.arange(1, p)] += l2_penalty
    # a quadratic loss: the one Newton step from zero is the solution
    beta = Factor(gram).solve(moment)
    return LinearFit(intercept_=beta[:1].copy(), coef_=beta[1:].copy(), n_iter_=1, converged_=True)


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
