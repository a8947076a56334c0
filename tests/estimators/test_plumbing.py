"""The plumbing every estimator family shares: column checks, the result row, parameters."""

import math

import numpy as np
import pandas as pd
import pytest

from techeval.errors import ArgumentError, EstimatorError
from techeval.estimators._columns import (
    count_column,
    missing_values,
    numeric_column,
    require_columns,
    treatment_column,
)
from techeval.estimators._rows import json_number, result_row
from techeval.estimators.cost import CostSummary, IncrementalCost
from techeval.estimators.harm import HarmRates
from techeval.estimators.outcome import Naive
from techeval.inference import Interval


@pytest.fixture
def frame():
    return pd.DataFrame(
        {
            "undercover": [True, False, None, True],
            "cost_total": [10.0, 20.0, 30.0, np.nan],
            "officer_injuries": [0, 2, 1, None],
            "area": ["a", "b", "a", "b"],
        }
    )


def test_missing_column_names_its_role_and_suggests_close_matches(frame):
    with pytest.raises(EstimatorError, match="the exposure column 'officer_day' is not") as info:
        require_columns(frame, {"undercover": "treatment", "officer_day": "exposure"})
    assert info.value.hint == "Available columns: undercover, cost_total, officer_injuries, area"
    with pytest.raises(EstimatorError) as info:
        require_columns(frame, [("cost_totl", "outcome")])
    assert info.value.hint == "Did you mean 'cost_total'?"
    with pytest.raises(EstimatorError, match="expected a pandas DataFrame, got dict"):
        require_columns({"undercover": [1]}, {"undercover": "treatment"})


@pytest.mark.parametrize(
    "fit",
    [
        lambda f: Naive().fit(f, treatment="undercover", outcome="cost_totl"),
        lambda f: CostSummary().fit(f, treatment="undercover", outcome="cost_totl"),
        lambda f: IncrementalCost().fit(f, treatment="undercover", outcome="cost_totl"),
        lambda f: HarmRates().fit(f, treatment="undercover", outcome="cost_totl"),
    ],
)
def test_every_family_words_a_missing_column_alike(frame, fit):
    with pytest.raises(EstimatorError, match="the outcome column 'cost_totl' is not in the data"):
        fit(frame)


def test_column_readers_keep_missing_values_as_nan(frame):
    treated, missing = treatment_column(frame, "undercover")
    assert treated.tolist() == [True, False, False, True]
    assert missing.tolist() == [False, False, True, False]
    counts = count_column(frame, "officer_injuries")
    assert counts[:3].tolist() == [0.0, 2.0, 1.0] and math.isnan(counts[3])
    assert missing_values(frame, ["cost_total", "officer_injuries", "area"])[1] == {
        "cost_total": 1,
        "officer_injuries": 1,
    }
    with pytest.raises(EstimatorError, match="the harm column 'cost_total' must hold whole"):
        count_column(frame.assign(cost_total=[0.5, 1, 2, 3]), "cost_total")
    with pytest.raises(EstimatorError, match="the harm column 'area' is not numeric or yes/no"):
        numeric_column(frame, "area", role="harm")


def test_result_row_fills_nan_and_holds_plain_floats_and_a_tuple_of_warnings():
    labels = dict(
        technique="undercover",
        outcome="cost_total",
        measure="cost_median",
        scale="median",
        estimand=None,
        method="summary",
        n_treated=2,
        n_control=1,
    )
    row = result_row(estimate=3.0, warnings=["a"], **labels)
    assert row.estimate == 3.0 and math.isnan(row.std_error) and math.isnan(row.p_value)
    assert row.warnings == ("a",)
    row = result_row(Interval(np.float64(1.0), 0.5, 0.0, 2.0, 0.04), **labels)
    assert type(row.estimate) is float and (row.ci_low, row.ci_high) == (0.0, 2.0)
    assert json_number(np.inf) is None and json_number(np.float64(2.5)) == 2.5


@pytest.mark.parametrize(
    "estimator, message",
    [
        (IncrementalCost(bootstrap_ci="wild"), "IncrementalCost: bootstrap_ci='wild' is not"),
        (CostSummary(comparator="all"), "CostSummary: comparator='all' is not allowed"),
        (HarmRates(exposure_unit=0), "HarmRates: exposure_unit=0 is not allowed"),
    ],
)
def test_parameters_are_checked_against_the_constraint_table(frame, estimator, message):
    with pytest.raises(ArgumentError, match=message):
        estimator.fit(frame, treatment="undercover", outcome="cost_total")
