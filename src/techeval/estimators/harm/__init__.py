"""Harms of special investigative techniques: officers, uninvolved citizens, rights, witnesses.

The background paper to Workshop 4 of the Twelfth UN Crime Congress (A/CONF.213/15,
paras 40, 43, 51) asks that the harms of these techniques be weighed alongside their
effectiveness: undercover officers exposed or hurt, citizens swept into interceptions,
evidence thrown out, protected witnesses who offend again. This package measures them,
one estimator a module.

Registered estimators (all rows ``family="harm"``):

==============================  =============================================================
``harm.rates``                  rates per case and per exposure; adjusted rate ratio (Poisson
                                GLM, robust SE; negative binomial alongside when
                                overdispersed); ``outcome.aipw`` risk difference for yes/no
                                harms (``evidence_excluded``) — :mod:`.rates`
``harm.collateral_intrusion``   share of intercepts not incriminating; non-suspects
                                intercepted per case and per suspect —
                                :mod:`.collateral_intrusion`
``harm.undercover_risk``        compromise / injury rates per 1,000 officer-days, by case
                                type — :mod:`.undercover_risk`
``harm.witness_offending``      offences per protected witness-year and share who offend,
                                against US Marshals Service and GAO (1984) benchmarks —
                                :mod:`.witness_offending`
``harm.index``                  severity-weighted harm per case; AIPW mean difference —
                                :mod:`.weighted`
``harm.cost``                   monetised harm per case; AIPW mean difference —
                                :mod:`.weighted`
==============================  =============================================================

Public helpers (used by the cost family too):

* :func:`harm_cost_per_case` — monetised harm per case, ``sum_h unit_cost_h * count_h``;
* :func:`harm_index_per_case` — the same weighted sum with severity weights;
* :data:`DEFAULT_HARM_UNIT_COSTS`, :data:`DEFAULT_HARM_WEIGHTS` — documented defaults,
  defined with their sources in :mod:`techeval.assumptions`.

The numerical core is private: the count models (:mod:`._models`) and the ratio
estimators with their exact and continuity-corrected intervals (:mod:`._ratios`).
"""

# The shipped protocols and protocols/README.md name the defaults by this path
from techeval.assumptions import DEFAULT_HARM_UNIT_COSTS, DEFAULT_HARM_WEIGHTS
from techeval.estimators.harm.collateral_intrusion import CollateralIntrusion
from techeval.estimators.harm.rates import HarmRates
from techeval.estimators.harm.undercover_risk import UndercoverRisk
from techeval.estimators.harm.weighted import (
    HarmCost,
    HarmIndex,
    harm_cost_per_case,
    harm_index_per_case,
)
from techeval.estimators.harm.witness_offending import WitnessOffending

__all__ = [
    "DEFAULT_HARM_UNIT_COSTS",
    "DEFAULT_HARM_WEIGHTS",
    "CollateralIntrusion",
    "HarmCost",
    "HarmIndex",
    "HarmRates",
    "UndercoverRisk",
    "WitnessOffending",
    "harm_cost_per_case",
    "harm_index_per_case",
]
