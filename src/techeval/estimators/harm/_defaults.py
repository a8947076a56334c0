"""Documented defaults and literature benchmarks of the harm estimators."""

from __future__ import annotations

import math

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
