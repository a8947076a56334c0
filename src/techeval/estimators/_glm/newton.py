"""One damped Newton–Cholesky driver for the estimators' maximum-likelihood fits.

:func:`minimise` minimises a smooth convex (or locally convex) loss, such as a negative
log-likelihood plus an L2 penalty, given a function that returns the loss and, when
asked, its gradient and Hessian. It runs the penalised logistic regressions of
:mod:`techeval.estimators._nuisance` (propensity scores, binary outcomes, the cost
family's yes/no components) and the Poisson and NB2 count models of
:mod:`techeval.estimators.harm._models`. Two fits keep their own iteration for now,
because moving them changes published digits (measured shifts in their docstrings): the
gamma IRLS of the cost family (``cost._models._gamma_irls``, statsmodels' deviance rule)
and the scikit-learn ``PoissonRegressor`` path of the count nuisance models. The caller owns the passes over the data (row
blocks, designs read in place); the driver owns the iteration:

* the Newton step ``H^-1 g`` by Cholesky; a Hessian that is not positive definite (an
  NB2 step far from the optimum, a singular design without a penalty) is shifted along
  its diagonal until it is (Levenberg), with a least-squares step as the last resort;
* Armijo step halving: a step whose loss does not fall by ``1e-4`` of the first-order
  prediction (or differs from the current loss by rounding only) is halved, with
  loss-only evaluations, down to ``1e-10`` of the step;
* optionally a lazy Hessian: close to the optimum the Hessian barely changes, so below a
  relative step size the last one is kept and the loss is evaluated with its gradient
  only (each step still gains about three digits);
* ONE stopping rule, a negligible Newton step (see :data:`STEP_TOL`), and at most
  :data:`MAX_STEPS` steps.

References
----------
Nocedal, J., & Wright, S. J. (2006). *Numerical Optimization* (2nd ed.), sections 3.1
(Armijo condition, backtracking) and 3.4 (Newton's method with Hessian modification).
Springer.

Boyd, S., & Vandenberghe, L. (2004). *Convex Optimization*, section 9.5 (Newton's
method, the Newton decrement ``g' H^-1 g`` that the line search predicts the decrease
with). Cambridge University Press.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_factor, cho_solve

#: Steps before a fit gives up (separated classes without a penalty, a stratum without
#: events): the result is then reported as not converged.
MAX_STEPS = 100
#: The stopping rule: converged when the Newton step is negligible, in the parameters
#: (it moves none by more than ``STEP_TOL`` times ``1 + max |params|``) or in the loss
#: (the Newton decrement ``g' H^-1 g``, twice the decrease the step predicts, is at
#: most ``DECREMENT_TOL``, below the rounding of any loss fitted here). That last step
#: is then taken; convergence is quadratic (linear with about three digits a step under
#: a lazy Hessian), so the estimates are accurate far beyond it. The loss clause only
#: ends fits in which a coefficient runs off to infinity with nothing left to gain (a
#: Poisson stratum without events, separated classes), where the steps never shrink;
#: wherever the curvature is not vanishing the parameter clause comes first.
STEP_TOL = 1e-8
DECREMENT_TOL = 1e-20
#: Armijo constant: the share of the predicted decrease a step must achieve.
_ARMIJO = 1e-4
#: A loss change this small relative to the loss is rounding, and is accepted.
_ROUNDING = 1e-12
#: The smallest step fraction tried before the line search gives up.
_SMALLEST_STEP = 1e-10

#: ``evaluate(params, order)`` returns ``(loss, gradient, hessian)``: the gradient from
#: ``order >= 1`` and the Hessian from ``order >= 2`` (``None`` otherwise; returning
#: more than asked is allowed).
Evaluate = Callable[[np.ndarray, int], tuple[float, np.ndarray | None, np.ndarray | None]]


@dataclass(frozen=True)
class NewtonResult:
    """Where :func:`minimise` stopped."""

    params: np.ndarray
    converged: bool
    n_steps: int


class Factor:
    """A Cholesky factor of a Hessian, shifted along the diagonal if it must be (Levenberg)."""

    def __init__(self, hessian: np.ndarray):
        self.hessian = hessian
        self.factor = None
        shift = 0.0
        scale = float(np.max(np.abs(np.diag(hessian)))) if hessian.size else 1.0
        scale = scale or 1.0
        while shift <= 1e3 * scale:
            try:
                shifted = hessian if shift == 0.0 else hessian + shift * np.eye(hessian.shape[0])
                self.factor = cho_factor(shifted, check_finite=False)
                return
            except np.linalg.LinAlgError:
                shift = scale * 1e-10 if shift == 0.0 else shift * 10.0

    def solve(self, vector: np.ndarray) -> np.ndarray:
        """``H^-1 vector`` (of the shifted ``H``); least squares if no shift helped."""
        if self.factor is not None:
            return cho_solve(self.factor, vector, check_finite=False)
        return np.linalg.lstsq(self.hessian, vector, rcond=None)[0]


def minimise(
    evaluate: Evaluate,
    start: np.ndarray,
    *,
    valid: Callable[[np.ndarray], bool] | None = None,
    lazy_hessian: float | None = None,
    max_steps: int = MAX_STEPS,
) -> NewtonResult:
    """Minimise a loss by damped Newton steps from ``start``.

    Parameters
    ----------
    evaluate : callable
        ``evaluate(params, order) -> (loss, gradient, hessian)`` (see :data:`Evaluate`).
    start : ndarray
        Where to start.
    valid : callable, optional
        ``valid(params)`` rejects points outside the parameter space (a negative
        dispersion); a rejected step is halved without evaluating the loss.
    lazy_hessian : float, optional
        Keep the current Hessian when the step moves no parameter by more than this
        times ``1 + max |params|`` (every step recomputes it when ``None``).
    max_steps : int
        Steps before giving up (not converged).

    Returns
    -------
    NewtonResult
        Converged when the Newton step was negligible (:data:`STEP_TOL`; that last
        step taken). Not converged after ``max_steps`` steps, when the
        decrement is not finite or when no step fraction down to ``1e-10`` lowers the
        loss; ``params`` is then the last point reached.
    """
    params = np.array(start, dtype=float)
    loss, gradient, hessian = evaluate(params, 2)
    factor = Factor(hessian)
    steps = 0
    while steps < max_steps:
        steps += 1
        step = factor.solve(gradient)
        decrement = float(gradient @ step)
        if not math.isfinite(decrement):
            return NewtonResult(params, False, steps)
        scale = 1.0 + float(np.max(np.abs(params)))
        moved = float(np.max(np.abs(step)))
        if moved <= STEP_TOL * scale or decrement <= DECREMENT_TOL:
            return NewtonResult(params - step, True, steps)
        fresh = lazy_hessian is None or moved > lazy_hessian * scale
        # the whole step first, with the derivatives the next step needs (usually taken)
        size, candidate = 1.0, params - step
        new = evaluate(candidate, 2 if fresh else 1) if _admissible(valid, candidate) else None
        while not _sufficient(new, loss, size * decrement):
            size /= 2.0
            if size < _SMALLEST_STEP:
                return NewtonResult(params, False, steps)
            candidate = params - size * step
            new = evaluate(candidate, 0) if _admissible(valid, candidate) else None
        if size < 1.0:
            fresh = True
            new = evaluate(candidate, 2)
        params, (loss, gradient, new_hessian) = candidate, new
        if fresh:
            factor = Factor(new_hessian)
    return NewtonResult(params, False, max_steps)


def _admissible(valid: Callable[[np.ndarray], bool] | None, params: np.ndarray) -> bool:
    return valid is None or bool(valid(params))


def _sufficient(new: tuple | None, loss: float, predicted: float) -> bool:
    """Armijo: the loss fell by ``1e-4`` of the predicted decrease, or changed by rounding."""
    if new is None or not math.isfinite(new[0]):
        return False
    return new[0] <= loss - _ARMIJO * predicted or abs(new[0] - loss) <= _ROUNDING * max(
        abs(loss), 1.0
    )
