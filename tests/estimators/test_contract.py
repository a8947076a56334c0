"""The shared contract every registered estimator honours (as sklearn's test_common.py).

Runs over every estimator the registry knows (built-in and installed plug-ins) and over
the worked plug-in example in ``examples/``, made discoverable through a real
``techeval.estimators`` entry point.
"""

import math
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from techeval.cli import app
from techeval.estimators import available_estimators, get_estimator, registry
from techeval.results import EffectResult

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


def check_contract(estimator_class):
    """Assert the contract; shared by the built-in parametrisation and the plug-in test."""
    for binary in (True, False):
        frame = _frame(binary=binary)
        before = frame.copy(deep=True)
        estimator = estimator_class(random_state=3)
        fitted = estimator.fit(frame, treatment="t", outcome="y", covariates=["x", "group"])
        assert fitted is estimator, "fit must return self"
        pd.testing.assert_frame_equal(frame, before)  # input not mutated
        assert isinstance(fitted.results_, tuple) and fitted.results_
        assert all(isinstance(r, EffectResult) for r in fitted.results_)
        for result in fitted.results_:
            assert result.is_finite and math.isfinite(result.std_error), result
            assert result.ci_low <= result.estimate <= result.ci_high, result
            assert 0 <= result.p_value <= 1
            assert 0 < result.n_treated + result.n_control <= len(frame)
        again = estimator_class(random_state=3).fit(
            frame, treatment="t", outcome="y", covariates=["x", "group"]
        )
        assert again.results_ == fitted.results_, "same seed must give the same result"
        # get_params / set_params round-trip (sklearn's clone relies on it)
        params = estimator.get_params()
        assert estimator_class(**params).get_params() == params


@pytest.mark.parametrize("name", sorted(available_estimators("outcome")))
def test_registered_estimator_honours_the_contract(name):
    check_contract(get_estimator(name))


def _make_discoverable(tmp_path: Path) -> Path:
    """Make the example package importable and visible to importlib.metadata.

    Installing with pip would need the hatchling build backend (not a techeval
    dependency) and network access in CI. A ``.dist-info`` directory on ``sys.path`` is
    exactly what an installation leaves behind for entry-point discovery, so we write
    one from the example's own ``pyproject.toml`` and put its ``src`` on the path.
    """
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    dist_info = tmp_path / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    lines = []
    for group, entries in project["entry-points"].items():
        lines.append(f"[{group}]")
        lines.extend(f"{name} = {value}" for name, value in entries.items())
    (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return dist_info


@pytest.fixture
def example_plugin(tmp_path, monkeypatch):
    _make_discoverable(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(EXAMPLE / "src"))
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
    check_contract(cls)


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
