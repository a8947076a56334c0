"""The one Newton driver of the GLM fits: stopping rule, line search, Levenberg shift."""

import numpy as np
import pytest

from techeval.estimators._glm.newton import STEP_TOL, Factor, minimise

from .results.glm_data import design, outcomes
from .results.glm_reference import GAMMA_LOG, LOGISTIC_L2_1, NB2_HC0, POISSON_HC0


def _quartic(target):
    # a strictly convex loss whose Hessian changes along the path (not a quadratic)
    def evaluate(x, order):
        d = x - target
        loss = float(np.sum(d**2 + d**4))
        gradient = 2 * d + 4 * d**3 if order >= 1 else None
        hessian = np.diag(2 + 12 * d**2) if order >= 2 else None
        return loss, gradient, hessian

    return evaluate


def test_minimise_converges_to_the_optimum_with_the_step_rule():
    target = np.array([1.0, -2.0, 3.0])
    fit = minimise(_quartic(target), np.zeros(3))
    assert fit.converged and fit.n_steps < 20
    np.testing.assert_allclose(fit.params, target, atol=10 * STEP_TOL)


def test_lazy_hessian_reaches_the_same_optimum():
    target = np.array([0.5, 4.0])
    full = minimise(_quartic(target), np.zeros(2))
    lazy = minimise(_quartic(target), np.zeros(2), lazy_hessian=1e-3)
    assert lazy.converged
    np.testing.assert_allclose(lazy.params, full.params, atol=1e-10)


def test_steps_leaving_the_parameter_space_are_halved():
    # minimise x - log(x) (optimum 1) from far right: the full Newton step goes negative
    def evaluate(x, order):
        loss = float(x[0] - np.log(x[0]))
        gradient = np.array([1 - 1 / x[0]]) if order >= 1 else None
        hessian = np.array([[1 / x[0] ** 2]]) if order >= 2 else None
        return loss, gradient, hessian

    seen = []

    def valid(x):
        seen.append(float(x[0]))
        return x[0] > 0

    fit = minimise(evaluate, np.array([5.0]), valid=valid)
    assert fit.converged and abs(fit.params[0] - 1.0) < 1e-9
    assert min(seen) <= 0  # a step was rejected and halved


def test_a_coefficient_running_off_to_infinity_stops_on_the_loss_clause():
    # exp(x) has no minimum: the steps stay 1, the predicted gain vanishes
    def evaluate(x, order):
        value = float(np.exp(x[0]))
        return value, np.array([value]) if order else None, np.array([[value]])

    fit = minimise(evaluate, np.array([0.0]))
    assert fit.converged and fit.params[0] < -40


def test_factor_shifts_a_matrix_that_is_not_positive_definite():
    indefinite = np.array([[1.0, 2.0], [2.0, 1.0]])
    factor = Factor(indefinite)
    assert factor.factor is not None  # shifted until Cholesky succeeds
    step = factor.solve(np.array([1.0, 0.0]))
    assert np.all(np.isfinite(step))
    spd = np.array([[2.0, 0.5], [0.5, 1.0]])
    np.testing.assert_allclose(Factor(spd).solve(np.ones(2)), np.linalg.solve(spd, np.ones(2)))


# ---- the solvers against stored library fits (tests/estimators/results/) ---------------


def _stored_data():
    X = design()
    return X, np.column_stack([np.ones(len(X)), X]), *outcomes()


def test_poisson_and_nb2_fits_equal_the_stored_statsmodels_fits():
    from techeval.estimators.harm import _models as hm

    _, X1, _, counts, exposure, _, _ = _stored_data()
    offset = np.log(exposure)
    fit, _, params = hm.fit_poisson(counts, X1, offset, cov_type="HC0")
    assert fit.converged
    np.testing.assert_allclose(params, POISSON_HC0["params"], rtol=1e-9, atol=1e-11)
    assert fit.std_error == pytest.approx(POISSON_HC0["bse"][1], rel=1e-8)
    nb2 = hm.fit_negative_binomial(counts, X1, offset, cov_type="HC0", start=np.r_[params, 0.5])
    assert nb2.converged
    assert nb2.log_rate_ratio == pytest.approx(NB2_HC0["params"][1], rel=1e-8)
    assert nb2.std_error == pytest.approx(NB2_HC0["bse"][1], rel=1e-7)
    assert nb2.alpha == pytest.approx(NB2_HC0["params"][-1], rel=1e-7)


def test_gamma_irls_equals_the_stored_statsmodels_fit():
    from techeval.estimators.cost._models import _gamma_irls

    _, X1, _, _, _, cost, _ = _stored_data()
    np.testing.assert_allclose(_gamma_irls(X1, cost), GAMMA_LOG["params"], rtol=1e-10)


def test_logistic_fit_equals_the_stored_scikit_learn_fit():
    from techeval.estimators._nuisance import fit_logistic

    X, _, _, _, _, _, event = _stored_data()
    fit = fit_logistic(X, event, l2_penalty=1.0)
    assert fit.converged_
    np.testing.assert_allclose(
        np.r_[fit.intercept_, fit.coef_], LOGISTIC_L2_1["params"], rtol=1e-8, atol=1e-10
    )
