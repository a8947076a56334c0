"""Estimator tags: what an estimator declares is all the runner, the grades and result.json read.

The plug-in promise, end to end: an estimator defined here, declared only through its
``Tags`` and registered with ``techeval.estimators.register``, is planned, run, graded
and described like a built-in, with no name of it anywhere in techeval.
"""

import dataclasses
import inspect
import json
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from techeval.cases import validate_frame
from techeval.estimators import Estimator, Tags, available_estimators, register, registry
from techeval.protocols.model import load_protocol
from techeval.protocols.plan import plan_tasks, roles_for
from techeval.protocols.run import run_protocol, write_outputs
from techeval.results import EffectResult
from techeval.simulate import generate_cases, write_cases

PLUGIN = "outcome.linear_probability"


def test_tags_are_frozen_and_checked():
    tags = Tags(roles="treatment_only", inference_names={"bootstrap": "resampling"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        tags.adjusted = False
    with pytest.raises(TypeError):
        tags.inference_names["bootstrap"] = "other"  # read-only, as the tags themselves
    assert tags.inference_name("bootstrap") == "resampling"
    assert tags.inference_name("influence_function") == "influence_function"
    with pytest.raises(ValueError, match="roles"):
        Tags(roles="per_technique")
    with pytest.raises(ValueError, match="covariates"):
        Tags(covariates="all")
    assert Tags(default_outcomes=["cost_total"]).default_outcomes == ("cost_total",)
    assert Tags(techniques=["undercover"]).techniques == ("undercover",)


BUILT_IN = {
    name: cls
    for name, cls in available_estimators().items()
    if cls.__module__.startswith("techeval.")
}


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_every_built_in_has_tags_a_description_and_a_fit_that_takes_its_roles(name):
    cls = BUILT_IN[name]
    assert isinstance(cls.tags, Tags)
    assert cls.description(), "the first docstring paragraph is quoted in result.json"
    assert cls.family in ("outcome", "cost", "harm", "synthesis")
    # what the runner passes from the tags is what fit takes, and fit needs no more
    protocol = SimpleNamespace(
        covariates=["offence"],
        outcomes=["conviction"],
        subgroups=SimpleNamespace(by=["offence"]),
    )
    technique = (cls.tags.techniques or ("undercover",))[0]
    (role,) = roles_for(cls.tags, SimpleNamespace(outcomes=["x"]), protocol, technique)
    fit = inspect.signature(cls.fit).parameters
    assert set(role) <= set(fit), f"fit does not take {set(role) - set(fit)}"
    required = {k for k, p in fit.items() if k not in ("self", "frame") and p.default is p.empty}
    assert required <= set(role), f"the runner never passes {required - set(role)}"


class LinearProbability(Estimator):
    """Risk difference from a linear probability model on the covariates (a test plug-in).

    Parameters
    ----------
    ci_level : float
        Confidence level.
    random_state : None
        Unused (the estimate is deterministic); taken because the runner offers it.
    """

    tags = Tags(roles="per_outcome", adjusted=True)

    def __init__(self, *, ci_level=0.95, random_state=None):
        self.ci_level = ci_level
        self.random_state = random_state

    def fit(self, frame, *, treatment, outcome, covariates=()):
        used = frame.dropna(subset=[treatment, outcome, *covariates])
        treated = used[treatment].astype(bool).to_numpy()
        design = pd.get_dummies(used[list(covariates)], drop_first=True, dtype=float)
        x = np.column_stack([np.ones(len(used)), treated, design.to_numpy(dtype=float)])
        y = used[outcome].astype(float).to_numpy()
        coef, *_ = np.linalg.lstsq(x, y, rcond=None)
        residual = y - x @ coef
        bread = np.linalg.inv(x.T @ x)
        covariance = bread @ (x.T * residual**2) @ x @ bread  # HC0 sandwich
        estimate, std_error = float(coef[1]), float(math.sqrt(covariance[1, 1]))
        z = stats.norm.ppf(0.5 + self.ci_level / 2)
        self.results_ = (
            EffectResult(
                technique=treatment,
                outcome=outcome,
                measure="effect",
                scale="risk_difference",
                estimand="ATE",
                method="linear_probability",
                estimate=estimate,
                std_error=std_error,
                ci_low=estimate - z * std_error,
                ci_high=estimate + z * std_error,
                p_value=float(2 * stats.norm.sf(abs(estimate / std_error))),
                n_treated=int(treated.sum()),
                n_control=int((~treated).sum()),
                ci_level=self.ci_level,
            ),
        )
        return self


@pytest.fixture
def plugin(monkeypatch):
    """The plug-in registered for one test only (the registry is restored after)."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(available_estimators()))
    return register(PLUGIN)(LinearProbability)


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    path = tmp_path_factory.mktemp("cases") / "cases.csv"
    write_cases(generate_cases(1500, seed=21), path)
    return path


PROTOCOL = f"""
name: plug-in
version: "0.1"
techniques: [undercover]
covariates: [offence, n_suspects]
outcomes: [conviction]
inference: {{n_jobs: 1}}
estimators:
  - name: {PLUGIN}
  - name: outcome.naive
"""


def test_a_plug_in_is_planned_run_graded_and_described_like_a_built_in(plugin, cases, tmp_path):
    assert plugin.name == PLUGIN and plugin.family == "outcome"
    path = tmp_path / "plug-in.yaml"
    path.write_text(PROTOCOL)
    loaded = load_protocol(path)

    (task,) = [t for t in plan_tasks(loaded.protocol, seed=7) if t.name == PLUGIN]
    assert task.fit == {
        "treatment": "undercover",
        "outcome": "conviction",
        "covariates": ["offence", "n_suspects"],
    }
    assert set(task.params) == {"ci_level", "random_state"}  # only what it takes

    outcome = run_protocol(loaded, cases)
    write_outputs(outcome, tmp_path / "out")
    document = json.loads((tmp_path / "out" / "result.json").read_text(encoding="utf-8"))
    (row,) = [r for r in document["results"] if r["estimator"] == PLUGIN]
    assert row["family"] == "outcome" and row["adjusted"] is True
    assert row["method"] == "linear_probability" and row["ci_low"] < row["estimate"]
    # the first adjusted outcome row the protocol lists is the one graded
    grade = document["grades"]["undercover"]
    assert grade["method"] == "linear_probability"
    assert "adjusted for case characteristics" in grade["reasons"][0]
    assert document["estimators"][PLUGIN] == {
        "family": "outcome",
        "adjusted": True,
        "description": "Risk difference from a linear probability model on the covariates "
        "(a test plug-in).",
    }


def test_rows_are_stamped_with_estimator_adjusted_and_family(plugin):
    frame = validate_frame(generate_cases(400, seed=3).cases).cases
    for cls in (plugin, available_estimators()["outcome.naive"]):
        fitted = cls().fit(
            frame, treatment="undercover", outcome="conviction", covariates=["offence"]
        )
        for result in fitted.results_:
            assert result.estimator == cls.name
            assert result.adjusted is cls.tags.adjusted
            assert result.family == cls.family
    # an unregistered helper keeps the rows' own labels
    assert Estimator.name is None
