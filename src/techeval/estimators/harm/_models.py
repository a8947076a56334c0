"""Count models of the harm estimators: Poisson and NB2 fits over a design read in row blocks.

The count models are fitted here by Newton's method over row blocks rather than through
statsmodels, whose GLM and discrete-model objects copy the design several times (a
standard-protocol run at a million cases grew to 5 GB per worker in them and took over a
minute per fit); only the numbers needed (coefficients, covariance, fit statistics)
leave these functions, and tests check them against statsmodels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special, stats

from techeval.estimators._glm.design import BlockDesign, as_design
from techeval.estimators._glm.newton import Factor, minimise


@dataclass(frozen=True)
class CountFit:
    """What is kept from a count-model fit: the treatment coefficient and fit statistics."""

    log_rate_ratio: float
    std_error: float  # of the log rate ratio
    converged: bool
    n_params: int
    alpha: float | None = None  # NB2 dispersion (variance mu + alpha mu^2)
    pearson_chi2: float | None = None
    df_resid: float | None = None


def _linear_predictor(X: BlockDesign, beta: np.ndarray, offset: np.ndarray | None) -> np.ndarray:
    eta = X.dot(beta)
    if offset is not None:
        eta += offset
    return eta


def _sandwich(information: np.ndarray, meat: np.ndarray, cov_type: str) -> np.ndarray:
    """HC0 sandwich ``I^-1 M I^-1`` (cases as clusters, no small-sample factor), or ``I^-1``."""
    bread = np.linalg.inv(information)
    if cov_type == "nonrobust":
        return bread
    return bread @ meat @ bread


def fit_poisson(
    y: np.ndarray,
    design: np.ndarray | BlockDesign,
    offset: np.ndarray | None,
    *,
    cov_type: str,
    column: int = 1,
) -> tuple[CountFit, np.ndarray, np.ndarray]:
    """Poisson GLM (log link) with sandwich covariance: the fit, fitted means, coefficients.

    ``design`` already holds the intercept; ``column`` is the treatment's column.
    Maximum likelihood by Newton's method
    (:func:`techeval.estimators._glm.newton.minimise`; for the canonical link the same
    iterations as statsmodels' IRLS, and its start: one weighted least-squares step from
    ``mu = (y + mean(y)) / 2``), over row blocks: the working memory is a few vectors
    of the cases' length, never a copy of the design. Covariance ``I^-1 M I^-1`` with
    ``I = X' diag(mu) X`` and ``M = X' diag((y - mu)^2) X`` (``cov_type="HC0"``, as
    statsmodels' ``GLM.fit(cov_type="HC0")``) or ``I^-1`` (``"nonrobust"``). A stratum
    without events drives its coefficient towards minus infinity; the fit stops when
    the remaining gain is negligible (as statsmodels' deviance criterion does) and the
    treatment coefficient is still estimable.
    """
    y = np.asarray(y, dtype=float)
    design = as_design(design)

    def evaluate(beta: np.ndarray, order: int):
        # the negative log-likelihood (without the constant sum(log y!)) and derivatives
        eta = _linear_predictor(design, beta, offset)
        with np.errstate(over="ignore"):
            mu = np.exp(eta)
        loss = -float(y @ eta - mu.sum())
        if order == 0:
            return loss, None, None
        return loss, design.tdot(mu - y), design.gram(mu)

    mu = (y + y.mean()) / 2.0
    working = np.log(mu) + (y - mu) / mu
    if offset is not None:
        working -= offset
    start = Factor(design.gram(mu)).solve(design.tdot(mu * working))
    del working
    fit = minimise(evaluate, start)
    beta, converged = fit.params, fit.converged
    eta = _linear_predictor(design, beta, offset)
    mu = np.exp(eta)
    del eta
    information = design.gram(mu)
    residual = y - mu
    meat = None if cov_type == "nonrobust" else design.gram(residual**2)
    cov = _sandwich(information, meat, cov_type)
    out = CountFit(
        log_rate_ratio=float(beta[column]),
        std_error=float(np.sqrt(cov[column, column])),
        converged=converged,
        n_params=int(design.shape[1]),
        pearson_chi2=float(np.sum(residual**2 / mu)),
        df_resid=float(design.shape[0] - design.shape[1]),
    )
    return out, mu, beta


def _nb2_terms(y: np.ndarray, eta: np.ndarray, alpha: float) -> dict[str, Any]:
    """Per-case pieces of the NB2 log-likelihood and its derivatives (variance ``mu + alpha mu^2``).

    ``l_i = lgamma(y + r) - lgamma(r) - lgamma(y + 1) - (r + y) log(1 + alpha mu)
    + y log(alpha mu)`` with ``r = 1 / alpha`` (Cameron & Trivedi 2013, section 3.3).
    The gamma-function terms vanish for a zero count, so they are computed only on the
    cases with events (harm counts are mostly zero).
    """
    r = 1.0 / alpha
    with np.errstate(over="ignore"):
        mu = np.exp(eta)
    events = np.flatnonzero(y)
    return {
        "y": y,
        "eta": eta,
        "mu": mu,
        "w": 1.0 + alpha * mu,
        "log_w": np.log1p(alpha * mu),
        "r": r,
        "alpha": alpha,
        "events": events,
        "y_events": y[events],
    }


def _nb2_digamma(t: dict) -> np.ndarray:
    """``psi(r) - psi(y + r)`` per case (0 for a zero count)."""
    out = np.zeros(t["y"].size)
    out[t["events"]] = special.digamma(t["r"]) - special.digamma(t["y_events"] + t["r"])
    return out


def _nb2_loglik(t: dict) -> float:
    y, r = t["y"], t["r"]
    gammas = special.gammaln(t["y_events"] + r) - special.gammaln(r)
    # without the constant -sum(log y!)
    return float(gammas.sum() - (r + y) @ t["log_w"] + y @ (t["eta"] + math.log(t["alpha"])))


def _nb2_scores(t: dict) -> tuple[np.ndarray, np.ndarray]:
    """Per-case scores: ``(dl/d eta, dl/d alpha)``; ``dl/d beta = x dl/d eta``."""
    y, mu, w, alpha = t["y"], t["mu"], t["w"], t["alpha"]
    d_eta = (y - mu) / w
    d_alpha = (_nb2_digamma(t) + t["log_w"]) / alpha**2 + d_eta / alpha
    return d_eta, d_alpha


def _nb2_information(t: dict, design: BlockDesign) -> np.ndarray:
    """Observed information (minus the Hessian) in ``(beta, alpha)``."""
    y, mu, w, alpha, r = t["y"], t["mu"], t["w"], t["alpha"], t["r"]
    k = design.shape[1]
    information = np.empty((k + 1, k + 1))
    information[:k, :k] = design.gram(mu * (1.0 + alpha * y) / w**2)
    information[:k, k] = information[k, :k] = design.tdot((y - mu) * mu / w**2)
    trigammas = float(np.sum(special.polygamma(1, r) - special.polygamma(1, t["y_events"] + r)))
    second = (
        -2.0 * (_nb2_digamma(t) + t["log_w"]) / alpha**3
        + mu / (alpha**2 * w)
        - (y - mu) * (1.0 + 2.0 * alpha * mu) / (alpha * w) ** 2
    )
    information[k, k] = trigammas / alpha**4 - float(second.sum())
    return information


def fit_negative_binomial(
    y: np.ndarray,
    design: np.ndarray | BlockDesign,
    offset: np.ndarray | None,
    *,
    cov_type: str,
    start: np.ndarray,
    column: int = 1,
) -> CountFit:
    """NB2 maximum likelihood in ``(beta, alpha)`` with the same covariance type.

    The model and parametrisation of statsmodels' ``NegativeBinomialP(p=2)``; ``start``
    holds the coefficients and the dispersion to start from (the Poisson fit and the
    Cameron–Trivedi slope are a few Newton steps away). Newton's method
    (:func:`techeval.estimators._glm.newton.minimise`) with analytic score and observed
    information over row blocks, so memory stays flat at a million
    rows. Covariance: the HC0 sandwich of the per-case scores in ``(beta, alpha)`` (as
    ``NegativeBinomialP.fit(cov_type="HC0")``), or the inverse information.
    """
    y = np.asarray(y, dtype=float)
    design = as_design(design)
    k = design.shape[1]

    def evaluate(theta: np.ndarray, order: int):
        # the negative log-likelihood, minus the score and the observed information
        terms = _nb2_terms(y, _linear_predictor(design, theta[:k], offset), float(theta[k]))
        loss = -_nb2_loglik(terms)
        if order == 0:
            return loss, None, None
        d_eta, d_alpha = _nb2_scores(terms)
        score = np.append(design.tdot(d_eta), d_alpha.sum())
        return loss, -score, _nb2_information(terms, design)

    fit = minimise(evaluate, np.asarray(start, dtype=float), valid=lambda theta: theta[k] > 0)
    theta, converged = fit.params, fit.converged
    terms = _nb2_terms(y, _linear_predictor(design, theta[:k], offset), float(theta[k]))
    information = _nb2_information(terms, design)
    meat = None
    if cov_type != "nonrobust":
        d_eta, d_alpha = _nb2_scores(terms)
        meat = np.empty((k + 1, k + 1))
        meat[:k, :k] = design.gram(d_eta**2)
        meat[:k, k] = meat[k, :k] = design.tdot(d_eta * d_alpha)
        meat[k, k] = float(d_alpha @ d_alpha)
    del terms
    cov = _sandwich(information, meat, cov_type)
    return CountFit(
        log_rate_ratio=float(theta[column]),
        std_error=float(np.sqrt(cov[column, column])),
        converged=converged,
        n_params=k,
        alpha=float(theta[k]),
    )


def overdispersion_test(y: np.ndarray, fitted: np.ndarray, df_resid: float) -> dict[str, float]:
    """Cameron–Trivedi regression test of Poisson equidispersion against NB2, and Pearson χ²/df.

    Regresses ``((y - mu)^2 - y) / mu`` on ``mu`` without intercept by OLS; under the
    Poisson null the slope ``alpha`` is 0, under NB2 it is the dispersion (variance
    ``mu + alpha mu^2``). One-sided test of ``alpha > 0`` (Cameron & Trivedi 1990; 2013,
    section 3.4).
    """
    mu = np.maximum(fitted, 1e-12)
    response = ((y - mu) ** 2 - y) / mu
    slope = float(np.sum(response * mu) / np.sum(mu**2))
    residual = response - slope * mu
    dof = max(y.size - 1, 1)
    variance = float(np.sum(residual**2) / dof / np.sum(mu**2))
    t_stat = slope / math.sqrt(variance) if variance > 0 else math.inf
    p_value = float(stats.t.sf(t_stat, dof)) if math.isfinite(t_stat) else 0.0
    pearson = float(np.sum((y - mu) ** 2 / mu) / max(df_resid, 1.0))
    return {
        "cameron_trivedi_alpha": slope,
        "cameron_trivedi_t": t_stat,
        "cameron_trivedi_p_value": p_value,
        "pearson_chi2_per_df": pearson,
    }


def full_rank_columns(
    design: np.ndarray | BlockDesign, *, keep: tuple[int, ...] = (0, 1)
) -> np.ndarray:
    """Indices of a maximal set of linearly independent columns, ``keep`` always first.

    Greedy selection on the correlation-scaled cross-product ``X'X`` (p × p, cheap at a
    million rows): column ``j`` joins if ``1 - R^2`` of its regression on the columns
    already chosen exceeds 1e-9. ``keep`` (intercept and treatment) are offered first,
    so an aliased covariate column is dropped rather than the treatment. Spline bases of
    near-discrete covariates and levels that never occur make designs rank-deficient.
    """
    p = design.shape[1]
    order = list(keep) + [j for j in range(p) if j not in keep]
    cross = design.gram() if isinstance(design, BlockDesign) else design.T @ design
    scale = np.sqrt(np.diag(cross))
    scale[scale == 0] = np.inf  # an all-zero column has 1 - R^2 = 0 and is dropped
    cross = cross / scale[:, None] / scale[None, :]
    chosen: list[int] = []
    for j in order:
        if chosen:
            block = cross[np.ix_(chosen, chosen)]
            link = cross[chosen, j]
            residual = cross[j, j] - link @ np.linalg.solve(block, link)
        else:
            residual = cross[j, j]
        if residual > 1e-9:
            chosen.append(j)
    return np.array(sorted(chosen), dtype=int)
