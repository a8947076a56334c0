import pandas as pd
import pytest

VALID_ROWS = [
    # case_id, jurisdiction, year, offence, group_structure, n_suspects, high_level_targets,
    # techniques, cost_total, cost_undercover, charged, convicted, high_level_convicted, group_disrupted
    [
        "007",
        "North",
        "2015",
        "drug_trafficking",
        "hierarchical",
        "5",
        "1",
        "wiretap;UC",
        "120000",
        "5000",
        "3",
        "2",
        "1",
        "yes",
    ],
    ["00060", "South", "2016", "fraud", "", "2", "0", "", "20000", "", "2", "1", "0", "no"],
    [
        "A-3",
        "East",
        "2017",
        "arms_trafficking",
        "network",
        "4",
        "2",
        "controlled_delivery",
        "55000.5",
        "",
        "4",
        "0",
        "0",
        "",
    ],
    [
        "A-4",
        "West",
        "2018",
        "corruption",
        "loose",
        "1",
        "1",
        "witness_protection",
        "80000",
        "",
        "1",
        "1",
        "1",
        "true",
    ],
]
HEADER = [
    "case_id",
    "jurisdiction",
    "year",
    "offence",
    "group_structure",
    "n_suspects",
    "high_level_targets",
    "techniques",
    "cost_total",
    "cost_undercover",
    "charged",
    "convicted",
    "high_level_convicted",
    "group_disrupted",
]


def to_csv(rows, *, header=HEADER, sep=","):
    lines = [sep.join(header)] + [sep.join(row) for row in rows]
    return "\n".join(lines) + "\n"


@pytest.fixture
def valid_frame():
    return pd.DataFrame(VALID_ROWS, columns=HEADER, dtype="str")


@pytest.fixture
def write_csv(tmp_path):
    def write(rows, *, header=HEADER, sep=",", encoding="utf-8", name="cases.csv", prefix=b""):
        path = tmp_path / name
        path.write_bytes(prefix + to_csv(rows, header=header, sep=sep).encode(encoding))
        return path

    return write
