"""The generator's fast paths give the same bits as the plain computations they replace.

``techeval synth`` must write byte-identical files for the same n, seed and scenario
(the shipped synthetic data and every simulation study rest on it), so each shortcut
taken for speed is checked here against the straightforward numpy expression it stands
for, on inputs where a mere approximation would show.
"""

import numpy as np
import pandas as pd
import pytest

from techeval.cases.schema import GROUP_STRUCTURES, OFFENCES
from techeval.simulate import generate_cases, model, truth, write, write_cases


def _same_bits(a, b) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    # +0.0 and -0.0 differ in bits but never in what the generator does with them
    return a.shape == b.shape and np.array_equal(a + 0.0, b + 0.0, equal_nan=True)


@pytest.mark.parametrize("n", [1, 7, 8, 9, 1_000, 70_001])
def test_technique_sum_adds_like_a_row_reduction(n):
    rng = np.random.default_rng(n)
    tau = [rng.normal(size=n) * 10.0 ** rng.integers(-3, 4, n), 0.25, rng.normal(size=n), -0.7]
    treated = rng.random((n, 4)) < 0.4
    matrix = np.stack([np.broadcast_to(t, n) for t in tau], axis=1)
    expected = (matrix * treated.astype(np.float64)).sum(axis=1)
    columns = model._technique_columns(treated)
    assert _same_bits(model._technique_sum(tuple(tau), columns), expected)
    # a technique switched on or off everywhere is passed as a number
    for k in range(4):
        for value in (0, 1):
            switched = treated.copy()
            switched[:, k] = bool(value)
            expected = (matrix * switched.astype(np.float64)).sum(axis=1)
            got = model._technique_sum(tuple(tau), model._switched(columns, k, value))
            assert _same_bits(got, expected)


def test_sigmoid_in_one_buffer_matches_the_formula():
    rng = np.random.default_rng(3)
    x = rng.normal(size=100_003) * rng.choice([0.01, 1.0, 5.0, 30.0], size=100_003)
    assert np.array_equal(model._sigmoid(x), 1.0 / (1.0 + np.exp(-x)))
    matrix = x[:100_000].reshape(-1, 4)
    assert np.array_equal(model._sigmoid(matrix), 1.0 / (1.0 + np.exp(-matrix)))


@pytest.mark.parametrize("share_treated", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("with_keep", [False, True])
def test_counted_binary_effects_equal_means_of_float_differences(share_treated, with_keep):
    n = 50_000
    rng = np.random.default_rng(11)
    y0 = rng.random(n) < 0.4
    y1 = np.where(rng.random(n) < 0.2, ~y0, y0)  # gains and losses both occur
    observed = rng.random(n) < 0.5
    treated = rng.random(n) < share_treated
    offence = rng.integers(0, len(OFFENCES), n)
    structure = rng.integers(0, len(GROUP_STRUCTURES), n)
    offence[offence == 3] = 4  # an empty group gives None in both
    keep = rng.random(n) < 0.3 if with_keep else np.ones(n, dtype=bool)
    cells = offence * len(GROUP_STRUCTURES) + structure

    counted = truth._binary_sample_effects(
        y1, y0, treated, observed, cells, keep=keep if with_keep else None
    )
    diff = y1.astype(np.float64) - y0.astype(np.float64)
    plain = truth._sample_effects(
        diff[keep], treated[keep], observed[keep].astype(np.float64), offence[keep], structure[keep]
    )
    assert counted == plain
    assert counted["by_offence"][OFFENCES[3]] is None


def test_empty_selection_gives_no_effect():
    y = np.array([True, False])
    counted = truth._binary_sample_effects(
        y, ~y, y, y, np.array([0, 1]), keep=np.zeros(2, dtype=bool)
    )
    assert counted["ate"] is None and counted["att"] is None and counted["naive"] is None


def test_blocks_of_any_size_give_the_same_cases_and_truth(monkeypatch):
    # a small population draw, so that blocks of 7 rows stay quick
    monkeypatch.setattr(truth, "POPULATION_N", 3_000)
    truth._population_truth_cached.cache_clear()
    try:
        whole = generate_cases(1_000, seed=5, scenario="strong_confounding")
        truth._population_truth_cached.cache_clear()
        monkeypatch.setattr(model, "_BLOCK_ROWS", 7)
        blocked = generate_cases(1_000, seed=5, scenario="strong_confounding")
    finally:
        truth._population_truth_cached.cache_clear()
    pd.testing.assert_frame_equal(blocked.cases, whole.cases)
    pd.testing.assert_frame_equal(blocked.potential_outcomes, whole.potential_outcomes)
    assert blocked.truth == whole.truth


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame(
            {
                "small": [0, 5, 65_535],
                "large": [65_536, 7, 10**12],
                "negative": [-1, 0, 3],
                "missing": pd.array([1, None, 3], dtype="Int64"),
                "all_missing": pd.array([None, None, None], dtype="Int64"),
                "text": pd.Series(["a", "", "b;c"], dtype="str"),
            }
        ),
        pd.DataFrame({"text": pd.Series(['needs "quotes"', "a,b", "x"], dtype="str")}),
        pd.DataFrame({"n": pd.Series([], dtype="int64")}),
    ],
    ids=["numbers-and-text", "quoting", "empty"],
)
def test_csv_writer_matches_pandas(frame, tmp_path):
    write._write_csv(frame, tmp_path / "fast.csv")
    expected = frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
    assert (tmp_path / "fast.csv").read_bytes() == expected


def test_csv_writer_matches_pandas_across_blocks(monkeypatch, tmp_path):
    synthetic = generate_cases(300, seed=2)
    monkeypatch.setattr(write, "_CSV_BLOCK_ROWS", 64)
    write_cases(synthetic, tmp_path / "cases.csv")
    expected = synthetic.cases.to_csv(index=False, lineterminator="\n").encode("utf-8")
    assert (tmp_path / "cases.csv").read_bytes() == expected
