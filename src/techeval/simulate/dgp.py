"""The case generator: synthetic case records drawn from the structural model.

:func:`generate_cases` draws the covariates, the techniques, the outcomes (each case's
with every technique switched off and on, from the same noise), the costs, the harm
counts and a little harmless missingness, and returns them with their known truth
(:mod:`techeval.simulate.truth`). The equations and parameters it draws from are in
:mod:`techeval.simulate.model`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from techeval.cases.schema import CANONICAL_COLUMNS, GROUP_STRUCTURES, OFFENCES, TECHNIQUES
from techeval.errors import ArgumentError
from techeval.simulate.model import (
    _CD,
    _ES,
    _FAMILY_COST,
    _FAMILY_PER_WITNESS,
    _HARM_BASE_RATE,
    _HARM_DISPERSION,
    _HARM_RATE_RATIO,
    _HIER,
    _INTERCEPT_DAYS_PER_ORDER,
    _INTERCEPTS_PER_DAY,
    _JUR_COST_LEVEL,
    _JUR_ORDER_COST,
    _UC,
    _UC_DAY_COST,
    _UNKNOWN,
    _WITNESS_COST,
    _WITNESS_OFFENDER_SHARE,
    _WITNESS_REOFFENCE,
    _WP,
    BINARY_MEASURES,
    EXTRA_COLUMNS,
    HARM_EXPOSURE,
    JURISDICTIONS,
    _by_blocks,
    _Covariates,
    _draw_covariates,
    _expected_cd_cost,
    _expected_orders,
    _expected_uc_days,
    _expected_uc_expenses,
    _expected_witnesses,
    _linear_predictors,
    _Noise,
    _probabilities,
    _propensities,
    _realise,
    _Scenario,
    _scenario,
    _switched,
    _technique_columns,
)
from techeval.simulate.truth import _no_population, _truth, population_truth


def _gamma(rng: np.random.Generator, mean: np.ndarray, shape: float | np.ndarray) -> np.ndarray:
    return rng.gamma(shape, mean / shape)


# ---- the result -----------------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticCases:
    """Synthetic case records with their known truth.

    Attributes
    ----------
    cases
        Case table in the canonical file format: columns in
        :data:`~techeval.cases.schema.CANONICAL_COLUMNS` order, then the extra covariate
        columns ``threat_level`` and ``transnational``; ``techniques`` is a
        ``;``-separated string (empty for traditional investigation only).
    truth
        JSON-compatible dict, exactly what ``truth.json`` holds (layout in
        ``synthetic_data/README.md``).
    potential_outcomes
        One row per case (same order as ``cases``): the technique indicators, the
        propensities ``propensity_<T>``, ``high_level_eligible`` and for every technique
        T and measure M the columns ``<M>__<T>__0`` and ``<M>__<T>__1`` (T switched off
        and on, other techniques as assigned). M is one of :data:`BINARY_MEASURES` or
        ``cost_total``. Not written to the CSV.
    scenario, seed
        How the data were generated.
    """

    cases: pd.DataFrame
    truth: dict[str, Any]
    potential_outcomes: pd.DataFrame = field(repr=False)
    scenario: str = "default"
    seed: int = 0


def _check_arguments(n: object, seed: object, scenario: str) -> _Scenario:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ArgumentError(
            f"the number of cases must be a whole number ≥ 1, not {n!r}", where="--n"
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ArgumentError(f"the seed must be a whole number ≥ 0, not {seed!r}", where="--seed")
    return _scenario(scenario)


def generate_cases(n: int, *, seed: int, scenario: str = "default") -> SyntheticCases:
    """Generate ``n`` synthetic case records whose true technique effects are known.

    Parameters
    ----------
    n
        Number of cases (≥ 1).
    seed
        Seed for :func:`numpy.random.default_rng`; the same ``n``, ``seed`` and
        ``scenario`` always give the same cases, truth and file bytes.
    scenario
        One of :data:`SCENARIOS`: ``"default"``, ``"no_effect"`` or
        ``"strong_confounding"``.

    Returns
    -------
    SyntheticCases
        ``cases`` (canonical file format), ``truth`` (the truth.json dict) and
        ``potential_outcomes`` (per-case outcomes with each technique off and on).

    Raises
    ------
    ArgumentError
        If ``n`` < 1, ``seed`` is negative or the scenario is unknown.

    Notes
    -----
    The effect of technique T is defined as switching T on versus off in every case,
    keeping the other techniques as actually assigned. Techniques are assigned
    independently given the covariates in the file (jurisdiction, year, offence,
    group_structure, n_suspects, high_level_targets, threat_level, transnational), so
    adjusting for those covariates identifies every effect in ``default``.
    ``high_level_conviction`` (high_level_convicted ≥ 1) is defined only for cases with
    high_level_targets ≥ 1; its truth refers to that subpopulation. Harm effects are
    constant rate ratios with the exposure (officer_days or duration_days) as offset.
    Money is in whole US dollars. Missing values are MCAR and limited to columns that
    are neither covariates, outcomes nor exposures (see ``synthetic_data/README.md``).

    Examples
    --------
    >>> from techeval.simulate import generate_cases
    >>> synthetic = generate_cases(500, seed=1)
    >>> synthetic.cases.shape[0]
    500
    >>> synthetic.truth["techniques"]["undercover"]["conviction"]["ate"] > 0
    True
    """
    params = _check_arguments(n, seed, scenario)
    return _generate(int(n), int(seed), params, population_truth(params.name))


def _generate(
    n: int, seed: int, params: _Scenario, population: dict[str, Any] | None
) -> SyntheticCases:
    """The generator behind :func:`generate_cases` and :func:`generate_regions`."""
    rng_cov, rng_assign, *streams = np.random.default_rng(seed).spawn(6)
    cov = _draw_covariates(rng_cov, n)
    propensity = _propensities(cov, params)
    treated = rng_assign.random((n, 4)) < propensity
    frame, potential = _draw_file(streams, cov, treated, params)
    po = pd.DataFrame(
        {
            **{t: treated[:, k] for k, t in enumerate(TECHNIQUES)},
            **{f"propensity_{t}": propensity[:, k] for k, t in enumerate(TECHNIQUES)},
            "high_level_eligible": cov.has_high_level,
            "offence": _text_column(cov.offence, OFFENCES),
            "group_structure": _text_column(cov.structure, GROUP_STRUCTURES),
            **potential,
        }
    )
    del potential  # po holds a copy; 10⁶ cases: 0.1 GB less held while the truth is made
    truth = _truth(
        scenario=params.name,
        seed=int(seed),
        n=n,
        cov=cov,
        treated=treated,
        po=po,
        frame=frame,
        population=population if population is not None else _no_population(params),
    )
    return SyntheticCases(
        cases=frame, truth=truth, potential_outcomes=po, scenario=params.name, seed=int(seed)
    )


def _draw_file(
    streams: list[np.random.Generator], cov: _Covariates, treated: np.ndarray, params: _Scenario
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The case table and the potential outcomes, given the covariates and techniques.

    Apart from :func:`_generate` so that the arrays drawn on the way (costs, counts,
    harms: a third of a gigabyte at 10⁶ cases) are freed before the potential-outcome
    table and the truth are built. Less memory held means less fresh memory touched,
    which costs more than the arithmetic here.
    """
    rng_outcome, rng_cost, rng_harm, rng_missing = streams
    observed, potential = _draw_outcomes(rng_outcome, cov, treated, params)
    costs = _draw_costs(rng_cost, cov, treated, params)
    for k, technique in enumerate(TECHNIQUES):
        without = costs["cost_total"] - treated[:, k] * costs["component"][:, k]
        potential[f"cost_total__{technique}__0"] = without
        potential[f"cost_total__{technique}__1"] = without + costs["component"][:, k]

    counts = _draw_counts(rng_outcome, cov, observed, treated[:, _WP])
    harms = _draw_harms(rng_harm, cov, treated, params, costs)
    frame = _assemble(rng_missing, cov, treated, observed, counts, costs, harms)
    return frame, potential


def _draw_outcomes(
    rng: np.random.Generator, cov: _Covariates, treated: np.ndarray, params: _Scenario
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Observed binary outcomes, and every case's outcomes with each technique off and on.

    Potential outcomes are keyed ``<measure>__<technique>__<0 or 1>``. The linear
    predictors and noise (0.2 GB at 10⁶ cases) are freed on return, before costs are
    drawn.
    """
    n = len(treated)
    lin = _linear_predictors(cov, params)
    noise = _Noise(*(rng.random(n) for _ in range(4)))
    columns = _technique_columns(treated)

    def outcomes(rows: slice) -> dict[str, np.ndarray]:
        """Observed and potential binary outcomes of the cases in ``rows``."""
        part_lin, part_noise, part_high = lin.rows(rows), noise.rows(rows), cov.has_high_level[rows]
        part_columns = [column[rows] for column in columns]
        realised = _realise(_probabilities(part_lin, part_high, part_columns), part_noise)
        found = {f"observed__{measure}": realised[measure] for measure in BINARY_MEASURES}
        for k, technique in enumerate(TECHNIQUES):
            for value in (0, 1):
                switched = _switched(part_columns, k, value)
                realised = _realise(_probabilities(part_lin, part_high, switched), part_noise)
                for measure in BINARY_MEASURES:
                    found[f"{measure}__{technique}__{value}"] = realised[measure]
        return found

    potential = _by_blocks(n, outcomes)
    observed = {measure: potential.pop(f"observed__{measure}") for measure in BINARY_MEASURES}
    return observed, potential


def _draw_costs(
    rng: np.random.Generator, cov: _Covariates, treated: np.ndarray, scenario: _Scenario
) -> dict[str, np.ndarray]:
    n = len(cov.year)
    # Intercept orders and their cost: each order's cost is gamma (shape 2) around the
    # jurisdiction's average, so the sum over orders is gamma with shape 2·orders.
    orders = 1 + rng.poisson(_expected_orders(cov) - 1.0)
    es_cost = rng.gamma(2.0 * orders, _JUR_ORDER_COST[cov.jurisdiction] / 2.0)
    intercept_days = rng.gamma(3.0 * orders, _INTERCEPT_DAYS_PER_ORDER / 3.0)
    uc_days = _gamma(rng, _expected_uc_days(cov), 2.0)
    uc_cost = _UC_DAY_COST * uc_days + _gamma(rng, _expected_uc_expenses(cov), 1.5)
    cd_cost = _gamma(rng, _expected_cd_cost(cov), 2.0)
    witnesses = 1 + rng.poisson(_expected_witnesses(cov) - 1.0)
    family = rng.poisson(_FAMILY_PER_WITNESS * witnesses)
    wp_cost = (_WITNESS_COST * witnesses + _FAMILY_COST * family) * rng.lognormal(-0.08, 0.4, n)
    # Traditional investigation cost: right-skewed, grows with group size (assumption).
    base_mean = (
        40e3
        * cov.n_suspects**0.6
        * _JUR_COST_LEVEL[cov.jurisdiction]
        * (0.85 + 0.15 * cov.threat_level)
    )
    base = np.round(_gamma(rng, base_mean, 1.5))
    share = 0.05 + 0.15 * rng.random((n, 4))

    if scenario.effect == 0.0:
        # No effect on cost: a technique's recorded cost replaces traditional work of the
        # same value, so cost_total does not depend on the techniques.
        component = np.zeros((n, 4))
        recorded = np.round(share * base[:, None]) * treated
        total = base
    else:
        component = np.round(np.stack([es_cost, uc_cost, cd_cost, wp_cost], axis=1))
        recorded = component * treated
        total = base + recorded.sum(axis=1)

    # Exposures: techniques lengthen investigations (except in no_effect, where nothing
    # about the case depends on the techniques).
    active = treated * (scenario.effect != 0.0)
    base_days = _gamma(rng, 120.0 * cov.n_suspects**0.25 * (0.8 + 0.1 * cov.threat_level), 3.0)
    duration = np.maximum(
        1,
        np.round(
            base_days
            + active[:, _ES] * intercept_days
            + active[:, _UC] * 0.5 * uc_days
            + active[:, _CD] * 20
            + active[:, _WP] * 30
        ),
    )
    team = _gamma(rng, 1.5 + 0.5 * cov.log_suspects, 4.0)
    officer_days = np.maximum(
        1,
        np.round(
            team * base_days
            + active[:, _UC] * 2.0 * uc_days
            + active[:, _ES] * 1.0 * intercept_days
            + active[:, _CD] * 15
        ),
    )
    intercepts = rng.negative_binomial(2.0, 2.0 / (2.0 + _INTERCEPTS_PER_DAY * intercept_days))
    share_incriminating = rng.beta(2.0, 8.0, n)  # mean 0.2
    incriminating = rng.binomial(intercepts, share_incriminating)
    witness_offences = rng.binomial(witnesses, _WITNESS_OFFENDER_SHARE * _WITNESS_REOFFENCE)
    return {
        "component": component,
        "recorded": recorded.astype(np.int64),
        "cost_total": total.astype(np.int64),
        "duration_days": duration.astype(np.int64),
        "officer_days": officer_days.astype(np.int64),
        "intercepts_total": intercepts.astype(np.int64),
        "intercepts_incriminating": incriminating.astype(np.int64),
        "protected_witnesses": witnesses.astype(np.int64),
        "protected_family": family.astype(np.int64),
        "witness_offences": witness_offences.astype(np.int64),
    }


def _draw_counts(
    rng: np.random.Generator,
    cov: _Covariates,
    observed: dict[str, np.ndarray],
    witness_protected: np.ndarray,
) -> dict[str, np.ndarray]:
    """Charged / convicted / high-level convicted, consistent with the binary outcomes."""
    n_suspects = cov.n_suspects
    conviction = observed["conviction"]
    high_level = observed["high_level_conviction"]
    charged_if = 1 + rng.binomial(n_suspects - 1, 0.55)
    charged_if_not = rng.binomial(n_suspects, 0.25)  # charged but acquitted or dismissed
    charged = np.where(conviction, charged_if, charged_if_not)
    # Per-person conviction among the charged: 0.89 where protected witnesses testify
    # (US Marshals Service), 0.7 otherwise (assumption).
    p_convicted = np.where(witness_protected, 0.89, 0.7)
    convicted = np.where(conviction, 1 + rng.binomial(np.maximum(charged - 1, 0), p_convicted), 0)
    cap = np.maximum(np.minimum(convicted, cov.high_level_targets), 1)
    high_level_convicted = np.where(high_level, 1 + rng.binomial(cap - 1, 0.5), 0)
    return {
        "charged": charged.astype(np.int64),
        "convicted": convicted.astype(np.int64),
        "high_level_convicted": high_level_convicted.astype(np.int64),
    }


def _draw_harms(
    rng: np.random.Generator,
    cov: _Covariates,
    treated: np.ndarray,
    scenario: _Scenario,
    costs: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    from threadpoolctl import threadpool_limits

    n = len(cov.year)
    t = treated.astype(np.float64)
    # One BLAS thread for these (n × 4) products: the bits do not depend on the thread
    # count, and idle OpenBLAS threads would spin on the other core afterwards.
    with threadpool_limits(limits=1, user_api="blas"):
        technique_terms = {
            harm: t @ (scenario.effect * np.log(np.asarray(ratios)))
            for harm, ratios in _HARM_RATE_RATIO.items()
        }
    # Case-level log rate: the same severity terms for every harm.
    severity = (
        0.12 * (cov.threat_level - 3.0),
        0.15 * (cov.structure == _HIER),
        0.10 * cov.is_offence("drug_trafficking", "arms_trafficking"),
    )
    out = {}
    for harm, (exposure_column, unit) in HARM_EXPOSURE.items():
        log_rate = math.log(_HARM_BASE_RATE[harm]) + severity[0] + severity[1] + severity[2]
        exposure = costs[exposure_column] / unit
        mean = exposure * np.exp(log_rate + technique_terms[harm])
        frailty = rng.gamma(_HARM_DISPERSION, 1.0 / _HARM_DISPERSION, n)
        out[harm] = rng.poisson(mean * frailty).astype(np.int64)
    return out


def _text_column(codes: np.ndarray, labels: tuple[str, ...] | list[str]) -> pd.Series:
    """``labels[codes]`` as a pandas string column, built in Arrow (fast at 10⁶ rows)."""
    import pyarrow as pa

    dictionary = pa.DictionaryArray.from_arrays(
        pa.array(codes.astype(np.int32)), pa.array(list(labels))
    )
    return pd.Series(
        dictionary.cast(pa.large_string()), dtype=pd.StringDtype("pyarrow", na_value=np.nan)
    )


def _case_ids(n: int) -> pd.Series:
    """``C000001``, ``C000002``, … (at least six digits, kept as text)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    digits = pc.utf8_lpad(
        pc.cast(pa.array(np.arange(1, n + 1)), pa.string()), max(6, len(str(n))), "0"
    )
    ids = pc.binary_join_element_wise("C", digits, "")
    return pd.Series(ids, dtype=pd.StringDtype("pyarrow", na_value=np.nan))


def _techniques_text(treated: np.ndarray) -> pd.Series:
    """The ``techniques`` column: canonical names in canonical order, ``;``-separated."""
    code = treated.astype(np.int64) @ (1 << np.arange(4))
    labels = [";".join(t for k, t in enumerate(TECHNIQUES) if c >> k & 1) for c in range(16)]
    return _text_column(code, labels)


def _assemble(
    rng: np.random.Generator,
    cov: _Covariates,
    treated: np.ndarray,
    observed: dict[str, np.ndarray],
    counts: dict[str, np.ndarray],
    costs: dict[str, np.ndarray],
    harms: dict[str, np.ndarray],
) -> pd.DataFrame:
    """The case table in the canonical file format, with a little MCAR missingness.

    Only cells that are neither covariates, outcomes nor exposures go missing, so
    missingness costs precision but never biases an estimate. ``group_structure`` is
    left empty only where it is ``unknown`` (a reader fills empty cells with
    ``unknown``, so nothing is lost).
    """
    n = len(cov.year)
    es, wp = treated[:, _ES], treated[:, _WP]
    drug_or_laundering = cov.is_offence("drug_trafficking", "money_laundering")
    seized_mean = 50e3 * (1.0 + 3.0 * drug_or_laundering) * cov.n_suspects**0.5  # assumption
    seized = np.where(
        rng.random(n) < 0.35, 0.0, np.round(rng.lognormal(np.log(seized_mean) - 0.5, 1.0))
    ).astype(np.int64)
    blank_unknown = rng.random(n) < 0.5
    seized_unrecorded = rng.random(n) < 0.05
    intercept_log_lost = es & (rng.random(n) < 0.03)  # intercept logs not kept
    family_unrecorded = wp & (rng.random(n) < 0.05)

    def with_missing(values: np.ndarray, missing: np.ndarray) -> pd.arrays.IntegerArray:
        return pd.arrays.IntegerArray(values.astype(np.int64), missing.copy())

    structure_labels = (*GROUP_STRUCTURES, "")
    structure = np.where(
        (cov.structure == _UNKNOWN) & blank_unknown, len(GROUP_STRUCTURES), cov.structure
    )
    yes_no = ("false", "true")
    columns: dict[str, Any] = {
        "case_id": _case_ids(n),
        "jurisdiction": _text_column(cov.jurisdiction, JURISDICTIONS),
        "year": cov.year,
        "offence": _text_column(cov.offence, OFFENCES),
        "group_structure": _text_column(structure, structure_labels),
        "n_suspects": cov.n_suspects,
        "high_level_targets": cov.high_level_targets,
        "techniques": _techniques_text(treated),
        "cost_total": costs["cost_total"],
        **{f"cost_{t}": costs["recorded"][:, k] for k, t in enumerate(TECHNIQUES)},
        "officer_days": costs["officer_days"],
        "duration_days": costs["duration_days"],
        **counts,
        "group_disrupted": _text_column(observed["group_disrupted"].astype(np.int64), yes_no),
        "assets_seized": with_missing(seized, seized_unrecorded),
        **harms,
        "intercepts_total": with_missing(costs["intercepts_total"] * es, intercept_log_lost),
        "intercepts_incriminating": with_missing(
            costs["intercepts_incriminating"] * es, intercept_log_lost
        ),
        "evidence_excluded": _text_column(observed["evidence_excluded"].astype(np.int64), yes_no),
        "protected_witnesses": costs["protected_witnesses"] * wp,
        "protected_family": with_missing(costs["protected_family"] * wp, family_unrecorded),
        "witness_offences": costs["witness_offences"] * wp,
        "threat_level": cov.threat_level,
        "transnational": cov.transnational.astype(np.int64),
    }
    return pd.DataFrame({name: columns[name] for name in (*CANONICAL_COLUMNS, *EXTRA_COLUMNS)})
