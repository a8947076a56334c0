"""The synthetic data's structural model: its fixed world, scenarios and equations.

Everything both the case generator (:mod:`techeval.simulate.dgp`) and the known truth
(:mod:`techeval.simulate.truth`) evaluate: the jurisdictions, years and offences with
their weights, the scenarios, the covariate draw, the technique propensities, the
outcome models' linear predictors and probabilities, and the expected technique costs.
``synthetic_data/README.md`` describes the model in words, with the sources of its
numbers.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from techeval.cases.schema import DEFAULT_COVARIATES, GROUP_STRUCTURES, OFFENCES
from techeval.errors import ArgumentError

#: Everything an adjusted estimator needs on the synthetic data: the default adjustment
#: set plus the file's extra pre-investigation severity signals, which are confounders.
SYNTHETIC_COVARIATES: tuple[str, ...] = (*DEFAULT_COVARIATES, "threat_level", "transnational")

#: Scenario name → one-line description.
SCENARIOS: dict[str, str] = {
    "default": "realistic effects, confounding by indication, all confounders in the file, good overlap",
    "no_effect": "every true effect is zero (risk differences 0, incremental cost 0, rate ratios 1)",
    "strong_confounding": "the default effects with much stronger confounding and weaker overlap",
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
