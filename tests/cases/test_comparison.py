import pandas as pd
import pytest

from techeval.cases import comparison_frame, read_data
from techeval.errors import ArgumentError

from .conftest import VALID_ROWS


def test_traditional_only_comparator_drops_cases_with_other_techniques():
    cases = pd.DataFrame(
        {
            "undercover": [True, True, False, False, False],
            "controlled_delivery": [True, False, True, False, False],
            "witness_protection": [False, False, False, True, False],
        }
    )
    kept = comparison_frame(cases, "undercover", "traditional_only")
    assert list(kept.index) == [0, 1, 4]
    assert len(comparison_frame(cases, "undercover")) == 5
    with pytest.raises(ArgumentError, match="unknown comparator"):
        comparison_frame(cases, "undercover", "everything")
    with pytest.raises(ArgumentError, match="no technique column"):
        comparison_frame(cases, "electronic_surveillance")


def test_read_data_validates_a_case_file_and_reads_any_other_table(write_csv):
    cases, notes = read_data(write_csv(VALID_ROWS))
    assert notes == [f"read as a case file: {len(VALID_ROWS)} of {len(VALID_ROWS)} rows used"]
    assert cases["undercover"].tolist() == [True, False, False, False]
    rows = [["1", "2.5", "north"], ["0", "", "south"], ["1", "4", "north"]]
    frame, _ = read_data(write_csv(rows, header=["trained", "earnings", "region"]))
    assert pd.api.types.is_numeric_dtype(frame["earnings"])
    assert frame["earnings"].isna().tolist() == [False, True, False]
    assert frame["region"].tolist() == ["north", "south", "north"]
