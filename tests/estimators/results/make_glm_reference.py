"""Write tests/estimators/results/glm_reference.py: the stored GLM reference fits.

Run from the repository root with the libraries to record, then ``ruff format`` it::

    python tests/estimators/results/make_glm_reference.py \
        > tests/estimators/results/glm_reference.py
"""

import sys
from pathlib import Path

import numpy as np
import scipy
import sklearn
import statsmodels
import statsmodels.api as sm
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parent))
from glm_data import design, outcomes

X = design()
t, counts, exposure, cost, event = outcomes()
X1 = np.column_stack([np.ones(len(X)), X])
offset = np.log(exposure)
pois = sm.GLM(counts, X1, family=sm.families.Poisson(), offset=offset).fit(
    cov_type="HC0", tol=1e-13
)
nb = sm.NegativeBinomial(counts, X1, loglike_method="nb2", offset=offset).fit(
    disp=0, maxiter=500, cov_type="HC0", method="newton", tol=1e-13
)
gam = sm.GLM(cost, X1, family=sm.families.Gamma(sm.families.links.Log())).fit()
logit = LogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(X, event)


def f(a):
    return "(" + ", ".join(repr(float(v)) for v in np.ravel(a)) + ",)"


print(f'''"""Stored reference fits for tests/estimators/test_glm.py, with their provenance.

Written by ``make_glm_reference.py`` (its calls are copied below) on the
deterministic data of :mod:`glm_data`, with Python {sys.version.split()[0]}, numpy
{np.__version__}, scipy {scipy.__version__}, statsmodels {statsmodels.__version__} and
scikit-learn {sklearn.__version__}. The live comparisons in test_nuisance.py,
test_harm.py and test_cost.py follow the installed libraries; these do not, so a
library change cannot move both sides of a check.
"""

#: ``sm.GLM(counts, X1, family=sm.families.Poisson(), offset=log(exposure))
#: .fit(cov_type="HC0", tol=1e-13)``
POISSON_HC0 = {{
    "params": {f(pois.params)},
    "bse": {f(pois.bse)},
}}

#: ``sm.NegativeBinomial(counts, X1, loglike_method="nb2", offset=log(exposure))
#: .fit(disp=0, maxiter=500, cov_type="HC0", method="newton", tol=1e-13)``; the last
#: parameter is the NB2 dispersion alpha
NB2_HC0 = {{
    "params": {f(nb.params)},
    "bse": {f(nb.bse)},
}}

#: ``sm.GLM(cost, X1, family=sm.families.Gamma(sm.families.links.Log())).fit()``
GAMMA_LOG = {{
    "params": {f(gam.params)},
}}

#: ``sklearn.linear_model.LogisticRegression(C=1.0, solver="newton-cholesky",
#: tol=1e-12, max_iter=1000).fit(X, event)``: intercept, then coefficients
LOGISTIC_L2_1 = {{
    "params": {f(np.r_[logit.intercept_, logit.coef_.ravel()])},
}}''')
