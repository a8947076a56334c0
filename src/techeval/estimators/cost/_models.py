"""Component models of the cost estimators and their recycled-prediction differences.

Each component (cost, or an effect such as conviction) gets a gamma GLM with log link
(strictly positive values), a Poisson quasi-likelihood with log link (non-negative
values with zeros) or a logistic regression (yes/no). :func:`_all_differences` turns
them into adjusted differences per case by recycled predictions, optionally augmented
with inverse-propensity-weighted residuals (doubly robust), with influence values for
the standard errors. :func:`_one_step` is the one-step (Moulton–Zeger) bootstrap
update of a fitted model.

References
----------
Manning, W. G., & Mullahy, J. (2001). Estimating log models: to transform or not to
transform? *Journal of Health Economics*, 20(4), 461–494.

Moulton, L. H., & Zeger, S. L. (1991). Bootstrapping generalized linear models.
*Computational Statistics & Data Analysis*, 11(1), 53–63.

Hu, F., & Kalbfleisch, J. D. (2000). The estimating function bootstrap. *Canadian
Journal of Statistics*, 28(3), 449–481.

Bang, H., & Robins, J. M. (2005). Doubly robust estimation in missing data and causal
inference models. *Biometrics*, 61(4), 962–973.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace

import numpy as np
import statsmodels.api as sm
from scipy import linalg, special
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from techeval.errors import EstimatorError
from techeval.estimators._glm.design import with_intercept
from techeval.estimators._nuisance import GLM


@dataclass(frozen=True)
class _Settings:
    model: str
    estimand: str
    l2_penalty: float
    propensity_clip: float


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

    Not :func:`techeval.estimators._glm.newton.minimise`: Fisher scoring converges only
    linearly here, and the deviance rule stops it short of the optimum the driver's
    rule reaches. Minimising the same gamma loss with the driver (same start, the
    Fisher information ``X1' X1``) moved the shipped protocols' incremental costs by
    up to 3.8e-8 relative and their bootstrap standard errors by up to 2.6e-6
    (December 2026), so this fit keeps statsmodels' path and the published numbers.
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
    X1 = with_intercept(X)
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
