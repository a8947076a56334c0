"""Shared confidence-interval machinery: influence functions, the bootstrap, Monte Carlo.

Every estimator in techeval reports uncertainty through the functions here, so a
confidence interval means the same thing whichever estimator produced it.

* :func:`wald_from_influence` — standard error ``sqrt(sum(psi_i^2)) / n`` from per-row
  influence values, a normal-theory interval and a two-sided p-value; with
  ``log_scale=True`` the interval is built for the logarithm and exponentiated (delta
  method), which is how risk and odds ratios are reported.
* :func:`bootstrap_replicates` and :func:`bootstrap_interval` — the nonparametric
  bootstrap with per-replicate seeds from :class:`numpy.random.SeedSequence` (results do
  not depend on the number of workers), run through joblib so the back-end is
  pluggable (``with joblib.parallel_config(backend=...)``); percentile, basic and BCa
  intervals. Inside :func:`report_replicates` every bootstrap also reports each finished
  replicate (for progress bars; nothing else changes).
* :func:`monte_carlo_summary` — bias, coverage and rejection rate of a simulation
  study, each with its Monte Carlo standard error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from joblib import Parallel, delayed
from scipy import stats
from threadpoolctl import threadpool_limits

BootstrapCI = Literal["percentile", "basic", "bca"]


@dataclass(frozen=True)
class Interval:
    """A point estimate with its standard error, interval and p-value."""

    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    p_value: float


def _z(level: float) -> float:
    if not 0 < level < 1:
        raise ValueError(f"confidence level must be in (0, 1), got {level}")
    return float(stats.norm.ppf(0.5 + level / 2))


def wald_from_influence(
    estimate: float,
    influence: np.ndarray,
    *,
    level: float = 0.95,
    null: float = 0.0,
    log_scale: bool = False,
) -> Interval:
    """Standard error, Wald interval and p-value from influence-function values.

    Parameters
    ----------
    estimate
        The point estimate (on the reported scale; a ratio when ``log_scale``).
    influence
        Per-row influence values ``psi_i`` of the estimate (of its logarithm when
        ``log_scale``), centred at zero, so that ``Var(estimate) ~ sum(psi_i^2) / n^2``.
    level
        Confidence level.
    null
        Value under the null hypothesis on the reported scale (0 for differences, 1 for
        ratios).
    log_scale
        Build the interval for ``log(estimate)`` and exponentiate the limits.

    Returns
    -------
    Interval
        ``estimate``; ``std_error`` on the reported scale (for ratios the delta-method
        value ``estimate * se(log estimate)``); ``ci_low``/``ci_high``; two-sided
        ``p_value`` (for ratios computed on the log scale against ``log(null)``).

    Notes
    -----
    ``se = sqrt(sum(psi_i^2)) / n``: the empirical variance of the influence function
    with divisor ``n`` (the sandwich / HC0 convention statsmodels uses), which the
    reference tests compare against.

    Examples
    --------
    >>> import numpy as np
    >>> r = wald_from_influence(0.1, np.array([1.0, -1.0, 1.0, -1.0]))
    >>> round(r.std_error, 3), round(r.ci_low, 3)
    (0.5, -0.88)
    """
    influence = np.asarray(influence, dtype=float)
    n = influence.shape[0]
    se_linear = float(np.sqrt(np.sum(influence**2)) / n)
    z = _z(level)
    if log_scale:
        if not estimate > 0:
            return Interval(estimate, math.nan, math.nan, math.nan, math.nan)
        centre = math.log(estimate)
        low, high = math.exp(centre - z * se_linear), math.exp(centre + z * se_linear)
        statistic = (centre - math.log(null)) / se_linear if se_linear > 0 else math.inf
        std_error = estimate * se_linear
    else:
        low, high = estimate - z * se_linear, estimate + z * se_linear
        statistic = (estimate - null) / se_linear if se_linear > 0 else math.inf
        std_error = se_linear
    p_value = float(2 * stats.norm.sf(abs(statistic))) if math.isfinite(statistic) else 0.0
    return Interval(float(estimate), float(std_error), float(low), float(high), p_value)


def influence_covariance(influence: np.ndarray) -> np.ndarray:
    """Covariance of several estimates from their influence values: ``psi' psi / n^2``.

    ``influence`` has one row per case and one column per estimate; the divisor ``n``
    is the HC0 convention of :func:`wald_from_influence`, whose squared standard errors
    are the diagonal.

    Examples
    --------
    >>> import numpy as np
    >>> influence_covariance(np.array([[1.0, 2.0], [-1.0, -2.0]])).tolist()
    [[0.5, 1.0], [1.0, 2.0]]
    """
    n = influence.shape[0]
    return influence.T @ influence / n**2


# ---- bootstrap ----------------------------------------------------------------------------

#: ``advance(done, total)``: called with ``done == 0`` when a bootstrap of ``total``
#: replicates starts, then once per finished replicate with ``done`` = 1, 2, ..., total.
ReplicateProgress = Callable[[int, int], None]

_replicate_progress: ContextVar[ReplicateProgress | None] = ContextVar(
    "techeval_replicate_progress", default=None
)


@contextmanager
def report_replicates(advance: ReplicateProgress | None) -> Iterator[None]:
    """Within the block, every :func:`bootstrap_replicates` call reports its replicates.

    Parameters
    ----------
    advance
        Called as ``advance(0, total)`` when a bootstrap of ``total`` replicates starts
        and ``advance(done, total)`` after each finished replicate, in the calling
        process (replicates run by joblib workers are counted as their results arrive).
        ``None`` reports nothing. It never sees a seed or a value, so the replicates
        are the same with or without it.

    Examples
    --------
    >>> calls = []
    >>> with report_replicates(lambda done, total: calls.append(done)):
    ...     _ = bootstrap_replicates(lambda rows, seed: rows.mean(), 10, n_replicates=3,
    ...                              random_state=0)
    >>> calls
    [0, 1, 2, 3]
    """
    token = _replicate_progress.set(advance)
    try:
        yield
    finally:
        _replicate_progress.reset(token)


def replicate_progress() -> ReplicateProgress | None:
    """The callback set by the innermost :func:`report_replicates` block, or ``None``."""
    return _replicate_progress.get()


def spawn_seeds(
    random_state: int | np.random.Generator | None, n: int
) -> list[np.random.SeedSequence]:
    """``n`` independent child seeds: replicate ``i`` gets the same seed however many workers run."""
    return root_seed(random_state).spawn(n)


def root_seed(
    random_state: int | np.random.Generator | np.random.SeedSequence | None,
) -> np.random.SeedSequence:
    """A :class:`~numpy.random.SeedSequence` from an int, a Generator or ``None`` (fresh entropy)."""
    if isinstance(random_state, np.random.SeedSequence):
        return random_state
    if isinstance(random_state, np.random.Generator):
        return np.random.SeedSequence(int(random_state.integers(2**63)))
    if random_state is None or isinstance(random_state, (int, np.integer)):
        return np.random.SeedSequence(None if random_state is None else int(random_state))
    raise TypeError(f"random_state must be an int, a numpy Generator or None, not {random_state!r}")


def _run_chunk(
    statistic: Callable[[np.ndarray, np.random.SeedSequence], np.ndarray],
    strata: list[np.ndarray],
    seeds: Sequence[np.random.SeedSequence],
) -> list[np.ndarray]:
    out = []
    # one BLAS thread per worker: the workers are the parallelism
    with threadpool_limits(limits=1):
        for seed in seeds:
            rng = np.random.default_rng(seed)
            indices = np.concatenate([rng.choice(rows, size=rows.size) for rows in strata])
            out.append(np.asarray(statistic(indices, seed.spawn(1)[0]), dtype=float))
    return out


def bootstrap_replicates(
    statistic: Callable[[np.ndarray, np.random.SeedSequence], Any],
    n_rows: int,
    *,
    n_replicates: int,
    random_state: int | np.random.Generator | None,
    strata: np.ndarray | None = None,
    n_jobs: int | None = 1,
) -> np.ndarray:
    """Statistic values over nonparametric bootstrap resamples.

    Parameters
    ----------
    statistic
        ``statistic(indices, seed)`` returns a vector for the rows ``indices`` (drawn
        with replacement); ``seed`` is a replicate-specific SeedSequence for any
        randomness inside (e.g. cross-fitting folds). Must be picklable for process
        back-ends (a module-level function or :func:`functools.partial`).
    n_rows
        Number of rows in the data.
    n_replicates
        Number of bootstrap resamples.
    random_state
        Seed; replicate ``i`` always uses child ``i`` of ``SeedSequence(random_state)``.
    strata
        Optional labels; rows are resampled within each stratum so stratum sizes stay
        fixed (used with the treatment so each resample keeps both arms' sizes).
    n_jobs
        joblib workers. The back-end follows ``joblib.parallel_config``.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_replicates, k)``; replicates whose statistic failed are ``nan``.

    Notes
    -----
    Inside a :func:`report_replicates` block each replicate is reported as its chunk's
    results arrive; the seeds, the chunks and the order of the values do not change.
    """
    if n_replicates < 2:
        raise ValueError("n_replicates must be at least 2")
    if strata is None:
        groups = [np.arange(n_rows)]
    else:
        groups = [np.flatnonzero(strata == level) for level in np.unique(strata)]
    seeds = spawn_seeds(random_state, n_replicates)
    # chunks keep scheduling overhead small; the seed of replicate i never depends on them
    n_chunks = min(n_replicates, 32)
    chunks = [seeds[i::n_chunks] for i in range(n_chunks)]
    order = [list(range(n_replicates))[i::n_chunks] for i in range(n_chunks)]
    advance = _replicate_progress.get()
    if advance:
        advance(0, n_replicates)
    done = 0
    # a generator, so finished chunks are counted while later ones still run
    results = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_run_chunk)(statistic, groups, c) for c in chunks
    )
    values: list[np.ndarray | None] = [None] * n_replicates
    for positions, chunk_values in zip(order, results, strict=True):
        for position, value in zip(positions, chunk_values, strict=True):
            values[position] = value
            done += 1
            if advance:
                advance(done, n_replicates)
    return np.vstack([np.atleast_1d(v) for v in values])


def bootstrap_interval(
    replicates: np.ndarray,
    estimate: float,
    *,
    method: BootstrapCI = "percentile",
    level: float = 0.95,
    null: float = 0.0,
    influence: np.ndarray | None = None,
) -> Interval:
    """Bootstrap standard error, interval (percentile, basic or BCa) and p-value.

    Parameters
    ----------
    replicates
        Bootstrap values of the statistic (1-D); non-finite ones are ignored.
    estimate
        The estimate from the full data.
    method
        ``"percentile"`` (quantiles of the replicates), ``"basic"`` (``2*est - q``) or
        ``"bca"`` (bias-corrected and accelerated).
    level, null
        Confidence level; null value for the p-value.
    influence
        Influence values of the statistic, used for the BCa acceleration
        ``a = sum(psi^3) / (6 * sum(psi^2)^1.5)``; required for ``"bca"``.

    Returns
    -------
    Interval
        ``std_error`` is the standard deviation of the replicates; ``p_value`` the
        normal approximation ``2 * Phi(-|est - null| / se)``.

    Notes
    -----
    BCa follows Efron & Tibshirani (1993), ch. 14, with the acceleration from the
    empirical influence function instead of the jackknife (their eq. 14.15 with the
    jackknife values replaced by influence values, which they approximate).

    References
    ----------
    Efron, B., & Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*. Chapman & Hall.
    """
    values = np.asarray(replicates, dtype=float)
    values = values[np.isfinite(values)]
    if values.size < 2:
        return Interval(estimate, math.nan, math.nan, math.nan, math.nan)
    alpha = 1 - level
    std_error = float(values.std(ddof=1))
    if method == "percentile":
        low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    elif method == "basic":
        q_low, q_high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
        low, high = 2 * estimate - q_high, 2 * estimate - q_low
    elif method == "bca":
        if influence is None:
            raise ValueError("BCa intervals need the influence values for the acceleration")
        share_below = (np.sum(values < estimate) + 0.5 * np.sum(values == estimate)) / values.size
        share_below = min(max(share_below, 1 / (2 * values.size)), 1 - 1 / (2 * values.size))
        z0 = stats.norm.ppf(share_below)
        psi = np.asarray(influence, dtype=float)
        denominator = 6 * np.sum(psi**2) ** 1.5
        acceleration = float(np.sum(psi**3) / denominator) if denominator > 0 else 0.0
        z = stats.norm.ppf([alpha / 2, 1 - alpha / 2])
        adjusted = stats.norm.cdf(z0 + (z0 + z) / (1 - acceleration * (z0 + z)))
        low, high = np.quantile(values, adjusted)
    else:
        raise ValueError(f"unknown bootstrap interval {method!r}; use percentile, basic or bca")
    statistic = abs(estimate - null) / std_error if std_error > 0 else math.inf
    p_value = float(2 * stats.norm.sf(statistic)) if math.isfinite(statistic) else 0.0
    return Interval(float(estimate), std_error, float(low), float(high), p_value)


# ---- Monte Carlo ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MonteCarloSummary:
    """Operating characteristics of an estimator over simulated replications.

    Attributes
    ----------
    n_replications
        Replications with a finite estimate and interval.
    mean_bias, mean_bias_mcse
        Mean of ``estimate - truth`` and its Monte Carlo standard error ``sd / sqrt(R)``.
    empirical_se, mean_std_error
        Standard deviation of the estimates, and mean of the reported standard errors.
    coverage, coverage_mcse
        Share of intervals containing the truth, and ``sqrt(c (1 - c) / R)``.
    rejection_rate, rejection_rate_mcse
        Share of p-values below ``alpha`` and its Monte Carlo standard error.
    """

    n_replications: int
    mean_bias: float
    mean_bias_mcse: float
    empirical_se: float
    mean_std_error: float
    coverage: float
    coverage_mcse: float
    rejection_rate: float
    rejection_rate_mcse: float


def monte_carlo_summary(
    estimates: Sequence[float],
    std_errors: Sequence[float],
    ci_low: Sequence[float],
    ci_high: Sequence[float],
    p_values: Sequence[float],
    truth: float,
    *,
    alpha: float = 0.05,
) -> MonteCarloSummary:
    """Bias, coverage and rejection rate with Monte Carlo standard errors (Morris et al. 2019).

    References
    ----------
    Morris, T. P., White, I. R., & Crowther, M. J. (2019). Using simulation studies to
    evaluate statistical methods. *Statistics in Medicine*, 38(11), 2074–2102.

    Examples
    --------
    >>> s = monte_carlo_summary([0.1, 0.3], [0.1, 0.1], [0.0, 0.1], [0.2, 0.5], [0.3, 0.01], 0.05)
    >>> s.coverage, s.rejection_rate
    (0.5, 0.5)
    """
    columns = [
        np.asarray(v, dtype=float) for v in (estimates, std_errors, ci_low, ci_high, p_values)
    ]
    finite = np.logical_and.reduce([np.isfinite(c) for c in columns[:4]])
    est, se, low, high, p = (c[finite] for c in columns)
    r = int(finite.sum())
    errors = est - truth
    covered = (low <= truth) & (truth <= high)
    rejected = p < alpha
    coverage, rejection = float(covered.mean()), float(rejected.mean())
    return MonteCarloSummary(
        n_replications=r,
        mean_bias=float(errors.mean()),
        mean_bias_mcse=float(errors.std(ddof=1) / math.sqrt(r)),
        empirical_se=float(est.std(ddof=1)),
        mean_std_error=float(se.mean()),
        coverage=coverage,
        coverage_mcse=math.sqrt(coverage * (1 - coverage) / r),
        rejection_rate=rejection,
        rejection_rate_mcse=math.sqrt(rejection * (1 - rejection) / r),
    )
