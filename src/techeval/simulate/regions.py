"""The ``regions`` scenario: case files of several regions whose true effects differ."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from pathlib import Path

import numpy as np

from techeval.cases.schema import TECHNIQUES
from techeval.errors import ArgumentError
from techeval.simulate.dgp import SyntheticCases, _check_arguments, _generate
from techeval.simulate.model import _SCENARIO_PARAMS, BINARY_MEASURES
from techeval.simulate.truth import _population_truth_cached
from techeval.simulate.write import write_cases

#: The ``regions`` scenario (:func:`generate_regions`): one case file per region, each
#: the default scenario with every technique effect multiplied by the region's factor.
#: Assumption: factors from a fifth to nearly twice the default effects, averaging 1, so
#: that regions differ clearly and their average is close to the default effects.
REGION_EFFECTS: dict[str, float] = {
    "north": 0.2,
    "east": 0.6,
    "south": 1.0,
    "west": 1.4,
    "central": 1.8,
}


def _region_seed(seed: int, index: int) -> int:
    """Region ``index``'s seed: independent streams, the same for any effect factors."""
    return int(np.random.SeedSequence((seed, index)).generate_state(1, dtype=np.uint32)[0])


def generate_regions(
    n: int,
    *,
    seed: int,
    effects: dict[str, float] | None = None,
    population: bool = True,
) -> dict[str, SyntheticCases]:
    """Case files of several regions whose true technique effects differ (scenario ``regions``).

    Parameters
    ----------
    n
        Cases per region.
    seed
        Seed; region ``i`` uses a seed derived from ``(seed, i)``, so the same ``seed``
        with other ``effects`` draws the same cases with other effects (common random
        numbers: comparisons between effect settings are not blurred by sampling).
    effects
        Region name → factor multiplying every technique effect of the default
        scenario (default :data:`REGION_EFFECTS`); equal factors give regions with
        equal true effects.
    population
        Compute each region's population truth (about 3 s per distinct factor). With
        ``False`` the population expectations are ``None`` and only the sample truth
        (``ate_sample``, exact for the generated cases) is filled.

    Returns
    -------
    dict
        Region name → :class:`SyntheticCases` (scenario ``"regions"``); each truth
        records its ``effect_factor``.

    Raises
    ------
    ArgumentError
        For bad ``n`` or ``seed``, or a factor that is negative or not finite.

    Examples
    --------
    >>> from techeval.simulate import REGION_EFFECTS, generate_regions
    >>> regions = generate_regions(200, seed=1, population=False)
    >>> sorted(regions) == sorted(REGION_EFFECTS)
    True
    """
    _check_arguments(n, seed, "default")
    chosen = dict(REGION_EFFECTS if effects is None else effects)
    if not chosen:
        raise ArgumentError("give at least one region")
    regions = {}
    for index, (name, factor) in enumerate(chosen.items()):
        if not (isinstance(factor, int | float) and math.isfinite(factor) and factor >= 0):
            raise ArgumentError(f"region {name!r}: the effect factor must be >= 0, not {factor!r}")
        params = dataclasses.replace(
            _SCENARIO_PARAMS["default"], name="regions", effect=float(factor)
        )
        synthetic = _generate(
            int(n),
            _region_seed(int(seed), index),
            params,
            copy.deepcopy(_population_truth_cached(params)) if population else None,
        )
        synthetic.truth["region"] = name
        synthetic.truth["effect_factor"] = float(factor)
        regions[name] = synthetic
    return regions


def region_average_truth(regions: dict[str, SyntheticCases]) -> dict[str, dict[str, float]]:
    """The true average effect across regions: technique → measure → mean sample ATE.

    The unweighted mean of the regions' sample effects (``ate_sample``), which is what
    a random-effects pooled estimate targets.
    """
    out: dict[str, dict[str, float]] = {}
    for technique in TECHNIQUES:
        out[technique] = {}
        for measure in (*BINARY_MEASURES, "incremental_cost"):
            values = [
                r.truth["techniques"][technique][measure]["ate_sample"] for r in regions.values()
            ]
            if all(v is not None for v in values):
                out[technique][measure] = float(np.mean(values))
    return out


def write_regions(regions: dict[str, SyntheticCases], folder: str | Path) -> Path:
    """Write each region's ``<folder>/<region>/cases.csv`` and ``truth.json``, and ``regions.json``.

    ``regions.json`` lists each region's effect factor and seed and the true average
    effect across regions (:func:`region_average_truth`).
    """
    root = Path(folder)
    try:
        root.mkdir(parents=True, exist_ok=True)
        for name, synthetic in regions.items():
            (root / name).mkdir(exist_ok=True)
            write_cases(synthetic, root / name / "cases.csv", root / name / "truth.json")
        summary = {
            "schema": "techeval.regions/1",
            "regions": {
                name: {"effect_factor": r.truth["effect_factor"], "seed": r.seed, "n": len(r.cases)}
                for name, r in regions.items()
            },
            "average_ate_sample": region_average_truth(regions),
        }
        (root / "regions.json").write_text(
            json.dumps(summary, indent=2, ensure_ascii=False, allow_nan=False) + "\n",
            encoding="utf-8",
        )
    except OSError as exc:
        raise ArgumentError(
            f"cannot write the region files ({exc.strerror or exc})",
            where=str(exc.filename or root),
            hint="Check that you may write there",
        ) from None
    return root
