"""Plain words and readable numbers for reports.

Numbers are rounded only here, when shown; the result file keeps every digit. Each
formatter returns the text a reader sees; :func:`parse_display` reads such a text back
(the rendering tests use it to check that the report says what ``result.json`` says).
"""

from __future__ import annotations

import math
import re

__all__ = [
    "CURRENCY_SYMBOLS",
    "GRADE_WORDS",
    "fmt_count",
    "fmt_money",
    "fmt_number",
    "fmt_pp",
    "fmt_probability",
    "fmt_ratio",
    "covariate_label",
    "harm_label",
    "measure_label",
    "outcome_phrase",
    "parse_display",
    "subgroup_label",
    "subgroup_phrase",
    "technique_label",
]

#: The minus sign shown in reports (U+2212), not a hyphen.
MINUS = "\u2212"

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}

_TECHNIQUES = {
    "electronic_surveillance": "Electronic surveillance",
    "undercover": "Undercover operations",
    "controlled_delivery": "Controlled delivery",
    "witness_protection": "Witness protection",
}

_OUTCOMES = {
    "conviction": "the chance of at least one conviction",
    "high_level_conviction": "the chance of convicting a high-level target",
    "group_disrupted": "the chance that the group was disrupted",
}

_MEASURES = {
    "conviction": "At least one conviction",
    "high_level_conviction": "Conviction of a high-level target",
    "group_disrupted": "Group disrupted",
    "incremental_cost": "Incremental cost per case",
    "cost_mean": "Mean cost per case (unadjusted)",
    "icer": "Cost per additional conviction",
    "net_monetary_benefit": "Net monetary benefit per case",
    "prob_cost_effective": "Probability of being cost-effective",
    "benefit_cost_ratio": "Benefit–cost ratio",
    "net_benefit": "Net benefit per case",
    "prob_benefits_exceed_costs": "Probability that benefits exceed costs",
    "harm_index": "Harm index (days of imprisonment equivalent per case)",
}

_HARMS = {
    "officer_injuries": "injuries to officers",
    "third_party_harms": "harms to uninvolved people",
    "non_suspects_intercepted": "non-suspects intercepted",
    "undercover_compromised": "compromised undercover identities",
    "evidence_excluded": "evidence excluded in court",
    "complaints_upheld": "complaints upheld",
    "witness_offence_rate": "offences by protected witnesses",
    "witness_offending_share": "protected witnesses who offended",
    "collateral_intrusion_share": "share of intercepted people who were not suspects",
    "harm_index": "harm index",
}

_COVARIATES = {
    "n_suspects": "number of suspects",
    "high_level_targets": "number of high-level targets",
    "threat_level": "threat level",
    "transnational": "cross-border activity",
    "group_structure": "group structure",
}

_SUBGROUP_VARIABLES = {"offence": "Offence", "group_structure": "Group structure"}

GRADE_WORDS = {
    "strong": "strong",
    "moderate": "moderate",
    "limited": "limited",
    "insufficient": "insufficient",
}


def _words(name: str) -> str:
    return name.replace("_", " ")


def technique_label(name: str) -> str:
    """``electronic_surveillance`` → ``Electronic surveillance``."""
    return _TECHNIQUES.get(name, _words(name).capitalize())


def outcome_phrase(outcome: str) -> str:
    """What an effect on ``outcome`` changes, as a noun phrase ("the chance of ...")."""
    return _OUTCOMES.get(outcome, f"the chance of {_words(outcome)}")


def measure_label(measure: str) -> str:
    """A table heading for a measure."""
    return _MEASURES.get(measure, _words(measure).capitalize())


def harm_label(measure: str) -> str:
    """A harm measure in words (``officer_injuries`` → ``injuries to officers``)."""
    return _HARMS.get(measure, _words(measure))


def covariate_label(name: str) -> str:
    """A case characteristic in words (``n_suspects`` → ``number of suspects``)."""
    return _COVARIATES.get(name, _words(name))


def subgroup_phrase(label: str) -> str:
    """A kind of case in running text (``group_structure=hierarchical`` → ``hierarchical groups``)."""
    variable, _, level = label.partition("=")
    if variable == "offence":
        return "other offences" if level == "other" else _words(level)
    if variable == "group_structure":
        return (
            f"{_words(level)} group structure" if level == "unknown" else f"{_words(level)} groups"
        )
    return f"{_words(variable)} {_words(level)}"


def subgroup_label(label: str) -> tuple[str, str]:
    """``offence=drug_trafficking`` → (``Offence``, ``drug trafficking``)."""
    variable, _, level = label.partition("=")
    return _SUBGROUP_VARIABLES.get(variable, _words(variable).capitalize()), _words(level)


# ---- numbers ---------------------------------------------------------------------------------


def _signed(text: str) -> str:
    return MINUS + text[1:] if text.startswith("-") else text


def _round_sig(value: float, digits: int) -> float:
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def _decimals_for(value: float, digits: int) -> int:
    """Decimal places that show ``digits`` significant digits of ``value`` (at least 0)."""
    if value == 0 or not math.isfinite(value):
        return 0
    return max(0, digits - 1 - math.floor(math.log10(abs(value))))


def fmt_number(value: float, digits: int = 2) -> str:
    """A count-like or rate-like number with ``digits`` significant digits (≥ 1 shown whole).

    >>> fmt_number(18.427), fmt_number(0.0313), fmt_number(1234.5)
    ('18', '0.031', '1,200')
    """
    rounded = _round_sig(float(value), digits)
    decimals = _decimals_for(rounded, digits) if abs(rounded) < 10 ** (digits - 1) else 0
    return _signed(f"{rounded:,.{decimals}f}")


def fmt_count(value: float) -> str:
    """A whole number with thousands separators."""
    return _signed(f"{round(float(value)):,d}")


def fmt_pp(risk_difference: float) -> str:
    """A risk difference in percentage points: one decimal below 10 points, none above.

    Rounded to the nearest shown digit as Python's ``format`` does: an exact half goes
    to the even digit, so −12.5 points shows as −12 (and 13.5 as 14). Either way the
    shown number is within half a unit of the last digit (:func:`display_tolerance`).

    >>> fmt_pp(0.0831), fmt_pp(-0.125), fmt_pp(0.0004)
    ('8.3', '−12', '0.0')
    """
    points = 100.0 * float(risk_difference)
    decimals = 1 if abs(points) < 9.95 else 0
    text = f"{points:.{decimals}f}"
    if float(text) == 0:
        text = text.lstrip("-")
    return _signed(text)


def fmt_money(value: float, currency: str = "USD") -> str:
    """Money rounded for reading: ``$168,000``, ``$2.0 million``, ``−$58,000``.

    Two significant digits below a million (three from 100,000), one decimal in
    millions and billions.
    """
    value = float(value)
    symbol = CURRENCY_SYMBOLS.get(currency.upper(), f"{currency.upper()} ")
    sign = MINUS if value < 0 else ""
    size = abs(value)
    if size >= 1e9:
        body = f"{size / 1e9:.1f} billion"
    elif size >= 9.995e5:
        body = f"{size / 1e6:.1f} million"
    else:
        body = f"{_round_sig(size, 3 if size >= 1e5 else 2):,.0f}"
    return f"{sign}{symbol}{body}"


def fmt_probability(p: float) -> str:
    """A probability as a whole percentage; ``<1%`` and ``>99%`` at the ends."""
    p = float(p)
    if 0 < p < 0.005:
        return "<1%"
    if 0.995 < p < 1:
        return ">99%"
    return f"{100 * p:.0f}%"


def fmt_ratio(value: float) -> str:
    """A ratio with two significant digits (``0.67``, ``2.5``, ``25``)."""
    return fmt_number(value, 2)


_NUMBER = re.compile(r"[−\-]?[\d,]*\.?\d+")


def parse_display(text: str) -> float:
    """Read a number back from a formatted text (``−$2.0 million`` → -2000000.0).

    Percentages come back as fractions of 1 (``7%`` → 0.07); a percentage-point text
    (``8.3``) comes back as shown, in points.
    """
    match = _NUMBER.search(text.replace("<", "").replace(">", ""))
    if match is None:
        raise ValueError(f"no number in {text!r}")
    number = float(match.group().replace("−", "-").replace(",", ""))
    if text.lstrip("−-").startswith(tuple(CURRENCY_SYMBOLS.values())) and text.startswith("−"):
        number = -abs(number)
    if "billion" in text:
        number *= 1e9
    elif "million" in text:
        number *= 1e6
    if text.endswith("%"):
        number /= 100
    return number


def display_tolerance(text: str) -> float:
    """Half a unit of the last digit shown in ``text`` (as :func:`parse_display` reads it)."""
    match = _NUMBER.search(text.replace("<", "").replace(">", ""))
    if match is None:
        raise ValueError(f"no number in {text!r}")
    shown = match.group().replace(",", "")
    decimals = len(shown.partition(".")[2])
    unit = 10.0**-decimals
    if "billion" in text:
        unit *= 1e9
    elif "million" in text:
        unit *= 1e6
    elif not decimals:
        # "168,000": the last significant digit, not the last zero
        digits = shown.lstrip("−-")
        unit = 10.0 ** (len(digits) - len(digits.rstrip("0"))) if digits.strip("0") else 1.0
    if text.endswith("%"):
        unit /= 100
    return unit / 2
