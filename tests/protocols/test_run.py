"""The runner end to end: the result contract, reproducibility, no network, disclosure, CLI."""

import hashlib
import json
import re
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from techeval._files import check_output_folder
from techeval.cli import main
from techeval.errors import ArgumentError, ProtocolError
from techeval.protocols import execute, write
from techeval.protocols.run import run_protocol, write_outputs
from techeval.simulate import generate_cases, write_cases

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DOC = ROOT / "docs" / "result-schema.md"
SHIPPED_CASES = ROOT / "synthetic_data" / "cases.csv"
TRUTH = ROOT / "synthetic_data" / "truth.json"


# ---- the documented schema -------------------------------------------------------------


def _documented_fields(marker: str) -> dict[str, str]:
    """Field → type from the table after ``<!-- fields: marker -->`` in result-schema.md."""
    text = SCHEMA_DOC.read_text(encoding="utf-8")
    table = text.split(f"<!-- fields: {marker} -->", 1)[1].strip().split("\n\n", 1)[0]
    fields = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        fields[cells[0].strip("`")] = cells[1]
    return fields


_TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
    "list of string": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    "list of object": lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v),
}


def _check_fields(value: dict, marker: str) -> None:
    fields = _documented_fields(marker)
    assert set(value) == set(fields), f"{marker}: {set(value) ^ set(fields)}"
    for name, declared in fields.items():
        allowed = [t.strip() for t in declared.split(" or ")]
        assert any(_TYPES[t](value[name]) for t in allowed), (marker, name, value[name])


def check_result_document(document: dict) -> None:
    """Assert that a result document follows docs/result-schema.md."""
    _check_fields(document, "document")
    _check_fields(document["data"], "data")
    _check_fields(document["settings"], "settings")
    assert document["schema"] == "techeval.result/1"
    assert set(document["protocol"]) == {"name", "version", "sha256"}
    data = document["data"]
    assert data["rows_in"] == data["rows_used"] + data["rows_set_aside"]
    for item in data["set_aside"]:
        assert set(item) == {"column", "rule", "count"}
    for row in document["results"]:
        _check_fields(row, "result-row")
        assert row["family"] in ("outcome", "cost", "harm", "synthesis")
        if row["suppressed"]:
            assert row["estimate"] is row["n_treated"] is row["n_control"] is None
        elif None not in (row["estimate"], row["ci_low"], row["ci_high"]):
            assert row["ci_low"] <= row["estimate"] <= row["ci_high"], row
    for grade in document["grades"].values():
        _check_fields(grade, "grade")
        assert grade["grade"] in ("strong", "moderate", "limited", "insufficient")
        for sub in grade["by_subgroup"].values():
            assert set(sub) == {"grade", "reasons"}


# ---- quick-v1 on a small synthetic file, twice ------------------------------------------


@pytest.fixture(scope="module")
def small_cases(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cases")
    path = folder / "cases.csv"
    write_cases(generate_cases(2000, seed=11), path)
    return path


@pytest.fixture(scope="module")
def quick_runs(small_cases, tmp_path_factory):
    """quick-v1 run twice: the second with every socket blocked."""
    first = tmp_path_factory.mktemp("run") / "first"
    second = tmp_path_factory.mktemp("run") / "second"
    command = ["run", "quick-v1", "--cases", str(small_cases), "--quiet", "--out"]
    assert main([*command, str(first)]) == 0
    with pytest.MonkeyPatch.context() as patch:

        def refuse(*args, **kwargs):
            raise AssertionError("techeval tried to open a network connection")

        patch.setattr(socket, "socket", refuse)
        patch.setattr(socket, "create_connection", refuse)
        # an AssertionError inside the run would be an internal error: exit code 1
        assert main([*command, str(second)]) == 0
    return first, second


def test_result_follows_the_documented_schema(quick_runs):
    document = json.loads((quick_runs[0] / "result.json").read_text(encoding="utf-8"))
    check_result_document(document)
    assert document["protocol"]["name"] == "quick"
    assert document["seed"] == 20100412
    measures = {
        (r["technique"], r["family"], r["method"], r["measure"]) for r in document["results"]
    }
    for technique in document["settings"]["techniques"]:
        for outcome in ("conviction", "high_level_conviction"):
            assert (technique, "outcome", "aipw", outcome) in measures
            assert (technique, "outcome", "naive", outcome) in measures
        assert (technique, "cost", "gamma_dr", "incremental_cost") in measures
        assert (technique, "harm", "aipw", "harm_index") in measures


def test_same_inputs_give_byte_identical_files_without_network(quick_runs):
    first, second = quick_runs
    for name in ("result.json", "results.csv", "set_aside.csv"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert sorted(p.name for p in (first / "frames").iterdir()) == sorted(
        p.name for p in (second / "frames").iterdir()
    )
    # run times live in run.log, which differs; result.json holds no time stamp
    assert "total" in (first / "run.log").read_text()
    assert not re.search(r"20\d\d-\d\d-\d\dT", (first / "result.json").read_text())


def test_result_records_the_hashes_of_data_and_protocol(quick_runs, small_cases):
    document = json.loads((quick_runs[0] / "result.json").read_text(encoding="utf-8"))
    assert document["data"]["sha256"] == hashlib.sha256(small_cases.read_bytes()).hexdigest()
    protocol = ROOT / "protocols" / "quick-v1.yaml"
    assert document["protocol"]["sha256"] == hashlib.sha256(protocol.read_bytes()).hexdigest()


def test_results_csv_is_the_same_rows_flat(quick_runs):
    document = json.loads((quick_runs[0] / "result.json").read_text(encoding="utf-8"))
    table = pd.read_csv(quick_runs[0] / "results.csv", keep_default_na=False, na_values=[""])
    assert len(table) == len(document["results"])
    for row, flat in zip(document["results"], table.itertuples(index=False), strict=True):
        assert (flat.technique, flat.measure, flat.method) == (
            row["technique"],
            row["measure"],
            row["method"],
        )
        if row["estimate"] is None:
            assert np.isnan(flat.estimate)
        else:
            assert flat.estimate == pytest.approx(row["estimate"], rel=1e-12)


def test_rows_are_in_protocol_technique_order(quick_runs):
    document = json.loads((quick_runs[0] / "result.json").read_text(encoding="utf-8"))
    seen = list(dict.fromkeys(r["technique"] for r in document["results"]))
    assert seen == document["settings"]["techniques"]


MINI = """
name: mini
version: "0.1"
techniques: [undercover]
covariates: [offence, n_suspects]
outcomes: [conviction]
estimators:
  - name: outcome.naive
"""


def _protocol(tmp_path, text, name="p.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_one_byte_changes_the_data_hash(tmp_path, small_cases):
    protocol = _protocol(tmp_path, MINI)
    changed = tmp_path / "changed.csv"
    raw = bytearray(small_cases.read_bytes())
    position = raw.rindex(b"\n", 0, len(raw) - 1) - 1  # a digit of the last row's last cell
    raw[position] = ord("1") if raw[position] != ord("1") else ord("2")
    changed.write_bytes(bytes(raw))
    first = run_protocol(protocol, small_cases).document["data"]["sha256"]
    second = run_protocol(protocol, changed).document["data"]["sha256"]
    assert first != second
    assert second == hashlib.sha256(bytes(raw)).hexdigest()


def test_seed_is_recorded_and_changes_random_steps(tmp_path, small_cases):
    protocol = _protocol(
        tmp_path, MINI.replace("outcome.naive", "outcome.aipw\n    params: {n_folds: 2}")
    )
    a = run_protocol(protocol, small_cases, seed=1).document
    b = run_protocol(protocol, small_cases, seed=2).document
    assert (a["seed"], b["seed"]) == (1, 2)
    assert a["results"][0]["estimate"] != b["results"][0]["estimate"]


def test_missing_covariate_is_a_protocol_error_naming_it(tmp_path, small_cases):
    protocol = _protocol(tmp_path, MINI.replace("n_suspects]", "n_suspects, informant_grade]"))
    with pytest.raises(ProtocolError, match="informant_grade"):
        run_protocol(protocol, small_cases)


# ---- disclosure control on crafted data ----------------------------------------------------

CRAFTED = """
name: crafted
version: "0.1"
techniques: [undercover]
covariates: [offence, n_suspects]
outcomes: [conviction]
estimators:
  - name: outcome.naive
  - name: harm.undercover_risk
subgroups:
  by: [region, district]
  outcomes: [conviction]
  estimator: outcome.naive
  min_cases: 5
"""


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    """A case file with known small cells, secret IDs, free text and a set-aside row.

    ``region``: alpha has 9 undercover cases and epsilon 4 (both suppressed), beta
    exactly 10 (published). ``district``: only north has fewer than 10 undercover cases
    (9), so secondary suppression must withhold one more level.
    """
    folder = tmp_path_factory.mktemp("crafted")
    frame = generate_cases(1500, seed=21).cases.copy()
    frame["case_id"] = [f"SECRET-{i:05d}" for i in range(len(frame))]
    frame["notes"] = [f"PRIVATE-NOTE {i} informant said" for i in range(len(frame))]
    uses = frame["techniques"].fillna("").str.contains("undercover")
    undercover_rows = np.flatnonzero(uses.to_numpy())
    other_rows = np.flatnonzero(~uses.to_numpy())
    region = np.array(["gamma"] * len(frame), dtype=object)
    region[undercover_rows[:9]] = "alpha"
    region[undercover_rows[9:13]] = "epsilon"
    region[undercover_rows[13:23]] = "beta"
    for name, start in (("alpha", 0), ("epsilon", 60), ("beta", 120)):
        region[other_rows[start : start + 60]] = name
    frame["region"] = region
    district = np.array(["south"] * len(frame), dtype=object)
    district[undercover_rows[:9]] = "north"
    district[undercover_rows[9:40]] = "east"
    district[undercover_rows[40:100]] = "west"
    district[other_rows[:300]] = "north"
    district[other_rows[300:600]] = "east"
    district[other_rows[600:900]] = "west"
    frame["district"] = district
    frame.loc[frame.index[-1], "techniques"] = "telepathy-XYZ"  # set aside
    path = folder / "crafted.csv"
    frame.to_csv(path, index=False)
    protocol = folder / "crafted.yaml"
    protocol.write_text(CRAFTED)
    out = folder / "out"
    write_outputs(run_protocol(protocol, path), out)
    return out, json.loads((out / "result.json").read_text(encoding="utf-8"))


def _subgroup_rows(document, column, method="naive"):
    return {
        r["subgroup"]: r
        for r in document["results"]
        if r["method"] == method
        and r["measure"] == "conviction"
        and (r["subgroup"] or "").startswith(f"{column}=")
    }


def test_nine_cases_suppressed_ten_published(crafted):
    _, document = crafted
    check_result_document(document)
    rows = _subgroup_rows(document, "region")
    assert rows["region=alpha"]["suppressed"] and rows["region=alpha"]["estimate"] is None
    assert rows["region=epsilon"]["suppressed"]
    assert not rows["region=beta"]["suppressed"]
    assert rows["region=beta"]["n_treated"] == 10
    assert rows["region=beta"]["estimate"] is not None


def test_suppressed_value_cannot_be_recovered_from_the_total(crafted):
    _, document = crafted
    rows = _subgroup_rows(document, "district")
    suppressed = sorted(label for label, r in rows.items() if r["suppressed"])
    assert "district=north" in suppressed and len(suppressed) == 2
    overall = next(
        r
        for r in document["results"]
        if r["method"] == "naive" and r["scale"] == "risk_difference" and r["subgroup"] is None
    )
    published = sum(r["n_treated"] for r in rows.values() if not r["suppressed"])
    assert overall["n_treated"] - published != 9  # two withheld levels, not one
    heterogeneity = next(r for r in document["results"] if r["subgroup"] == "district")
    assert heterogeneity["suppressed"]
    # the descriptive undercover-risk rows by district are protected the same way
    risk = {
        r["subgroup"]: r
        for r in document["results"]
        if r["method"] in ("ratio_estimator", "exact_poisson")
        and (r["subgroup"] or "").startswith("district=")
    }
    assert risk["district=north"]["suppressed"]
    assert sum(r["suppressed"] for r in risk.values()) >= 2


def test_no_case_id_free_text_or_set_aside_value_in_any_output(crafted):
    out, document = crafted
    assert document["data"]["rows_set_aside"] == 1
    ledger = document["data"]["set_aside"]
    assert {"column": "techniques", "rule": "known technique", "count": 1} in ledger
    assert all(set(item) == {"column", "rule", "count"} for item in ledger)
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"result.json", "results.csv", "run.log", "set_aside.csv"}
    for path in files:
        text = path.read_text(encoding="utf-8")
        for secret in ("SECRET-", "PRIVATE-NOTE", "informant", "telepathy"):
            assert secret not in text, (path.name, secret)


# ---- command line and output folder -------------------------------------------------------


@pytest.fixture
def cli(capsys):
    def invoke(*args):
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


def test_cli_run_writes_the_folder_and_refuses_to_overwrite(cli, tmp_path, small_cases):
    protocol = _protocol(tmp_path, MINI)
    out = tmp_path / "out"
    code, output, _ = cli("run", protocol, "--cases", small_cases, "--out", out)
    assert code == 0, output
    assert "evidence" in output and (out / "result.json").is_file()
    before = (out / "result.json").read_bytes()
    code, _, err = cli("run", protocol, "--cases", small_cases, "--out", out, "--quiet")
    assert code == 2 and "not empty" in err and "--overwrite" in err
    code, output, _ = cli(
        "run", protocol, "--cases", small_cases, "--out", out, "--overwrite", "--quiet"
    )
    assert code == 0 and output == ""
    assert (out / "result.json").read_bytes() == before


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--format", "docx"], "unknown output format"),
        (["--backend", "dask:"], "needs a scheduler address"),
        (["--backend", "spark"], "unknown back-end"),
    ],
)
def test_cli_refuses_what_is_not_available(cli, tmp_path, small_cases, option, message):
    out = tmp_path / "out"
    code, _, err = cli("run", "quick-v1", "--cases", small_cases, "--out", out, *option)
    assert code == 2 and message in err
    assert not out.exists()


def test_cli_bad_protocol_exits_2(cli, tmp_path, small_cases):
    code, _, err = cli("run", "no-such-protocol", "--cases", small_cases, "--out", tmp_path / "o")
    assert code == 2 and "quick-v1" in err
    bad = _protocol(tmp_path, MINI + "colour: blue\n")
    code, _, err = cli("run", bad, "--cases", small_cases, "--out", tmp_path / "o")
    assert code == 2 and "unknown key 'colour'" in err


def test_failed_write_leaves_nothing_half_written(tmp_path, small_cases, monkeypatch):
    outcome = run_protocol(_protocol(tmp_path, MINI), small_cases)
    out = tmp_path / "out"
    write_outputs(outcome, out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}

    def broken(frame):
        raise OSError("disk full")

    monkeypatch.setattr(write, "_csv_text", broken)
    with pytest.raises(OSError):
        write_outputs(outcome, out, overwrite=True)
    with pytest.raises(OSError):
        write_outputs(outcome, tmp_path / "fresh")
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert not (tmp_path / "fresh").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_output_path_that_is_a_file_is_refused(tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(ArgumentError, match="not a folder"):
        check_output_folder(path, overwrite=True)


def test_cli_lists_and_shows_protocols_with_their_hash(cli):
    code, output, _ = cli("protocols")
    assert code == 0
    for name in ("standard-v1", "quick-v1", "witness-protection-v1"):
        assert name in output
    code, output, _ = cli("protocols", "show", "quick-v1")
    digest = hashlib.sha256((ROOT / "protocols" / "quick-v1.yaml").read_bytes()).hexdigest()
    assert code == 0 and f"sha256 {digest}" in output and "name: quick" in output


# ---- the shipped data: truth recovered --------------------------------------------------


#: Truth checks on the shipped data in this file's slow tests: four techniques in the
#: README's standard-v1 run and one in each of three technique protocols. Seven 95%
#: intervals all cover the truth only 70% of the time, so each is checked at the
#: Bonferroni level 1 - 0.05/7, and all of them together hold with 95% probability.
_TRUTH_CHECKS = 7


def _truth_within_ci(document, outcome="conviction"):
    truth = json.loads(TRUTH.read_text(encoding="utf-8"))
    z = stats.norm.ppf(1 - 0.05 / (2 * _TRUTH_CHECKS))
    checked = 0
    for row in document["results"]:
        if (row["method"], row["measure"], row["scale"], row["subgroup"]) != (
            "aipw",
            outcome,
            "risk_difference",
            None,
        ):
            continue
        true_effect = truth["techniques"][row["technique"]][outcome]["ate"]
        assert row["diagnostics"]["inference"] == "influence_function"  # a Wald interval
        half = z * row["std_error"]
        assert abs(row["estimate"] - true_effect) <= half, (row["technique"], row, true_effect)
        checked += 1
    assert checked == len(document["settings"]["techniques"])


def test_quick_v1_on_the_shipped_data_recovers_the_truth(tmp_path):
    """quick-v1 on the shipped 20,000 cases (about 20 s): conviction truth within the CIs."""
    outcome = run_protocol("quick-v1", SHIPPED_CASES)
    check_result_document(outcome.document)
    _truth_within_ci(outcome.document)


@pytest.mark.slow
def test_readme_command_standard_v1_recovers_the_truth_and_repeats_exactly(tmp_path):
    """The README's first command, twice: about 12 minutes on two cores (cost bootstraps)."""
    first, second = tmp_path / "first", tmp_path / "second"
    for out in (first, second):
        code = main(
            [
                "run",
                "protocols/standard-v1.yaml",
                "--cases",
                str(SHIPPED_CASES),
                "--out",
                str(out),
                "--quiet",
            ]
        )
        assert code == 0
    document = json.loads((first / "result.json").read_text(encoding="utf-8"))
    check_result_document(document)
    _truth_within_ci(document)
    assert (first / "result.json").read_bytes() == (second / "result.json").read_bytes()
    families = {r["family"] for r in document["results"]}
    assert families == {"outcome", "cost", "harm", "synthesis"}


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["electronic-surveillance-v1", "undercover-v1", "witness-protection-v1"]
)
def test_technique_protocols_run_on_the_shipped_data(tmp_path, name):
    outcome = run_protocol(name, SHIPPED_CASES)
    check_result_document(outcome.document)
    _truth_within_ci(outcome.document, outcome.document["settings"]["outcomes"][0])


# ---- comparator, unavailable families, the programme model -----------------------------


def test_traditional_only_comparator_leaves_out_other_techniques(tmp_path, small_cases):
    from techeval.cases import load_cases

    protocol = _protocol(tmp_path, MINI + "comparator: traditional_only\n")
    document = run_protocol(protocol, small_cases).document
    cases = load_cases(small_cases).cases
    row = document["results"][0]
    assert row["n_treated"] == int(cases["undercover"].sum())
    assert row["n_control"] == int(cases["traditional_only"].sum())


def test_a_family_not_built_fails_clearly_before_any_work(cli, tmp_path, small_cases):
    protocol = _protocol(tmp_path, MINI.replace("outcome.naive", "pooling.meta_analysis"))
    out = tmp_path / "out"
    code, _, err = cli("run", protocol, "--cases", small_cases, "--out", out)
    assert code == 2 and "not available" in err and "pooling.meta_analysis" in err
    assert not out.exists()


PROGRAMME = """
name: programme
version: "0.1"
techniques: [witness_protection]
covariates: [offence]
outcomes: [conviction]
estimators:
  - name: harm.witness_offending
witness_programme:
  plan_witnesses_per_year: [25, 50]
  plan_annual_budget: 1000000
  family_per_witness: 1.8
  annual_cost_per_person: 40000
  mean_years_in_programme: 3
  horizon_years: 5
"""


def test_witness_programme_model_uses_the_data_intake(tmp_path, small_cases):
    from techeval.cases import load_cases
    from techeval.synthesis.programme import project_programme

    outcome = run_protocol(_protocol(tmp_path, PROGRAMME), small_cases)
    rows = {
        r["measure"]: r for r in outcome.document["results"] if r["method"] == "programme_model"
    }
    cases = load_cases(small_cases).cases
    used = cases.loc[cases["witness_protection"] & (cases["protected_witnesses"] > 0)]
    years = used["year"].max() - used["year"].min() + 1
    per_year = used["protected_witnesses"].sum() / years
    assert rows["witnesses_admitted_per_year"]["estimate"] == pytest.approx(per_year)
    assert rows["intake_ratio_to_plan"]["estimate"] == pytest.approx(per_year / 50)
    assert rows["high_level_prosecutions_per_witness"]["estimate"] == pytest.approx(
        used["high_level_convicted"].sum() / used["protected_witnesses"].sum()
    )
    rate = next(
        r["estimate"] for r in outcome.document["results"] if r["measure"] == "witness_offence_rate"
    )
    projection = project_programme(
        per_year,
        family_per_witness=1.8,
        annual_cost_per_person=40000,
        mean_years_in_programme=3,
        horizon_years=5,
        offences_per_witness_year=rate,
        cost_per_offence=(6500 + 30000 + 107000) / 3,
    )
    assert rows["programme_cost_total"]["estimate"] == pytest.approx(
        projection["cumulative_cost"].iloc[-1]
    )
    assert all(r["family"] == "synthesis" and r["n_control"] == 0 for r in rows.values())
    assert "programme_projection" in outcome.frames


def test_result_records_the_span_of_data_years(quick_runs, small_cases):
    """techeval trend orders result files by it when no --period is given."""
    document = json.loads((quick_runs[0] / "result.json").read_text(encoding="utf-8"))
    years = pd.read_csv(small_cases)["year"]
    assert document["data"]["years"] == {"first": int(years.min()), "last": int(years.max())}


def test_estimators_never_receive_case_ids(small_cases, monkeypatch):
    # the runner hands estimators the cases without the ID and the raw technique list
    # (the technique columns hold it): IDs stay out of every estimator and worker process
    seen: list[set[str]] = []
    original = execute.run_task

    def recording(task, frame):
        seen.append(set(frame.columns))
        return original(task, frame)

    monkeypatch.setattr(execute, "run_task", recording)
    outcome = run_protocol("quick-v1", small_cases)  # n_jobs 1: tasks run in this process
    assert seen and outcome.document["results"]
    assert not any({"case_id", "techniques"} & columns for columns in seen)
    assert all({"electronic_surveillance", "offence", "cost_total"} <= columns for columns in seen)


def test_estimators_section_describes_every_estimator_in_the_rows():
    """result.json names, for each estimator in its rows, its family, adjustment and text."""
    from techeval.estimators.registry import get_estimator

    document = json.loads((Path(__file__).parents[2] / "reports/sample/result.json").read_text())
    names = {row["estimator"] for row in document["results"]}
    assert set(document["estimators"]) == names
    for name, entry in document["estimators"].items():
        if name == "programme_model":
            assert entry["family"] == "synthesis" and entry["adjusted"] is False
            continue
        cls = get_estimator(name)
        assert entry == {
            "family": cls.family,
            "adjusted": cls.tags.adjusted,
            "description": cls.description(),
        }
        assert entry["description"] and "Parameters" not in entry["description"]
