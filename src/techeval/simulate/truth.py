"""The known truth: population and sample effects of every technique (truth.json)."""

from __future__ import annotations

import copy
import functools
from typing import Any

import numpy as np
import pandas as pd

from techeval.cases.schema import GROUP_STRUCTURES, OFFENCES, TECHNIQUES
from techeval.simulate.model import (
    _HARM_RATE_RATIO,
    BINARY_MEASURES,
    HARM_EXPOSURE,
    HARM_MEASURES,
    _by_blocks,
    _Covariates,
    _draw_covariates,
    _expected_probabilities,
    _expected_technique_costs,
    _linear_predictors,
    _propensities,
    _Scenario,
    _scenario,
    _switched,
    _technique_columns,
)

TRUTH_SCHEMA = "techeval.truth/1"

# Population truth is the expectation over the scenario's covariate distribution,
# computed on one large fixed draw (Monte Carlo error of the ATEs ≈ 1e-4 or less).
POPULATION_N = 1_000_000
POPULATION_SEED = 987_654_321


def _clean(value: float) -> float | None:
    """A JSON-safe number rounded to 6 significant decimals (None if undefined)."""
    if value is None or not np.isfinite(value):
        return None
    return float(round(float(value), 6)) + 0.0


def _group_means(
    values: np.ndarray, groups: np.ndarray, labels: tuple[str, ...]
) -> dict[str, float | None]:
    totals = np.bincount(groups, weights=values, minlength=len(labels))
    return _ratios(totals, np.bincount(groups, minlength=len(labels)), labels)


def _ratios(
    totals: np.ndarray, sizes: np.ndarray, labels: tuple[str, ...]
) -> dict[str, float | None]:
    """``totals / sizes`` per label (None where a group is empty)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        means = totals / sizes
    return {label: _clean(means[i]) for i, label in enumerate(labels)}


def _mean(values: np.ndarray, weights: np.ndarray | None = None) -> float | None:
    if weights is None:
        return _clean(values.mean()) if len(values) else None
    total = weights.sum()
    return _clean((values * weights).sum() / total) if total > 0 else None


def _harm_truth(params: _Scenario, harm: str, k: int) -> dict[str, Any]:
    """A harm's true rate ratio for technique ``k`` (constant, so no population draw)."""
    return {
        # the same arithmetic as _linear_predictors, so the shipped truth is unchanged
        "rate_ratio": _clean(
            float(np.exp(params.effect * np.log(np.asarray(_HARM_RATE_RATIO[harm]))[k]))
        ),
        "exposure": HARM_EXPOSURE[harm][0],
    }


def _no_population(params: _Scenario) -> dict[str, Any]:
    """The population block with the expensive expectations left out (``None``)."""
    empty = {
        "ate": None,
        "att": None,
        "by_offence": dict.fromkeys(OFFENCES),
        "by_group_structure": dict.fromkeys(GROUP_STRUCTURES),
    }
    return {
        technique: {
            **{measure: copy.deepcopy(empty) for measure in (*BINARY_MEASURES, "incremental_cost")},
            **{harm: _harm_truth(params, harm, k) for harm in HARM_MEASURES},
        }
        for k, technique in enumerate(TECHNIQUES)
    }


@functools.cache
def _population_truth_cached(params: _Scenario) -> dict[str, Any]:
    rng_cov, rng_assign = np.random.default_rng(POPULATION_SEED).spawn(2)
    cov = _draw_covariates(rng_cov, POPULATION_N)
    propensity = _propensities(cov, params)
    treated = rng_assign.random((POPULATION_N, 4)) < propensity
    lin = _linear_predictors(cov, params)
    costs = _expected_technique_costs(cov, params)
    eligible = cov.has_high_level
    groups = (cov.offence, cov.structure)
    eligible_groups = (cov.offence[eligible], cov.structure[eligible])
    columns = _technique_columns(treated)

    def effects(rows: slice, k: int) -> dict[str, np.ndarray]:
        """p(outcome | technique k on) − p(outcome | off) for the cases in ``rows``."""
        part_lin, part_high = lin.rows(rows), eligible[rows]
        part_columns = [column[rows] for column in columns]
        p1 = _expected_probabilities(part_lin, part_high, _switched(part_columns, k, 1))
        p0 = _expected_probabilities(part_lin, part_high, _switched(part_columns, k, 0))
        return {measure: p1[measure] - p0[measure] for measure in BINARY_MEASURES}

    out: dict[str, Any] = {}
    for k, technique in enumerate(TECHNIQUES):
        differences = _by_blocks(POPULATION_N, functools.partial(effects, k=k))
        e = np.ascontiguousarray(propensity[:, k])
        measures: dict[str, Any] = {}
        for measure in BINARY_MEASURES:
            diff = differences[measure]
            if measure == "high_level_conviction":
                measures[measure] = _population_block(diff[eligible], e[eligible], *eligible_groups)
            else:
                measures[measure] = _population_block(diff, e, *groups)
        measures["incremental_cost"] = _population_block(costs[:, k], e, *groups)
        for harm in HARM_MEASURES:
            measures[harm] = _harm_truth(params, harm, k)
        out[technique] = measures
    return out


def _population_block(
    diff: np.ndarray, e: np.ndarray, offence: np.ndarray, structure: np.ndarray
) -> dict[str, Any]:
    return {
        "ate": _mean(diff),
        "att": _mean(diff, e),
        "by_offence": _group_means(diff, offence, OFFENCES),
        "by_group_structure": _group_means(diff, structure, GROUP_STRUCTURES),
    }


def population_truth(scenario: str = "default") -> dict[str, Any]:
    """Population effects of every technique in a scenario (cached).

    Parameters
    ----------
    scenario
        One of :data:`SCENARIOS`.

    Returns
    -------
    dict
        ``{technique: {measure: {...}}}`` in the layout of ``truth["techniques"]``:
        ``ate``, ``att``, ``by_offence`` and ``by_group_structure`` for risk
        differences and ``incremental_cost``; ``rate_ratio`` and ``exposure`` for harms.

    Notes
    -----
    The expectation over the scenario's covariate distribution, computed on a fixed
    draw of 1,000,000 cases from *expected* probabilities p1(x) − p0(x) (not realised
    outcomes); the ATT weights each case by its propensity. Monte Carlo error of the
    ATEs is about 1e-4. The value is the fixed target for simulation studies; a deep
    copy is returned so callers cannot change the cache.
    """
    return copy.deepcopy(_population_truth_cached(_scenario(scenario)))


def _sample_effects(
    diff: np.ndarray,
    treated: np.ndarray,
    observed: np.ndarray,
    offence: np.ndarray,
    structure: np.ndarray,
) -> dict[str, Any]:
    """Sample ATE, ATT, naive contrast and subgroup ATEs of one measure.

    ``diff`` is each case's potential-outcome difference, ``observed`` its observed
    outcome and ``treated`` its technique indicator.
    """
    n_treated = np.count_nonzero(treated)
    if 0 < n_treated < len(treated):
        naive = observed[treated].mean() - observed[~treated].mean()
    else:
        naive = float("nan")
    return {
        "ate": _mean(diff),
        "att": _mean(diff[treated]) if n_treated else None,
        "naive": _clean(naive),
        "by_offence": _group_means(diff, offence, OFFENCES),
        "by_group_structure": _group_means(diff, structure, GROUP_STRUCTURES),
    }


def _binary_sample_effects(
    y1: np.ndarray,
    y0: np.ndarray,
    treated: np.ndarray,
    observed: np.ndarray,
    cells: np.ndarray,
    *,
    keep: np.ndarray | None = None,
) -> dict[str, Any]:
    """:func:`_sample_effects` of a binary measure (bool arrays), among ``keep`` cases.

    ``cells`` numbers each case's offence × group structure cell
    (``offence * len(GROUP_STRUCTURES) + structure``). Counts replace means of selected
    rows: sums of 0/1 differences are whole numbers, exact in float64 in any order, so
    every value has the same bits as :func:`_sample_effects` on ``(y1 - y0)[keep]`` as
    floats, at a fraction of the cost (selecting rows of 10⁶ cases takes milliseconds,
    counting them microseconds).
    """
    gained, lost = y1 & ~y0, y0 & ~y1
    control = ~treated
    if keep is not None:
        gained, lost = gained & keep, lost & keep
        treated, control = treated & keep, control & keep
    n_kept = len(y1) if keep is None else np.count_nonzero(keep)
    n_treated, n_control = np.count_nonzero(treated), np.count_nonzero(control)

    def mean_over(cases: np.ndarray | None, n: int) -> float | None:
        if n == 0:
            return None
        if cases is None:
            total = np.count_nonzero(gained) - np.count_nonzero(lost)
        else:
            total = np.count_nonzero(gained & cases) - np.count_nonzero(lost & cases)
        return _clean(np.float64(total) / n)

    if n_treated and n_control:
        treated_mean = np.float64(np.count_nonzero(observed & treated)) / n_treated
        control_mean = np.float64(np.count_nonzero(observed & control)) / n_control
        naive = treated_mean - control_mean
    else:
        naive = float("nan")
    shape = (len(OFFENCES), len(GROUP_STRUCTURES))
    diff = gained.view(np.int8) - lost.view(np.int8)
    totals = np.bincount(cells, weights=diff, minlength=shape[0] * shape[1]).reshape(shape)
    sizes = np.bincount(cells if keep is None else cells[keep], minlength=totals.size)
    sizes = sizes.reshape(shape)
    return {
        "ate": mean_over(None, n_kept),
        "att": mean_over(treated, n_treated),
        "naive": _clean(naive),
        "by_offence": _ratios(totals.sum(axis=1), sizes.sum(axis=1), OFFENCES),
        "by_group_structure": _ratios(totals.sum(axis=0), sizes.sum(axis=0), GROUP_STRUCTURES),
    }


def _truth(
    *,
    scenario: str,
    seed: int,
    n: int,
    cov: _Covariates,
    treated: np.ndarray,
    po: pd.DataFrame,
    frame: pd.DataFrame,
    population: dict[str, Any],
) -> dict[str, Any]:
    """truth.json: sample effects from the potential outcomes, naive contrasts from the file.

    Binary measures are counted (:func:`_binary_sample_effects`), the cost measure
    averaged (:func:`_sample_effects`); both give the bits of plain float means.
    """
    offence, structure = cov.offence, cov.structure
    eligible = cov.has_high_level
    observed = {
        "conviction": frame["convicted"].to_numpy() >= 1,
        "high_level_conviction": frame["high_level_convicted"].to_numpy() >= 1,
        "group_disrupted": (frame["group_disrupted"] == "true").to_numpy(dtype=bool),
        "evidence_excluded": (frame["evidence_excluded"] == "true").to_numpy(dtype=bool),
        "incremental_cost": frame["cost_total"].to_numpy().astype(np.float64),
    }
    exposures = {
        column: frame[column].to_numpy().astype(np.float64) / unit
        for column, unit in set(HARM_EXPOSURE.values())
    }
    cells = offence * len(GROUP_STRUCTURES) + structure
    techniques: dict[str, Any] = {}
    for k, technique in enumerate(TECHNIQUES):
        t = np.ascontiguousarray(treated[:, k])
        measures: dict[str, Any] = {}
        for measure in (*BINARY_MEASURES, "incremental_cost"):
            column = "cost_total" if measure == "incremental_cost" else measure
            y1 = po[f"{column}__{technique}__1"].to_numpy()
            y0 = po[f"{column}__{technique}__0"].to_numpy()
            if measure == "incremental_cost":
                sample = _sample_effects(y1 - y0, t, observed[measure], offence, structure)
            else:
                keep = eligible if measure == "high_level_conviction" else None
                sample = _binary_sample_effects(y1, y0, t, observed[measure], cells, keep=keep)
            pop = population[technique][measure]
            measures[measure] = {
                "ate": pop["ate"],
                "att": pop["att"],
                "ate_sample": sample["ate"],
                "att_sample": sample["att"],
                "naive": sample["naive"],
                "by_offence": {
                    o: {"ate": pop["by_offence"][o], "ate_sample": sample["by_offence"][o]}
                    for o in OFFENCES
                },
                "by_group_structure": {
                    s: {
                        "ate": pop["by_group_structure"][s],
                        "ate_sample": sample["by_group_structure"][s],
                    }
                    for s in GROUP_STRUCTURES
                },
            }
        # Exposure sums are not whole numbers, so they are summed as before (same order
        # of addition); count sums are exact in any order.
        exposure_sums = {
            column: (exposure[t].sum(), exposure[~t].sum())
            for column, exposure in exposures.items()
        }
        for harm in HARM_MEASURES:
            exposure_column, _ = HARM_EXPOSURE[harm]
            counts = frame[harm].to_numpy()
            count_treated = np.float64(counts @ t)
            count_control = np.float64(counts.sum()) - count_treated
            exposure_treated, exposure_control = exposure_sums[exposure_column]
            with np.errstate(invalid="ignore", divide="ignore"):
                naive_rr = (count_treated / exposure_treated) / (count_control / exposure_control)
            measures[harm] = {**population[technique][harm], "naive": _clean(naive_rr)}
        techniques[technique] = measures
    return {
        "schema": TRUTH_SCHEMA,
        "scenario": scenario,
        "seed": seed,
        "n": n,
        "definitions": {
            "effect": "technique switched on vs off in every case, other techniques as assigned",
            "conviction": "convicted >= 1",
            "high_level_conviction": "high_level_convicted >= 1, among cases with high_level_targets >= 1",
            "group_disrupted": "group_disrupted is true",
            "evidence_excluded": "evidence_excluded is true",
            "incremental_cost": "mean difference in cost_total (US dollars)",
            "harms": "constant rate ratio per technique; exposure = officer_days / 1000 or duration_days / 365 as log offset",
            "population": f"expectation over the scenario's covariate distribution ({POPULATION_N:,} fixed draws, expected probabilities)",
        },
        "techniques": techniques,
    }
