"""Synthetic case records with known truth.

Real case files are confidential, so evaluators learn techeval, developers test it and
researchers validate estimators on synthetic cases whose true effects are known. This
module is the project's ground truth: every case carries its potential outcomes with and
without each technique (same noise draws), so the exact sample effects are known as well
as the population effects.

The data-generating process (DGP) in brief — ``synthetic_data/README.md`` has the long
version with sources:

1. Pre-investigation covariates: jurisdiction (10), year (2010–2019, growing caseload),
   offence, group structure, heavy-tailed ``n_suspects``, ``high_level_targets`` and two
   extra severity signals written as extra columns: ``threat_level`` (1–5, the
   pre-investigation threat assessment) and ``transnational`` (0/1).
2. Techniques are assigned independently of one another *given the covariates*
   (logistic propensities; confounding by indication). They co-occur because they share
   drivers. Everything that drives assignment and outcomes is in the file, so the
   default scenario has no unmeasured confounding.
3. Outcomes come from latent logistic models whose covariate terms push the other way
   from assignment (hard, severe cases get the techniques and convict less often), with
   technique effects that differ by offence and group structure. Potential outcomes use
   one uniform draw per case and outcome (a monotone coupling).
4. Costs are a gamma-distributed traditional cost plus technique components; harms are
   negative-binomial counts with an exposure and a constant rate ratio per technique.

Public API: :func:`generate_cases`, :func:`write_cases`, :func:`population_truth`,
:data:`SCENARIOS`, :class:`SyntheticCases`.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from techeval.cases.schema import (
    CANONICAL_COLUMNS,
    DEFAULT_COVARIATES,
    GROUP_STRUCTURES,
    OFFENCES,
    TECHNIQUES,
)
from techeval.errors import ArgumentError

__all__ = [
    "SYNTHETIC_COVARIATES",
    "BINARY_MEASURES",
    "HARM_MEASURES",
    "REGION_EFFECTS",
    "SCENARIOS",
    "TRUTH_SCHEMA",
    "SyntheticCases",
    "generate_cases",
    "generate_regions",
    "population_truth",
    "write_cases",
    "write_regions",
]

TRUTH_SCHEMA = "techeval.truth/1"

#: Everything an adjusted estimator needs on the synthetic data: the default adjustment
#: set plus the file's extra pre-investigation severity signals, which are confounders.
SYNTHETIC_COVARIATES: tuple[str, ...] = (*DEFAULT_COVARIATES, "threat_level", "transnational")

#: Scenario name → one-line description.
SCENARIOS: dict[str, str] = {
    "default": "realistic effects, confounding by indication, all confounders in the file, good overlap",
    "no_effect": "every true effect is zero (risk differences 0, incremental cost 0, rate ratios 1)",
    "strong_confounding": "the default effects with much stronger confounding and weaker overlap",
}

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

#: Risk-difference measures (binary outcomes) in truth.json.
BINARY_MEASURES: tuple[str, ...] = (
    "conviction",
    "high_level_conviction",
    "group_disrupted",
    "evidence_excluded",
)

#: Harm counts, their exposure column, and the unit the exposure is divided by.
HARM_EXPOSURE: dict[str, tuple[str, float]] = {
    "officer_injuries": ("officer_days", 1000.0),
    "undercover_compromised": ("officer_days", 1000.0),
    "third_party_harms": ("duration_days", 365.0),
    "complaints_upheld": ("duration_days", 365.0),
    "non_suspects_intercepted": ("duration_days", 365.0),
}
HARM_MEASURES: tuple[str, ...] = tuple(HARM_EXPOSURE)

#: Extra covariate columns written after the canonical ones (pre-investigation signals).
EXTRA_COLUMNS: tuple[str, ...] = ("threat_level", "transnational")

# Population truth is the expectation over the scenario's covariate distribution,
# computed on one large fixed draw (Monte Carlo error of the ATEs ≈ 1e-4 or less).
POPULATION_N = 1_000_000
POPULATION_SEED = 987_654_321

_ES, _UC, _CD, _WP = range(4)
_N_OFF = len(OFFENCES)
_OFF = {name: i for i, name in enumerate(OFFENCES)}
_HIER, _NETWORK, _LOOSE, _UNKNOWN = (GROUP_STRUCTURES.index(s) for s in GROUP_STRUCTURES)


def _by_offence(default: float = 0.0, **values: float) -> np.ndarray:
    """A coefficient per offence (in :data:`OFFENCES` order), ``default`` elsewhere."""
    out = np.full(_N_OFF, default)
    for name, value in values.items():
        out[_OFF[name]] = value
    return out


# ---- fixed world: jurisdictions, years, offences --------------------------------------
# All coefficients below are assumptions chosen to give plausible rates and clear
# confounding; numbers taken from published sources say so.

JURISDICTIONS: tuple[str, ...] = tuple(f"J{i:02d}" for i in range(1, 11))
_JUR_WEIGHT = np.array([0.17, 0.14, 0.12, 0.11, 0.10, 0.09, 0.08, 0.07, 0.06, 0.06])
# Legal regime for covert techniques: + permissive, − strict privacy protection
# (background paper para 50: countries differ greatly in how they treat privacy).
_JUR_REGIME = np.array([0.5, -0.6, 0.2, 0.0, -0.3, 0.6, -0.8, 0.3, 0.1, -0.2])
# Court/prosecution conviction climate; permissive regimes convict a little less often
# here, so jurisdiction confounds the naive comparison too.
_JUR_CONVICTION = np.array([-0.25, 0.3, -0.1, 0.0, 0.2, -0.3, 0.35, -0.15, 0.05, 0.1])
# Average cost of one intercept order: between the state ($75,000) and federal ($95,000)
# averages reported in press summaries of the US Courts Wiretap Report 2019.
_JUR_ORDER_COST = np.array([75e3, 95e3, 80e3, 85e3, 75e3, 90e3, 95e3, 78e3, 82e3, 88e3])
# Relative price level of traditional investigation work (assumption).
_JUR_COST_LEVEL = np.array([1.0, 1.2, 0.9, 1.1, 0.8, 1.0, 1.3, 0.85, 0.95, 1.05])

YEARS: tuple[int, ...] = tuple(range(2010, 2020))
_YEAR_WEIGHT = 1.0 + 0.06 * np.arange(len(YEARS))  # growing caseload (assumption)

_OFFENCE_WEIGHT = np.array([0.30, 0.07, 0.07, 0.05, 0.12, 0.14, 0.05, 0.06, 0.08, 0.06])
# P(hierarchical, network, loose, unknown | offence)
_STRUCTURE_GIVEN_OFFENCE = np.array(
    [
        [0.40, 0.35, 0.17, 0.08],  # drug_trafficking
        [0.30, 0.40, 0.22, 0.08],  # human_trafficking
        [0.25, 0.45, 0.22, 0.08],  # migrant_smuggling
        [0.42, 0.33, 0.17, 0.08],  # arms_trafficking
        [0.25, 0.45, 0.22, 0.08],  # money_laundering
        [0.15, 0.40, 0.37, 0.08],  # fraud
        [0.25, 0.40, 0.27, 0.08],  # counterfeiting
        [0.30, 0.40, 0.22, 0.08],  # corruption
        [0.10, 0.50, 0.32, 0.08],  # cybercrime
        [0.15, 0.30, 0.45, 0.10],  # other
    ]
)
_TRANSNATIONAL = np.array([0.55, 0.60, 0.80, 0.60, 0.50, 0.25, 0.40, 0.15, 0.50, 0.15])
_SUSPECT_LOG_MEAN = np.array([1.9, 1.7, 1.1, 1.3])  # by structure: lognormal location
_SUSPECT_OFFENCE_SHIFT = _by_offence(
    0.0, drug_trafficking=0.2, fraud=-0.2, cybercrime=-0.1, other=-0.3
)
_THREAT_OFFENCE = _by_offence(
    0.0,
    drug_trafficking=0.3,
    arms_trafficking=0.5,
    human_trafficking=0.4,
    corruption=0.2,
    fraud=-0.3,
)
_MAX_SUSPECTS = 400


@dataclass(frozen=True)
class _Scenario:
    name: str
    #: multiplies the covariate terms of the technique propensities
    assignment_confounding: float = 1.0
    #: multiplies the severity terms of the outcome models
    outcome_confounding: float = 1.0
    #: multiplies every technique effect (0 → no effect anywhere)
    effect: float = 1.0
    #: propensities are kept within [clip, 1 − clip]
    clip: float = 0.04


_SCENARIO_PARAMS: dict[str, _Scenario] = {
    "default": _Scenario("default"),
    "no_effect": _Scenario("no_effect", effect=0.0),
    "strong_confounding": _Scenario(
        "strong_confounding", assignment_confounding=2.2, outcome_confounding=1.8, clip=0.005
    ),
}


def _scenario(name: str) -> _Scenario:
    if name not in _SCENARIO_PARAMS:
        raise ArgumentError(
            f"unknown scenario {name!r}",
            where="--scenario",
            hint="Use one of: " + ", ".join(f"{k} ({v})" for k, v in SCENARIOS.items()),
        )
    return _SCENARIO_PARAMS[name]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))``, the same bits, in one buffer instead of three."""
    out = np.negative(x)
    np.exp(out, out=out)
    out += 1.0
    return np.divide(1.0, out, out=out)


# ---- step 1: covariates ---------------------------------------------------------------


@dataclass(frozen=True)
class _Covariates:
    jurisdiction: np.ndarray  # int index into JURISDICTIONS
    year: np.ndarray
    offence: np.ndarray  # int index into OFFENCES
    structure: np.ndarray  # int index into GROUP_STRUCTURES
    n_suspects: np.ndarray
    high_level_targets: np.ndarray
    threat_level: np.ndarray  # 1..5
    transnational: np.ndarray  # bool

    # Derived columns are computed once per draw: the generator asks for them many
    # times, and at 10⁶ cases each recomputation costs milliseconds.
    @functools.cached_property
    def log_suspects(self) -> np.ndarray:
        return np.log(self.n_suspects)

    @functools.cached_property
    def has_high_level(self) -> np.ndarray:
        return self.high_level_targets > 0

    def is_offence(self, *names: str) -> np.ndarray:
        chosen = np.zeros(_N_OFF, dtype=bool)
        chosen[[_OFF[n] for n in names]] = True
        return chosen[self.offence]


def _categorical(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    cumulative = np.cumsum(weights / weights.sum())
    return np.minimum(np.searchsorted(cumulative, rng.random(n), side="right"), len(weights) - 1)


def _draw_covariates(rng: np.random.Generator, n: int) -> _Covariates:
    jurisdiction = _categorical(rng, _JUR_WEIGHT, n)
    year = np.asarray(YEARS)[_categorical(rng, _YEAR_WEIGHT, n)]
    offence = _categorical(rng, _OFFENCE_WEIGHT, n)
    cumulative = np.cumsum(_STRUCTURE_GIVEN_OFFENCE, axis=1)[offence]
    structure = np.minimum((rng.random(n)[:, None] > cumulative).sum(axis=1), 3)
    transnational = rng.random(n) < _TRANSNATIONAL[offence]
    # Heavy-tailed group size: discretised lognormal (sd 0.95 on the log scale).
    log_size = (
        _SUSPECT_LOG_MEAN[structure]
        + _SUSPECT_OFFENCE_SHIFT[offence]
        + 0.95 * rng.standard_normal(n)
    )
    n_suspects = np.clip(np.ceil(np.exp(log_size)), 1, _MAX_SUSPECTS).astype(np.int64)
    log_suspects = np.log(n_suspects)
    hier = structure == _HIER
    p_high = _sigmoid(-1.6 + 1.2 * hier + 0.6 * (structure == _NETWORK) + 0.35 * log_suspects)
    has_high = rng.random(n) < p_high
    extra_high = rng.binomial(n_suspects - 1, 0.04)
    high_level_targets = np.where(has_high, np.minimum(1 + extra_high, n_suspects), 0).astype(
        np.int64
    )
    latent_threat = (
        0.5 * hier
        + 0.3 * (structure == _NETWORK)
        + 0.35 * log_suspects
        + 0.5 * has_high
        + 0.4 * transnational
        + _THREAT_OFFENCE[offence]
        + 0.8 * rng.standard_normal(n)
    )
    threat_level = (1 + np.searchsorted([0.3, 0.9, 1.5, 2.2], latent_threat)).astype(np.int64)
    return _Covariates(
        jurisdiction=jurisdiction,
        year=year.astype(np.int64),
        offence=offence,
        structure=structure,
        n_suspects=n_suspects,
        high_level_targets=high_level_targets,
        threat_level=threat_level,
        transnational=transnational,
    )


# ---- step 2: technique assignment (confounding by indication) -------------------------

_PROPENSITY_INTERCEPT = np.array([-1.55, -1.95, -3.0, -3.0])
_PROPENSITY_OFFENCE = np.stack(
    [
        _by_offence(
            0.0,
            drug_trafficking=0.6,
            arms_trafficking=0.5,
            corruption=0.3,
            cybercrime=0.4,
            fraud=-0.3,
            money_laundering=0.2,
        ),
        _by_offence(
            0.0,
            drug_trafficking=0.7,
            arms_trafficking=0.6,
            counterfeiting=0.3,
            corruption=0.4,
            human_trafficking=0.3,
            fraud=-0.4,
            cybercrime=-0.3,
        ),
        # controlled delivery: mostly drug and smuggling cases
        _by_offence(
            -1.0,
            drug_trafficking=2.0,
            migrant_smuggling=1.0,
            arms_trafficking=1.1,
            human_trafficking=0.3,
            counterfeiting=0.5,
        ),
        _by_offence(
            0.0,
            human_trafficking=0.5,
            corruption=0.4,
            drug_trafficking=0.3,
            arms_trafficking=0.2,
            fraud=-0.3,
            cybercrime=-0.4,
        ),
    ]
)


def _propensities(cov: _Covariates, scenario: _Scenario) -> np.ndarray:
    """P(technique | covariates), shape (n, 4); techniques independent given covariates."""
    hier = cov.structure == _HIER
    network = cov.structure == _NETWORK
    high = cov.has_high_level
    threat = cov.threat_level - 3.0
    log_n = cov.log_suspects - 1.8
    year = cov.year - 2014.5
    regime = _JUR_REGIME[cov.jurisdiction]
    terms = np.stack(
        [
            0.45 * log_n
            + 0.6 * hier
            + 0.3 * network
            + 0.6 * high
            + 0.25 * threat
            + 0.8 * regime
            + 0.08 * year,
            0.30 * log_n
            + 0.4 * hier
            + 0.2 * network
            + 0.5 * high
            + 0.25 * threat
            + 0.5 * regime
            + 0.03 * year,
            0.15 * log_n + 0.2 * hier + 0.8 * cov.transnational + 0.15 * threat + 0.3 * regime,
            0.20 * log_n + 0.3 * hier + 1.3 * high + 0.3 * threat,
        ],
        axis=1,
    )
    terms += _PROPENSITY_OFFENCE.T[cov.offence]
    logit = _PROPENSITY_INTERCEPT + scenario.assignment_confounding * terms
    return np.clip(_sigmoid(logit), scenario.clip, 1.0 - scenario.clip)


# ---- step 3: outcome models -----------------------------------------------------------

_CONVICTION_OFFENCE = _by_offence(
    0.0,
    drug_trafficking=0.3,
    fraud=0.3,
    cybercrime=-0.4,
    corruption=-0.5,
    money_laundering=-0.3,
    human_trafficking=-0.2,
)
# Rate ratios of the harms, per technique (ES, UC, CD, WP) — assumptions, constant across
# cases by design so that a Poisson GLM with log-exposure offset estimates them exactly.
_HARM_RATE_RATIO: dict[str, tuple[float, float, float, float]] = {
    "officer_injuries": (1.0, 2.5, 1.4, 1.0),  # undercover officers at great danger (para 51)
    "undercover_compromised": (1.0, 8.0, 1.3, 1.5),  # identity exposure (para 51)
    "third_party_harms": (1.0, 1.6, 1.8, 1.2),  # drugs/people let run in controlled deliveries
    "complaints_upheld": (2.0, 1.5, 1.0, 1.0),  # privacy complaints about interception
    "non_suspects_intercepted": (25.0, 2.0, 1.0, 1.0),  # without ES only body wires, seized phones
}
# Baseline rate per exposure unit (1,000 officer-days or one case-year) — assumptions.
_HARM_BASE_RATE: dict[str, float] = {
    "officer_injuries": 0.6,
    "undercover_compromised": 0.05,
    "third_party_harms": 0.12,
    "complaints_upheld": 0.04,
    "non_suspects_intercepted": 0.4,
}
_HARM_DISPERSION = 2.0  # gamma frailty shape: negative binomial counts, variance μ + μ²/2


@dataclass(frozen=True)
class _Linear:
    """Case-level linear predictors that do not depend on the techniques."""

    conviction: np.ndarray
    high_level: np.ndarray
    disrupted: np.ndarray
    excluded: np.ndarray
    #: technique effects on each logit scale, one per technique in :data:`TECHNIQUES`
    #: order: an array over cases, or a number where the effect is the same in all
    tau_conviction: tuple[np.ndarray | float, ...]
    tau_high_level: tuple[np.ndarray | float, ...]
    tau_disrupted: tuple[np.ndarray | float, ...]
    tau_excluded: tuple[np.ndarray | float, ...]
    #: interaction of ES and UC on the conviction logit (diminishing returns)
    es_uc_interaction: float

    def rows(self, rows: slice) -> _Linear:
        """The predictors of the cases in ``rows`` (views, not copies)."""

        def part(effects: tuple[np.ndarray | float, ...]) -> tuple[np.ndarray | float, ...]:
            return tuple(e[rows] if isinstance(e, np.ndarray) else e for e in effects)

        return dataclasses.replace(
            self,
            conviction=self.conviction[rows],
            high_level=self.high_level[rows],
            disrupted=self.disrupted[rows],
            excluded=self.excluded[rows],
            tau_conviction=part(self.tau_conviction),
            tau_high_level=part(self.tau_high_level),
            tau_disrupted=part(self.tau_disrupted),
            tau_excluded=part(self.tau_excluded),
        )


def _linear_predictors(cov: _Covariates, scenario: _Scenario) -> _Linear:
    hier = cov.structure == _HIER
    network = cov.structure == _NETWORK
    loose = cov.structure == _LOOSE
    high = cov.has_high_level
    threat = cov.threat_level - 3.0
    log_n = cov.log_suspects - 1.8
    drug = cov.is_offence("drug_trafficking")
    drug_arms = cov.is_offence("drug_trafficking", "arms_trafficking")
    sev = scenario.outcome_confounding
    eff = scenario.effect

    def effects(*by_technique: np.ndarray | float) -> tuple[np.ndarray | float, ...]:
        return tuple(eff * tau for tau in by_technique)

    # Hard cases (severe, hierarchical, with high-level targets) convict less often —
    # the same signals that attract special techniques: confounding by indication.
    conviction = (
        0.35
        + _JUR_CONVICTION[cov.jurisdiction]
        + _CONVICTION_OFFENCE[cov.offence]
        + 0.03 * (cov.year - 2014.5)
        + sev * (-0.45 * hier - 0.25 * network - 0.35 * high - 0.30 * threat + 0.10 * log_n)
    )
    tau_conviction = effects(
        # ES helps most against hierarchical groups, least against loose ones
        0.15 + 0.55 * hier + 0.30 * network - 0.10 * loose + 0.20 * drug_arms,
        0.25
        + 0.20
        * cov.is_offence("drug_trafficking", "arms_trafficking", "counterfeiting", "corruption"),
        # controlled delivery works in drug cases and little elsewhere
        0.03 + 0.75 * drug + 0.30 * cov.is_offence("migrant_smuggling", "arms_trafficking"),
        0.25 + 0.25 * high,
    )
    # P(high-level conviction | conviction), only for cases with high-level targets
    high_level = (
        -0.2
        - 0.35 * sev * threat
        - 0.3 * sev * hier
        + 0.3 * np.log(np.maximum(cov.high_level_targets, 1))
    )
    tau_high_level = effects(
        0.10 + 0.45 * hier + 0.15 * network,
        0.25,
        0.20 * drug,
        # witness testimony is what convicts high-level figures (para 43)
        0.95,
    )
    disrupted = -1.5 + 0.3 * loose - 0.25 * sev * hier - 0.1 * sev * threat
    tau_disrupted = effects(0.20 + 0.10 * hier, 0.10, 0.15 * drug, 0.10)
    regime = _JUR_REGIME[cov.jurisdiction]
    excluded = -3.3 - 0.6 * regime + 0.1 * threat
    tau_excluded = effects(0.9 - 0.5 * regime, 0.5, 0.3, 0.1)
    return _Linear(
        conviction=conviction,
        high_level=high_level,
        disrupted=disrupted,
        excluded=excluded,
        tau_conviction=tau_conviction,
        tau_high_level=tau_high_level,
        tau_disrupted=tau_disrupted,
        tau_excluded=tau_excluded,
        es_uc_interaction=-0.15 * eff,
    )


# Effect of convictions on disruption (logit scale): convicting leaders matters most
# (background paper para 50: the effect of those convictions on the groups).
_DISRUPT_IF_CONVICTED = 0.8
_DISRUPT_IF_HIGH_LEVEL = 1.7


def _technique_sum(
    tau: tuple[np.ndarray | float, ...], treated: list[np.ndarray | float]
) -> np.ndarray:
    """Σ_k tau[k]·treated[k], added in technique order.

    The same bits as ``(tau * t).sum(axis=1)`` for (n, 4) matrices (numpy adds a row of
    four left to right), without the slow reduction over short rows or the matrices.
    """
    total = tau[0] * treated[0]
    for k in range(1, len(treated)):
        total += tau[k] * treated[k]
    return total


def _probabilities(
    lin: _Linear, has_high_level: np.ndarray, treated: list[np.ndarray | float]
) -> dict[str, np.ndarray]:
    """What :func:`_realise` needs, per case, for the technique indicators ``treated``.

    ``treated`` holds per technique, in :data:`TECHNIQUES` order, a 0/1 float array
    over cases or one number for all cases; ``has_high_level`` marks the cases with
    high-level targets.
    """
    p_conv = _sigmoid(
        lin.conviction
        + _technique_sum(lin.tau_conviction, treated)
        + lin.es_uc_interaction * treated[_ES] * treated[_UC]
    )
    p_high_given_conv = np.where(
        has_high_level,
        _sigmoid(lin.high_level + _technique_sum(lin.tau_high_level, treated)),
        0.0,
    )
    return {
        "conviction": p_conv,
        "high_level_given_conviction": p_high_given_conv,
        "disrupt_offset": lin.disrupted + _technique_sum(lin.tau_disrupted, treated),
        "evidence_excluded": _sigmoid(lin.excluded + _technique_sum(lin.tau_excluded, treated)),
    }


def _expected_probabilities(
    lin: _Linear, has_high_level: np.ndarray, treated: list[np.ndarray | float]
) -> dict[str, np.ndarray]:
    """Expected P(outcome) per case, for every measure in :data:`BINARY_MEASURES`."""
    probs = _probabilities(lin, has_high_level, treated)
    p_conv, disrupt_offset = probs["conviction"], probs["disrupt_offset"]
    p_high = p_conv * probs["high_level_given_conviction"]
    probs["high_level_conviction"] = p_high
    probs["group_disrupted"] = (
        p_high * _sigmoid(disrupt_offset + _DISRUPT_IF_HIGH_LEVEL)
        + (p_conv - p_high) * _sigmoid(disrupt_offset + _DISRUPT_IF_CONVICTED)
        + (1.0 - p_conv) * _sigmoid(disrupt_offset)
    )
    return probs


def _technique_columns(treated: np.ndarray) -> list[np.ndarray]:
    """The (n, 4) boolean technique matrix as four contiguous 0/1 float columns."""
    return [treated[:, k].astype(np.float64) for k in range(treated.shape[1])]


def _switched(columns: list[np.ndarray], k: int, value: int) -> list[np.ndarray | float]:
    """``columns`` with technique ``k`` switched off (0) or on (1) in every case."""
    return [float(value) if j == k else c for j, c in enumerate(columns)]


#: Rows per block in :func:`_by_blocks`: a block's temporaries (0.5 MB each) stay in
#: the CPU cache and are reused, where whole 10⁶-case temporaries would be fresh memory
#: each time (page faults, which cost more than the arithmetic).
_BLOCK_ROWS = 1 << 16


def _by_blocks(n: int, compute: Callable[[slice], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Evaluate ``compute(rows)`` on consecutive blocks of ``n`` rows and join its arrays.

    Only for element-wise computations, which give the same bits block by block.
    """
    out: dict[str, np.ndarray] = {}
    for start in range(0, n, _BLOCK_ROWS):
        rows = slice(start, min(start + _BLOCK_ROWS, n))
        for name, values in compute(rows).items():
            if name not in out:
                out[name] = np.empty(n, dtype=values.dtype)
            out[name][rows] = values
    return out


@dataclass(frozen=True)
class _Noise:
    """One uniform per case and outcome, shared by all potential outcomes."""

    conviction: np.ndarray
    high_level: np.ndarray
    disrupted: np.ndarray
    excluded: np.ndarray

    def rows(self, rows: slice) -> _Noise:
        """The draws of the cases in ``rows`` (views, not copies)."""
        return _Noise(
            self.conviction[rows], self.high_level[rows], self.disrupted[rows], self.excluded[rows]
        )


def _realise(probs: dict[str, np.ndarray], noise: _Noise) -> dict[str, np.ndarray]:
    conviction = noise.conviction < probs["conviction"]
    high_level = conviction & (noise.high_level < probs["high_level_given_conviction"])
    disrupt_logit = probs["disrupt_offset"] + np.where(
        high_level, _DISRUPT_IF_HIGH_LEVEL, np.where(conviction, _DISRUPT_IF_CONVICTED, 0.0)
    )
    return {
        "conviction": conviction,
        "high_level_conviction": high_level,
        "group_disrupted": noise.disrupted < _sigmoid(disrupt_logit),
        "evidence_excluded": noise.excluded < probs["evidence_excluded"],
    }


# ---- costs ----------------------------------------------------------------------------
# Technique components are drawn for every case (as potential costs) and enter
# cost_total only when the technique is used, so the incremental cost of a technique in
# a case is exactly its component.

_ORDERS_PER_LOG_SUSPECT = 0.5
_INTERCEPT_DAYS_PER_ORDER = 44.0  # US Courts Wiretap Report 2007: average 44 days in operation
_INTERCEPTS_PER_DAY = 50.0  # assumption: ≈ 2,200 intercepts per order
_INCRIMINATING_SHARE = 0.2  # assumption: commonly cited as about one in five
_UC_DAY_COST = 600.0  # assumption: loaded cost of one undercover officer-day
_FAMILY_PER_WITNESS = 1.2  # US programme: ≈9,900 family members / 8,500 witnesses since 1971
_WITNESS_COST = 60e3  # assumption: relocation + subsistence per protected witness
_FAMILY_COST = 25e3  # assumption: per protected family member
_WITNESS_REOFFENCE = 0.19  # between USMS (<17% re-arrested) and GAO 1984 (21.4% in two years)
_WITNESS_OFFENDER_SHARE = 0.9  # assumption: "most protected witnesses are offenders"


def _expected_orders(cov: _Covariates) -> np.ndarray:
    return 1.0 + _ORDERS_PER_LOG_SUSPECT * cov.log_suspects + 0.3 * (cov.structure == _HIER)


def _expected_uc_days(cov: _Covariates) -> np.ndarray:
    return 60.0 + 20.0 * (cov.threat_level - 1)


def _expected_uc_expenses(cov: _Covariates) -> np.ndarray:
    # test purchases and flash money in drug/arms stings (assumption)
    return 20e3 * (1.0 + 1.0 * cov.is_offence("drug_trafficking", "arms_trafficking"))


def _expected_cd_cost(cov: _Covariates) -> np.ndarray:
    return 30e3 * (1.0 + 0.8 * cov.transnational)  # cross-border coordination (assumption)


def _expected_witnesses(cov: _Covariates) -> np.ndarray:
    return 1.0 + 0.4 + 0.6 * cov.has_high_level


def _expected_technique_costs(cov: _Covariates, scenario: _Scenario) -> np.ndarray:
    """E[incremental cost | covariates], shape (n, 4) — the population truth."""
    if scenario.effect == 0.0:
        return np.zeros((len(cov.year), 4))
    return np.stack(
        [
            _expected_orders(cov) * _JUR_ORDER_COST[cov.jurisdiction],
            _UC_DAY_COST * _expected_uc_days(cov) + _expected_uc_expenses(cov),
            _expected_cd_cost(cov),
            (_WITNESS_COST + _FAMILY_COST * _FAMILY_PER_WITNESS) * _expected_witnesses(cov),
        ],
        axis=1,
    )


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
    >>> from techeval.synth import generate_cases
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


# ---- truth ----------------------------------------------------------------------------


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


# ---- writing --------------------------------------------------------------------------


def write_cases(
    synthetic: SyntheticCases, out_path: str | Path, truth_path: str | Path | None = None
) -> Path:
    """Write the cases (CSV, or Parquet for ``.parquet``/``.pq``) and optionally the truth.

    Parameters
    ----------
    synthetic
        The result of :func:`generate_cases`.
    out_path
        Destination of the case table; the extension chooses the format.
    truth_path
        Destination of ``truth.json`` (2-space indent, keys in a fixed order), if wanted.

    Returns
    -------
    Path
        The path of the case table.

    Raises
    ------
    ArgumentError
        If the extension is not supported or a file cannot be written.

    Notes
    -----
    Output is byte-identical for the same input: UTF-8, ``\\n`` line endings, integers
    only (money in whole dollars), empty cells for missing values.
    """
    import json

    out = Path(out_path)
    suffix = out.suffix.lower()
    if suffix not in {".csv", ".parquet", ".pq"}:
        raise ArgumentError(
            f"cannot tell the format of {out.name!r}",
            where="--out",
            hint="Use a .csv or .parquet file name",
        )
    try:
        if suffix == ".csv":
            _write_csv(synthetic.cases, out)
        else:
            synthetic.cases.to_parquet(out, index=False)
        if truth_path is not None:
            text = json.dumps(
                synthetic.truth, indent=2, sort_keys=False, ensure_ascii=False, allow_nan=False
            )
            Path(truth_path).write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise ArgumentError(
            f"cannot write the file ({exc.strerror or exc})",
            where=str(exc.filename or out),
            hint="Check that the folder exists and that you may write there",
        ) from None
    return out


def _write_csv(frame: pd.DataFrame, out: Path) -> None:
    """CSV as pandas writes it (``\n``, empty cells for missing), via Arrow for speed.

    Arrow writes the same bytes as ``DataFrame.to_csv`` when no text cell needs quoting
    (the generator's vocabulary never does); otherwise pandas writes the file. Rows go
    out in blocks, so the text of only one block is held at a time.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    table = pa.Table.from_pandas(frame, preserve_index=False)
    if _needs_quotes(table):
        frame.to_csv(out, index=False, lineterminator="\n", encoding="utf-8")
        return
    texts = [_decimal_texts(column) for column in table.columns]
    options = pacsv.WriteOptions(include_header=False, quoting_style="none", eol="\n")
    with open(out, "wb") as handle:
        handle.write((",".join(map(str, frame.columns)) + "\n").encode("utf-8"))
        for start in range(0, table.num_rows, _CSV_BLOCK_ROWS):
            block = table.slice(start, _CSV_BLOCK_ROWS)
            columns = [
                column if text is None else pc.take(text, column)
                for column, text in zip(block.columns, texts, strict=True)
            ]
            pacsv.write_csv(pa.table(columns, names=table.column_names), handle, options)


def _needs_quotes(table: Any) -> bool:
    """Whether a text cell of the Arrow ``table`` holds ``"``, a comma, CR or LF.

    Looks at the character buffers directly (a regular expression per cell takes
    0.4 s at 10⁶ rows). A buffer may hold bytes outside its array's slice: they can only
    make the answer a needless yes, and pandas then writes the file.
    """
    import pyarrow as pa

    for column in table.columns:
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            continue
        for chunk in column.chunks:
            data = chunk.buffers()[2]
            text = b"" if data is None else data.to_pybytes()
            if any(special in text for special in (b'"', b",", b"\r", b"\n")):
                return True
    return False


#: Rows per block written by :func:`_write_csv`.
_CSV_BLOCK_ROWS = 1 << 16

#: Integer columns whose values all lie in [0, this) are written through a table of
#: their decimal texts: Arrow formats an integer in about 45 ns, looks one up in 10.
_DECIMAL_TABLE_SIZE = 1 << 16


def _decimal_texts(column: Any) -> Any:
    """The decimal texts of 0 … max of an Arrow integer column of small values ≥ 0.

    ``None`` for any other column (written as it is). The texts are Python's
    ``str(int)``, which is what Arrow and pandas write for a non-negative integer;
    taking them by the column's values keeps nulls null (empty cells).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pa.types.is_integer(column.type) or column.null_count == len(column):
        return None
    low, high = (value.as_py() for value in pc.min_max(column).values())
    if low < 0 or high >= _DECIMAL_TABLE_SIZE:
        return None
    return pa.array([str(value) for value in range(high + 1)], type=pa.large_string())


# ---- the regions scenario ---------------------------------------------------------------


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
