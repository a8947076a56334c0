"""Effects of a technique on an outcome: naive, regression, IPW and AIPW estimators.

Four registered estimators answer "did using technique T change the outcome?":

=====================  =================================================================
``outcome.naive``      difference in means, unadjusted (shown for contrast only)
``outcome.regression`` g-computation: outcome models per arm, averaged over cases
``outcome.ipw``        inverse-probability weighting, stabilised weights, Hájek form
``outcome.aipw``       augmented IPW (doubly robust) with K-fold cross-fitting (default)
=====================  =================================================================

Each ``fit`` returns ``self`` with ``results_``: the risk difference (binary outcome) or
mean difference (count, continuous) first, then for binary outcomes the risk ratio and
odds ratio. Every row carries the same diagnostics: overlap, balance, E-values, rows
dropped, inference method and cross-fitting folds.

All four estimate the two arm means ``m1``, ``m0`` (for the ATE: the mean outcome had
every case used / not used the technique; for the ATT: over cases that used it) and the
influence function of each; :class:`ArmMeansEstimator`, their public base class, turns
them into rows. A new outcome estimator subclasses it and writes only its arm means.
The ratio intervals use the delta method on the log scale:
``IF(log RR) = IF1/m1 - IF0/m0`` and ``IF(log OR) = IF1/(m1(1-m1)) - IF0/(m0(1-m0))``.

One module per estimator: :mod:`~techeval.estimators.outcome.naive`,
:mod:`~techeval.estimators.outcome.regression`, :mod:`~techeval.estimators.outcome.ipw`,
:mod:`~techeval.estimators.outcome.aipw`; the shared machinery is in ``_arms``.

References
----------
Hernán, M. A., & Robins, J. M. (2020). *Causal Inference: What If*. Chapman & Hall/CRC.

Chernozhukov, V., et al. (2018). Double/debiased machine learning for treatment and
structural parameters. *The Econometrics Journal*, 21(1), C1–C68.

Lunceford, J. K., & Davidian, M. (2004). Stratification and weighting via the propensity
score in estimation of causal treatment effects. *Statistics in Medicine*, 23(19),
2937–2960.
"""

from techeval.estimators.outcome._arms import ArmMeansEstimator, Arms, ArmSettings
from techeval.estimators.outcome.aipw import AIPW
from techeval.estimators.outcome.ipw import IPW
from techeval.estimators.outcome.naive import Naive
from techeval.estimators.outcome.regression import Regression

__all__ = ["AIPW", "IPW", "ArmMeansEstimator", "ArmSettings", "Arms", "Naive", "Regression"]
