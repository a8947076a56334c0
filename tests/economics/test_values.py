"""Uncertain monetary values and the monetary values of outcomes (techeval.economics.values)."""

import math

import numpy as np
import pytest

from techeval.economics import DEFAULT_MONETARY_VALUES, MonetaryValues, UncertainValue
from techeval.errors import ArgumentError


@pytest.mark.parametrize(
    "spec",
    [
        150_000,
        {"distribution": "fixed", "value": 3.0},
        {"distribution": "triangular", "low": 1.0, "mode": 2.0, "high": 6.0},
        {"distribution": "uniform", "low": 0.2, "high": 0.8},
        {"distribution": "normal", "mean": 10.0, "sd": 2.0, "bounds": [0.0, 100.0]},
        {"distribution": "lognormal", "mean": 100.0, "sd": 50.0},
    ],
)
def test_uncertain_value_round_trips_and_samples_have_the_stated_mean(spec):
    value = UncertainValue.from_spec(spec)
    assert UncertainValue.from_spec(value.to_dict()) == value
    draws = value.sample(np.random.default_rng(1), 200_000)
    # the mean of 200,000 draws is within 5 Monte Carlo standard errors of the stated mean
    assert abs(draws.mean() - value.expected) <= 5 * draws.std() / math.sqrt(draws.size) + 1e-12


def test_lognormal_is_parameterised_by_its_natural_scale_mean_and_sd():
    draws = UncertainValue("lognormal", mean=100.0, sd=50.0).sample(
        np.random.default_rng(2), 400_000
    )
    assert draws.std() == pytest.approx(50.0, rel=0.02)


@pytest.mark.parametrize(
    "spec",
    [
        {"distribution": "triangular", "low": 3.0, "mode": 2.0, "high": 6.0},
        {"distribution": "triangular", "low": 1.0, "high": 6.0},
        {"distribution": "uniform", "low": 1.0, "high": 2.0, "mode": 1.5},
        {"distribution": "beta", "a": 1},
        {"low": 1.0, "high": 2.0},
        {"distribution": "lognormal", "mean": -1.0, "sd": 1.0},
        "150000",
    ],
)
def test_bad_uncertain_values_are_refused_with_a_message(spec):
    with pytest.raises(ArgumentError):
        UncertainValue.from_spec(spec)


def test_monetary_values_take_defaults_for_missing_names_and_refuse_unknown_ones():
    values = MonetaryValues.from_dict({"value_conviction": 1000})
    assert values.value_conviction.expected == 1000.0
    assert values.asset_recovery_share == DEFAULT_MONETARY_VALUES.asset_recovery_share
    assert MonetaryValues.from_dict(values.to_dict()) == values
    with pytest.raises(ArgumentError, match="value_convictoin"):
        MonetaryValues.from_dict({"value_convictoin": 1})
