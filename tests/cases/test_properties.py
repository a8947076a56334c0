"""Property: for any mix of valid and corrupted rows, nothing is lost."""

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from techeval.cases import validate_frame
from techeval.cases.schema import OFFENCES, TECHNIQUES

CORRUPTIONS = {
    "convicted_above_charged": lambda r: r.update(convicted=str(int(r["charged"]) + 1)),
    "negative_cost": lambda r: r.update(cost_total="-1"),
    "text_in_number": lambda r: r.update(n_suspects="many"),
    "unknown_technique": lambda r: r.update(techniques="telepathy"),
    "bad_year": lambda r: r.update(year="1800"),
    "bad_offence": lambda r: r.update(offence="piracy"),
    "missing_jurisdiction": lambda r: r.update(jurisdiction=""),
    "bad_boolean": lambda r: r.update(group_disrupted="perhaps"),
}


@st.composite
def valid_row(draw):
    n_suspects = draw(st.integers(1, 40))
    charged = draw(st.integers(0, n_suspects))
    convicted = draw(st.integers(0, charged))
    techniques = draw(st.lists(st.sampled_from(TECHNIQUES), unique=True, max_size=4))
    return {
        "jurisdiction": draw(st.sampled_from(["North", "South", "São Tomé", "NA"])),
        "year": str(draw(st.integers(1950, 2100))),
        "offence": draw(st.sampled_from(OFFENCES)),
        "n_suspects": str(n_suspects),
        "techniques": ";".join(techniques),
        "cost_total": f"{draw(st.floats(0, 1e7, allow_nan=False)):.2f}",
        "charged": str(charged),
        "convicted": str(convicted),
        "group_disrupted": draw(st.sampled_from(["", "yes", "no", "1", "0", "TRUE"])),
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(valid_row(), st.sampled_from([None, *CORRUPTIONS])), min_size=1, max_size=30
    )
)
def test_rows_in_equal_used_plus_set_aside(rows):
    records = []
    corrupted_rows = set()
    for number, (row, corruption) in enumerate(rows, start=1):
        row = dict(row, case_id=f"{number:05d}")
        if corruption is not None:
            CORRUPTIONS[corruption](row)
            corrupted_rows.add(number)
        records.append(row)
    report = validate_frame(pd.DataFrame(records, dtype="str"))
    assert report.rows_in == len(records) == report.rows_used + report.rows_set_aside
    assert set(report.set_aside["row"]) == corrupted_rows  # no valid row set aside
    assert set(report.cases.index) == set(range(1, len(records) + 1)) - corrupted_rows
    assert {p.row for p in report.problems} == corrupted_rows
