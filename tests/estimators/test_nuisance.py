"""Nuisance-model safeguards: no extrapolation blow-ups, no writes into the caller's data."""

import numpy as np
import pandas as pd
import pytest

from techeval.estimators._glm.workspace import current_workspace
from techeval.estimators._nuisance import (
    GLM,
    build_design,
    fit_logistic,
    fit_ridge,
    propensity_fit,
    shared_nuisance,
)
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


# ---- the block-wise solvers agree with scikit-learn ------------------------------------


def _logistic_data(n=4000, p=6, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    eta = -0.7 + X @ rng.normal(0, 0.6, p)
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return X, y


@pytest.mark.parametrize("penalty", [0.0, 1.0, 50.0])
@pytest.mark.parametrize("subset", ["all", "dense", "sparse"])
def test_logistic_solver_matches_scikit_learn(penalty, subset):
    from sklearn.linear_model import LogisticRegression

    X, y = _logistic_data()
    rng = np.random.default_rng(0)
    rows = {
        "all": None,
        "dense": np.sort(rng.choice(len(y), 3000, replace=False)),  # read in place, masked
        "sparse": np.sort(rng.choice(len(y), 900, replace=False)),  # gathered
    }[subset]
    fit = fit_logistic(X, y, l2_penalty=penalty, rows=rows)
    at = slice(None) if rows is None else rows
    reference = LogisticRegression(
        C=np.inf if penalty == 0 else 1 / penalty, solver="newton-cholesky", tol=1e-12
    ).fit(X[at], y[at])
    assert fit.converged_
    np.testing.assert_allclose(fit.coef_, reference.coef_[0], atol=1e-7)
    np.testing.assert_allclose(fit.intercept_, reference.intercept_, atol=1e-7)


def test_logistic_solver_reaches_the_same_optimum_from_any_start():
    X, y = _logistic_data(seed=5)
    cold = fit_logistic(X, y, l2_penalty=1.0)
    warm = fit_logistic(X, y, l2_penalty=1.0, start=np.r_[cold.intercept_, cold.coef_] + 0.3)
    far = fit_logistic(X, y, l2_penalty=1.0, start=np.full(X.shape[1] + 1, 5.0))
    for other in (warm, far):
        np.testing.assert_allclose(other.coef_, cold.coef_, atol=1e-9)


def test_logistic_solver_stops_under_separation_without_a_penalty():
    X = np.r_[np.linspace(-3, -0.1, 50), np.linspace(0.1, 3, 50)][:, None]
    y = (X[:, 0] > 0).astype(float)
    fit = fit_logistic(X, y, l2_penalty=0.0)
    assert np.isfinite(fit.coef_).all() and fit.coef_[0] > 5  # large, finite, stopped


@pytest.mark.parametrize("subset", [None, "dense", "sparse"])
def test_ridge_solver_matches_scikit_learn(subset):
    from sklearn.linear_model import Ridge

    X, _ = _logistic_data()
    y = X @ np.arange(X.shape[1]) + np.random.default_rng(2).standard_normal(len(X))
    rows = None
    if subset:
        size = 3000 if subset == "dense" else 500
        rows = np.sort(np.random.default_rng(1).choice(len(y), size, replace=False))
    at = slice(None) if rows is None else rows
    fit = fit_ridge(X, y, l2_penalty=7.0, rows=rows)
    reference = Ridge(alpha=7.0).fit(X[at], y[at])
    np.testing.assert_allclose(fit.coef_, reference.coef_, atol=1e-10)
    np.testing.assert_allclose(fit.intercept_, reference.intercept_, atol=1e-10)


def test_design_is_cached_read_only_and_rebuilt_when_a_cell_changes():
    frame = pd.DataFrame(
        {"offence": ["drugs", "fraud", "arms", "drugs"] * 50, "n": np.arange(200) % 13}
    )
    with shared_nuisance() as shared, shared_nuisance() as nested:
        assert nested is shared and current_workspace() is shared
        first = build_design(frame, spline_knots=5, drop_first=False)
        again = build_design(frame.copy(), spline_knots=5, drop_first=False)
        assert again.matrix is first.matrix  # same cells: the cached matrix
        assert not first.matrix.flags.writeable
        with pytest.raises(ValueError):
            first.matrix[0, 0] = 1.0
        changed = frame.copy()
        changed.loc[7, "offence"] = "fraud"
        other = build_design(changed, spline_knots=5, drop_first=False)
        assert other.matrix is not first.matrix
        assert not np.array_equal(other.matrix, first.matrix)
        fit = propensity_fit(first.matrix, np.arange(200) % 3 == 0, l2_penalty=1.0)
        assert propensity_fit(first.matrix, np.arange(200) % 3 == 0, l2_penalty=1.0) is fit
    # the block's workspace held them, and goes when the outermost block ends
    assert len(shared.designs) == 2 and len(shared.propensity) == 1
    assert current_workspace() is None
    # nothing is kept outside the block: fresh, writeable matrices every time
    outside = build_design(frame, spline_knots=5, drop_first=False)
    assert outside.matrix is not first.matrix and outside.matrix.flags.writeable
    np.testing.assert_array_equal(outside.matrix, first.matrix)
    assert build_design(frame, spline_knots=5, drop_first=False).matrix is not outside.matrix
    assert first.names == ["offence=arms", "offence=drugs", "offence=fraud"] + [
        f"n:spline{j}" for j in range(first.matrix.shape[1] - 3)
    ]
    # standardised columns
    np.testing.assert_allclose(first.matrix.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(first.matrix.std(axis=0), 1, atol=1e-12)


def test_design_matches_scikit_learn_encoders():
    from sklearn.preprocessing import OneHotEncoder, SplineTransformer

    rng = np.random.default_rng(4)
    frame = pd.DataFrame(
        {
            "group": rng.choice(["b", "a", "c"], 500),
            "year": rng.integers(2010, 2020, 500),
            "flag": rng.random(500) < 0.3,
        }
    )
    design = build_design(frame, spline_knots=4, drop_first=True)
    one_hot = OneHotEncoder(drop="first", sparse_output=False).fit_transform(
        frame[["group"]].astype(str)
    )
    knots = np.unique(np.quantile(frame["year"], np.linspace(0, 1, 4))).reshape(-1, 1)
    spline = SplineTransformer(
        knots=knots, degree=3, extrapolation="linear", include_bias=False
    ).fit_transform(frame[["year"]].astype(float))
    flag = OneHotEncoder(drop="first", sparse_output=False).fit_transform(
        frame[["flag"]].astype(str)
    )
    expected = np.hstack([one_hot, spline, flag])
    expected = (expected - expected.mean(0)) / expected.std(0)
    np.testing.assert_allclose(design.matrix, expected, atol=1e-10)


def test_balance_matrix_holds_numbers_as_they_are_and_a_column_per_text_level():
    from techeval.estimators._nuisance import balance_matrix

    frame = pd.DataFrame(
        {
            "offence": pd.array(["fraud", "drugs", "arms", "drugs"], dtype="string"),
            "n": pd.array([1, 5, 2, 3], dtype="Int64"),
            "armed": [True, False, False, True],
            "score": [0.5, 1.5, -2.0, 0.0],
        }
    )
    design = balance_matrix(frame)
    expected = pd.concat(
        [
            pd.get_dummies(frame["offence"], prefix="offence", prefix_sep="=").astype(float),
            frame[["n"]].astype(float),
            pd.get_dummies(frame["armed"].astype(str), prefix="armed", prefix_sep="="),
            frame[["score"]],
        ],
        axis=1,
    ).astype(float)
    assert design.names == list(expected.columns)
    np.testing.assert_array_equal(design.matrix, expected.to_numpy())
    assert design.matrix.flags.f_contiguous
