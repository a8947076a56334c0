import dataclasses
import math

import pytest

from techeval.results import RESULT_COLUMNS, EffectResult, results_frame


def make_result(**overrides):
    values = dict(
        technique="undercover",
        outcome="conviction",
        measure="conviction",
        scale="risk_difference",
        estimand="ATE",
        method="aipw",
        estimate=0.08,
        std_error=0.01,
        ci_low=0.06,
        ci_high=0.10,
        p_value=1e-4,
        n_treated=400,
        n_control=1600,
    )
    values.update(overrides)
    return EffectResult(**values)


def test_result_is_frozen():
    result = make_result()
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.estimate = 1.0


def test_to_frame_is_one_tidy_row_with_named_columns():
    frame = make_result(subgroup="offence=fraud").to_frame()
    assert frame.shape[0] == 1
    assert list(frame.columns[: len(RESULT_COLUMNS)]) == list(RESULT_COLUMNS)
    assert frame.loc[0, "subgroup"] == "offence=fraud"
    assert frame.loc[0, "ci_low"] == pytest.approx(0.06)


def test_results_concatenate_into_long_table():
    rows = [make_result(technique=t) for t in ("undercover", "controlled_delivery")]
    table = results_frame(rows)
    assert list(table["technique"]) == ["undercover", "controlled_delivery"]


def test_is_finite_flags_infinite_interval():
    assert make_result().is_finite
    assert not make_result(ci_high=math.inf).is_finite


def test_canonical_json_is_stable_and_sorted():
    import numpy as np

    from techeval.results import canonical_json

    a = canonical_json(
        {"b": 0.1 + 0.2, "a": [np.float64(1.0), np.int64(3), math.nan], "c": (True, None)}
    )
    b = canonical_json({"c": [True, None], "a": [1.0, 3, None], "b": 0.30000000000000004})
    assert a == b
    assert a.index('"a"') < a.index('"b"') < a.index('"c"')
    assert "0.3," in a and "NaN" not in a


def test_canonical_json_rounds_last_bit_noise_only():
    from techeval.results import canonical_json

    assert canonical_json(0.123456789012345) == canonical_json(0.123456789012349)
    assert canonical_json(0.1234567891) != canonical_json(0.1234567892)
    assert canonical_json(-0.0) == canonical_json(0.0)


def test_canonical_json_refuses_objects():
    from techeval.results import canonical_json

    with pytest.raises(TypeError):
        canonical_json({"x": object()})


def test_table_columns_start_with_the_row_key():
    from techeval.results import ROW_KEY

    assert RESULT_COLUMNS[: len(ROW_KEY)] == ROW_KEY
    frame = make_result(estimator="outcome.aipw").to_frame()
    assert frame.loc[0, "estimator"] == "outcome.aipw"


def test_from_interval_fills_the_numbers_and_leaves_the_rest_nan():
    from techeval.inference import Interval

    labels = dict(
        technique="undercover",
        outcome="conviction",
        measure="conviction",
        scale="risk_difference",
        estimand="ATE",
        method="aipw",
        n_treated=400,
        n_control=1600,
    )
    row = EffectResult.from_interval(Interval(0.08, 0.01, 0.06, 0.10, 1e-4), **labels)
    assert row == make_result()
    bare = EffectResult.from_interval(None, estimate=3.0, **labels)
    assert bare.estimate == 3.0
    assert all(math.isnan(v) for v in (bare.std_error, bare.ci_low, bare.ci_high, bare.p_value))
