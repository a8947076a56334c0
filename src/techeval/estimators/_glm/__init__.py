"""The numerical core shared by the estimators' GLM fits (private).

:mod:`~techeval.estimators._glm.newton` holds the one damped Newton–Cholesky driver that
the logistic propensity and outcome models, the harm family's Poisson and NB2 count
models and the cost family's models minimise their losses with.
"""
