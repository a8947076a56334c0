"""The arm-means machinery shared by the outcome estimators, and its public base class.

Every outcome estimator estimates two arm means ``m1``, ``m0`` (for the ATE: the mean
outcome had every case used / not used the technique; for the ATT: over cases that used
it) and the influence function of each, returned as :class:`Arms`.
:class:`ArmMeansEstimator` does everything else: it checks the parameters and the
columns, applies the missing-data rule, builds the covariate design, runs the
bootstrap, turns the arm means into differences and ratios with their intervals and
adds the overlap, balance and E-value diagnostics. The ratio intervals use the delta
method on the log scale: ``IF(log RR) = IF1/m1 - IF0/m0`` and
``IF(log OR) = IF1/(m1(1-m1)) - IF0/(m0(1-m0))``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from techeval.errors import ArgumentError
from techeval.estimators import diagnostics as diag
from techeval.estimators._columns import Prepared, prepare
from techeval.estimators._nuisance import (
    GLM,
    Boosting,
    balance_matrix,
    boosting_frame,
    build_design,
    predict_logistic,
    propensity_fit,
)
from techeval.estimators._rows import Constraint, check_parameters, result_row
from techeval.estimators.base import Estimator, Tags
from techeval.inference import (
    Interval,
    bootstrap_interval,
    bootstrap_replicates,
    root_seed,
    wald_from_influence,
)
from techeval.results import EffectResult

__all__ = ["ArmMeansEstimator", "ArmSettings", "Arms"]

_ESTIMANDS = ("ATE", "ATT")
_INFERENCE = ("influence_function", "bootstrap")
_BOOTSTRAP_CI = ("percentile", "basic", "bca")
_NUISANCE = ("glm", "gbm")


@dataclass
class Arms:
    """Arm means, their influence functions and the propensity scores behind them.

    Attributes
    ----------
    mean_treated, mean_control
        The arm means ``m1`` and ``m0``.
    influence_treated, influence_control
        Their influence values, one per row (mean zero; the standard error of ``m1`` is
        ``sd(influence_treated) / sqrt(n)``). Needed only when ``arm_means`` is called
        with ``need_influence=True``.
    propensity
        The propensity scores used, clipped to ``[clip, 1 - clip]``, if the method
        estimated them; otherwise the base class fits them for the overlap and balance
        diagnostics.
    raw_propensity
        The same before clipping.
    notes
        Warnings for the result rows (e.g. a standard error that ignores a model's
        estimation error).
    """

    mean_treated: float
    mean_control: float
    influence_treated: np.ndarray | None = None
    influence_control: np.ndarray | None = None
    propensity: np.ndarray | None = None  # clipped
    raw_propensity: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ArmSettings:
    """The checked estimator parameters ``arm_means`` needs (picklable for the bootstrap).

    ``propensity_l2_penalty`` is the estimator's own where it has one, else
    ``l2_penalty``; ``n_folds`` is ``0`` and ``truncate`` ``None`` for estimators without
    those parameters.
    """

    estimand: str
    nuisance: str
    l2_penalty: float
    propensity_l2_penalty: float
    propensity_clip: float
    n_folds: int
    truncate: float | None


# ---- nuisance helpers shared by the estimators --------------------------------------------


def take_rows(features: np.ndarray | pd.DataFrame, rows: np.ndarray) -> np.ndarray | pd.DataFrame:
    """The rows ``rows`` of a design matrix or a boosting frame."""
    if isinstance(features, pd.DataFrame):
        return features.iloc[rows]
    return features[rows]


def new_model(
    settings: ArmSettings, task: str, seed: np.random.SeedSequence, *, propensity: bool = False
) -> GLM | Boosting:
    """An unfitted nuisance model of the kind ``settings.nuisance`` names."""
    if settings.nuisance == "gbm":
        return Boosting(task, random_state=int(seed.generate_state(1)[0] % (2**31)))
    penalty = settings.propensity_l2_penalty if propensity else settings.l2_penalty
    return GLM(task, l2_penalty=penalty)


def fit_predict(
    model: GLM | Boosting,
    features,
    fit_rows: np.ndarray | None,
    y: np.ndarray,
    predict_rows: np.ndarray | None = None,
    *,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """Fit on ``fit_rows`` (all by default), predict for ``predict_rows`` (all by default).

    GLMs work on the rows in place (no copy of the design); ``start`` is where a
    logistic fit starts. A constant target predicts itself.
    """
    target = y if fit_rows is None else y[fit_rows]
    n_predict = len(features) if predict_rows is None else len(predict_rows)
    if target.min() == target.max():
        # a logistic model cannot be fitted to one class; the constant is the MLE limit
        return np.full(n_predict, float(target[0]))
    if isinstance(model, GLM):
        model.fit(features, y, rows=fit_rows, start=start)
        return model.predict(features, predict_rows)
    model.fit(features if fit_rows is None else take_rows(features, fit_rows), target)
    return model.predict(features if predict_rows is None else take_rows(features, predict_rows))


def clip_propensity(propensity: np.ndarray, clip: float) -> np.ndarray:
    """Propensity scores clipped to ``[clip, 1 - clip]``."""
    return np.clip(propensity, clip, 1 - clip)


def propensity_scores(settings: ArmSettings, features, treated: np.ndarray, seed) -> np.ndarray:
    """The propensity score on all rows (GLM fits are shared within a protocol run)."""
    if settings.nuisance == "glm":
        fit = propensity_fit(features, treated, l2_penalty=settings.propensity_l2_penalty)
        return predict_logistic(fit, features)
    model = new_model(settings, "binary", seed, propensity=True)
    return fit_predict(model, features, None, treated.astype(float))


def _weights(propensity: np.ndarray, treated: np.ndarray, estimand: str) -> np.ndarray:
    """Stabilised IPW weights: ``P(T=t)/P(T=t|X)`` for the ATE, ``1`` and ``e/(1-e)`` for the ATT."""
    if estimand == "ATE":
        share = treated.mean()
        return np.where(treated, share / propensity, (1 - share) / (1 - propensity))
    return np.where(treated, 1.0, propensity / (1 - propensity))


def _arm_means_statistic(
    indices: np.ndarray,
    seed: np.random.SeedSequence,
    *,
    arm_means,
    settings: ArmSettings,
    features,
    treated: np.ndarray,
    y: np.ndarray,
    kind: str,
) -> np.ndarray:
    """Both arm means on one bootstrap resample (module level so process workers can pickle it)."""
    arms = arm_means(
        settings, take_rows(features, indices), treated[indices], y[indices], kind, seed, False
    )
    return np.array([arms.mean_treated, arms.mean_control])


# ---- from arm means to result rows --------------------------------------------------------


def _scales(kind: str) -> tuple[str, ...]:
    return (
        ("risk_difference", "risk_ratio", "odds_ratio")
        if kind == "binary"
        else ("mean_difference",)
    )


def _transform(scale: str, m1, m0):
    """The estimate on ``scale`` (log for ratios) from arm means (floats or arrays)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if scale in ("risk_difference", "mean_difference"):
            return m1 - m0
        if scale == "risk_ratio":
            return np.log(m1) - np.log(m0)
        return np.log(m1 / (1 - m1)) - np.log(m0 / (1 - m0))


def _transform_influence(scale: str, m1: float, m0: float, if1: np.ndarray, if0: np.ndarray):
    if scale in ("risk_difference", "mean_difference"):
        return if1 - if0
    if scale == "risk_ratio":
        return if1 / m1 - if0 / m0
    return if1 / (m1 * (1 - m1)) - if0 / (m0 * (1 - m0))


def _ratio_defined(m1: float, m0: float) -> bool:
    return 0 < m1 < 1 and 0 < m0 < 1


class ArmMeansEstimator(Estimator):
    """Base class of the outcome estimators: write the arm means, get the rest.

    A subclass implements one method, :meth:`arm_means`, which estimates the two arm
    means and their influence functions from analysis-ready arrays and returns them as
    :class:`Arms`. This class does everything else: it checks the parameters and the
    columns, applies the missing-data rule, builds the covariate design, runs the
    bootstrap (calling ``arm_means`` on each resample), and turns the arm means into
    result rows: the risk difference (binary outcome) or mean difference (count,
    continuous) first, then for binary outcomes the risk ratio and odds ratio, each
    with its interval and the overlap, balance and E-value diagnostics. The rows'
    ``method`` is the last part of the registered name (``"outcome.aipw"`` gives
    ``"aipw"``).

    Parameters
    ----------
    estimand : {"ATE", "ATT"}
        Average effect over all cases, or over the cases that used the technique.
    nuisance : {"glm", "gbm"}
        Nuisance models: ``"glm"`` is L2-penalised logistic regression for the
        propensity and for binary outcomes, Poisson for counts, ridge for continuous
        outcomes, with text covariates one-hot encoded and continuous ones as cubic
        B-splines (knots at quantiles); ``"gbm"`` is scikit-learn's histogram gradient
        boosting.
    l2_penalty : float
        L2 penalty ``lambda`` in ``sum(loss) + lambda/2 ||beta||^2`` (intercept
        unpenalised; columns standardised). Keeps fits finite under near-separation.
        ``0`` fits unpenalised GLMs.
    spline_knots : int
        Knots per continuous covariate (``0``: linear terms only).
    propensity_clip : float
        Propensities are clipped to ``[clip, 1 - clip]`` (default 0.01, so no weight
        exceeds 100); the share clipped is reported and any clipping gives a warning.
    inference : {"influence_function", "bootstrap"}
        Standard errors from the influence function, or the nonparametric bootstrap
        (resampling within arms).
    n_bootstrap : int
        Bootstrap replicates.
    bootstrap_ci : {"percentile", "basic", "bca"}
        Bootstrap interval type.
    n_jobs : int
        joblib workers for the bootstrap (back-end via ``joblib.parallel_config``).
    ci_level : float
        Confidence level.
    outcome_type : {"auto", "binary", "count", "continuous"}
        Outcome type; ``"auto"`` infers it (0/1 → binary, non-negative integers →
        count, else continuous).
    random_state : int, numpy.random.Generator or None
        Seed for folds, boosting and the bootstrap.

    Notes
    -----
    What a subclass writes:

    * ``arm_means(self, settings, features, treated, y, kind, seed, need_influence)``
      returning :class:`Arms`. ``settings`` is an :class:`ArmSettings` (the checked
      parameters), ``features`` the covariate design (a standardised float matrix
      without intercept for ``nuisance="glm"``, a data frame for ``"gbm"``),
      ``treated`` a boolean array, ``y`` the outcome as floats, ``kind`` ``"binary"``,
      ``"count"`` or ``"continuous"``, ``seed`` a :class:`numpy.random.SeedSequence`
      for any randomness (spawn children from it). With ``need_influence=True`` the
      influence values must be filled; with ``False`` (a bootstrap resample) only the
      means are read. Set ``propensity`` and ``raw_propensity`` when the method
      estimates them; otherwise they are fitted for the diagnostics.
    * a class docstring whose first paragraph says what it estimates (the report and
      ``result.json`` quote it), and ``@register("outcome.<name>")``.
    * an ``__init__`` only for extra parameters: keyword-only, storing every parameter
      (these common ones included) as ``self.x = x``, and their constraints added to
      ``_parameter_constraints`` (checked in ``fit``).

    Missing data: rows with a missing treatment, outcome or covariate are dropped and
    counted in ``diagnostics["rows_dropped"]``, and a warning says how many.

    Examples
    --------
    The difference in means, written as a subclass (``outcome.naive`` gives the same):

    >>> import numpy as np, pandas as pd
    >>> from techeval.estimators import ArmMeansEstimator, register
    >>> from techeval.estimators.outcome import Arms
    >>> @register("outcome.difference_in_means_doc")
    ... class DifferenceInMeans(ArmMeansEstimator):
    ...     '''Unadjusted difference in mean outcome between the arms.'''
    ...
    ...     def arm_means(self, settings, features, treated, y, kind, seed, need_influence):
    ...         m1, m0 = float(y[treated].mean()), float(y[~treated].mean())
    ...         arms = Arms(m1, m0)
    ...         if need_influence:
    ...             t = treated.astype(float)
    ...             arms.influence_treated = t * (y - m1) / t.mean()
    ...             arms.influence_control = (1 - t) * (y - m0) / (1 - t.mean())
    ...         return arms
    >>> frame = pd.DataFrame({"t": [0, 0, 0, 1, 1, 1] * 5, "y": [0, 1, 0, 1, 1, 0] * 5})
    >>> fitted = DifferenceInMeans().fit(frame, treatment="t", outcome="y")
    >>> fitted.result_.method, round(fitted.result_.estimate, 3)
    ('difference_in_means_doc', 0.333)
    >>> [row.scale for row in fitted.results_]
    ['risk_difference', 'risk_ratio', 'odds_ratio']
    """

    family: ClassVar[str] = "outcome"
    tags: ClassVar[Tags] = Tags(roles="per_outcome", adjusted=True)

    #: What each parameter may be, checked in ``fit`` in this order. A subclass with
    #: parameters of its own extends it: ``{**ArmMeansEstimator._parameter_constraints,
    #: "trim": (lambda v: 0 <= v < 0.5, "a number in [0, 0.5)")}``.
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "estimand": (lambda v: v in _ESTIMANDS, "ATE or ATT"),
        "inference": (lambda v: v in _INFERENCE, "influence_function or bootstrap"),
        "bootstrap_ci": (lambda v: v in _BOOTSTRAP_CI, "percentile, basic or bca"),
        "nuisance": (lambda v: v in _NUISANCE, "glm or gbm"),
        "propensity_clip": (lambda v: 0 <= v < 0.5, "a number in [0, 0.5)"),
        "l2_penalty": (lambda v: v >= 0, "a number >= 0"),
        "ci_level": (lambda v: 0 < v < 1, "a number in (0, 1)"),
        "n_bootstrap": (lambda v: int(v) >= 20, "an integer >= 20"),
        "spline_knots": (lambda v: int(v) >= 0, "an integer >= 0 (0 = linear)"),
    }

    def __init__(
        self,
        *,
        estimand: str = "ATE",
        nuisance: str = "glm",
        l2_penalty: float = 1.0,
        spline_knots: int = 5,
        propensity_clip: float = 0.01,
        inference: str = "influence_function",
        n_bootstrap: int = 500,
        bootstrap_ci: str = "percentile",
        n_jobs: int | None = 1,
        ci_level: float = 0.95,
        outcome_type: str = "auto",
        random_state: int | np.random.Generator | None = None,
    ):
        self.estimand = estimand
        self.nuisance = nuisance
        self.l2_penalty = l2_penalty
        self.spline_knots = spline_knots
        self.propensity_clip = propensity_clip
        self.inference = inference
        self.n_bootstrap = n_bootstrap
        self.bootstrap_ci = bootstrap_ci
        self.n_jobs = n_jobs
        self.ci_level = ci_level
        self.outcome_type = outcome_type
        self.random_state = random_state

    def arm_means(
        self,
        settings: ArmSettings,
        features: np.ndarray | pd.DataFrame,
        treated: np.ndarray,
        y: np.ndarray,
        kind: str,
        seed: np.random.SeedSequence,
        need_influence: bool,
    ) -> Arms:  # pragma: no cover - abstract
        """The two arm means (and, if ``need_influence``, their influence values)."""
        raise NotImplementedError(f"{type(self).__name__} must implement arm_means")

    def _settings(self) -> ArmSettings:
        params = self.get_params()
        check_parameters(self, self._parameter_constraints)
        return ArmSettings(
            estimand=params["estimand"],
            nuisance=params["nuisance"],
            l2_penalty=float(params["l2_penalty"]),
            # only AIPW penalises its propensity model separately; IPW's estimate rests on
            # the propensity alone, so shrinking it would bias IPW towards the naive contrast
            propensity_l2_penalty=float(params.get("propensity_l2_penalty", params["l2_penalty"])),
            propensity_clip=float(params["propensity_clip"]),
            n_folds=int(params.get("n_folds", 0)),
            truncate=params.get("truncate"),
        )

    def fit(
        self,
        frame: pd.DataFrame,
        *,
        treatment: str,
        outcome: str,
        covariates: Sequence[str] = (),
    ) -> Self:
        """Estimate the effect of ``treatment`` on ``outcome`` adjusting for ``covariates``.

        Parameters
        ----------
        frame
            One row per unit (case). Not modified.
        treatment
            Boolean or 0/1 column (the technique).
        outcome
            Binary, count or continuous outcome column.
        covariates
            Columns to adjust for: numbers, booleans or text (text is categorical).

        Returns
        -------
        self
            With ``results_`` (tuple of :class:`~techeval.results.EffectResult`).
        """
        settings = self._settings()
        min_rows = max(settings.n_folds, 5)
        data = prepare(
            frame,
            treatment=treatment,
            outcome=outcome,
            covariates=covariates,
            outcome_type=self.outcome_type,
            min_rows_per_arm=min_rows,
        )
        seed = root_seed(self.random_state)
        core_seed, diagnostic_seed, bootstrap_seed = seed.spawn(3)
        # one thread per BLAS/OpenMP pool: on a shared machine oversubscribed pools cost far
        # more than they gain (gradient boosting ran 40x slower under load); parallelism
        # comes from joblib workers instead
        with threadpool_limits(limits=1):
            features = self._features(data, settings)
            arms = self.arm_means(
                settings, features, data.treated, data.outcome, data.outcome_kind, core_seed, True
            )
            if arms.propensity is None:
                # naive and regression estimates still carry overlap and balance diagnostics
                arms.raw_propensity = propensity_scores(
                    settings, features, data.treated, diagnostic_seed
                )
                arms.propensity = clip_propensity(arms.raw_propensity, settings.propensity_clip)
            replicates = None
            if self.inference == "bootstrap":
                statistic = partial(
                    _arm_means_statistic,
                    arm_means=self.arm_means,
                    settings=settings,
                    features=features,
                    treated=data.treated,
                    y=data.outcome,
                    kind=data.outcome_kind,
                )
                replicates = bootstrap_replicates(
                    statistic,
                    data.n,
                    n_replicates=int(self.n_bootstrap),
                    random_state=bootstrap_seed,
                    strata=data.treated,
                    n_jobs=self.n_jobs,
                )
            del features
            # the diagnostics too: a multi-threaded BLAS wakes its threads for every
            # small dot product of the balance table (30x slower on a busy machine)
            self.results_ = self._results(data, settings, arms, replicates, treatment, outcome)
        return self

    def _features(self, data: Prepared, settings: ArmSettings):
        if settings.nuisance == "gbm":
            if data.covariates.shape[1] == 0:
                raise ArgumentError(
                    "nuisance='gbm' needs at least one covariate",
                    hint="Name covariates, or use nuisance='glm'",
                )
            return boosting_frame(data.covariates)
        return build_design(
            data.covariates,
            spline_knots=int(self.spline_knots),
            # an unpenalised fit needs a full-rank design
            drop_first=min(settings.l2_penalty, settings.propensity_l2_penalty) == 0,
        ).matrix

    def _results(
        self,
        data: Prepared,
        settings: ArmSettings,
        arms: Arms,
        replicates: np.ndarray | None,
        treatment: str,
        outcome: str,
    ) -> tuple[EffectResult, ...]:
        m1, m0 = arms.mean_treated, arms.mean_control
        warnings: list[str] = []
        intervals: dict[str, Interval] = {}
        for scale in _scales(data.outcome_kind):
            is_ratio = scale in ("risk_ratio", "odds_ratio")
            if is_ratio and not _ratio_defined(m1, m0):
                warnings.append(
                    f"the {scale.replace('_', ' ')} is not reported: an arm's estimated "
                    f"mean outcome is {min(m1, m0):.3g} or {max(m1, m0):.3g}, at or beyond 0 or 1"
                )
                continue
            influence = _transform_influence(
                scale, m1, m0, arms.influence_treated, arms.influence_control
            )
            point = float(_transform(scale, m1, m0))
            if replicates is None:
                interval = wald_from_influence(
                    math.exp(point) if is_ratio else point,
                    influence,
                    level=self.ci_level,
                    null=1.0 if is_ratio else 0.0,
                    log_scale=is_ratio,
                )
            else:
                values = _transform(scale, replicates[:, 0], replicates[:, 1])
                log_interval = bootstrap_interval(
                    values,
                    point,
                    method=self.bootstrap_ci,
                    level=self.ci_level,
                    influence=influence,
                )
                if is_ratio:
                    interval = Interval(
                        math.exp(point),
                        math.exp(point) * log_interval.std_error,
                        math.exp(log_interval.ci_low),
                        math.exp(log_interval.ci_high),
                        log_interval.p_value,
                    )
                else:
                    interval = log_interval
            intervals[scale] = interval
        diagnostics, diagnostic_warnings = self._diagnostics(
            data, settings, arms, intervals, replicates
        )
        warnings = diagnostic_warnings + arms.notes + warnings
        if data.rows_dropped["total"]:
            warnings.insert(
                0,
                f"{data.rows_dropped['total']} rows with a missing treatment, outcome or "
                "covariate were left out",
            )
        n_treated, n_control = int(data.treated.sum()), int((~data.treated).sum())
        return tuple(
            result_row(
                interval,
                technique=treatment,
                outcome=outcome,
                measure=outcome,
                scale=scale,
                estimand=settings.estimand,
                method=(self.name or type(self).__name__).split(".")[-1],
                n_treated=n_treated,
                n_control=n_control,
                family=self.family,
                ci_level=float(self.ci_level),
                diagnostics=diagnostics,
                warnings=tuple(warnings),
            )
            for scale, interval in intervals.items()
        )

    def _diagnostics(self, data, settings, arms, intervals, replicates):
        weights = _weights(arms.propensity, data.treated, settings.estimand)
        overlap = diag.overlap_summary(
            arms.propensity,
            data.treated,
            weights,
            clip=settings.propensity_clip,
            raw_propensity=arms.raw_propensity,
        )
        readable = balance_matrix(data.covariates)
        balance = diag.balance_table(readable.matrix, readable.names, data.treated, weights)
        if "risk_ratio" in intervals:
            rr = intervals["risk_ratio"]
            e_values = diag.e_value(rr.estimate, rr.ci_low, rr.ci_high)
            e_values["scale"] = "risk_ratio"
        else:
            primary = next(iter(intervals.values()))
            e_values = diag.e_value_mean_difference(
                primary.estimate, primary.ci_low, primary.ci_high, float(data.outcome.std())
            )
            e_values["scale"] = "standardised_mean_difference (RR ~ exp(0.91 d))"
        inference = "influence_function" if replicates is None else f"bootstrap_{self.bootstrap_ci}"
        out: dict[str, Any] = {
            "inference": inference,
            "outcome_type": data.outcome_kind,
            "arm_means": {"treated": arms.mean_treated, "control": arms.mean_control},
            "rows_used": data.n,
            "rows_dropped": data.rows_dropped,
            "nuisance": settings.nuisance,
            "cross_fitting_folds": settings.n_folds,
            "overlap": overlap,
            "balance": balance,
            "e_value": e_values,
        }
        if replicates is not None:
            out["n_bootstrap"] = int(replicates.shape[0])
            out["bootstrap_failed"] = int((~np.isfinite(replicates).all(axis=1)).sum())
        warnings = diag.diagnostic_warnings(overlap, balance, adjusted=self.tags.adjusted)
        return out, warnings
