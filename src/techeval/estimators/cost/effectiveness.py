"""``cost.effectiveness``: cost per additional conviction, from a joint bootstrap.

References
----------
Glick, H. A., Doshi, J. A., Sonnad, S. S., & Polsky, D. (2014). *Economic Evaluation in
Clinical Trials* (2nd ed.). Oxford University Press.

Drummond, M. F., et al. (2015). *Methods for the Economic Evaluation of Health Care
Programmes* (4th ed.). Oxford University Press.

Fenwick, E., Claxton, K., & Sculpher, M. (2001). Representing uncertainty: the role of
cost-effectiveness acceptability curves. *Health Economics*, 10(8), 779–787.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial
from typing import Self

import numpy as np
import pandas as pd

from techeval import economics
from techeval.assumptions import DEFAULT_WILLINGNESS_TO_PAY, DEFAULT_WTP_GRID
from techeval.errors import ArgumentError
from techeval.estimators._columns import require_columns
from techeval.estimators.base import Tags
from techeval.estimators.cost._base import _CostBase
from techeval.estimators.cost._bootstrap import _estimate
from techeval.estimators.cost._data import _prepare, per_case_outcome
from techeval.estimators.registry import register
from techeval.inference import bootstrap_interval, influence_covariance, wald_from_influence
from techeval.results import EffectResult

__all__ = ["CostEffectiveness"]

_NO_EFFECT_WARNING = (
    "no detectable effect on {effect}: cost per additional {unit} is not meaningful "
    "(the {level:.0%} interval of the effect includes zero)"
)

_EFFECT_UNITS = {
    "conviction": "conviction",
    "high_level_conviction": "high-level conviction",
}


@register("cost.effectiveness")
class CostEffectiveness(_CostBase):
    """Cost per additional conviction (ICER) with its quadrant, a joint bootstrap of
    cost and effect, the cost-effectiveness plane and acceptability curve.

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
    effects : sequence of str
        Yes/no effect columns (default conviction and high-level conviction).
    willingness_to_pay : float
        Willingness to pay per additional unit of effect for the net monetary benefit
        and probability of being cost-effective rows.
    wtp_grid : sequence of float
        Grid for the acceptability curve.
    log_covariates : sequence of str
        Numeric covariates entered as ``log1p(x)`` (default ``("n_suspects",)``): in a
        log-link model a linear term in a heavy-tailed count extrapolates exponentially.
    l2_penalty : float
        L2 penalty of the logistic / Poisson nuisance models (as in ``outcome.aipw``).
    propensity_clip : float
        Propensities are clipped to ``[clip, 1 - clip]``.
    n_bootstrap : int
        Bootstrap replicates (resampling cases within arms).
    n_draws : int
        Above ``bootstrap_max_n`` cases: normal draws of the differences with their
        influence-function covariance, which stand in for the bootstrap replicates in
        the plane, the quadrant shares and the acceptability curve (default 10,000).
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
        Seed for the bootstrap and the normal draws.

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
    frames_ : dict of str to pandas.DataFrame
        ``{"ce_plane": ce_plane_, "acceptability": acceptability_}``.

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
    ``lambda * delta_effect - delta_cost > 0`` (Fenwick et al. 2001). The arithmetic of
    each effect's rows is :func:`techeval.economics.icer_summary`.

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

    _parameter_constraints = {
        **_CostBase._parameter_constraints,
        "willingness_to_pay": (lambda v: math.isfinite(float(v)) and v >= 0, "a number >= 0"),
    }

    def __init__(
        self,
        *,
        model: str = "gamma_dr",
        estimand: str = "ATE",
        effects: Sequence[str] = ("conviction", "high_level_conviction"),
        willingness_to_pay: float = DEFAULT_WILLINGNESS_TO_PAY,
        wtp_grid: Sequence[float] = DEFAULT_WTP_GRID,
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
        self.model = model
        self.estimand = estimand
        self.effects = effects
        self.willingness_to_pay = willingness_to_pay
        self.wtp_grid = wtp_grid
        self.log_covariates = log_covariates
        self.l2_penalty = l2_penalty
        self.propensity_clip = propensity_clip
        self.n_bootstrap = n_bootstrap
        self.n_draws = n_draws
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
        """Joint bootstrap of incremental cost (``outcome``) and each effect in ``effects``."""
        settings = self._settings()
        effects = [self.effects] if isinstance(self.effects, str) else list(self.effects)
        if not effects:
            raise ArgumentError("CostEffectiveness needs at least one effect column")
        require_columns(frame, {column: "effect" for column in effects})
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
                influence_covariance(influence),
                size=int(self.n_draws),
                method="eigh",
            )
            cost_interval = wald_from_influence(float(deltas[0]), influence[:, 0], level=level)
        rows = [
            self._row(
                data,
                treatment,
                cost_interval,
                outcome=outcome,
                measure="incremental_cost",
                scale="mean_difference",
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
        summary = economics.icer_summary(
            delta_cost,
            delta_effect,
            cost_draws,
            effect_draws,
            willingness_to_pay=float(self.willingness_to_pay),
            level=level,
            influence=influence,
        )
        effect_scale = "risk_difference" if data.kinds[effect] == "binary" else "mean_difference"
        row = partial(self._row, data, treatment, outcome=effect)
        rows = [
            row(
                summary.effect,
                measure="incremental_effect",
                scale=effect_scale,
                diagnostics=diagnostics,
                warnings=tuple(base_warnings),
            )
        ]

        icer_warnings = list(base_warnings)
        if summary.icer_status == "no_detectable_effect":
            icer_warnings.append(_NO_EFFECT_WARNING.format(effect=unit, unit=unit, level=level))
        elif summary.icer_status in ("dominant", "dominated"):
            icer_warnings.append(
                f"the technique is {summary.icer_status} for {unit}s ("
                + (
                    "cheaper and more effective"
                    if summary.icer_status == "dominant"
                    else "more costly and less effective"
                )
                + "): a cost per additional conviction is not meaningful"
            )
        elif not math.isfinite(summary.icer_ci_low):
            icer_warnings.append(
                "the Fieller interval of the ICER is unbounded: the effect is too "
                "uncertain to bound the cost per additional " + unit
            )
        icer_diag = {
            "quadrant": summary.quadrant,
            "interval": "Fieller, "
            + ("bootstrap" if influence is None else "influence-function")
            + " (co)variances",
            "effect_ci_spans_zero": summary.effect_ci_spans_zero,
            "delta_cost": delta_cost,
            "delta_effect": delta_effect,
        }
        scale_unit = effect if effect in _EFFECT_UNITS else "unit_of_effect"
        rows.append(
            row(
                measure="icer",
                scale=f"currency_per_{scale_unit}",
                estimate=summary.icer,
                ci_low=summary.icer_ci_low,
                ci_high=summary.icer_ci_high,
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
                    "quadrant": summary.quadrant,
                    "quadrant_probabilities": summary.quadrant_probabilities,
                    "effect_ci_spans_zero": summary.effect_ci_spans_zero,
                },
                warnings=tuple(base_warnings),
            )
        )
        wtp_diag = {"willingness_to_pay": summary.willingness_to_pay, "per": unit}
        rows.append(
            row(
                summary.net_monetary_benefit,
                measure="net_monetary_benefit",
                scale="currency_per_case",
                diagnostics=wtp_diag,
                warnings=tuple(base_warnings),
            )
        )
        rows.append(
            row(
                measure="prob_cost_effective",
                scale="probability",
                estimate=summary.prob_cost_effective,
                diagnostics=wtp_diag,
                warnings=tuple(base_warnings),
            )
        )
        return rows
