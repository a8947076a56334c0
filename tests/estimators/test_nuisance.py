"""Nuisance-model safeguards: no extrapolation blow-ups, no writes into the caller's data."""

import numpy as np
import pandas as pd

from techeval.estimators._nuisance import GLM, build_design
from techeval.estimators.outcome import AIPW


def test_single_numeric_covariate_design_leaves_the_frame_alone():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]})
    before = frame.copy()
    design = build_design(frame[["x"]], spline_knots=0, drop_first=True)
    pd.testing.assert_frame_equal(frame, before)
    assert np.allclose(design.matrix[:, 0], (before["x"] - 2.5) / before["x"].std(ddof=0))


def test_log_link_predictions_stay_within_the_fitted_range():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 1))
    y = rng.poisson(np.exp(1 + 0.8 * X[:, 0]))
    model = GLM("count", l2_penalty=1.0).fit(X, y.astype(float))
    low, high = model.linear_predictor_range_
    far = model.predict(np.array([[50.0], [-50.0]]))
    assert far[0] == np.exp(high) and far[1] == np.exp(low)
    inside = model.predict(X[:5])
    direct = np.exp(X[:5] @ model.model_.coef_ + model.model_.intercept_)
    assert np.allclose(inside, direct)


def test_aipw_on_a_heavy_tailed_money_outcome_stays_sane():
    # Whole-dollar costs look like counts and get a log-link model; a heavy-tailed
    # covariate in another fold once made one prediction explode into the millions.
    rng = np.random.default_rng(3)
    n = 3000
    size = np.round(np.exp(rng.normal(1.6, 0.9, n))).clip(1, 400)
    treated = rng.random(n) < 1 / (1 + np.exp(-(np.log(size) - 1.6)))
    cost = np.round(rng.gamma(2.0, 20_000 * size**0.5 / 2.0) + 150_000 * treated)
    frame = pd.DataFrame({"t": treated, "cost": cost, "size": size})
    result = (
        AIPW(random_state=0).fit(frame, treatment="t", outcome="cost", covariates=["size"]).result_
    )
    assert result.ci_low <= 150_000 <= result.ci_high
    assert result.std_error < 20_000
