"""The shared contract every registered estimator honours (as sklearn's test_common.py).

Runs over every estimator the registry knows (built-in and installed plug-ins) and over
the worked plug-in example in ``examples/``, made discoverable through a real
``techeval.estimators`` entry point.
"""

import math
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from techeval.cli import app
from techeval.estimators import available_estimators, get_estimator, registry
from techeval.protocols.model import load_protocol
from techeval.protocols.plan import roles_for
from techeval.results import EffectResult, canonical_json

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "techeval-example-estimator"


def _frame(n=600, seed=11, binary=True):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    group = rng.choice(["north", "south", "east"], size=n)
    treated = rng.random(n) < 1 / (1 + np.exp(-(0.6 * x + (group == "east"))))
    if binary:
        y = (rng.random(n) < 1 / (1 + np.exp(-(-0.3 + 0.5 * x + 0.7 * treated)))).astype(int)
    else:
        y = 2.0 + x + 1.5 * treated + rng.normal(size=n)
    return pd.DataFrame({"t": treated, "y": y, "x": x, "group": group})


# Every registered estimator is fitted on one synthetic case table in the roles the runner
# gives it (techeval.protocols.plan.roles_for, from its tags): with its entry of the standard
# protocol when that runs it, and on the first technique it applies to. Nothing here knows
# an estimator by its name.
STANDARD = load_protocol("standard-v1").protocol
# keep the contract run quick: few replicates and draws
QUICK = {"n_bootstrap": 20, "n_draws": 400}


def _roles(cls):
    spec = next(
        (s for s in STANDARD.estimators if s.name == cls.name), SimpleNamespace(outcomes=None)
    )
    technique = (cls.tags.techniques or STANDARD.techniques)[0]
    return roles_for(cls.tags, spec, STANDARD, technique)[0]


@pytest.fixture(scope="module")
def case_table():
    from techeval.cases import validate_frame
    from techeval.simulate import generate_cases

    return validate_frame(generate_cases(800, seed=5).cases).cases


def check_contract(estimator_class, frame, roles):
    """Assert the contract for one estimator, frame and set of roles."""
    names = estimator_class.param_names()
    params = {k: v for k, v in QUICK.items() if k in names}
    if "random_state" in names:
        params["random_state"] = 3
    before = frame.copy(deep=True)
    estimator = estimator_class(**params)
    fitted = estimator.fit(frame, **roles)
    assert fitted is estimator, "fit must return self"
    pd.testing.assert_frame_equal(frame, before)  # input not mutated
    assert isinstance(fitted.results_, tuple) and fitted.results_
    for result in fitted.results_:
        assert isinstance(result, EffectResult)
        assert result.family == estimator_class.family
        assert result.estimator == estimator_class.name  # stamped by the base class
        assert result.adjusted is estimator_class.tags.adjusted
        if result.is_finite:
            assert result.ci_low <= result.estimate <= result.ci_high, result
        assert math.isnan(result.p_value) or 0 <= result.p_value <= 1
        assert result.n_treated >= 0 and result.n_control >= 0
        canonical_json(result.to_dict())  # diagnostics are plain JSON values
    primary = fitted.result_
    if primary.scale not in ("", None) and estimator_class.family == "outcome":
        assert primary.is_finite and math.isfinite(primary.std_error), primary
    again = estimator_class(**params).fit(frame, **roles)
    assert again.results_ == fitted.results_, "same seed must give the same result"
    # get_params / set_params round-trip (sklearn's clone relies on it)
    params = estimator.get_params()
    assert estimator_class(**params).get_params() == params


@pytest.mark.parametrize("name", sorted(available_estimators()))
def test_registered_estimator_honours_the_contract(name, case_table):
    cls = get_estimator(name)
    check_contract(cls, case_table, _roles(cls))


@pytest.mark.parametrize("binary", [True, False])
@pytest.mark.parametrize("name", sorted(available_estimators("outcome")))
def test_outcome_estimators_on_any_table(name, binary):
    frame = _frame(binary=binary)
    check_contract(
        get_estimator(name), frame, {"treatment": "t", "outcome": "y", "covariates": ["x", "group"]}
    )


@pytest.fixture
def example_plugin(tmp_path, monkeypatch):
    """Install the example package for real (pip, offline) into a folder on sys.path.

    ``--target`` keeps the test's venv unchanged; ``--no-build-isolation`` uses the
    hatchling from the test extra, so no network is needed.
    """
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "--target", str(target), str(EXAMPLE)],
        check=True, capture_output=True,
    )  # fmt: skip
    assert (target / "techeval_example_estimator").is_dir()
    monkeypatch.syspath_prepend(str(target))
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setattr(registry, "_loaded", False)
    yield
    sys.modules.pop("techeval_example_estimator", None)


def test_example_plugin_is_discovered_listed_and_usable(example_plugin):
    cls = get_estimator("outcome.trimmed_ipw")
    assert cls.__module__ == "techeval_example_estimator"
    assert cls.name == "outcome.trimmed_ipw" and cls.family == "outcome"

    listing = CliRunner().invoke(app, ["estimators"], terminal_width=200)
    assert listing.exit_code == 0, listing.output
    assert "outcome.trimmed_ipw" in listing.output
    assert "IPW on cases whose estimated propensity" in listing.output

    fitted = cls(trim=0.1, random_state=0).fit(
        _frame(), treatment="t", outcome="y", covariates=["x", "group"]
    )
    assert fitted.result_.method == "trimmed_ipw"
    assert fitted.result_.diagnostics["rows_trimmed"] == fitted.n_trimmed_ >= 0
    check_contract(cls, _frame(), {"treatment": "t", "outcome": "y", "covariates": ["x", "group"]})


def test_example_plugin_runs_through_the_effect_command(example_plugin, tmp_path):
    path = tmp_path / "data.csv"
    _frame().to_csv(path, index=False)
    out = CliRunner().invoke(
        app,
        [
            "effect",
            str(path),
            "--treatment",
            "t",
            "--outcome",
            "y",
            "--covariates",
            "x,group",
            "--method",
            "outcome.trimmed_ipw",
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    assert '"method": "trimmed_ipw"' in out.output
