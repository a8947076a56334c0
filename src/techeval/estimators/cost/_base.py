"""What the adjusted cost estimators share: parameter checks, inference labels, rows."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from techeval.errors import ArgumentError
from techeval.estimators.base import Estimator
from techeval.estimators.cost._data import _Data
from techeval.estimators.cost._models import _Settings
from techeval.inference import Interval, root_seed
from techeval.results import EffectResult

_MODELS = ("gamma_dr", "gamma_glm")
_REFITS = ("one_step", "full")
_ESTIMANDS = ("ATE", "ATT")


def _check(name: str, ok: bool, expected: str, owner: Estimator) -> None:
    if not ok:
        raise ArgumentError(
            f"{type(owner).__name__}: {name}={getattr(owner, name)!r} is not allowed",
            hint=f"Use {expected}",
        )


class _CostBase(Estimator):
    """The adjusted cost estimators' shared plumbing (incremental, effectiveness, benefit)."""

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


def _interval_fields(interval: Interval) -> dict[str, float]:
    return dict(
        estimate=interval.estimate,
        std_error=interval.std_error,
        ci_low=interval.ci_low,
        ci_high=interval.ci_high,
        p_value=interval.p_value,
    )
