"""Cost estimators: cost description, adjusted incremental cost, cost-effectiveness, benefit–cost.

Four registered estimators answer "what does the technique cost, what does one extra
conviction cost with it, and is it worth it?", one a module:

=======================  ===============================================================
``cost.summary``         mean, median, IQR, technique share of cost, cost per suspect and
                         per officer-day, for cases with the technique and the comparator
                         (:mod:`~techeval.estimators.cost.summary`)
``cost.incremental``     adjusted incremental cost per case (gamma GLM, doubly robust)
                         (:mod:`~techeval.estimators.cost.incremental`)
``cost.effectiveness``   ICER with its quadrant, CE plane, acceptability curve, net
                         monetary benefit — from a joint bootstrap of cost and effects
                         (:mod:`~techeval.estimators.cost.effectiveness`)
``cost.benefit``         WSIPP-style net benefit, benefit–cost ratio and the probability
                         that benefits exceed costs (Monte Carlo)
                         (:mod:`~techeval.estimators.cost.benefit`)
=======================  ===============================================================

Costs are right-skewed, so the default cost model is a gamma GLM with a log link
(Manning & Mullahy 2001), never OLS on raw cost. Effects are averaged over cases by
recycled predictions (every case's predicted cost with the technique set on, minus set
off) and, by default, augmented with inverse-propensity-weighted residuals (doubly
robust). The adjusted estimators share their plumbing: the missing-data rule
(``_data``), the component models (``_models``), the joint bootstrap with its memo of
replicates (``_bootstrap``) and the parameter checks and rows (``_base``). Rows carry
the estimator's family: ``"cost"``, and ``"synthesis"`` for ``cost.benefit``, which
weighs outcome, cost and harm estimates against each other.

References
----------
Manning, W. G., & Mullahy, J. (2001). Estimating log models: to transform or not to
transform? *Journal of Health Economics*, 20(4), 461–494.

Glick, H. A., Doshi, J. A., Sonnad, S. S., & Polsky, D. (2014). *Economic Evaluation in
Clinical Trials* (2nd ed.). Oxford University Press.

Drummond, M. F., et al. (2015). *Methods for the Economic Evaluation of Health Care
Programmes* (4th ed.). Oxford University Press.

Fenwick, E., Claxton, K., & Sculpher, M. (2001). Representing uncertainty: the role of
cost-effectiveness acceptability curves. *Health Economics*, 10(8), 779–787.

Washington State Institute for Public Policy (2019). *Benefit–Cost Technical
Documentation*. Olympia, WA.

Moulton, L. H., & Zeger, S. L. (1991). Bootstrapping generalized linear models.
*Computational Statistics & Data Analysis*, 11(1), 53–63.

Hu, F., & Kalbfleisch, J. D. (2000). The estimating function bootstrap. *Canadian
Journal of Statistics*, 28(3), 449–481.

Bang, H., & Robins, J. M. (2005). Doubly robust estimation in missing data and causal
inference models. *Biometrics*, 61(4), 962–973.
"""

from techeval.estimators.cost._data import per_case_outcome
from techeval.estimators.cost.benefit import BenefitCost
from techeval.estimators.cost.effectiveness import CostEffectiveness
from techeval.estimators.cost.incremental import IncrementalCost
from techeval.estimators.cost.summary import CostSummary

__all__ = [
    "BenefitCost",
    "CostEffectiveness",
    "CostSummary",
    "IncrementalCost",
    "per_case_outcome",
]
