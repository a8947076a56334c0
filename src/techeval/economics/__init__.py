"""Economic evaluation: uncertain monetary values, ICERs, acceptability and benefit–cost.

Health economics asks of a treatment what policymakers ask of an investigative
technique: *what does one extra conviction cost with it, and is that worth paying?*
This package holds the arithmetic shared by the cost estimators
(:mod:`techeval.estimators.cost`), the witness-protection programme model and the
protocols, one job a module:

==================  ====================================================================
``values``          :class:`UncertainValue`, :class:`MonetaryValues` and
                    :data:`DEFAULT_MONETARY_VALUES` (built from
                    :mod:`techeval.assumptions`): monetary values with their
                    uncertainty (:mod:`~techeval.economics.values`)
``plane``           the cost-effectiveness plane, the ICER with its Fieller interval,
                    net monetary benefit, the acceptability curve and
                    :func:`icer_summary` (:mod:`~techeval.economics.plane`)
``benefit_cost``    the WSIPP-style Monte Carlo of benefits and costs
                    (:func:`simulate_benefit_cost`)
                    (:mod:`~techeval.economics.benefit_cost`)
==================  ====================================================================

Everything is per case: ``delta_cost`` is the adjusted difference in mean cost per case
and ``delta_effect`` the adjusted difference in the probability of the effect
(e.g. conviction) per case, so ``delta_cost / delta_effect`` is the cost per additional
conviction. Every public name is importable from here (``techeval.economics.X``); each
module's docstring gives its references.
"""

from techeval.economics.benefit_cost import (
    BENEFIT_COST_COMPONENTS,
    BenefitCostSimulation,
    draw_effects,
    simulate_benefit_cost,
)
from techeval.economics.plane import (
    QUADRANTS,
    ICERSummary,
    acceptability_curve,
    fieller_interval,
    icer_quadrant,
    icer_summary,
    net_monetary_benefit,
    quadrant_shares,
)
from techeval.economics.values import DEFAULT_MONETARY_VALUES, MonetaryValues, UncertainValue

__all__ = [
    "BENEFIT_COST_COMPONENTS",
    "DEFAULT_MONETARY_VALUES",
    "QUADRANTS",
    "BenefitCostSimulation",
    "ICERSummary",
    "MonetaryValues",
    "UncertainValue",
    "acceptability_curve",
    "draw_effects",
    "fieller_interval",
    "icer_quadrant",
    "icer_summary",
    "net_monetary_benefit",
    "quadrant_shares",
    "simulate_benefit_cost",
]
