"""Cost estimators: cost description, adjusted incremental cost, cost-effectiveness, benefit–cost.

Four registered estimators answer "what does the technique cost, what does one extra
conviction cost with it, and is it worth it?":

=======================  ===============================================================
``cost.summary``         mean, median, IQR, technique share of cost, cost per suspect and
                         per officer-day, for cases with the technique and the comparator
``cost.incremental``     adjusted incremental cost per case (gamma GLM, doubly robust)
``cost.effectiveness``   ICER with its quadrant, CE plane, acceptability curve, net
                         monetary benefit — from a joint bootstrap of cost and effects
``cost.benefit``         WSIPP-style net benefit, benefit–cost ratio and the probability
                         that benefits exceed costs (Monte Carlo)
=======================  ===============================================================

Costs are right-skewed, so the default cost model is a gamma GLM with a log link
(Manning & Mullahy 2001), never OLS on raw cost. Effects are averaged over cases by
recycled predictions (every case's predicted cost with the technique set on, minus set
off) and, by default, augmented with inverse-propensity-weighted residuals (doubly
robust). Every row has ``family="cost"`` (the registered family; ``cost.benefit`` rows
too, although they combine outcome, cost and harm estimates — one rule for all rows).

References
----------
Manning, W. G., & Mullahy, J. (2001). Estimating log models: to transform or not to
transform? *Journal of Health Economics*, 20(4), 461–494.

Glick, H. A., Doshi, J. A., Sonnad, S. S., & Polsky, D. (2014). *Economic Evaluation in
Clinical Trials* (2nd ed.). Oxford University Press.

Drummond, M. F., et al. (2015). *Methods for the Economic Evaluation of Health Care
Programmes* (4th ed.). Oxford University Press.

Fenwick, E., Claxton, K., & Sculpher, M. (2001). Representing uncertainty: the role of
cost-effectiveness acceptability curves. *Health Economics*, 10(8), 779–787.

Washington State Institute for Public Policy (2019). *Benefit–Cost Technical
Documentation*. Olympia, WA.

Moulton, L. H., & Zeger, S. L. (1991). Bootstrapping generalized linear models.
*Computational Statistics & Data Analysis*, 11(1), 53–63.

Hu, F., & Kalbfleisch, J. D. (2000). The estimating function bootstrap. *Canadian
Journal of Statistics*, 28(3), 449–481.

Bang, H., & Robins, J. M. (2005). Doubly robust estimation in missing data and causal
inference models. *Biometrics*, 61(4), 962–973.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import linalg, special
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning
from threadpoolctl import threadpool_limits

from techeval import economics
from techeval.errors import ArgumentError, EstimatorError
from techeval.estimators._columns import prepare
from techeval.estimators._nuisance import GLM, build_design
from techeval.estimators.base import Estimator, Tags
from techeval.estimators.registry import register
from techeval.inference import (
    Interval,
    bootstrap_interval,
    bootstrap_replicates,
    root_seed,
    wald_from_influence,
)
from techeval.results import EffectResult

__all__ = ["BenefitCost", "CostEffectiveness", "CostSummary", "IncrementalCost"]

_MODELS = ("gamma_dr", "gamma_glm")
_REFITS = ("one_step", "full")
_ESTIMANDS = ("ATE", "ATT")
_NO_EFFECT_WARNING = (
    "no detectable effect on {effect}: cost per additional {unit} is not meaningful "
    "(the {level:.0%} interval of the effect includes zero)"
)


# ---- data -------------------------------------------------------------------------------


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
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    work = pd.DataFrame(index=frame.index)
    names = []
    for column in covariates:
        if column not in frame.columns:
            continue  # prepare() reports the missing column with suggestions
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
    if not isinstance(frame, pd.DataFrame):
        raise EstimatorError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    work, names = _working_covariates(frame, covariates, tuple(log_covariates))
    for column in (treatment, cost):
        if column in frame.columns:
            work[column] = frame[column]
    missing_named = [
        c
        for c in ([covariates] if isinstance(covariates, str) else covariates)
        if c not in frame.columns
    ]
    prepared = prepare(
        work if not missing_named else frame,
        treatment=treatment,
        outcome=cost,
        covariates=names if not missing_named else list(covariates),
        outcome_type="continuous",
    )
    keep = work[[treatment, cost, *names]].notna().all(axis=1).to_numpy()
    components: dict[str, np.ndarray] = {"incremental_cost": prepared.outcome}
    for name, series in (extra or {}).items():
        values = pd.to_numeric(series, errors="coerce")
        components[name] = values.astype("Float64").to_numpy(dtype=float, na_value=np.nan)[keep]
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


# ---- numerical core ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Settings:
    model: str
    estimand: str
    l2_penalty: float
    propensity_clip: float


def _with_intercept(X: np.ndarray) -> np.ndarray:
    return np.hstack([np.ones((X.shape[0], 1)), X])


@dataclass(frozen=True)
class _Linear:
    """A fitted component model kept as coefficients (intercept first), never the fit object.

    ``kind`` is ``"gamma"`` (log link), ``"binary"`` (logit), ``"poisson"`` (log link,
    linear predictor held to ``eta_range``, the range seen in fitting, as
    :meth:`techeval.estimators._nuisance.GLM.predict` does) or ``"constant"``.
    """

    kind: str
    params: np.ndarray | None = None
    constant: float = math.nan
    eta_range: tuple[float, float] | None = None
    factor: tuple | None = None  # Cholesky factor of the full-data Hessian (bootstrap)

    def predict(self, X1: np.ndarray) -> np.ndarray:
        if self.kind == "constant":
            return np.full(X1.shape[0], self.constant)
        eta = X1 @ self.params
        if self.kind == "binary":
            return special.expit(eta)
        if self.eta_range is not None:
            eta = np.clip(eta, *self.eta_range)
        return np.exp(eta)


#: Largest condition number of ``X1' X1`` for which :func:`_gamma_irls` solves the normal
#: equations by Cholesky. Solving them loses about ``cond * machine epsilon`` (~1e-9 here)
#: relative to statsmodels' least-squares solve; worse-conditioned or singular designs
#: (a level absent from an arm) go to statsmodels, whose minimum-norm solution they need.
_GRAM_MAX_CONDITION = 1e7


def _gamma_deviance(y: np.ndarray, mu: np.ndarray) -> float:
    """Gamma deviance, as ``statsmodels.genmod.families.Gamma.deviance`` computes it."""
    ratio = np.clip(y / mu, np.finfo(float).eps, np.inf)
    return float(np.sum(2.0 * (-np.log(ratio) + (y - mu) / mu)))


def _gamma_scale(y: np.ndarray, mu: np.ndarray, n_params: int) -> float:
    """Pearson chi-squared over residual degrees of freedom (statsmodels' default scale)."""
    return float(np.sum(((y - mu) / mu) ** 2) / (y.size - n_params))


def _gamma_irls(
    X1: np.ndarray, y: np.ndarray, start: np.ndarray | None = None, max_iter: int = 100
) -> np.ndarray | None:
    """Coefficients of a gamma GLM with log link by IRLS; ``None`` for an ill-conditioned design.

    The algorithm, start and stopping rule of ``statsmodels.api.GLM(...).fit()`` (start
    from ``mu = (y + mean(y)) / 2``; stop when the deviance divided by the previous
    step's Pearson scale changes by at most 1e-8; at most 100 steps), so the two agree
    to rounding, with one difference that makes it fast at a million cases: for the
    gamma family with log link the IRLS weights ``1 / (g'(mu)^2 V(mu))`` are all 1, so
    every step is an ordinary least-squares fit on the same design, and ``X1' X1`` is
    factorised once instead of a least-squares solve per step. Only coefficients are
    kept: no per-fit result objects, covariance or copies of the design.
    """
    gram = X1.T @ X1
    eigenvalues = np.linalg.eigvalsh(gram)
    if not eigenvalues[0] > eigenvalues[-1] / _GRAM_MAX_CONDITION:
        return None
    factor = linalg.cho_factor(gram)
    if start is None:
        mu = (y + y.mean()) / 2.0
        eta = np.log(mu)
    else:
        eta = X1 @ start
        mu = np.exp(eta)
    n_params = X1.shape[1]
    scale = _gamma_scale(y, mu, n_params)
    deviance = _gamma_deviance(y, mu) / scale
    params = np.zeros(n_params) if start is None else np.asarray(start, dtype=float)
    for _ in range(max_iter):
        # working response of the log link: eta + (y - mu) * d(eta)/d(mu)
        params = linalg.cho_solve(factor, X1.T @ (eta + (y - mu) / mu))
        eta = X1 @ params
        mu = np.exp(eta)
        previous, deviance = deviance, _gamma_deviance(y, mu) / scale
        scale = _gamma_scale(y, mu, n_params)
        if abs(deviance - previous) <= 1e-8:
            break
    return params


def _fit_glm(
    X1: np.ndarray,
    y: np.ndarray,
    kind: str,
    l2_penalty: float,
    start: _Linear | None = None,
    rows: np.ndarray | None = None,
) -> _Linear:
    """Fit one component model: gamma GLM (log link), else the shared GLMs.

    ``rows`` (the shared GLMs only) fits on ``X1[rows]``, ``y[rows]``; the logistic
    solver reads those rows in place instead of a copy of them.
    """
    if kind == "gamma":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            params = _gamma_irls(X1, y, None if start is None else start.params)
            if params is None:
                # bootstrap fits start from the full-data coefficients: a third of the steps
                result = sm.GLM(y, X1, family=sm.families.Gamma(sm.families.links.Log())).fit(
                    start_params=None if start is None else start.params
                )
                params = np.asarray(result.params, dtype=float)
        if not np.all(np.isfinite(params)):
            raise EstimatorError("the gamma GLM for cost did not converge")
        return _Linear("gamma", params)
    fitted_y = y if rows is None else y[rows]
    if fitted_y.min() == fitted_y.max():
        return _Linear("constant", constant=float(fitted_y[0]))
    model = GLM("binary" if kind == "binary" else "count", l2_penalty=l2_penalty)
    model.fit(X1[:, 1:], y, rows=rows)
    fitted = model.model_
    params = np.r_[np.ravel(fitted.intercept_)[:1], np.ravel(fitted.coef_)[: X1.shape[1] - 1]]
    if kind == "binary":
        return _Linear("binary", params.astype(float))
    return _Linear("poisson", params.astype(float), eta_range=model.linear_predictor_range_)


def _curvature(model: _Linear, X1: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-case score residuals and Hessian weights of a component model at its coefficients."""
    eta = X1 @ model.params
    if model.kind == "gamma":
        mu = np.exp(eta)
        return (y - mu) / mu, np.ones_like(mu)  # Fisher scoring: the weights are 1
    if model.kind == "binary":
        mu = special.expit(eta)
        return y - mu, mu * (1 - mu)
    mu = np.exp(eta)
    return y - mu, mu


def _with_factor(model: _Linear, X1: np.ndarray, y: np.ndarray, l2_penalty: float) -> _Linear:
    """The model with the Cholesky factor of its full-data (penalised) Hessian attached."""
    if model.kind == "constant":
        return model
    _, curvature = _curvature(model, X1, y)
    hessian = (X1 * curvature[:, None]).T @ X1
    if model.kind != "gamma":  # the L2 penalty of the shared GLMs, intercept unpenalised
        index = np.arange(1, hessian.shape[0])
        hessian[index, index] += l2_penalty
    try:
        factor = linalg.cho_factor(hessian)
    except linalg.LinAlgError:
        # a singular design (a level absent from an arm): a minimum-norm step instead
        factor = ("pinv", np.linalg.pinv(hessian))
    return replace(model, factor=factor)


def _one_step(
    model: _Linear, X1: np.ndarray, y: np.ndarray, weights: np.ndarray, l2_penalty: float
) -> _Linear:
    """One Newton step from the full-data fit on a resample given as case frequencies.

    ``beta* = beta + H^{-1} U*(beta)`` with ``U*`` the resample's (penalised) score at
    the full-data coefficients and ``H`` the full-data Hessian (Fisher information for
    the gamma GLM), factorised once: the one-step bootstrap of Moulton & Zeger (1991)
    in the estimating-function form of Hu & Kalbfleisch (2000). The replicate differs
    from a full refit by O(1/n) while the bootstrap spread is O(1/sqrt(n)); the tests
    compare the two.
    """
    if model.kind == "constant":
        return model
    residual, _ = _curvature(model, X1, y)
    gradient = X1.T @ (weights * residual)
    if model.kind != "gamma":
        gradient[1:] -= l2_penalty * model.params[1:]
    if isinstance(model.factor[0], str):  # ("pinv", pseudo-inverse)
        step = model.factor[1] @ gradient
    else:
        step = linalg.cho_solve(model.factor, gradient)
    params = model.params + step
    if model.kind != "poisson":
        return replace(model, params=params)
    fitted = X1[weights > 0] @ params
    return replace(model, params=params, eta_range=(float(fitted.min()), float(fitted.max())))


def _propensity_model(settings: _Settings, X1: np.ndarray, treated: np.ndarray) -> _Linear:
    # X1 = [1, X], made once by the caller: a second copy here cost 200 MB at 1M cases
    return _fit_glm(X1, treated.astype(float), "binary", settings.l2_penalty)


def _clipped(settings: _Settings, model: _Linear, X1: np.ndarray) -> np.ndarray:
    clip = settings.propensity_clip
    return np.clip(model.predict(X1), clip, 1 - clip)


def _difference(
    settings: _Settings,
    X1: np.ndarray,
    treated: np.ndarray,
    y: np.ndarray,
    kind: str,
    propensity: np.ndarray | None,
    starts: dict[str, _Linear] | None = None,
    weights: np.ndarray | None = None,
    factorise: bool = False,
    subsets: dict[str, np.ndarray] | None = None,
) -> tuple[float, np.ndarray | None, dict[str, _Linear]]:
    """Adjusted difference in mean ``y`` and its influence values (zero where ``y`` is missing).

    ``gamma_glm``: one GLM with the treatment as a main effect; recycled predictions.
    ``gamma_dr``: a GLM per arm, recycled predictions augmented with inverse-propensity
    weighted residuals (AIPW; consistent if either the propensity or the outcome models
    are right).

    With ``weights`` (a bootstrap resample as case frequencies) the models take one
    step from ``starts`` (:func:`_one_step`), the averages are weighted and no influence
    values are returned; without, the models are fitted to convergence.
    """
    n_all = y.size
    observed = np.isfinite(y)
    complete = bool(observed.all())
    # where the component is missing, the observed cases' design rows are never copied
    # as a whole: each arm's rows are cut from X1 directly (a million cases, 200+ MB)
    positions = None if complete else np.flatnonzero(observed)
    if not complete:
        treated, y = treated[observed], y[observed]
        weights = None if weights is None else weights[observed]
    t, yo = treated, y
    w = np.ones(yo.size) if weights is None else weights
    tf = t.astype(float)
    # components recorded in every case share the arms' design rows: cut them once
    subsets = subsets if complete and subsets is not None else {}

    def observed_rows(values: np.ndarray) -> np.ndarray:
        return values if positions is None else values[positions]

    def model(name: str, rows: np.ndarray, design: np.ndarray) -> _Linear:
        if positions is not None and kind == "binary" and weights is None and not factorise:
            # a yes/no component recorded in some cases only: fitted on the arm's rows
            # of X1 in place, without cutting them out (nothing later needs the cut)
            index = positions[rows]
            target = np.zeros(design.shape[0])
            target[index] = yo[rows]
            return _fit_glm(design, target, kind, settings.l2_penalty, rows=index)
        if name not in subsets:
            subsets[name] = design[rows] if positions is None else design[positions[rows]]
        part = subsets[name]
        if weights is None:
            fitted = _fit_glm(part, yo[rows], kind, settings.l2_penalty, None)
            if factorise:
                fitted = _with_factor(fitted, part, yo[rows], settings.l2_penalty)
            return fitted
        return _one_step(starts[name], part, yo[rows], w[rows], settings.l2_penalty)

    if settings.model == "gamma_glm":
        X1 = observed_rows(X1)
        positions = None
        design = np.hstack([X1, tf[:, None]])
        models = {"single": model("single", slice(None), design)}
        mu1 = models["single"].predict(np.hstack([X1, np.ones((yo.size, 1))]))
        mu0 = models["single"].predict(np.hstack([X1, np.zeros((yo.size, 1))]))
        rows = np.ones(yo.size, dtype=bool) if settings.estimand == "ATE" else t
        mass = w * rows
        delta = float(np.sum(mass * (mu1 - mu0)) / mass.sum())
        # plug-in influence (model treated as known); the bootstrap is the inference
        influence = np.where(rows, mu1 - mu0 - delta, 0.0) * yo.size / rows.sum()
    else:
        e = propensity if complete else propensity[observed]
        models = {"treated": model("treated", t, X1), "control": model("control", ~t, X1)}
        mu1 = observed_rows(models["treated"].predict(X1))
        mu0 = observed_rows(models["control"].predict(X1))
        if settings.estimand == "ATE":
            pseudo = mu1 - mu0 + tf * (yo - mu1) / e - (1 - tf) * (yo - mu0) / (1 - e)
            delta = float(np.sum(w * pseudo) / w.sum())
            influence = pseudo - delta
        else:
            share = float(np.sum(w * tf) / w.sum())
            m1 = float(np.sum(w * tf * yo) / np.sum(w * tf))
            pseudo0 = tf * mu0 + (1 - tf) * e / (1 - e) * (yo - mu0)
            m0 = float(np.sum(w * pseudo0) / w.sum() / share)
            delta = m1 - m0
            influence = tf * (yo - m1) / share - (pseudo0 - tf * m0) / share
    if weights is not None:
        return delta, None, models
    # rescale so that sqrt(sum psi^2) / n_all is the standard error on all rows
    full = np.zeros(n_all)
    full[observed] = influence * n_all / yo.size
    return delta, full, models


def _all_differences(
    settings: _Settings,
    X: np.ndarray,
    treated: np.ndarray,
    components: dict[str, np.ndarray],
    kinds: dict[str, str],
    starts: dict[str, dict[str, _Linear]] | None = None,
    weights: np.ndarray | None = None,
    factorise: bool = False,
) -> tuple[np.ndarray, np.ndarray | None, dict[str, dict[str, _Linear]]]:
    """Differences, influence values and fitted models of every component.

    ``starts["propensity"]`` and ``starts[name]`` hold the full-data models that a
    weighted (one-step) call steps from.
    """
    X1 = _with_intercept(X)
    starts = starts or {}
    fitted: dict[str, dict[str, _Linear]] = {}
    propensity = None
    if settings.model == "gamma_dr":
        if weights is None:
            score = _propensity_model(settings, X1, treated)
            if factorise:
                score = _with_factor(score, X1, treated.astype(float), settings.l2_penalty)
        else:
            score = _one_step(
                starts["propensity"]["model"],
                X1,
                treated.astype(float),
                weights,
                settings.l2_penalty,
            )
        fitted["propensity"] = {"model": score}
        propensity = _clipped(settings, score, X1)
    deltas, influences = [], []
    subsets: dict[str, np.ndarray] = {}
    for name, y in components.items():
        delta, influence, fitted[name] = _difference(
            settings,
            X1,
            treated,
            y,
            kinds[name],
            propensity,
            starts.get(name),
            weights,
            factorise,
            subsets,
        )
        deltas.append(delta)
        influences.append(influence)
    influence = None if weights is not None else np.column_stack(influences)
    return np.array(deltas), influence, fitted


def _replicate(
    indices: np.ndarray,
    seed: np.random.SeedSequence,
    *,
    settings: _Settings,
    features: np.ndarray,
    treated: np.ndarray,
    components: dict[str, np.ndarray],
    kinds: dict[str, str],
    starts: dict[str, dict[str, _Linear]],
    refit: str,
) -> np.ndarray:
    """Every component's difference on one bootstrap resample (the same rows for all)."""
    try:
        if refit == "one_step":
            weights = np.bincount(indices, minlength=treated.size).astype(float)
            deltas, _, _ = _all_differences(
                settings, features, treated, components, kinds, starts, weights
            )
        else:
            deltas, _, _ = _all_differences(
                settings,
                features[indices],
                treated[indices],
                {name: values[indices] for name, values in components.items()},
                kinds,
            )
    except (EstimatorError, np.linalg.LinAlgError, ValueError, PerfectSeparationWarning):
        # a resample the models cannot be fitted to counts as failed (nan), and is reported
        return np.full(len(components), np.nan)
    if not np.all(np.isfinite(deltas)):
        return np.full(len(components), np.nan)
    return deltas


#: Bootstrap replicate columns already computed in this process, by resample plan and
#: component. ``cost.effectiveness`` and ``cost.benefit`` of one technique draw the same
#: resamples (the runner gives them one seed), so the second reuses the first's
#: incremental cost and effects instead of refitting them. A memo of a deterministic
#: function: it never changes a number. Bounded: at most this many columns are kept.
_REPLICATE_CACHE: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_REPLICATE_CACHE_SIZE = 64


def _digest(*parts: Any) -> str:
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            digest.update(str((part.dtype, part.shape)).encode())
            digest.update(np.ascontiguousarray(part).tobytes())
        else:
            digest.update(repr(part).encode())
        digest.update(b"|")
    return digest.hexdigest()


def _bootstrap(
    settings: _Settings,
    data: _Data,
    starts: dict[str, dict[str, _Linear]],
    *,
    n_bootstrap: int,
    n_jobs: int | None,
    seed: np.random.SeedSequence,
    refit: str,
) -> np.ndarray:
    """Joint bootstrap replicates of every component, reusing columns computed before."""
    plan = _digest(
        data.features,
        data.treated,
        settings,
        int(n_bootstrap),
        seed.entropy,
        seed.spawn_key,
        refit,
    )
    keys = {
        name: (plan, _digest(name, data.kinds[name], values))
        for name, values in data.components.items()
    }
    missing = [name for name in data.components if keys[name] not in _REPLICATE_CACHE]
    if missing:
        statistic = partial(
            _replicate,
            settings=settings,
            features=data.features,
            treated=data.treated,
            components={name: data.components[name] for name in missing},
            kinds=data.kinds,
            starts=starts,
            refit=refit,
        )
        # resampling within arms keeps both arms' sizes in every replicate
        computed = bootstrap_replicates(
            statistic,
            data.n,
            n_replicates=int(n_bootstrap),
            random_state=seed,
            strata=data.treated,
            n_jobs=n_jobs,
        )
        for j, name in enumerate(missing):
            _REPLICATE_CACHE[keys[name]] = computed[:, j]
            _REPLICATE_CACHE.move_to_end(keys[name])
        while len(_REPLICATE_CACHE) > _REPLICATE_CACHE_SIZE:
            _REPLICATE_CACHE.popitem(last=False)
    return np.column_stack([_REPLICATE_CACHE[keys[name]] for name in data.components])


def _estimate(
    settings: _Settings,
    data: _Data,
    *,
    bootstrap: bool,
    n_bootstrap: int,
    n_jobs: int | None,
    seed: np.random.SeedSequence | None,
    refit: str = "one_step",
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Point differences, influence values and (optionally) joint bootstrap replicates."""
    with threadpool_limits(limits=1, user_api="blas"):
        deltas, influence, starts = _all_differences(
            settings,
            data.features,
            data.treated,
            data.components,
            data.kinds,
            factorise=bootstrap and refit == "one_step",
        )
    replicates = None
    if bootstrap:
        replicates = _bootstrap(
            settings, data, starts, n_bootstrap=n_bootstrap, n_jobs=n_jobs, seed=seed, refit=refit
        )
    return deltas, influence, replicates


def _influence_covariance(influence: np.ndarray) -> np.ndarray:
    """Covariance of the estimates from their influence values: ``psi' psi / n^2`` (HC0)."""
    n = influence.shape[0]
    return influence.T @ influence / n**2


# ---- shared estimator plumbing -----------------------------------------------------------


def _check(name: str, ok: bool, expected: str, owner: Estimator) -> None:
    if not ok:
        raise ArgumentError(
            f"{type(owner).__name__}: {name}={getattr(owner, name)!r} is not allowed",
            hint=f"Use {expected}",
        )


class _CostBase(Estimator):
    family: ClassVar[str] = "cost"

    def _settings(self) -> _Settings:
        _check("model", self.model in _MODELS, " or ".join(_MODELS), self)
        _check("estimand", self.estimand in _ESTIMANDS, "ATE or ATT", self)
        _check("propensity_clip", 0 <= self.propensity_clip < 0.5, "a number in [0, 0.5)", self)
        _check("l2_penalty", self.l2_penalty >= 0, "a number >= 0", self)
        _check("ci_level", 0 < self.ci_level < 1, "a number in (0, 1)", self)
        _check("n_bootstrap", int(self.n_bootstrap) >= 20, "an integer >= 20", self)
        _check(
            "bootstrap_refit",
            getattr(self, "bootstrap_refit", "one_step") in _REFITS,
            " or ".join(_REFITS),
            self,
        )
        limit = getattr(self, "bootstrap_max_n", None)
        _check("bootstrap_max_n", limit is None or int(limit) >= 1, "None or an integer >= 1", self)
        return _Settings(
            model=self.model,
            estimand=self.estimand,
            l2_penalty=float(self.l2_penalty),
            propensity_clip=float(self.propensity_clip),
        )

    def _use_bootstrap(self, data: _Data) -> bool:
        """Bootstrap unless the cases exceed ``bootstrap_max_n`` (then influence functions).

        ``gamma_glm`` always bootstraps: its plug-in influence values leave out the
        model's estimation error.
        """
        limit = getattr(self, "bootstrap_max_n", None)
        return self.model == "gamma_glm" or limit is None or data.n <= int(limit)

    def _seeds(self) -> tuple[np.random.SeedSequence, np.random.SeedSequence]:
        """Bootstrap and Monte Carlo seeds: two children of ``random_state``, never shared."""
        bootstrap_seed, monte_carlo_seed = root_seed(self.random_state).spawn(2)
        return bootstrap_seed, monte_carlo_seed

    def _inference_label(self, replicates: np.ndarray | None) -> str:
        if replicates is None:
            return "influence_function"
        refit = getattr(self, "bootstrap_refit", "one_step")
        return "bootstrap_percentile" + ("_one_step" if refit == "one_step" else "")

    def _row(self, data: _Data, treatment: str, **fields: Any) -> EffectResult:
        defaults: dict[str, Any] = dict(
            technique=treatment,
            estimand=self.estimand,
            method=self.model,
            std_error=math.nan,
            ci_low=math.nan,
            ci_high=math.nan,
            p_value=math.nan,
            n_treated=int(data.treated.sum()),
            n_control=int((~data.treated).sum()),
            family=self.family,
            ci_level=float(self.ci_level),
        )
        defaults.update(fields)
        return EffectResult(**defaults)

    def _common_diagnostics(self, data: _Data, replicates: np.ndarray | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rows_used": data.n,
            "rows_dropped": data.rows_dropped,
            "component_models": {
                name: {
                    "gamma": "gamma GLM, log link",
                    "poisson": "Poisson quasi-likelihood, log link",
                    "binary": "logistic",
                }[kind]
                for name, kind in data.kinds.items()
            },
            "covariates": data.feature_names,
        }
        if replicates is not None:
            out["n_bootstrap"] = int(replicates.shape[0])
            out["bootstrap_failed"] = int((~np.isfinite(replicates).all(axis=1)).sum())
        return out

    def _warnings(self, data: _Data, replicates: np.ndarray | None) -> list[str]:
        out = []
        if data.rows_dropped["total"]:
            out.append(
                f"{data.rows_dropped['total']} rows with a missing treatment, cost or covariate "
                "were left out"
            )
        if replicates is not None:
            failed = int((~np.isfinite(replicates).all(axis=1)).sum())
            if failed:
                out.append(f"{failed} of {replicates.shape[0]} bootstrap resamples failed to fit")
        return out


_MODEL_DOC = """
    model : {"gamma_dr", "gamma_glm", "aipw"}
        ``"gamma_dr"`` (default): a GLM per arm — gamma with log link for strictly
        positive costs, Poisson quasi-likelihood with log link for non-negative values
        with zeros, logistic for yes/no outcomes — with recycled predictions augmented
        by inverse-propensity-weighted residuals (AIPW, doubly robust; propensity from
        an L2-penalised logistic regression on the same covariates). ``"gamma_glm"``:
        one GLM with the technique as a main effect and recycled predictions (the
        standard health-economics model; consistent only if the model is right).
        ``"aipw"`` (``cost.incremental`` only): the outcome family's cross-fitted
        ``outcome.aipw`` applied to the cost column.
    estimand : {"ATE", "ATT"}
        Average over all cases, or over the cases that used the technique.
    log_covariates : sequence of str
        Numeric covariates entered as ``log1p(x)`` (default ``("n_suspects",)``): in a
        log-link model a linear term in a heavy-tailed count extrapolates exponentially.
    l2_penalty : float
        L2 penalty of the logistic / Poisson nuisance models (as in ``outcome.aipw``).
    propensity_clip : float
        Propensities are clipped to ``[clip, 1 - clip]``.
    n_bootstrap : int
        Bootstrap replicates (resampling cases within arms).
    bootstrap_refit : {"one_step", "full"}
        How each bootstrap resample is estimated: ``"one_step"`` (default) takes one
        Newton (Fisher-scoring for gamma) step from the full-data coefficients, with the
        resample as case frequencies and the full-data Hessian (Moulton & Zeger 1991;
        Hu & Kalbfleisch 2000); ``"full"`` refits every model to convergence. They
        differ by O(1/n) per replicate, the bootstrap spread is O(1/sqrt(n)); one step
        is tens of times faster.
    bootstrap_max_n : int or None
        Above this many cases the bootstrap is replaced by influence-function (AIPW)
        standard errors and covariance (``None``: always bootstrap). ``gamma_glm``
        always bootstraps. ``diagnostics["inference"]`` says which was used.
    n_jobs : int
        joblib workers for the bootstrap; results do not depend on it.
    ci_level : float
        Confidence level.
    random_state : int, numpy.random.Generator or None
        Seed for the bootstrap and Monte Carlo.
"""

_MODEL_NOTES = """
    Recycled predictions: ``delta = mean_i [mu(x_i, T=1) - mu(x_i, T=0)]`` over all cases
    (ATE) or the treated cases (ATT). The doubly robust version adds
    ``T (Y - mu1)/e - (1-T)(Y - mu0)/(1-e)`` (ATE) as in ``outcome.aipw``; the GLMs are
    parametric, so no cross-fitting is needed. Covariates enter linearly (text one-hot
    encoded); a flexible spline basis in an unpenalised log-link model was found to
    extrapolate explosively on heavy-tailed covariates.

    Missing data: cases missing the treatment, the cost or a covariate are dropped and
    counted (``diagnostics["rows_dropped"]``); an effect column missing in some cases
    is estimated on the cases where it is recorded (available-case), within the same
    bootstrap resamples.
"""


def _common_init(self, **params):
    for name, value in params.items():
        setattr(self, name, value)


# ---- cost.summary -----------------------------------------------------------------------


@register("cost.summary")
class CostSummary(Estimator):
    """Describe costs of cases with the technique and of the comparator (unadjusted).

    Parameters
    ----------
    comparator : {"without_technique", "traditional_only"}
        Cases compared with those that used the technique: all other cases, or only
        cases that used no special technique.
    ci_level : float
        Confidence level of the Wald intervals of means and ratios.

    Notes
    -----
    Rows per arm (``subgroup`` is ``"<technique>=True"`` or the comparator,
    ``"<technique>=False"`` / ``"traditional_only=True"``):

    * ``cost_mean`` (scale ``mean``), with Wald interval (influence ``c_i - mean``);
    * ``cost_median`` (scale ``median``), IQR in ``diagnostics`` (no interval);
    * ``cost_per_suspect`` and ``cost_per_officer_day`` (ratio of means
      ``sum c / sum s``, delta-method influence ``(c_i - R s_i) / mean(s)``) when the
      columns exist;
    * ``technique_cost_share`` (treated arm only): ``sum cost_<T> / sum cost_total``
      over treated cases with ``cost_<T>`` recorded, when that column exists;

    plus one unadjusted ``cost_mean`` row on scale ``mean_difference`` (treated minus
    comparator), labelled as unadjusted: techniques go to bigger cases, so use
    ``cost.incremental`` for the effect of the technique on cost.

    Missing data: each statistic uses the cases where its columns are recorded.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"t": [True, True, False, False], "cost_total": [4.0, 6.0, 1.0, 3.0]})
    >>> rows = CostSummary().fit(frame, treatment="t").results_
    >>> [(r.subgroup, r.measure, r.estimate) for r in rows if r.measure == "cost_mean"]
    [('t=True', 'cost_mean', 5.0), ('t=False', 'cost_mean', 2.0), (None, 'cost_mean', 3.0)]
    """

    tags = Tags(roles="treatment_only", adjusted=False)

    family: ClassVar[str] = "cost"

    def __init__(self, *, comparator: str = "without_technique", ci_level: float = 0.95):
        self.comparator = comparator
        self.ci_level = ci_level

    def fit(
        self,
        frame: pd.DataFrame,
        *,
        treatment: str,
        outcome: str = "cost_total",
        covariates: Sequence[str] = (),
    ) -> Self:
        """Describe ``outcome`` (a cost column) by use of ``treatment``; covariates are ignored."""
        from techeval.effect import comparison_frame

        for column in (treatment, outcome):
            if column not in frame.columns:
                raise EstimatorError(f"the column {column!r} is not in the data")
        if self.comparator not in ("without_technique", "traditional_only"):
            raise ArgumentError(
                f"CostSummary: comparator={self.comparator!r} is not allowed",
                hint="Use without_technique or traditional_only",
            )
        if self.comparator == "traditional_only":
            frame = comparison_frame(frame, treatment, "traditional_only")
        used = frame[treatment].astype("boolean")
        cost = pd.to_numeric(frame[outcome], errors="coerce").astype("float64")
        arms = {
            f"{treatment}=True": used.fillna(False).to_numpy(dtype=bool),
            (
                f"{treatment}=False"
                if self.comparator == "without_technique"
                else "traditional_only=True"
            ): (~used).fillna(False).to_numpy(dtype=bool),
        }
        n_treated, n_control = (int(rows.sum()) for rows in arms.values())
        if min(n_treated, n_control) == 0:
            raise EstimatorError(
                f"cost summary of {treatment!r} needs cases with and without it "
                f"({n_treated} with, {n_control} without)"
            )
        common = dict(
            technique=treatment,
            outcome=outcome,
            estimand=None,
            method="summary",
            n_treated=n_treated,
            n_control=n_control,
            family="cost",
            ci_level=float(self.ci_level),
        )
        rows: list[EffectResult] = []
        means = {}
        for label, rows_in_arm in arms.items():
            values = cost.to_numpy()[rows_in_arm]
            values = values[np.isfinite(values)]
            mean = float(values.mean())
            means[label] = (mean, values)
            interval = wald_from_influence(mean, values - mean, level=self.ci_level, null=0.0)
            rows.append(
                EffectResult(
                    measure="cost_mean",
                    scale="mean",
                    subgroup=label,
                    **_interval_fields(interval),
                    **common,
                    diagnostics={"n_cases": int(values.size)},
                )
            )
            q25, median, q75 = np.quantile(values, [0.25, 0.5, 0.75])
            rows.append(
                EffectResult(
                    measure="cost_median",
                    scale="median",
                    subgroup=label,
                    estimate=float(median),
                    std_error=math.nan,
                    ci_low=math.nan,
                    ci_high=math.nan,
                    p_value=math.nan,
                    diagnostics={"q25": float(q25), "q75": float(q75), "iqr": float(q75 - q25)},
                    **common,
                )
            )
            for denominator, measure in (
                ("n_suspects", "cost_per_suspect"),
                ("officer_days", "cost_per_officer_day"),
            ):
                if denominator in frame.columns:
                    ratio = _ratio_of_means(cost, frame[denominator], rows_in_arm, self.ci_level)
                    if ratio is not None:
                        rows.append(
                            EffectResult(
                                measure=measure,
                                scale=f"currency_per_{measure.removeprefix('cost_per_')}",
                                subgroup=label,
                                **_interval_fields(ratio),
                                **common,
                            )
                        )
            share_column = f"cost_{treatment}"
            if (
                label.endswith("=True")
                and label.startswith(treatment)
                and share_column in frame.columns
            ):
                part = pd.to_numeric(frame[share_column], errors="coerce").to_numpy(dtype=float)
                ok = rows_in_arm & np.isfinite(part) & np.isfinite(cost.to_numpy())
                if ok.any() and cost.to_numpy()[ok].sum() > 0:
                    share = float(part[ok].sum() / cost.to_numpy()[ok].sum())
                    rows.append(
                        EffectResult(
                            measure="technique_cost_share",
                            scale="proportion",
                            subgroup=label,
                            estimate=share,
                            std_error=math.nan,
                            ci_low=math.nan,
                            ci_high=math.nan,
                            p_value=math.nan,
                            diagnostics={"n_cases": int(ok.sum())},
                            **common,
                        )
                    )
        (m1, v1), (m0, v0) = means.values()
        n1, n0 = v1.size, v0.size
        n = n1 + n0
        influence = np.concatenate([(v1 - m1) * n / n1, -(v0 - m0) * n / n0])
        difference = wald_from_influence(m1 - m0, influence, level=self.ci_level)
        rows.append(
            EffectResult(
                measure="cost_mean",
                scale="mean_difference",
                **_interval_fields(difference),
                **common,
                warnings=(
                    "unadjusted difference: techniques go to bigger, harder cases; "
                    "see the adjusted incremental cost (cost.incremental)",
                ),
            )
        )
        self.results_ = tuple(rows)
        return self


def _interval_fields(interval: Interval) -> dict[str, float]:
    return dict(
        estimate=interval.estimate,
        std_error=interval.std_error,
        ci_low=interval.ci_low,
        ci_high=interval.ci_high,
        p_value=interval.p_value,
    )


def _ratio_of_means(
    cost: pd.Series, denominator: pd.Series, rows: np.ndarray, level: float
) -> Interval | None:
    c = cost.to_numpy(dtype=float)
    s = pd.to_numeric(denominator, errors="coerce").astype("float64").to_numpy()
    ok = rows & np.isfinite(c) & np.isfinite(s)
    if not ok.any() or s[ok].sum() <= 0:
        return None
    c, s = c[ok], s[ok]
    ratio = float(c.sum() / s.sum())
    return wald_from_influence(ratio, (c - ratio * s) / s.mean(), level=level)


# ---- cost.incremental -------------------------------------------------------------------


@register("cost.incremental")
class IncrementalCost(_CostBase):
    """Adjusted incremental cost per case of using the technique (gamma GLM, doubly robust)."""

    tags = Tags(default_outcomes=("cost_total",))

    def __init__(
        self,
        *,
        model: str = "gamma_dr",
        estimand: str = "ATE",
        inference: str = "bootstrap",
        bootstrap_ci: str = "percentile",
        log_covariates: Sequence[str] = ("n_suspects",),
        l2_penalty: float = 1.0,
        propensity_clip: float = 0.01,
        n_bootstrap: int = 200,
        bootstrap_refit: str = "one_step",
        bootstrap_max_n: int | None = None,
        n_jobs: int | None = 1,
        ci_level: float = 0.95,
        random_state: int | np.random.Generator | None = None,
    ):
        _common_init(**locals())

    def fit(
        self,
        frame: pd.DataFrame,
        *,
        treatment: str,
        outcome: str = "cost_total",
        covariates: Sequence[str] = (),
    ) -> Self:
        """Estimate the incremental cost of ``treatment`` on the cost column ``outcome``."""
        if self.model == "aipw":
            return self._fit_aipw(
                frame, treatment=treatment, outcome=outcome, covariates=covariates
            )
        settings = self._settings()
        _check(
            "inference",
            self.inference in ("bootstrap", "influence_function"),
            "bootstrap or influence_function",
            self,
        )
        _check(
            "bootstrap_ci",
            self.bootstrap_ci in ("percentile", "basic", "bca"),
            "percentile, basic or bca",
            self,
        )
        data = _prepare(
            frame,
            treatment=treatment,
            cost=outcome,
            covariates=covariates,
            log_covariates=self.log_covariates,
        )
        bootstrap = self.inference == "bootstrap" and self._use_bootstrap(data)
        deltas, influence, replicates = _estimate(
            settings,
            data,
            bootstrap=bootstrap,
            n_bootstrap=self.n_bootstrap,
            n_jobs=self.n_jobs,
            seed=self._seeds()[0],
            refit=self.bootstrap_refit,
        )
        if bootstrap:
            interval = bootstrap_interval(
                replicates[:, 0],
                float(deltas[0]),
                method=self.bootstrap_ci,
                level=self.ci_level,
                influence=influence[:, 0],
            )
        else:
            if self.model == "gamma_glm":
                raise ArgumentError(
                    "IncrementalCost: model='gamma_glm' needs inference='bootstrap'",
                    hint="Its plug-in influence values ignore the model's estimation error",
                )
            interval = wald_from_influence(float(deltas[0]), influence[:, 0], level=self.ci_level)
        diagnostics = self._common_diagnostics(data, replicates)
        diagnostics["inference"] = (
            self._inference_label(replicates).replace("percentile", self.bootstrap_ci)
            if bootstrap
            else "influence_function"
        )
        if self.inference == "bootstrap" and not bootstrap:
            diagnostics["bootstrap_max_n"] = int(self.bootstrap_max_n)
        self.results_ = (
            self._row(
                data,
                treatment,
                outcome=outcome,
                measure="incremental_cost",
                scale="mean_difference",
                **_interval_fields(interval),
                diagnostics=diagnostics,
                warnings=tuple(self._warnings(data, replicates)),
            ),
        )
        return self

    def _fit_aipw(
        self, frame: pd.DataFrame, *, treatment: str, outcome: str, covariates: Sequence[str]
    ) -> Self:
        """The outcome family's cross-fitted AIPW applied to cost (one estimator, not two)."""
        from techeval.estimators.outcome import AIPW

        aipw = AIPW(
            estimand=self.estimand,
            l2_penalty=self.l2_penalty,
            propensity_clip=self.propensity_clip,
            inference=self.inference,
            n_bootstrap=self.n_bootstrap,
            bootstrap_ci=self.bootstrap_ci,
            n_jobs=self.n_jobs,
            ci_level=self.ci_level,
            random_state=self.random_state,
        ).fit(frame, treatment=treatment, outcome=outcome, covariates=covariates)
        primary = aipw.result_
        self.results_ = (
            replace(primary, family="cost", measure="incremental_cost", method="aipw"),
        )
        return self


IncrementalCost.__doc__ += (
    """
    Parameters
    ----------"""
    + _MODEL_DOC
    + """
    inference : {"bootstrap", "influence_function"}
        Bootstrap (default) or, for ``gamma_dr``, the influence-function (AIPW)
        standard error.
    bootstrap_ci : {"percentile", "basic", "bca"}
        Bootstrap interval type.

    Notes
    -----"""
    + _MODEL_NOTES
    + """
    Validated against a direct statsmodels gamma GLM (``gamma_glm``) and against the
    known incremental costs of the synthetic data (``gamma_dr``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=400)
    >>> t = rng.random(400) < 1 / (1 + np.exp(-x))
    >>> cost = rng.gamma(2.0, np.exp(10 + 0.5 * x + 0.4 * t) / 2.0)
    >>> frame = pd.DataFrame({"t": t, "cost": cost, "x": x})
    >>> fitted = IncrementalCost(n_bootstrap=50, random_state=0).fit(
    ...     frame, treatment="t", outcome="cost", covariates=["x"])
    >>> fitted.result_.measure, fitted.result_.ci_low < fitted.result_.estimate < fitted.result_.ci_high
    ('incremental_cost', True)
"""
)


# ---- cost.effectiveness -----------------------------------------------------------------

_EFFECT_UNITS = {
    "conviction": "conviction",
    "high_level_conviction": "high-level conviction",
}


@register("cost.effectiveness")
class CostEffectiveness(_CostBase):
    """Cost per additional conviction (ICER) with its quadrant, CE plane and acceptability curve."""

    tags = Tags(default_outcomes=("cost_total",), bootstrap_group="cost.joint_bootstrap")

    def __init__(
        self,
        *,
        model: str = "gamma_dr",
        estimand: str = "ATE",
        effects: Sequence[str] = ("conviction", "high_level_conviction"),
        willingness_to_pay: float = economics.DEFAULT_WILLINGNESS_TO_PAY,
        wtp_grid: Sequence[float] = economics.DEFAULT_WTP_GRID,
        log_covariates: Sequence[str] = ("n_suspects",),
        l2_penalty: float = 1.0,
        propensity_clip: float = 0.01,
        n_bootstrap: int = 200,
        n_draws: int = 10_000,
        bootstrap_refit: str = "one_step",
        bootstrap_max_n: int | None = None,
        n_jobs: int | None = 1,
        ci_level: float = 0.95,
        random_state: int | np.random.Generator | None = None,
    ):
        _common_init(**locals())

    def fit(
        self,
        frame: pd.DataFrame,
        *,
        treatment: str,
        outcome: str = "cost_total",
        covariates: Sequence[str] = (),
    ) -> Self:
        """Joint bootstrap of incremental cost (``outcome``) and each effect in ``effects``."""
        settings = self._settings()
        effects = [self.effects] if isinstance(self.effects, str) else list(self.effects)
        if not effects:
            raise ArgumentError("CostEffectiveness needs at least one effect column")
        for column in effects:
            if column not in frame.columns:
                raise EstimatorError(f"the effect column {column!r} is not in the data")
        _check(
            "willingness_to_pay",
            math.isfinite(float(self.willingness_to_pay)) and self.willingness_to_pay >= 0,
            "a number >= 0",
            self,
        )
        data = _prepare(
            frame,
            treatment=treatment,
            cost=outcome,
            covariates=covariates,
            log_covariates=self.log_covariates,
            extra={e: per_case_outcome(frame, e) for e in effects},
        )
        bootstrap = self._use_bootstrap(data)
        bootstrap_seed, draw_seed = self._seeds()
        deltas, influence, replicates = _estimate(
            settings,
            data,
            bootstrap=bootstrap,
            n_bootstrap=self.n_bootstrap,
            n_jobs=self.n_jobs,
            seed=bootstrap_seed,
            refit=self.bootstrap_refit,
        )
        level = float(self.ci_level)
        base_warnings = self._warnings(data, replicates)
        diagnostics = self._common_diagnostics(data, replicates)
        diagnostics["inference"] = self._inference_label(replicates)
        if bootstrap:
            draws = replicates
            cost_interval = bootstrap_interval(replicates[:, 0], float(deltas[0]), level=level)
        else:
            # above bootstrap_max_n cases: influence-function covariance; the plane,
            # quadrant shares and acceptability curve come from normal draws with it
            diagnostics["bootstrap_max_n"] = int(self.bootstrap_max_n)
            draws = np.random.default_rng(draw_seed).multivariate_normal(
                deltas,
                _influence_covariance(influence),
                size=int(self.n_draws),
                method="eigh",
            )
            cost_interval = wald_from_influence(float(deltas[0]), influence[:, 0], level=level)
        rows = [
            self._row(
                data,
                treatment,
                outcome=outcome,
                measure="incremental_cost",
                scale="mean_difference",
                **_interval_fields(cost_interval),
                diagnostics=diagnostics,
                warnings=tuple(base_warnings),
            )
        ]
        plane, curves = [], []
        for j, effect in enumerate(effects, start=1):
            rows.extend(
                self._effect_rows(
                    data,
                    treatment,
                    effect,
                    float(deltas[0]),
                    float(deltas[j]),
                    draws[:, 0],
                    draws[:, j],
                    diagnostics,
                    base_warnings,
                    None if bootstrap else influence[:, [0, j]],
                )
            )
            # the plane shows as many points as the bootstrap has replicates
            shown = draws[: int(self.n_bootstrap)]
            keep = np.isfinite(shown[:, 0]) & np.isfinite(shown[:, j])
            plane.append(
                pd.DataFrame(
                    {
                        "effect": effect,
                        "replicate": np.flatnonzero(keep),
                        "delta_cost": shown[keep, 0],
                        "delta_effect": shown[keep, j],
                    }
                )
            )
            curve = economics.acceptability_curve(draws[:, 0], draws[:, j], self.wtp_grid)
            curve.insert(0, "effect", effect)
            curves.append(curve)
        self.ce_plane_ = pd.concat(plane, ignore_index=True)
        self.acceptability_ = pd.concat(curves, ignore_index=True)
        self.frames_ = {"ce_plane": self.ce_plane_, "acceptability": self.acceptability_}
        self.replicates_ = pd.DataFrame(draws, columns=["incremental_cost", *effects])
        self.results_ = tuple(rows)
        return self

    def _effect_rows(
        self,
        data,
        treatment,
        effect,
        delta_cost,
        delta_effect,
        cost_draws,
        effect_draws,
        diagnostics,
        base_warnings,
        influence=None,
    ) -> list[EffectResult]:
        """Rows of one effect; ``influence`` (cost, effect columns) replaces the bootstrap."""
        level = float(self.ci_level)
        unit = _EFFECT_UNITS.get(effect, effect.replace("_", " "))
        keep = np.isfinite(cost_draws) & np.isfinite(effect_draws)
        cost_draws, effect_draws = cost_draws[keep], effect_draws[keep]
        if influence is None:
            effect_interval = bootstrap_interval(effect_draws, delta_effect, level=level)
            covariance = np.cov(np.vstack([cost_draws, effect_draws]))
        else:
            effect_interval = wald_from_influence(delta_effect, influence[:, 1], level=level)
            covariance = _influence_covariance(influence)
        spans_zero = not (effect_interval.ci_low > 0 or effect_interval.ci_high < 0)
        quadrant = economics.icer_quadrant(delta_cost, delta_effect)
        shares = economics.quadrant_shares(cost_draws, effect_draws)
        effect_scale = "risk_difference" if data.kinds[effect] == "binary" else "mean_difference"
        row = partial(self._row, data, treatment, outcome=effect)
        rows = [
            row(
                measure="incremental_effect",
                scale=effect_scale,
                **_interval_fields(effect_interval),
                diagnostics=diagnostics,
                warnings=tuple(base_warnings),
            )
        ]

        icer_warnings = list(base_warnings)
        icer = low = high = math.nan
        if spans_zero:
            icer_warnings.append(_NO_EFFECT_WARNING.format(effect=unit, unit=unit, level=level))
        elif quadrant in ("dominant", "dominated"):
            icer_warnings.append(
                f"the technique is {quadrant} for {unit}s ("
                + (
                    "cheaper and more effective"
                    if quadrant == "dominant"
                    else "more costly and less effective"
                )
                + "): a cost per additional conviction is not meaningful"
            )
        else:
            icer = delta_cost / delta_effect
            low, high = economics.fieller_interval(
                delta_cost,
                delta_effect,
                covariance[0, 0],
                covariance[1, 1],
                covariance[0, 1],
                level=level,
            )
            if not math.isfinite(low):
                icer_warnings.append(
                    "the Fieller interval of the ICER is unbounded: the effect is too "
                    "uncertain to bound the cost per additional " + unit
                )
        icer_diag = {
            "quadrant": quadrant,
            "interval": "Fieller, "
            + ("bootstrap" if influence is None else "influence-function")
            + " (co)variances",
            "effect_ci_spans_zero": spans_zero,
            "delta_cost": delta_cost,
            "delta_effect": delta_effect,
        }
        scale_unit = effect if effect in _EFFECT_UNITS else "unit_of_effect"
        rows.append(
            row(
                measure="icer",
                scale=f"currency_per_{scale_unit}",
                estimate=icer,
                ci_low=low,
                ci_high=high,
                diagnostics=icer_diag,
                warnings=tuple(icer_warnings),
            )
        )
        rows.append(
            row(
                measure="icer_quadrant",
                scale="quadrant",
                estimate=math.nan,
                diagnostics={
                    "quadrant": quadrant,
                    "quadrant_probabilities": shares,
                    "effect_ci_spans_zero": spans_zero,
                },
                warnings=tuple(base_warnings),
            )
        )
        wtp = float(self.willingness_to_pay)
        nmb_point = float(economics.net_monetary_benefit(delta_cost, delta_effect, wtp))
        nmb_draws = economics.net_monetary_benefit(cost_draws, effect_draws, wtp)
        if influence is None:
            nmb = bootstrap_interval(nmb_draws, nmb_point, level=level)
        else:
            nmb_influence = economics.net_monetary_benefit(influence[:, 0], influence[:, 1], wtp)
            nmb = wald_from_influence(nmb_point, nmb_influence, level=level)
        wtp_diag = {"willingness_to_pay": wtp, "per": unit}
        rows.append(
            row(
                measure="net_monetary_benefit",
                scale="currency_per_case",
                **_interval_fields(nmb),
                diagnostics=wtp_diag,
                warnings=tuple(base_warnings),
            )
        )
        rows.append(
            row(
                measure="prob_cost_effective",
                scale="probability",
                estimate=float((nmb_draws > 0).mean()),
                diagnostics=wtp_diag,
                warnings=tuple(base_warnings),
            )
        )
        return rows


CostEffectiveness.__doc__ += (
    """
    Parameters
    ----------"""
    + _MODEL_DOC
    + """
    effects : sequence of str
        Yes/no effect columns (default conviction and high-level conviction).
    willingness_to_pay : float
        Willingness to pay per additional unit of effect for the net monetary benefit
        and probability of being cost-effective rows.
    wtp_grid : sequence of float
        Grid for the acceptability curve.

    Attributes
    ----------
    results_ : tuple of EffectResult
        ``incremental_cost``, then per effect: ``incremental_effect``, ``icer``,
        ``icer_quadrant``, ``net_monetary_benefit``, ``prob_cost_effective``.
    ce_plane_ : pandas.DataFrame
        ``effect, replicate, delta_cost, delta_effect`` — the bootstrap replicates.
    acceptability_ : pandas.DataFrame
        ``effect, willingness_to_pay, prob_cost_effective``.
    replicates_ : pandas.DataFrame
        Joint bootstrap replicates, one column per component.

    Notes
    -----
    Cost and every effect are estimated on the *same* bootstrap resamples, so the
    plane keeps their correlation (Glick et al. 2014). ``ICER = delta_cost /
    delta_effect`` is reported only when the effect's percentile interval excludes zero
    and the point lies in a trade-off quadrant; otherwise the ``icer`` row has ``nan``
    and a plain-words warning. Its interval is Fieller's with bootstrap variances and
    covariance (:func:`techeval.economics.fieller_interval`). The quadrant row has
    ``nan`` estimate and the label in ``diagnostics["quadrant"]``, with the share of
    replicates per quadrant. The acceptability curve is the share of replicates with
    ``lambda * delta_effect - delta_cost > 0`` (Fenwick et al. 2001).
"""
    + _MODEL_NOTES
)


# ---- cost.benefit -----------------------------------------------------------------------

_BENEFIT_COLUMNS = (
    "conviction",
    "high_level_conviction",
    "group_disrupted",
    "assets_seized",
    "witness_offences",
)


@register("cost.benefit")
class BenefitCost(_CostBase):
    """WSIPP-style net benefit per case, benefit–cost ratio and P(benefits exceed costs)."""

    tags = Tags(default_outcomes=("cost_total",), bootstrap_group="cost.joint_bootstrap")
    family: ClassVar[str] = "synthesis"

    def __init__(
        self,
        *,
        model: str = "gamma_dr",
        estimand: str = "ATE",
        values: Mapping[str, Any] | economics.MonetaryValues | None = None,
        harm_unit_costs: Mapping[str, float] | None = None,
        n_draws: int = 10_000,
        log_covariates: Sequence[str] = ("n_suspects",),
        l2_penalty: float = 1.0,
        propensity_clip: float = 0.01,
        n_bootstrap: int = 200,
        bootstrap_refit: str = "one_step",
        bootstrap_max_n: int | None = None,
        n_jobs: int | None = 1,
        ci_level: float = 0.95,
        random_state: int | np.random.Generator | None = None,
    ):
        _common_init(**locals())

    def fit(
        self,
        frame: pd.DataFrame,
        *,
        treatment: str,
        outcome: str = "cost_total",
        covariates: Sequence[str] = (),
    ) -> Self:
        """Monetise the adjusted effects of ``treatment`` and weigh them against its cost."""
        settings = self._settings()
        values = economics.MonetaryValues.from_dict(self.values)
        extra = {c: per_case_outcome(frame, c) for c in _BENEFIT_COLUMNS if c in frame.columns}
        harms_included = self.harm_unit_costs is not None
        if harms_included:
            try:
                from techeval.estimators.harm import harm_cost_per_case
            except ImportError as exc:  # pragma: no cover - harm family not installed
                raise EstimatorError(
                    "harm_unit_costs were given but the harm estimators are not available"
                ) from exc
            extra["harm_cost"] = harm_cost_per_case(frame, self.harm_unit_costs)
        data = _prepare(
            frame,
            treatment=treatment,
            cost=outcome,
            covariates=covariates,
            log_covariates=self.log_covariates,
            extra=extra,
        )
        bootstrap_seed, mc_seed = self._seeds()
        deltas, influence, replicates = _estimate(
            settings,
            data,
            bootstrap=self._use_bootstrap(data),
            n_bootstrap=self.n_bootstrap,
            n_jobs=self.n_jobs,
            seed=bootstrap_seed,
            refit=self.bootstrap_refit,
        )
        names = list(data.components)
        if replicates is not None:
            finite = np.isfinite(replicates).all(axis=1)
            covariance = np.cov(replicates[finite].T).reshape(len(names), len(names))
        else:
            covariance = _influence_covariance(influence)
        estimates = dict(zip(names, map(float, deltas), strict=True))
        simulation = economics.simulate_benefit_cost(
            estimates,
            covariance,
            values,
            n_draws=int(self.n_draws),
            random_state=np.random.default_rng(mc_seed),
        )
        self.simulation_ = simulation
        self.replicates_ = None if replicates is None else pd.DataFrame(replicates, columns=names)
        self.monte_carlo_ = pd.DataFrame(
            {
                "draw": np.arange(int(self.n_draws)),
                "benefits": simulation.benefits,
                "costs": simulation.costs,
                "net_benefit": simulation.net_benefit,
            }
        )
        level = float(self.ci_level)
        warn = self._warnings(data, replicates)
        if not harms_included:
            warn.append(
                "harms to officers and third parties are not monetised here: they "
                "count as zero, so net benefit is overstated by their cost"
            )
        missing = [c for c in _BENEFIT_COLUMNS[:4] if c not in extra]
        if missing:
            warn.append(f"benefits leave out {', '.join(missing)} (columns not in the data)")
        diagnostics = self._common_diagnostics(data, replicates)
        if replicates is None:
            diagnostics["bootstrap_max_n"] = int(self.bootstrap_max_n)
        diagnostics.update(
            {
                "harms_included": harms_included,
                # the Monte Carlo draws the effects with this covariance
                "inference": "monte_carlo_"
                + self._inference_label(replicates).replace("bootstrap_percentile", "bootstrap"),
                "components": {
                    name: {
                        "estimate": estimates[name],
                        "std_error": float(math.sqrt(max(covariance[j, j], 0.0))),
                    }
                    for j, name in enumerate(names)
                },
                "point_benefits": simulation.point_benefits,
                "point_costs": simulation.point_costs,
                "monetary_values": values.to_dict(),
                "n_draws": int(self.n_draws),
                "interval": "Monte Carlo percentile (estimation and monetary-value uncertainty)",
            }
        )
        net = _draw_interval(simulation.net_benefit, simulation.point_net_benefit, level)
        ratio_warn = list(warn)
        if simulation.point_costs > 0:
            ratio = _draw_interval(
                simulation.benefit_cost_ratio, simulation.point_benefit_cost_ratio, level
            )
            if (simulation.costs <= 0).any():
                ratio_warn.append(
                    f"{int((simulation.costs <= 0).sum())} Monte Carlo draws "
                    "had costs <= 0 and are left out of the ratio's interval"
                )
        else:
            ratio = Interval(math.nan, math.nan, math.nan, math.nan, math.nan)
            ratio_warn.append(
                "the technique does not add cost, so a benefit–cost ratio is "
                "not meaningful: read the net benefit"
            )
        row = partial(self._row, data, treatment, outcome="net_benefit", diagnostics=diagnostics)
        self.results_ = (
            row(
                measure="net_benefit",
                scale="currency_per_case",
                **_interval_fields(net),
                warnings=tuple(warn),
            ),
            row(
                measure="benefit_cost_ratio",
                scale="ratio",
                **_interval_fields(ratio),
                warnings=tuple(ratio_warn),
            ),
            row(
                measure="prob_benefits_exceed_costs",
                scale="probability",
                estimate=simulation.prob_benefits_exceed_costs,
                warnings=tuple(warn),
            ),
        )
        return self


def _draw_interval(draws: np.ndarray, point: float, level: float) -> Interval:
    draws = draws[np.isfinite(draws)]
    if draws.size < 2:
        return Interval(point, math.nan, math.nan, math.nan, math.nan)
    low, high = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    return Interval(float(point), float(draws.std(ddof=1)), float(low), float(high), math.nan)


BenefitCost.__doc__ += (
    """
    Parameters
    ----------"""
    + _MODEL_DOC
    + """
    values : mapping or MonetaryValues or None
        Monetary values (:meth:`techeval.economics.MonetaryValues.from_dict`); ``None``
        uses :data:`techeval.economics.DEFAULT_MONETARY_VALUES` (illustrative
        assumptions).
    harm_unit_costs : mapping or None
        Harm column → cost per event. When given, monetised harm per case
        (:func:`techeval.estimators.harm.harm_cost_per_case`) is a cost component
        estimated like the others. When ``None`` harms count as zero, a warning says so
        and ``diagnostics["harms_included"]`` is ``False``.
    n_draws : int
        Monte Carlo draws (default 10,000).

    Attributes
    ----------
    results_ : tuple of EffectResult
        ``net_benefit`` (per case), ``benefit_cost_ratio``, ``prob_benefits_exceed_costs``.
    monte_carlo_ : pandas.DataFrame
        ``draw, benefits, costs, net_benefit`` per Monte Carlo draw.
    replicates_ : pandas.DataFrame
        Joint bootstrap replicates of the adjusted differences.
    simulation_ : techeval.economics.BenefitCostSimulation

    Notes
    -----
    Components (each an adjusted per-case difference, all from the same bootstrap
    resamples): benefits ``conviction``, ``high_level_conviction``,
    ``group_disrupted``, ``assets_seized`` (times the recovered share); costs
    ``incremental_cost``, ``witness_offences`` (times the cost per offence) and
    ``harm_cost``. Columns absent from the data are left out and named in a warning.
    The Monte Carlo (:func:`techeval.economics.simulate_benefit_cost`) draws the
    effects jointly normal with the bootstrap covariance and the monetary values from
    their distributions (WSIPP 2019). Intervals are Monte Carlo percentiles; the
    p-value is not defined (``nan``).
"""
    + _MODEL_NOTES
)
