"""Witness-protection programme model: caseload and cost projections, plan against actual.

Programme-level, not case-level. The UN background paper (A/CONF.213/15, para 43)
recalls that the US programme was expected to relocate 25–50 witnesses a year for under
$1 million, yet took in more than 4,400 witnesses and 8,000 family members in its first
13 years: programmes must be planned carefully. This module projects a programme's
caseload and cost from a few planning figures (:func:`project_programme`) and sets a
plan beside actual intake in plain words (:func:`plan_vs_actual`); :func:`programme_rows`
applies both to a run's case records and makes the result rows of the programme model.

Costs include the crimes committed by protected witnesses (offences per witness-year ×
cost per offence); benefits, when given, are the prosecutions of high-level targets in
cases with protected witnesses (prosecutions per admitted witness × value).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from techeval.errors import ArgumentError
from techeval.results import EffectResult

__all__ = [
    "DESCRIPTION",
    "MAKER",
    "PlanComparison",
    "ProgrammeModel",
    "ProgrammePlan",
    "plan_vs_actual",
    "programme_rows",
    "project_programme",
]

#: What result rows of the programme model give as their ``estimator`` (it is not a
#: registered estimator).
MAKER = "programme_model"

#: The programme model's entry in the ``estimators`` section of ``result.json``.
DESCRIPTION = (
    "The witness-protection programme model: planned intake and cost against the "
    "intake the case records show, and a deterministic projection of the programme "
    "from the protocol's planning figures (no interval)."
)


def _admissions(
    admissions_per_year: float | Sequence[float], horizon_years: int | None
) -> np.ndarray:
    if isinstance(admissions_per_year, (int, float, np.integer, np.floating)):
        if horizon_years is None:
            raise ArgumentError("a constant admissions_per_year needs horizon_years")
        values = np.full(int(horizon_years), float(admissions_per_year))
    else:
        values = np.asarray(list(admissions_per_year), dtype=float)
        if horizon_years is not None and int(horizon_years) != values.size:
            raise ArgumentError(
                f"admissions_per_year has {values.size} years but horizon_years is {horizon_years}",
                hint="Give one or the other, or make them agree",
            )
    if values.size == 0 or not np.all(np.isfinite(values)) or (values < 0).any():
        raise ArgumentError("admissions_per_year must be one or more finite numbers >= 0")
    return values


def project_programme(
    admissions_per_year: float | Sequence[float],
    *,
    family_per_witness: float,
    annual_cost_per_person: float,
    mean_years_in_programme: float,
    attrition: float = 0.0,
    horizon_years: int | None = None,
    offences_per_witness_year: float = 0.0,
    cost_per_offence: float = 0.0,
    high_level_prosecutions_per_witness: float = 0.0,
    value_per_prosecution: float = 0.0,
    start_year: int = 1,
) -> pd.DataFrame:
    """Project a protection programme's caseload and cost year by year.

    Parameters
    ----------
    admissions_per_year
        Witnesses admitted each year: a constant (then ``horizon_years`` is required)
        or one number per year.
    family_per_witness
        Family members admitted with each witness (on average).
    annual_cost_per_person
        Cost of protecting one person (witness or family member) for a year
        (relocation, subsistence, security), in currency per person-year.
    mean_years_in_programme
        Mean time a person stays under protection if they do not leave early.
    attrition
        Additional share of those under protection who leave early each year
        (withdrawal, expulsion), in ``[0, 1)``.
    horizon_years
        Years to project (must match the length of a sequence of admissions if both are
        given).
    offences_per_witness_year, cost_per_offence
        Offences committed by protected witnesses per witness-year under protection and
        the cost of one to society (e.g. :attr:`MonetaryValues.cost_per_witness_offence`
        expected value). Default 0.
    high_level_prosecutions_per_witness, value_per_prosecution
        Successful prosecutions of high-level targets per admitted witness and the value
        of one. Default 0 (no benefits projected).
    start_year
        Label of the first year.

    Returns
    -------
    pandas.DataFrame
        One row per year: ``year``, ``admitted_witnesses``, ``admitted_family``,
        ``active_witnesses``, ``active_family`` (under protection at the end of the
        year), ``person_years``, ``protection_cost``, ``witness_offences``,
        ``witness_offence_cost``, ``total_cost``, ``high_level_prosecutions``,
        ``benefits``, ``net_benefit`` and the cumulative ``cumulative_witnesses``,
        ``cumulative_family`` and ``cumulative_cost``.

    Notes
    -----
    A stock-flow model with a constant annual exit probability
    ``q = 1 - (1 - 1/mean_years)(1 - attrition)`` (geometric stays: mean stay
    ``mean_years`` without attrition; ``q = 1`` when ``mean_years <= 1``). With
    ``A_y`` the number under protection at the end of year ``y`` and ``a_y`` the
    admissions, ``A_y = (1 - q) A_{y-1} + a_y``. Person-years in year ``y`` are
    ``(1 - q/2) A_{y-1} + a_y / 2`` (exits and admissions spread evenly over the year),
    and ``protection_cost = person_years * annual_cost_per_person``. Family members
    follow the same dynamics. Offences by witnesses are
    ``offences_per_witness_year`` times the witnesses' person-years.
    All inputs are taken as given: nothing is hard-coded.

    Examples
    --------
    >>> frame = project_programme(100, family_per_witness=1.5, annual_cost_per_person=10_000,
    ...                           mean_years_in_programme=2, horizon_years=3)
    >>> frame["active_witnesses"].tolist()
    [100.0, 150.0, 175.0]
    """
    admitted = _admissions(admissions_per_year, horizon_years)
    for name, value, ok in (
        ("family_per_witness", family_per_witness, family_per_witness >= 0),
        ("annual_cost_per_person", annual_cost_per_person, annual_cost_per_person >= 0),
        ("mean_years_in_programme", mean_years_in_programme, mean_years_in_programme > 0),
        ("attrition", attrition, 0 <= attrition < 1),
        ("offences_per_witness_year", offences_per_witness_year, offences_per_witness_year >= 0),
        ("cost_per_offence", cost_per_offence, cost_per_offence >= 0),
    ):
        if not (math.isfinite(float(value)) and ok):
            raise ArgumentError(f"{name}={value!r} is not allowed")
    stay = 1 - 1 / mean_years_in_programme if mean_years_in_programme > 1 else 0.0
    exit_probability = 1 - stay * (1 - attrition)
    family_admitted = admitted * family_per_witness
    rows = []
    active_witnesses = active_family = 0.0
    for offset, (witnesses_in, family_in) in enumerate(zip(admitted, family_admitted, strict=True)):
        witness_years = (1 - exit_probability / 2) * active_witnesses + witnesses_in / 2
        family_years = (1 - exit_probability / 2) * active_family + family_in / 2
        active_witnesses = (1 - exit_probability) * active_witnesses + witnesses_in
        active_family = (1 - exit_probability) * active_family + family_in
        person_years = witness_years + family_years
        offences = offences_per_witness_year * witness_years
        prosecutions = high_level_prosecutions_per_witness * witnesses_in
        rows.append(
            {
                "year": start_year + offset,
                "admitted_witnesses": witnesses_in,
                "admitted_family": family_in,
                "active_witnesses": active_witnesses,
                "active_family": active_family,
                "person_years": person_years,
                "protection_cost": person_years * annual_cost_per_person,
                "witness_offences": offences,
                "witness_offence_cost": offences * cost_per_offence,
                "high_level_prosecutions": prosecutions,
                "benefits": prosecutions * value_per_prosecution,
            }
        )
    frame = pd.DataFrame(rows)
    frame["total_cost"] = frame["protection_cost"] + frame["witness_offence_cost"]
    frame["net_benefit"] = frame["benefits"] - frame["total_cost"]
    frame["cumulative_witnesses"] = frame["admitted_witnesses"].cumsum()
    frame["cumulative_family"] = frame["admitted_family"].cumsum()
    frame["cumulative_cost"] = frame["total_cost"].cumsum()
    return frame


@dataclass(frozen=True)
class PlanComparison:
    """A programme plan set beside actual intake.

    Attributes
    ----------
    years
        Period compared.
    actual_witnesses_per_year, actual_family_per_year
        Average actual intake per year.
    family_per_witness
        Actual family members per witness.
    ratio_to_plan_low, ratio_to_plan_high
        Actual witness intake divided by the plan's upper and lower bound (so
        ``low <= high``).
    planned_witnesses_total_low, planned_witnesses_total_high, actual_witnesses_total
        Totals over the period.
    implied_annual_cost_low, implied_annual_cost_high
        Annual cost of the actual intake at the plan's own cost per planned witness
        (``plan_annual_budget / plan_high`` and ``/ plan_low``); ``nan`` without a budget.
    sentence
        The comparison in plain words.
    """

    years: float
    actual_witnesses_per_year: float
    actual_family_per_year: float
    family_per_witness: float
    ratio_to_plan_low: float
    ratio_to_plan_high: float
    planned_witnesses_total_low: float
    planned_witnesses_total_high: float
    actual_witnesses_total: float
    implied_annual_cost_low: float
    implied_annual_cost_high: float
    sentence: str


def _money(value: float, currency: str) -> str:
    symbol = "$" if currency == "USD" else f"{currency} "
    if abs(value) >= 1e6:
        return f"{symbol}{value / 1e6:,.1f} million"
    return f"{symbol}{value:,.0f}"


def plan_vs_actual(
    *,
    plan_witnesses_per_year: tuple[float, float] | float,
    actual_witnesses: float,
    actual_family: float,
    years: float,
    plan_annual_budget: float | None = None,
    currency: str = "USD",
) -> PlanComparison:
    """Compare a planned witness intake with the realised one, in numbers and words.

    Parameters
    ----------
    plan_witnesses_per_year
        Planned admissions per year: a ``(low, high)`` range or one number.
    actual_witnesses, actual_family
        Witnesses and family members actually admitted over the period.
    years
        Length of the period in years.
    plan_annual_budget
        The plan's annual budget ("under $1 million a year"), if any.
    currency
        Currency of the budget.

    Returns
    -------
    PlanComparison
        Numbers and a plain-words ``sentence``.

    Notes
    -----
    Actual intake per year is ``actual_witnesses / years``; the gap is that divided by
    the plan's high and low figures. With a budget, the plan's cost per planned witness
    (``budget / planned intake``) is applied to the actual intake — a lower bound on
    the realised cost, since it ignores family members and the caseload that
    accumulates while people stay under protection (see :func:`project_programme`).

    Examples
    --------
    >>> c = plan_vs_actual(plan_witnesses_per_year=(25, 50), actual_witnesses=4400,
    ...                    actual_family=8000, years=13, plan_annual_budget=1e6)
    >>> round(c.actual_witnesses_per_year), round(c.ratio_to_plan_low, 1), round(c.ratio_to_plan_high, 1)
    (338, 6.8, 13.5)
    """
    if isinstance(plan_witnesses_per_year, (int, float, np.integer, np.floating)):
        plan_low = plan_high = float(plan_witnesses_per_year)
    else:
        plan_low, plan_high = (float(v) for v in plan_witnesses_per_year)
    if not (0 < plan_low <= plan_high):
        raise ArgumentError(
            f"plan_witnesses_per_year must be positive with low <= high, got {plan_witnesses_per_year!r}"
        )
    if not years > 0 or actual_witnesses < 0 or actual_family < 0:
        raise ArgumentError("years must be > 0 and actual intake >= 0")
    per_year = actual_witnesses / years
    family_per_year = actual_family / years
    family_per_witness = actual_family / actual_witnesses if actual_witnesses > 0 else math.nan
    ratio_low, ratio_high = per_year / plan_high, per_year / plan_low
    plan_text = f"{plan_low:,.0f}" if plan_low == plan_high else f"{plan_low:,.0f}–{plan_high:,.0f}"
    ratio_text = (
        f"{ratio_low:.1f}" if plan_low == plan_high else f"{ratio_low:.1f}–{ratio_high:.1f}"
    )
    sentence = (
        f"Actual intake averaged {per_year:,.0f} witnesses a year over {years:g} years, "
        f"{ratio_text} times the plan of {plan_text} a year "
        f"({actual_witnesses:,.0f} witnesses against {plan_low * years:,.0f}"
        + ("" if plan_low == plan_high else f"–{plan_high * years:,.0f}")
        + f" planned), and each brought {family_per_witness:.1f} family members on average "
        f"({family_per_year:,.0f} family members a year)."
    )
    cost_low = cost_high = math.nan
    if plan_annual_budget is not None:
        cost_low = per_year * plan_annual_budget / plan_high
        cost_high = per_year * plan_annual_budget / plan_low
        cost_text = (
            _money(cost_low, currency)
            if plan_low == plan_high
            else f"{_money(cost_low, currency)}–{_money(cost_high, currency)}"
        )
        sentence += (
            f" At the plan's own cost per witness, that intake alone would cost {cost_text} "
            f"a year against a budget of {_money(plan_annual_budget, currency)}, before "
            "family members and the growing caseload are counted."
        )
    return PlanComparison(
        years=float(years),
        actual_witnesses_per_year=per_year,
        actual_family_per_year=family_per_year,
        family_per_witness=family_per_witness,
        ratio_to_plan_low=ratio_low,
        ratio_to_plan_high=ratio_high,
        planned_witnesses_total_low=plan_low * years,
        planned_witnesses_total_high=plan_high * years,
        actual_witnesses_total=float(actual_witnesses),
        implied_annual_cost_low=cost_low,
        implied_annual_cost_high=cost_high,
        sentence=sentence,
    )


class ProgrammePlan(Protocol):
    """The planning figures :func:`programme_rows` reads (a protocol's ``witness_programme``).

    See :class:`techeval.protocols.model.WitnessProgramme` and :func:`project_programme`.
    """

    plan_witnesses_per_year: Sequence[float]
    plan_annual_budget: float | None
    family_per_witness: float
    annual_cost_per_person: float
    mean_years_in_programme: float
    attrition: float
    horizon_years: int


@dataclass(frozen=True)
class ProgrammeModel:
    """What :func:`programme_rows` made.

    Attributes
    ----------
    rows
        The result rows (family ``synthesis``, method and estimator ``programme_model``);
        empty when the model could not run.
    projection
        The year-by-year projection (:func:`project_programme`), or ``None``.
    warnings
        Why the model did not run, if it did not.
    """

    rows: tuple[EffectResult, ...] = ()
    projection: pd.DataFrame | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)


def programme_rows(
    plan: ProgrammePlan,
    cases: pd.DataFrame,
    *,
    offence_rate: float,
    values: Mapping[str, float],
    currency: str,
    ci_level: float,
) -> ProgrammeModel:
    """The programme model (para 43): plan against actual intake, and a projection.

    Parameters
    ----------
    plan
        The protocol's planning figures.
    cases
        The validated case records (all of them, not one technique's comparison).
    offence_rate
        Offences per protected witness-year (the ``witness_offence_rate`` row of the
        run), or NaN when the run did not estimate it: then offending is not counted.
    values
        Expected monetary values (``cost_per_witness_offence``, ``value_conviction``,
        ``value_high_level_conviction``).
    currency
        Currency of the planned budget, for the plan-against-actual sentence.
    ci_level
        The run's confidence level, carried on the rows (they have no interval).

    Returns
    -------
    ProgrammeModel
        Six rows and the projection, or no rows and a warning when the data lack the
        programme columns or a case with a protected witness.

    Notes
    -----
    Actual intake comes from the case records (protected witnesses and family members
    in cases that used witness protection, over the years the records span); offences
    per witness-year come from ``harm.witness_offending`` when the protocol runs it;
    high-level prosecutions per witness are high-level convictions in those cases per
    protected witness. The projection uses the protocol's planning figures and the
    expected monetary values. It is a deterministic projection: no interval.
    """
    columns = ("protected_witnesses", "protected_family", "high_level_convicted", "year")
    if not all(c in cases.columns for c in columns):
        return ProgrammeModel(
            warnings=(
                "witness programme model not run: the data lack "
                + ", ".join(c for c in columns if c not in cases.columns),
            )
        )
    used = cases.loc[cases["witness_protection"].astype(bool)]
    with_witnesses = used.loc[pd.to_numeric(used["protected_witnesses"]).fillna(0) > 0]
    n_cases = len(with_witnesses)
    witnesses = float(pd.to_numeric(with_witnesses["protected_witnesses"]).sum())
    family = float(pd.to_numeric(with_witnesses["protected_family"]).fillna(0).sum())
    if n_cases == 0 or witnesses == 0:
        return ProgrammeModel(
            warnings=("witness programme model not run: no case with a protected witness",)
        )
    years = float(with_witnesses["year"].max() - with_witnesses["year"].min() + 1)
    prosecutions = float(pd.to_numeric(with_witnesses["high_level_convicted"]).fillna(0).sum())
    low_high = plan.plan_witnesses_per_year
    comparison = plan_vs_actual(
        plan_witnesses_per_year=(low_high[0], low_high[-1]),
        actual_witnesses=witnesses,
        actual_family=family,
        years=years,
        plan_annual_budget=plan.plan_annual_budget,
        currency=currency,
    )
    projection = project_programme(
        witnesses / years,
        family_per_witness=plan.family_per_witness,
        annual_cost_per_person=plan.annual_cost_per_person,
        mean_years_in_programme=plan.mean_years_in_programme,
        attrition=plan.attrition,
        horizon_years=plan.horizon_years,
        offences_per_witness_year=offence_rate if math.isfinite(offence_rate) else 0.0,
        cost_per_offence=values["cost_per_witness_offence"],
        high_level_prosecutions_per_witness=prosecutions / witnesses,
        value_per_prosecution=values["value_conviction"] + values["value_high_level_conviction"],
    )
    last = projection.iloc[-1]
    notes = [
        "a projection from the protocol's planning figures and the data's intake: no "
        "interval (vary the planning figures to see their effect)"
    ]
    if not math.isfinite(offence_rate):
        notes.append(
            "offending by protected witnesses is not counted (harm.witness_offending not run)"
        )
    common = dict(
        technique="witness_protection",
        outcome="protected_witnesses",
        estimand=None,
        method=MAKER,
        estimator=MAKER,
        std_error=math.nan,
        ci_low=math.nan,
        ci_high=math.nan,
        p_value=math.nan,
        n_treated=n_cases,
        n_control=0,
        family="synthesis",
        ci_level=ci_level,
    )
    horizon = f"{plan.horizon_years}-year projection"
    rows = [
        EffectResult(
            measure="witnesses_admitted_per_year",
            scale="per_year",
            estimate=comparison.actual_witnesses_per_year,
            diagnostics={"programme": {"family_per_witness": comparison.family_per_witness}},
            **common,
        ),
        EffectResult(
            measure="intake_ratio_to_plan",
            scale="ratio",
            estimate=comparison.ratio_to_plan_low,
            diagnostics={
                "programme": {
                    "ratio_to_plan_low": comparison.ratio_to_plan_low,
                    "ratio_to_plan_high": comparison.ratio_to_plan_high,
                    "note": "actual intake per year over the plan's upper figure (and lower "
                    "figure in ratio_to_plan_high)",
                }
            },
            warnings=(comparison.sentence,),
            **common,
        ),
        EffectResult(
            measure="high_level_prosecutions_per_witness",
            scale="per_witness",
            estimate=prosecutions / witnesses,
            **common,
        ),
        EffectResult(
            measure="programme_cost_total",
            scale="currency",
            estimate=float(last["cumulative_cost"]),
            diagnostics={"programme": {"horizon": horizon}},
            warnings=tuple(notes),
            **common,
        ),
        EffectResult(
            measure="programme_net_benefit",
            scale="currency",
            estimate=float(projection["net_benefit"].sum()),
            diagnostics={"programme": {"horizon": horizon}},
            warnings=tuple(notes),
            **common,
        ),
        EffectResult(
            measure="programme_people_protected",
            scale="count",
            estimate=float(last["active_witnesses"] + last["active_family"]),
            diagnostics={"programme": {"horizon": horizon, "at": "end of projection"}},
            **common,
        ),
    ]
    return ProgrammeModel(rows=tuple(rows), projection=projection)
