"""Assumed values and literature benchmarks: every default a protocol can override.

Each value says where it comes from, or that it is an assumption. A protocol replaces
them with local figures (``economics``, ``harm_weights`` and the estimators' parameters)
and should say where those came from; a report names the values it used.

* harm: :data:`DEFAULT_HARM_UNIT_COSTS`, :data:`DEFAULT_HARM_WEIGHTS` (monetised harm and
  the harm index), :data:`HARM_EXPOSURE`, :data:`EXPOSURE_UNITS` (the time at risk of each
  count harm and the unit of its rate), and the witness-offending benchmarks
  :data:`WITSEC_REARREST_SHARE` and :data:`GAO_1984_ANNUAL_RATE`;
* economics: :data:`DEFAULT_MONETARY_VALUE_SPECS` and :data:`DEFAULT_CURRENCY` (from
  which :data:`techeval.economics.DEFAULT_MONETARY_VALUES` is built),
  :data:`DEFAULT_WILLINGNESS_TO_PAY` and :data:`DEFAULT_WTP_GRID`;
* diagnostics: the thresholds at which balance, overlap and weights are flagged
  (:data:`SMD_THRESHOLD`, :data:`OUTSIDE_SUPPORT_WARNING`, :data:`ESS_WARNING_RATIO`,
  :data:`MAX_WEIGHT_SHARE_WARNING`).

Plain values only: this module sits at the bottom of the package and imports nothing
from techeval.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = [
    "DEFAULT_CURRENCY",
    "DEFAULT_HARM_UNIT_COSTS",
    "DEFAULT_HARM_WEIGHTS",
    "DEFAULT_MONETARY_VALUE_SPECS",
    "DEFAULT_WILLINGNESS_TO_PAY",
    "DEFAULT_WTP_GRID",
    "ESS_WARNING_RATIO",
    "EXPOSURE_UNITS",
    "GAO_1984_ANNUAL_RATE",
    "GAO_1984_TWO_YEAR_ARREST_SHARE",
    "HARM_EXPOSURE",
    "MAX_WEIGHT_SHARE_WARNING",
    "OUTSIDE_SUPPORT_WARNING",
    "SMD_THRESHOLD",
    "WITSEC_REARREST_SHARE",
]

# ---- harm ----------------------------------------------------------------------------------

#: Monetised harm per event, in US dollars (the currency of the synthetic case files);
#: a protocol overrides these with local figures. Most have no published price and are
#: marked as assumptions: report them, and vary them in a sensitivity analysis.
DEFAULT_HARM_UNIT_COSTS: dict[str, float] = {
    # Home Office unit cost of "violence with injury", £14,050 per incident in 2015/16
    # prices (Heeks, Reed, Tafsiri & Prince 2018, Research Report 99), at about 1.36 US$
    # per £ (2016 average) ≈ $19,000. Assumption: an officer's injury costs what a
    # victim's does; sick leave and replacement of the officer are not included.
    "officer_injuries": 19_000.0,
    # Assumption: extracting and relocating an exposed undercover officer and writing
    # off the operation; no published unit cost is known to us.
    "undercover_compromised": 50_000.0,
    # Same anchor as officer_injuries (Heeks et al. 2018, violence with injury): harm
    # to an uninvolved person is counted as an injury-level event. Assumption.
    "third_party_harms": 19_000.0,
    # Assumption: investigating an upheld complaint plus typical compensation.
    "complaints_upheld": 10_000.0,
    # Assumption: no accepted price exists for a privacy intrusion; a nominal $100 per
    # person intercepted keeps the intrusion visible without dominating the total. Set
    # to 0 to leave privacy unpriced (the harm index still weighs it).
    "non_suspects_intercepted": 100.0,
    # Assumption: an offence by a protected witness costs about as much as an average
    # violent offence without injury (Heeks et al. 2018 give £5,930 for violence without
    # injury ≈ $8,000); witnesses' offences range from fraud to homicide.
    "witness_offences": 8_000.0,
    # evidence_excluded is deliberately not monetised: its consequence, a lost
    # conviction, is already counted by the outcome family; pricing it here would count
    # it twice. The harm index weighs it as a rights harm instead.
}

#: Severity weight per harm event for the harm index, in days-of-imprisonment units in
#: the spirit of the Cambridge Crime Harm Index (Sherman, Neyroud & Neyroud 2016: the
#: sentencing-guideline starting point for a first offender). Marked as assumptions
#: where no offence maps cleanly; a protocol overrides them.
DEFAULT_HARM_WEIGHTS: dict[str, float] = {
    # Assault occasioning actual bodily harm, category 2 starting point 26 weeks
    # (Sentencing Council, Assault Definitive Guideline 2011) — the CCHI convention.
    # Assumption: a typical injury on duty resembles ABH.
    "officer_injuries": 182.0,
    # Assumption: exposure puts the officer's life at risk (para 51: they are the last
    # to know), weighted as a year — more than an injury, far less than a homicide.
    "undercover_compromised": 365.0,
    # As officer_injuries (ABH category 2, 26 weeks). Assumption.
    "third_party_harms": 182.0,
    # Assumption: an upheld complaint is a proven rights breach of moderate severity.
    "complaints_upheld": 30.0,
    # Assumption: one day per person whose private communications were intercepted
    # without being a suspect — small per person, large in aggregate.
    "non_suspects_intercepted": 1.0,
    # Assumption: exclusion means a court found the evidence unlawfully obtained — a
    # rights harm to the suspect, weighted as a month.
    "evidence_excluded": 30.0,
    # Assumption: an offence by a protected witness weighted as a quarter of a year (the
    # offences range from minor to serious; local sentencing data should replace this).
    "witness_offences": 90.0,
}


#: Default exposure of each count harm: officers' harms accrue with officer-days, harms to
#: third parties, complaints and intrusions with the length of the investigation.
HARM_EXPOSURE: dict[str, str] = {
    "officer_injuries": "officer_days",
    "undercover_compromised": "officer_days",
    "third_party_harms": "duration_days",
    "complaints_upheld": "duration_days",
    "non_suspects_intercepted": "duration_days",
}

#: Exposure units rates are expressed in (1,000 officer-days; one case-year).
EXPOSURE_UNITS: dict[str, float] = {"officer_days": 1000.0, "duration_days": 365.0}

#: Benchmark share of protected witnesses who offend again. US Marshals Service: fewer
#: than 17% of protected witnesses with criminal histories have been re-arrested and
#: charged (WITSEC programme facts; cited by the DOJ Inspector General, 2005).
WITSEC_REARREST_SHARE = 0.17

#: GAO (1984): 21.4% of protected witnesses were arrested within two years of entering
#: the programme. As a constant annual rate: -ln(1 - 0.214) / 2 ≈ 0.120 per witness-year.
GAO_1984_TWO_YEAR_ARREST_SHARE = 0.214
GAO_1984_ANNUAL_RATE = -math.log(1 - GAO_1984_TWO_YEAR_ARREST_SHARE) / 2


# ---- economics -----------------------------------------------------------------------------


def _triangular(low: float, mode: float, high: float) -> dict[str, Any]:
    return {"distribution": "triangular", "low": low, "mode": mode, "high": high}


#: Default monetary values (2020 US dollars), each in the form a protocol's ``economics``
#: section takes (:meth:`techeval.economics.UncertainValue.from_spec`). Apart from the
#: asset-recovery share these are ILLUSTRATIVE ASSUMPTIONS, not published estimates: no
#: source values a conviction of an organised-crime suspect. They follow WSIPP's approach
#: (monetise an outcome by the costs to victims and taxpayers it avoids) at a plausible
#: order of magnitude; every protocol should replace them with local values and say where
#: they came from.
DEFAULT_MONETARY_VALUE_SPECS: dict[str, dict[str, Any]] = {
    # Assumption: a few years of serious offending avoided; the range spans McCollister
    # et al. (2010) per-offence costs from robbery ($42k) to several aggravated assaults.
    "value_conviction": _triangular(50_000.0, 150_000.0, 400_000.0),
    # Assumption: added value of removing a leader/organiser rather than a low-level member.
    "value_high_level_conviction": _triangular(100_000.0, 500_000.0, 1_500_000.0),
    # Assumption: lasting disruption of a group's market activity.
    "value_group_disrupted": _triangular(100_000.0, 500_000.0, 2_000_000.0),
    # Mode from Europol (2016) "Does crime still pay?": about 2.2% of criminal proceeds
    # in the EU were provisionally seized or frozen and about 1.1% finally confiscated,
    # so about half of what is seized is recovered; the range is an assumption.
    "asset_recovery_share": _triangular(0.2, 0.5, 0.8),
    # Assumption spanning McCollister et al. (2010, 2008 USD) per-offence costs from a
    # household burglary ($6.5k) to an aggravated assault ($107k).
    "cost_per_witness_offence": _triangular(6_500.0, 30_000.0, 107_000.0),
}

#: Currency of the default monetary values (and of the synthetic case files).
DEFAULT_CURRENCY = "USD"

#: Willingness to pay per additional conviction at which net monetary benefit and the
#: probability of being cost-effective are reported by default. Assumption: the mode of
#: the default value of a conviction.
DEFAULT_WILLINGNESS_TO_PAY = 150_000.0

#: Default willingness-to-pay grid for the acceptability curve: 0 to 1,000,000 per
#: additional conviction in steps of 10,000 (assumption: wide enough to show where the
#: curve crosses 0.5 for the default values).
DEFAULT_WTP_GRID: tuple[float, ...] = tuple(float(w) for w in range(0, 1_000_001, 10_000))

# ---- diagnostics -----------------------------------------------------------------------------

#: |SMD| above this is flagged as imbalance (Austin 2009).
SMD_THRESHOLD = 0.1
#: Warn when more than this share of cases lies outside the common support.
OUTSIDE_SUPPORT_WARNING = 0.05
#: Warn when an arm's effective sample size falls below this share of its size.
ESS_WARNING_RATIO = 0.2
#: Warn when one case carries more than this share of its arm's total weight.
MAX_WEIGHT_SHARE_WARNING = 0.05
