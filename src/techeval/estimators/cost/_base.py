"""What the adjusted cost estimators share: parameter constraints, inference labels, rows."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from techeval.estimators._rows import Constraint, check_parameters, result_row
from techeval.estimators.base import Estimator
from techeval.estimators.cost._data import _Data
from techeval.estimators.cost._models import _Settings
from techeval.inference import Interval, root_seed
from techeval.results import EffectResult

_MODELS = ("gamma_dr", "gamma_glm")
_REFITS = ("one_step", "full")
_ESTIMANDS = ("ATE", "ATT")


class _CostBase(Estimator):
    """The adjusted cost estimators' shared plumbing (incremental, effectiveness, benefit)."""

    family: ClassVar[str] = "cost"

    #: What each parameter may be, checked in ``fit`` in this order; a subclass with
    #: parameters of its own extends it (``{**_CostBase._parameter_constraints, ...}``).
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "model": (lambda v: v in _MODELS, " or ".join(_MODELS)),
        "estimand": (lambda v: v in _ESTIMANDS, "ATE or ATT"),
        "propensity_clip": (lambda v: 0 <= v < 0.5, "a number in [0, 0.5)"),
        "l2_penalty": (lambda v: v >= 0, "a number >= 0"),
        "ci_level": (lambda v: 0 < v < 1, "a number in (0, 1)"),
        "n_bootstrap": (lambda v: int(v) >= 20, "an integer >= 20"),
        "bootstrap_refit": (lambda v: v in _REFITS, " or ".join(_REFITS)),
        "bootstrap_max_n": (lambda v: v is None or int(v) >= 1, "None or an integer >= 1"),
    }

    def _settings(self) -> _Settings:
        check_parameters(self, self._parameter_constraints)
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
        limit = self.bootstrap_max_n
        return self.model == "gamma_glm" or limit is None or data.n <= int(limit)

    def _seeds(self) -> tuple[np.random.SeedSequence, np.random.SeedSequence]:
        """Bootstrap and Monte Carlo seeds: two children of ``random_state``, never shared."""
        bootstrap_seed, monte_carlo_seed = root_seed(self.random_state).spawn(2)
        return bootstrap_seed, monte_carlo_seed

    def _inference_label(self, replicates: np.ndarray | None) -> str:
        if replicates is None:
            return "influence_function"
        refit = self.bootstrap_refit
        return "bootstrap_percentile" + ("_one_step" if refit == "one_step" else "")

    def _row(
        self, data: _Data, treatment: str, interval: Interval | None = None, **fields: Any
    ) -> EffectResult:
        """A :func:`result_row` with the labels every adjusted cost row carries (``fields`` win)."""
        labels: dict[str, Any] = dict(
            technique=treatment,
            estimand=self.estimand,
            method=self.model,
            n_treated=int(data.treated.sum()),
            n_control=int((~data.treated).sum()),
            family=self.family,
            ci_level=float(self.ci_level),
        )
        return result_row(interval, **{**labels, **fields})

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
