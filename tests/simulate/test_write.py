"""The writer: same seed same bytes, pandas' CSV, Parquet, and the shipped files regenerate."""

from pathlib import Path

import pandas as pd
import pytest

from techeval.simulate import generate_cases, write_cases

SHIPPED = Path(__file__).resolve().parents[2] / "synthetic_data"
# The command in synthetic_data/README.md that produced the shipped files.
SHIPPED_N, SHIPPED_SEED = 20_000, 20101


@pytest.fixture(scope="module")
def shipped_like():
    return generate_cases(SHIPPED_N, seed=SHIPPED_SEED)


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path):
    paths = []
    for name, seed in [("a", 7), ("b", 7), ("c", 8)]:
        out, truth = tmp_path / f"{name}.csv", tmp_path / f"{name}.json"
        write_cases(generate_cases(2_500, seed=seed), out, truth)
        paths.append((out.read_bytes(), truth.read_bytes()))
    assert paths[0] == paths[1]
    assert paths[0][0] != paths[2][0]


def test_csv_matches_pandas_writer_and_parquet_round_trips(tmp_path):
    synthetic = generate_cases(800, seed=3)
    write_cases(synthetic, tmp_path / "cases.csv")
    synthetic.cases.to_csv(tmp_path / "pandas.csv", index=False, lineterminator="\n")
    assert (tmp_path / "cases.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()
    write_cases(synthetic, tmp_path / "cases.parquet")
    back = pd.read_parquet(tmp_path / "cases.parquet")
    pd.testing.assert_frame_equal(back, synthetic.cases, check_dtype=False)


def test_shipped_files_regenerate_byte_identically(shipped_like, tmp_path):
    write_cases(shipped_like, tmp_path / "cases.csv", tmp_path / "truth.json")
    assert (tmp_path / "cases.csv").read_bytes() == (SHIPPED / "cases.csv").read_bytes()
    assert (tmp_path / "truth.json").read_bytes() == (SHIPPED / "truth.json").read_bytes()
    assert (SHIPPED / "cases.csv").stat().st_size < 4_000_000
