"""The joint bootstrap of every cost component, reusing replicate columns within a unit.

Cost and effects are estimated on the *same* resamples (cases resampled within arms),
so their correlation survives into the cost-effectiveness plane and the benefit–cost
Monte Carlo. :func:`_estimate` is the one entry point of the estimators: point
differences, influence values and, optionally, the replicates.
"""

from __future__ import annotations

import hashlib
from functools import partial
from typing import Any

import numpy as np
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning
from threadpoolctl import threadpool_limits

from techeval.errors import EstimatorError
from techeval.estimators._glm.workspace import current_workspace
from techeval.estimators.cost._data import _Data
from techeval.estimators.cost._models import _all_differences, _Linear, _Settings
from techeval.inference import bootstrap_replicates


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

    def draw(names: list[str]) -> np.ndarray:
        statistic = partial(
            _replicate,
            settings=settings,
            features=data.features,
            treated=data.treated,
            components={name: data.components[name] for name in names},
            kinds=data.kinds,
            starts=starts,
            refit=refit,
        )
        # resampling within arms keeps both arms' sizes in every replicate
        return bootstrap_replicates(
            statistic,
            data.n,
            n_replicates=int(n_bootstrap),
            random_state=seed,
            strata=data.treated,
            n_jobs=n_jobs,
        )

    # inside a unit of work, replicate columns are kept by resample plan and component:
    # ``cost.effectiveness`` and ``cost.benefit`` of one technique draw the same
    # resamples (the runner gives them one seed and one unit), so the second reuses the
    # first's incremental cost and effects instead of refitting them
    shared = current_workspace()
    if shared is None:
        return draw(list(data.components))
    memo = shared.replicates
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
    missing = [name for name in data.components if keys[name] not in memo]
    columns = {name: memo[keys[name]] for name in data.components if name not in missing}
    if missing:
        computed = draw(missing)
        for j, name in enumerate(missing):
            columns[name] = shared.keep(memo, keys[name], computed[:, j], shared.max_replicates)
    return np.column_stack([columns[name] for name in data.components])


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
