"""Stored reference fits for tests/estimators/test_glm.py, with their provenance.

Written by ``make_glm_reference.py`` (its calls are copied below) on the
deterministic data of :mod:`glm_data`, with Python 3.11.7, numpy
2.4.6, scipy 1.17.1, statsmodels 0.15.0 and
scikit-learn 1.9.1. The live comparisons in test_nuisance.py,
test_harm.py and test_cost.py follow the installed libraries; these do not, so a
library change cannot move both sides of a check.
"""

#: ``sm.GLM(counts, X1, family=sm.families.Poisson(), offset=log(exposure))
#: .fit(cov_type="HC0", tol=1e-13)``
POISSON_HC0 = {
    "params": (
        -1.4024420621113491,
        0.6313231890283864,
        0.4468910901881345,
        -0.47097256979118735,
    ),
    "bse": (
        0.06192191925254519,
        0.09504931363223502,
        0.06516810116414691,
        0.06823402842710861,
    ),
}

#: ``sm.NegativeBinomial(counts, X1, loglike_method="nb2", offset=log(exposure))
#: .fit(disp=0, maxiter=500, cov_type="HC0", method="newton", tol=1e-13)``; the last
#: parameter is the NB2 dispersion alpha
NB2_HC0 = {
    "params": (
        -1.4135582337725217,
        0.6362134128589313,
        0.45491617976330523,
        -0.46512800585909725,
        0.1137099305630997,
    ),
    "bse": (
        0.06191955091884663,
        0.09158524863579345,
        0.06343010008020515,
        0.06531865065247712,
        0.04723750980894022,
    ),
}

#: ``sm.GLM(cost, X1, family=sm.families.Gamma(sm.families.links.Log())).fit()``
GAMMA_LOG = {
    "params": (
        0.995526485447755,
        0.5145258523223442,
        0.2920532193676729,
        0.00654748393572574,
    ),
}

#: ``sklearn.linear_model.LogisticRegression(C=1.0, solver="newton-cholesky",
#: tol=1e-12, max_iter=1000).fit(X, event)``: intercept, then coefficients
LOGISTIC_L2_1 = {
    "params": (
        -0.5530603542440878,
        0.8609317643334442,
        1.467469835673323,
        -0.004572942195539528,
    ),
}
