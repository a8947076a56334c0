"""The one Newton driver of the GLM fits: stopping rule, line search, Levenberg shift."""

import numpy as np

from techeval.estimators._glm.newton import STEP_TOL, Factor, minimise


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
