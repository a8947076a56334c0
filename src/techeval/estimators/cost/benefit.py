"""``cost.benefit``: WSIPP-style net benefit, benefit–cost ratio and P(benefits exceed costs).

Registered in the cost family's name space but declaring ``family = "synthesis"``: it
weighs the adjusted outcome, cost and harm differences against each other. It lives
under ``estimators/`` because the registry loads the built-in estimators and must not
import upward into synthesis.

References
----------
Washington State Institute for Public Policy (2019). *Benefit–Cost Technical
Documentation*. Olympia, WA.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from techeval import economics
from techeval.errors import EstimatorError
from techeval.estimators.base import Tags
from techeval.estimators.cost._base import _CostBase
from techeval.estimators.cost._bootstrap import _estimate
from techeval.estimators.cost._data import _prepare, per_case_outcome
from techeval.estimators.registry import register
from techeval.inference import Interval, influence_covariance

__all__ = ["BenefitCost"]

_BENEFIT_COLUMNS = (
    "conviction",
    "high_level_conviction",
    "group_disrupted",
    "assets_seized",
    "witness_offences",
)


@register("cost.benefit")
class BenefitCost(_CostBase):
    """Benefit–cost synthesis by Monte Carlo: monetised convictions, disruptions and
    recovered assets against cost and monetised harms (net benefit per case,
    benefit–cost ratio, chance that benefits exceed costs).

    Parameters
    ----------
    model : {"gamma_dr", "gamma_glm"}
        ``"gamma_dr"`` (default): a GLM per arm — gamma with log link for strictly
        positive costs, Poisson quasi-likelihood with log link for non-negative values
        with zeros, logistic for yes/no outcomes — with recycled predictions augmented
        by inverse-propensity-weighted residuals (AIPW, doubly robust; propensity from
        an L2-penalised logistic regression on the same covariates). ``"gamma_glm"``:
        one GLM with the technique as a main effect and recycled predictions (the
        standard health-economics model; consistent only if the model is right).
    estimand : {"ATE", "ATT"}
        Average over all cases, or over the cases that used the technique.
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
        Seed for the bootstrap and the Monte Carlo.

    Attributes
    ----------
    results_ : tuple of EffectResult
        ``net_benefit`` (per case), ``benefit_cost_ratio``, ``prob_benefits_exceed_costs``.
    monte_carlo_ : pandas.DataFrame
        ``draw, benefits, costs, net_benefit`` per Monte Carlo draw.
    replicates_ : pandas.DataFrame or None
        Joint bootstrap replicates of the adjusted differences (``None`` above
        ``bootstrap_max_n`` cases).
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
    p-value is not defined (``nan``). The rows' family is ``"synthesis"``: they weigh
    outcome, cost and harm estimates against each other.

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
        self.model = model
        self.estimand = estimand
        self.values = values
        self.harm_unit_costs = harm_unit_costs
        self.n_draws = n_draws
        self.log_covariates = log_covariates
        self.l2_penalty = l2_penalty
        self.propensity_clip = propensity_clip
        self.n_bootstrap = n_bootstrap
        self.bootstrap_refit = bootstrap_refit
        self.bootstrap_max_n = bootstrap_max_n
        self.n_jobs = n_jobs
        self.ci_level = ci_level
        self.random_state = random_state

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
            covariance = influence_covariance(influence)
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
            ratio = None  # no interval: every number is nan
            ratio_warn.append(
                "the technique does not add cost, so a benefit–cost ratio is "
                "not meaningful: read the net benefit"
            )
        row = partial(self._row, data, treatment, outcome="net_benefit", diagnostics=diagnostics)
        self.results_ = (
            row(
                net,
                measure="net_benefit",
                scale="currency_per_case",
                warnings=tuple(warn),
            ),
            row(
                ratio,
                measure="benefit_cost_ratio",
                scale="ratio",
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
