"""Synthetic case records with known truth.

Real case files are confidential, so evaluators learn techeval, developers test it and
researchers validate estimators on synthetic cases whose true effects are known. This
package is the project's ground truth: every case carries its potential outcomes with and
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
:data:`SCENARIOS`, :class:`SyntheticCases`, and for the ``regions`` scenario
:func:`generate_regions`, :func:`write_regions` and :func:`region_average_truth`.

Modules: ``model`` (the fixed world, scenarios and equations), ``dgp`` (the case
generator), ``truth`` (population and sample truth), ``write`` (the CSV/Parquet and
truth.json writer), ``regions`` (the regions scenario) and ``study`` (the AIPW coverage
study behind ``benchmarks/coverage_study.py``; import it from
``techeval.simulate.study``, it loads the estimators).
"""

from techeval.simulate.dgp import SyntheticCases, generate_cases
from techeval.simulate.model import (
    BINARY_MEASURES,
    HARM_MEASURES,
    SCENARIOS,
    SYNTHETIC_COVARIATES,
)
from techeval.simulate.regions import (
    REGION_EFFECTS,
    generate_regions,
    region_average_truth,
    write_regions,
)
from techeval.simulate.truth import TRUTH_SCHEMA, population_truth
from techeval.simulate.write import write_cases

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
    "region_average_truth",
    "write_cases",
    "write_regions",
]
