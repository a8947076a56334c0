import json

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from typer.testing import CliRunner

import techeval
from techeval.cli import app, main
from techeval.errors import ArgumentError
from techeval.estimators.outcome import AIPW, IPW
from techeval.results import EffectResult


def _frame(n=3000, seed=2):
    rng = np.random.default_rng(seed)
    offence = rng.choice(["drugs", "fraud", "arms"], size=n, p=[0.5, 0.48, 0.02])
    x = rng.normal(size=n)
    t = rng.random(n) < expit(0.8 * x + (offence == "drugs"))
    effect = np.where(offence == "drugs", 0.25, 0.0)
    y = (rng.random(n) < np.clip(0.3 + 0.1 * x + effect * t, 0, 1)).astype(int)
    return pd.DataFrame({"t": t, "y": y, "x": x, "offence": offence})


def test_estimate_effect_is_the_primary_row_of_the_estimator():
    frame = _frame()
    result = techeval.estimate_effect(
        frame, treatment="t", outcome="y", covariates=["x", "offence"], method="ipw"
    )
    direct = IPW(random_state=0).fit(frame, treatment="t", outcome="y", covariates=["x", "offence"])
    assert isinstance(result, EffectResult)
    assert result == direct.result_
    assert result.scale == "risk_difference" and result.method == "ipw"
    with pytest.raises(ArgumentError, match="no parameter"):
        techeval.estimate_effect(frame, treatment="t", outcome="y", n_fold=3)


# ---- command line -------------------------------------------------------------------------


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "training.csv"
    frame = _frame(n=800)
    frame["t"] = frame["t"].astype(int)
    frame.to_csv(path, index=False)
    return path


def test_effect_command_prints_json_with_result_field_names(data_file):
    out = CliRunner().invoke(
        app,
        [
            "effect",
            str(data_file),
            "--treatment",
            "t",
            "--outcome",
            "y",
            "--covariates",
            "x,offence",
            "--estimand",
            "ATT",
            "--method",
            "aipw",
            "--seed",
            "4",
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    row = json.loads(out.output)
    assert set(row) == set(EffectResult.__dataclass_fields__)
    expected = (
        AIPW(estimand="ATT", random_state=4)
        .fit(pd.read_csv(data_file), treatment="t", outcome="y", covariates=["x", "offence"])
        .result_
    )
    assert row["estimate"] == pytest.approx(expected.estimate, rel=1e-12)
    assert row["estimand"] == "ATT" and row["scale"] == "risk_difference"


def test_effect_command_table(data_file):
    out = CliRunner().invoke(
        app,
        ["effect", str(data_file), "--treatment", "t", "--outcome", "y", "--covariates", "x"],
        terminal_width=150,
    )
    assert out.exit_code == 0, out.output
    assert "risk_difference" in out.output and "odds_ratio" in out.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--treatment", "t", "--outcome", "y", "--covariates", "x,missing"], "missing"),
        (["--treatment", "offence", "--outcome", "y"], "not binary"),
        (["--treatment", "t", "--outcome", "y", "--method", "aipv"], "outcome.aipw"),
        (["--treatment", "t", "--outcome", "y", "--estimand", "ATC"], "ATE or ATT"),
    ],
)
def test_effect_command_turns_data_problems_into_exit_code_2(data_file, capsys, arguments, message):
    assert main(["effect", str(data_file), *arguments]) == 2
    assert message in capsys.readouterr().err


def test_effect_command_with_constant_treatment_and_missing_file(tmp_path, capsys):
    path = tmp_path / "constant.csv"
    pd.DataFrame({"t": [1] * 20, "y": range(20)}).to_csv(path, index=False)
    assert main(["effect", str(path), "--treatment", "t", "--outcome", "y"]) == 2
    assert "constant" in capsys.readouterr().err
    assert main(["effect", str(tmp_path / "nope.csv"), "--treatment", "t", "--outcome", "y"]) == 2


def test_estimators_command_lists_builtins_with_docs():
    out = CliRunner().invoke(app, ["estimators"], terminal_width=200)
    assert out.exit_code == 0
    for name in ("outcome.aipw", "outcome.ipw", "outcome.regression", "outcome.naive"):
        assert name in out.output
    assert "doubly robust" in out.output
