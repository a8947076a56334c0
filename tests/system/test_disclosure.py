"""Disclosure control end to end on crafted data (issue #11).

One technique x case-type cell has 9 cases (withheld everywhere) and another 10
(published). The same protocol with ``min_cell: 1`` gives the true values of every
cell, so the checks can look for the withheld numbers themselves in every output file,
and check that no withheld cell can be recovered from a published total.
"""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest

from techeval.protocols.run import run_protocol, write_outputs
from techeval.simulate import generate_cases

from .._helpers import (
    NINE_CELL,
    TEN_CELL,
    disclosure_case_file,
    number_tokens,
    output_text,
    scan_output_folder,
)

NUMBERS = ("estimate", "std_error", "ci_low", "ci_high", "p_value")


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("disclosure")
    data = disclosure_case_file(folder)
    out = folder / "out"
    from techeval.cli import main

    assert (
        main(
            [
                "run",
                str(data.protocol),
                "--cases",
                str(data.cases),
                "--out",
                str(out),
                "--quiet",
                "--format",
                "json,html,md,pdf",
            ]
        )
        == 0
    )
    protected = json.loads((out / "result.json").read_text(encoding="utf-8"))
    truth = run_protocol(data.protocol_unprotected, data.cases).document
    return data, out, protected, truth


def _key(row):
    return (
        row["technique"],
        row["estimator"],
        row["method"],
        row["outcome"],
        row["measure"],
        row["scale"],
        row["subgroup"],
    )


def _rows(document):
    return {_key(r): r for r in document["results"]}


def _cell(document, level, *, estimator="outcome.naive"):
    return next(
        r
        for r in document["results"]
        if r["estimator"] == estimator and r["subgroup"] == f"offence={level}"
    )


def test_the_crafted_cells_hold_9_and_10_cases(crafted):
    _, _, _, truth = crafted
    assert _cell(truth, NINE_CELL)["n_treated"] == 9
    assert _cell(truth, TEN_CELL)["n_treated"] == 10
    assert _cell(truth, NINE_CELL)["estimate"] is not None  # estimated, then withheld


def test_nine_is_withheld_and_ten_published_in_result_json(crafted):
    _, _, protected, truth = crafted
    nine, ten = _cell(protected, NINE_CELL), _cell(protected, TEN_CELL)
    assert nine["suppressed"] and all(nine[name] is None for name in NUMBERS)
    assert nine["n_treated"] is None and nine["n_control"] is None
    assert nine["warnings"] == [] and set(nine["diagnostics"]) <= {"suppression"}
    assert not ten["suppressed"] and ten["n_treated"] == 10
    assert ten["estimate"] == _cell(truth, TEN_CELL)["estimate"]
    # every row resting on fewer than 10 cases in a compared group is withheld
    true_rows = _rows(truth)
    for key, row in _rows(protected).items():
        counts = [true_rows[key]["n_treated"], true_rows[key]["n_control"]]
        if row["estimand"] is None:  # descriptive, one arm: a zero is structural
            counts = [c for c in counts if c]
        if any(c < 10 for c in counts):
            assert row["suppressed"], key


def test_nine_is_withheld_and_ten_published_in_results_csv(crafted):
    _, out, _, truth = crafted
    table = pd.read_csv(out / "results.csv", keep_default_na=False, dtype=str)
    naive = table[table["estimator"] == "outcome.naive"].set_index("subgroup")
    nine, ten = naive.loc[f"offence={NINE_CELL}"], naive.loc[f"offence={TEN_CELL}"]
    assert nine["suppressed"] == "True"
    assert all(nine[name] == "" for name in (*NUMBERS, "n_treated", "n_control"))
    assert ten["suppressed"] == "False" and ten["n_treated"] == "10"
    assert float(ten["estimate"]) == pytest.approx(_cell(truth, TEN_CELL)["estimate"])


def _withheld_tokens(protected, truth):
    """How the withheld numbers could be written, minus any published number's forms."""
    true_rows = _rows(truth)
    secret, published = set(), set()
    for key, row in _rows(protected).items():
        values = [true_rows[key][name] for name in NUMBERS]
        values += [v for v in true_rows[key]["diagnostics"].values() if isinstance(v, float)]
        if row["suppressed"]:
            for value in values:
                secret |= number_tokens(value)
        else:
            for name in NUMBERS:
                published |= number_tokens(row[name])
            for value in row["diagnostics"].values():
                if isinstance(value, float):
                    published |= number_tokens(value)
    return secret - published


def test_withheld_values_appear_in_no_output_file(crafted):
    """Every file of the output folder (reports added later included) is scanned."""
    data, out, protected, truth = crafted
    tokens = _withheld_tokens(protected, truth)
    assert len(tokens) > 50  # the check has something to look for
    assert scan_output_folder(out, sorted(tokens)) == []
    assert scan_output_folder(out, data.secret_text) == []
    files = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert {"result.json", "results.csv", "set_aside.csv", "run.log"} <= files
    assert {"report.html", "report.md", "report.pdf"} <= files


def test_run_log_names_no_withheld_cell(crafted):
    _, out, _, _ = crafted
    log = output_text(out / "run.log")
    assert NINE_CELL not in log and "SECRET" not in log


def _partitions(document):
    """Subgroup rows grouped by partition, with the overall row of each."""
    overall = {}
    levels = defaultdict(dict)
    for row in document["results"]:
        base = _key(row)[:-1]
        subgroup = row["subgroup"]
        if subgroup is None:
            overall[base] = row
        elif "=" in subgroup:
            column, level = subgroup.split("=", 1)
            levels[(*base, column)][level] = row
    return overall, levels


def test_no_withheld_cell_is_recoverable_by_subtraction(crafted):
    _, _, protected, truth = crafted
    overall, partitions = _partitions(protected)
    _, true_partitions = _partitions(truth)
    checked = 0
    for key, members in partitions.items():
        withheld = [level for level, row in members.items() if row["suppressed"]]
        if not withheld:
            continue
        checked += 1
        assert len(withheld) >= 2, (key, withheld)  # never one alone
        total = overall.get(key[:-1])
        if total is None or total["suppressed"]:
            continue
        for count in ("n_treated", "n_control"):
            published = sum(r[count] for r in members.values() if not r["suppressed"])
            residual = total[count] - published
            true = {level: true_partitions[key][level][count] for level in withheld}
            assert residual == sum(true.values())
            if sum(1 for v in true.values() if v) >= 2:
                assert all(residual != value for value in true.values()), (key, count)
        heterogeneity = [
            r
            for r in protected["results"]
            if r["subgroup"] == key[-1] and r["technique"] == key[0] and r["method"] == key[2]
        ]
        assert all(r["suppressed"] for r in heterogeneity)
    assert checked >= 1


def test_labels_of_tiny_levels_never_publish_case_ids(tmp_path):
    """A protocol that breaks results down by case_id publishes no case ID."""
    frame = generate_cases(300, seed=5).cases.copy()
    frame["case_id"] = [f"SECRET-{i:05d}" for i in range(len(frame))]
    data = tmp_path / "cases.csv"
    frame.to_csv(data, index=False)
    protocol = tmp_path / "p.yaml"
    protocol.write_text(
        "name: by-id\nversion: '1'\ntechniques: [undercover]\ncovariates: [offence]\n"
        "outcomes: [conviction]\nestimators:\n  - name: outcome.naive\n"
        "subgroups:\n  by: [case_id]\n  estimator: outcome.naive\n  min_cases: 1\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    write_outputs(run_protocol(protocol, data), out)
    assert scan_output_folder(out, ["SECRET"]) == []
    document = json.loads((out / "result.json").read_text(encoding="utf-8"))
    labels = {r["subgroup"] for r in document["results"] if r["subgroup"]}
    assert labels == {"case_id", "case_id=(a level with fewer than 10 cases)"}


def test_programme_frame_is_withheld_with_its_rows(tmp_path):
    frame = generate_cases(600, seed=5).cases.copy()
    witnesses = np.flatnonzero(
        (
            frame["techniques"].fillna("").str.contains("witness_protection")
            & (frame["protected_witnesses"] > 0)
        ).to_numpy()
    )
    frame.loc[frame.index[witnesses[4:]], ["protected_witnesses", "protected_family"]] = 0
    data = tmp_path / "cases.csv"
    frame.to_csv(data, index=False)
    protocol = tmp_path / "p.yaml"
    protocol.write_text(
        "name: wp\nversion: '1'\ntechniques: [witness_protection]\ncovariates: [offence]\n"
        "outcomes: [conviction]\nestimators:\n  - name: outcome.naive\n"
        "witness_programme:\n  plan_witnesses_per_year: [25, 50]\n"
        "  plan_annual_budget: 1000000\n  family_per_witness: 1.8\n"
        "  annual_cost_per_person: 40000\n  mean_years_in_programme: 3\n"
        "  attrition: 0.05\n  horizon_years: 13\n",
        encoding="utf-8",
    )
    outcome = run_protocol(protocol, data)
    programme = [r for r in outcome.document["results"] if r["method"] == "programme_model"]
    assert programme and all(r["suppressed"] for r in programme)  # 4 cases: withheld
    assert not any(name.startswith("programme") for name in outcome.frames)


def test_cli_and_api_give_the_same_protected_result(crafted):
    """The CLI's result.json is the API's document: no path around disclosure control."""
    data, _, protected, _ = crafted
    assert run_protocol(data.protocol, data.cases).document == protected


def test_reports_mark_the_nine_suppressed_and_publish_the_ten(crafted):
    """HTML, Markdown and PDF show the 9-case cell as suppressed and the 10-case cell's value."""
    _, out, protected, _ = crafted
    ten = _cell(protected, TEN_CELL)
    nine_label = f"Offence: {NINE_CELL.replace('_', ' ')}"
    ten_label = f"Offence: {TEN_CELL.replace('_', ' ')}"
    from techeval.report.text import fmt_pp

    for name in ("report.html", "report.md", "report.pdf"):
        # table rows, not the heat map's axis labels
        text = "\n".join(
            line for line in output_text(out / name).splitlines() if "<text" not in line
        )
        lines = [line for line in text.splitlines() if nine_label in line]
        assert lines and all("suppressed" in line for line in lines), name
        lines = [line for line in text.splitlines() if ten_label in line]
        assert any(fmt_pp(ten["estimate"]) in line for line in lines), name
