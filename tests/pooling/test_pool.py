"""Pooling result files across regions: rules, disclosure, outputs, and known truth."""

import copy
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from techeval.cli import app, main
from techeval.errors import ArgumentError
from techeval.pooling.meta import random_effects
from techeval.pooling.output import pooled_files, write_folder
from techeval.pooling.pool import ResultFile, pool_files, pool_results, read_result_file
from techeval.report.pooled import pooled_report_context, render_markdown
from techeval.results import canonical_json

ROOT = Path(__file__).resolve().parents[2]

# ---- hand-made result files (the result.json contract, docs/result-schema.md) -------------


def _row(technique, measure, scale, estimate, std_error, *, subgroup=None, method="aipw",
         n_treated=400, n_control=600, suppressed=False, estimand="ATE"):  # fmt: skip
    ratio = scale in ("risk_ratio", "odds_ratio", "rate_ratio")
    if ratio:
        half = 1.96 * std_error / estimate
        low, high = estimate * math.exp(-half), estimate * math.exp(half)
    else:
        low, high = estimate - 1.96 * std_error, estimate + 1.96 * std_error
    row = {
        "technique": technique,
        "family": "outcome",
        "estimator": f"outcome.{method}",
        "outcome": measure,
        "measure": measure,
        "scale": scale,
        "subgroup": subgroup,
        "estimand": estimand,
        "method": method,
        "estimate": estimate,
        "std_error": std_error,
        "ci_low": low,
        "ci_high": high,
        "ci_level": 0.95,
        "p_value": 0.01,
        "n_treated": n_treated,
        "n_control": n_control,
        "suppressed": suppressed,
        "warnings": [],
        "diagnostics": {},
    }
    if suppressed:
        row.update(dict.fromkeys(("estimate", "std_error", "ci_low", "ci_high", "p_value")))
        row.update(n_treated=None, n_control=None)
    return row


def _document(data_sha, rows, *, version="1.0.0", ci_level=0.95, min_cell=10):
    return {
        "schema": "techeval.result/1",
        "techeval_version": "0.1.0",
        "protocol": {"name": "standard", "version": version, "sha256": "p" * 64},
        "data": {
            "sha256": data_sha,
            "rows_in": 1000,
            "rows_used": 1000,
            "rows_set_aside": 0,
            "set_aside": [],
        },
        "seed": 1,
        "settings": {
            "techniques": ["undercover"],
            "comparator": "without_technique",
            "covariates": ["offence", "year"],
            "outcomes": ["conviction"],
            "subgroups": ["offence"],
            "inference_method": "influence_function",
            "n_bootstrap": 200,
            "ci_level": ci_level,
            "min_cell": min_cell,
            "currency": "USD",
        },
        "results": rows,
        "grades": {},
        "warnings": [],
    }


# five regions: risk differences, risk ratios and a case-type row; "west" withholds
# its drug-trafficking estimate under disclosure control
RD = {"north": (0.02, 0.02), "east": (0.06, 0.015), "south": (0.10, 0.02),
      "west": (0.14, 0.025), "central": (0.08, 0.018)}  # fmt: skip
RR = {"north": (1.05, 0.05), "east": (1.15, 0.06), "south": (1.30, 0.07),
      "west": (1.45, 0.09), "central": (1.20, 0.05)}  # fmt: skip
SUB = {"north": 0.05, "east": 0.09, "south": 0.12, "central": 0.07}


def _rows(region):
    rows = [
        _row("undercover", "conviction", "risk_difference", *RD[region]),
        _row("undercover", "conviction", "risk_ratio", *RR[region]),
        _row(
            "undercover",
            "conviction",
            "risk_difference",
            RD[region][0] + 0.01,
            0.01,
            method="naive",
        ),  # fmt: skip
        # heterogeneity rows and descriptive rows are never pooled
        {
            **_row("undercover", "conviction", "heterogeneity_q", 4.2, 0.0, subgroup="offence"),
            "std_error": None,
        },  # fmt: skip
        _row("undercover", "cost_mean", "mean", 1e5, 3e3, estimand=None),
    ]
    if region in SUB:
        rows.append(_row("undercover", "conviction", "risk_difference", SUB[region], 0.03,
                         subgroup="offence=drug_trafficking", n_treated=40, n_control=60))  # fmt: skip
    else:
        rows.append(_row("undercover", "conviction", "risk_difference", 0, 0,
                         subgroup="offence=drug_trafficking", suppressed=True))  # fmt: skip
    return rows


def _write(folder: Path, region: str, document) -> Path:
    (folder / region).mkdir(parents=True, exist_ok=True)
    path = folder / region / "result.json"
    path.write_text(canonical_json(document), encoding="utf-8")
    return path


@pytest.fixture
def region_files(tmp_path):
    return [
        _write(tmp_path / "in", region, _document(f"data-{region}", _rows(region))) for region in RD
    ]


def _find(document, scale, *, subgroup=None, method="aipw"):
    (row,) = [
        r
        for r in document["pooled"]
        if r["scale"] == scale and r["subgroup"] == subgroup and r["method"] == method
    ]
    return row


# ---- what is pooled, and how ---------------------------------------------------------------


def test_risk_differences_pool_by_reml_exactly_as_the_meta_analysis(region_files):
    document = pool_files(region_files)
    row = _find(document, "risk_difference")
    labels = sorted(RD)
    reference = random_effects(
        [RD[r][0] for r in labels], [RD[r][1] ** 2 for r in labels], tau2_method="reml"
    )
    assert row["k"] == 5 and row["pooled_on"] == "identity"
    for field in ("estimate", "std_error", "ci_low", "ci_high", "tau2", "i_squared", "q"):
        assert row[field] == pytest.approx(getattr(reference, field), rel=1e-10), field
    assert row["prediction_low"] == pytest.approx(reference.prediction_low, rel=1e-10)
    assert [r["label"] for r in row["regions"]] == labels
    assert sum(r["weight"] for r in row["regions"]) == pytest.approx(1.0)
    assert row["n_treated"] == 5 * 400 and row["n_control"] == 5 * 600
    assert not any("only" in w for w in row["warnings"])  # five regions: no few-studies warning
    # descriptive and heterogeneity rows are not effects on a poolable scale
    assert {r["scale"] for r in document["pooled"]} == {"risk_difference", "risk_ratio"}


def test_ratios_pool_on_the_log_scale_and_methods_are_recorded(region_files):
    document = pool_files(region_files, tau2_method="dl", hartung_knapp=True)
    row = _find(document, "risk_ratio")
    labels = sorted(RR)
    logs = [math.log(RR[r][0]) for r in labels]
    variances = [(RR[r][1] / RR[r][0]) ** 2 for r in labels]
    reference = random_effects(logs, variances, tau2_method="dl", hartung_knapp=True)
    assert row["pooled_on"] == "log"
    assert row["estimate"] == pytest.approx(math.exp(reference.estimate), rel=1e-10)
    assert row["ci_low"] == pytest.approx(math.exp(reference.ci_low), rel=1e-10)
    assert row["prediction_high"] == pytest.approx(math.exp(reference.prediction_high), rel=1e-10)
    assert row["tau2"] == pytest.approx(reference.tau2, rel=1e-10)
    assert row["ci_method"] == "hartung_knapp" and row["tau2_method"] == "dl"
    assert document["settings"]["ci_method"] == "hartung_knapp"


def test_suppressed_estimates_are_not_pooled_and_stay_withheld(region_files, tmp_path):
    document = pool_files(region_files)
    row = _find(document, "risk_difference", subgroup="offence=drug_trafficking")
    west = next(r for r in row["regions"] if r["label"] == "west")
    assert west["status"] == "suppressed"
    assert all(west[f] is None for f in ("estimate", "std_error", "ci_low", "n_treated", "weight"))
    assert row["k"] == 4 and row["k_suppressed"] == 1
    labels = sorted(SUB)
    reference = random_effects([SUB[r] for r in labels], [0.03**2] * 4)
    assert row["estimate"] == pytest.approx(reference.estimate, rel=1e-10)
    assert any("disclosure control" in w for w in row["warnings"])
    assert any("only 4 regions" in w for w in row["warnings"])
    context = pooled_report_context(document)
    section = next(s for s in context["sections"] if s["title"] == "Undercover operations")
    (kinds,) = [t for t in section["tables"] if t["title"].startswith("Kinds of case")]
    (shown,) = kinds["rows"]
    assert shown["withheld (disclosure control)"] == "west"
    assert "| west |" in render_markdown(context)


def test_a_stricter_threshold_in_one_file_withholds_small_cells_everywhere(tmp_path):
    distinctive = 0.0813572468  # a value that must not appear in any output
    rows = {
        region: [_row("undercover", "conviction", "risk_difference", *RD[region])] for region in RD
    }
    rows["east"] = [
        _row("undercover", "conviction", "risk_difference", distinctive, 0.02, n_treated=12)
    ]
    paths = [
        _write(
            tmp_path / "in",
            region,
            _document(f"d-{region}", rows[region], min_cell=15 if region == "north" else 10),
        )  # fmt: skip
        for region in RD
    ]
    document = pool_files(paths)
    row = _find(document, "risk_difference")
    east = next(r for r in row["regions"] if r["label"] == "east")
    assert east["status"] == "suppressed" and east["estimate"] is None
    assert document["settings"]["min_cell"] == 15
    assert any("strictest" in w for w in document["warnings"])
    for name, data in pooled_files(document).items():
        if name.endswith((".json", ".csv", ".md")):
            assert b"0.0813572" not in data, name
    markdown = render_markdown(pooled_report_context(document))
    assert "| east | — | — | — | withheld (disclosure control) |" in markdown


@pytest.mark.parametrize(
    "small",
    [
        {"n_treated": 9},  # a file that published a cell below the threshold
        {"n_control": 0},  # a zero count in an effect is disclosive
        {"diagnostics": {"n_cases": 7}},  # the estimator's own case count
    ],
    ids=["nine-treated", "zero-control", "n-cases"],
)
def test_a_region_cell_of_fewer_than_min_cell_cases_is_not_published(tmp_path, small):
    distinctive = 0.0913572468  # a value that must not appear in the pooled outputs
    rows = {
        region: [_row("undercover", "conviction", "risk_difference", *RD[region])] for region in RD
    }
    rows["east"] = [{**_row("undercover", "conviction", "risk_difference", distinctive, 0.02),
                     **small}]  # fmt: skip
    paths = [_write(tmp_path / "in", r, _document(f"d-{r}", rows[r])) for r in RD]
    document = pool_files(paths)
    row = _find(document, "risk_difference")
    east = next(r for r in row["regions"] if r["label"] == "east")
    assert east["status"] == "suppressed" and east["estimate"] is None
    assert row["k"] == 4 and row["k_suppressed"] == 1
    labels = [r for r in sorted(RD) if r != "east"]
    reference = random_effects([RD[r][0] for r in labels], [RD[r][1] ** 2 for r in labels])
    assert row["estimate"] == pytest.approx(reference.estimate, rel=1e-10)
    for name, data in pooled_files(document).items():
        if name.endswith((".json", ".csv", ".md")):
            assert b"0.0913572" not in data, name


# ---- refusals ------------------------------------------------------------------------------


def test_different_protocol_versions_are_refused_naming_the_files(tmp_path):
    old = _write(tmp_path, "north", _document("a", _rows("north"), version="1.0.0"))
    new = _write(tmp_path, "east", _document("b", _rows("east"), version="2.0.0"))
    with pytest.raises(ArgumentError, match="different protocols or protocol versions") as info:
        pool_files([old, new])
    assert str(old) in info.value.describe() and str(new) in info.value.describe()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"settings": {"ci_level": 0.9}}, "different ci_level"),
        ({"settings": {"currency": "EUR"}}, "different currency"),
        ({"settings": {"covariates": ["year"]}}, "different covariates"),
    ],
)
def test_incompatible_settings_are_refused(tmp_path, change, message):
    first = _document("a", _rows("north"))
    second = _document("b", _rows("east"))
    second["settings"].update(change["settings"])
    paths = [_write(tmp_path, "north", first), _write(tmp_path, "east", second)]
    with pytest.raises(ArgumentError, match=message):
        pool_files(paths)


def test_same_data_twice_repeated_labels_and_single_files_are_refused(tmp_path, region_files):
    twin = _write(tmp_path, "twin", _document("data-north", _rows("north")))
    with pytest.raises(ArgumentError, match="same case data"):
        pool_files([region_files[0], twin])
    with pytest.raises(ArgumentError, match="same label 'x'"):
        pool_files(region_files[:2], labels=["x", "x"])
    with pytest.raises(ArgumentError, match="--label"):
        pool_files(region_files[:2], labels=["x"])
    with pytest.raises(ArgumentError, match="at least two"):
        pool_files(region_files[:1])
    with pytest.raises(ArgumentError, match="unknown tau"):
        pool_files(region_files, tau2_method="hs")


@pytest.mark.parametrize(
    ("setting", "value"),
    [("min_cell", None), ("min_cell", 0), ("ci_level", None), ("ci_level", 95), ("currency", "")],
)
def test_settings_pooling_reads_are_never_assumed(tmp_path, region_files, setting, value):
    document = _document("data-odd", _rows("north"))
    if value is None:
        del document["settings"][setting]
    else:
        document["settings"][setting] = value
    odd = _write(tmp_path, "odd", document)
    with pytest.raises(ArgumentError, match=setting) as raised:
        pool_files([region_files[0], odd])
    assert "odd" in str(raised.value)
    in_memory = ResultFile("odd", odd, "0" * 64, document)
    first = read_result_file(region_files[0])
    with pytest.raises(ArgumentError, match=setting):
        pool_results([first, in_memory])


def test_files_that_are_not_result_files_are_refused(tmp_path):
    text = tmp_path / "notes.json"
    text.write_text("{not json", encoding="utf-8")
    with pytest.raises(ArgumentError, match="not a JSON file"):
        read_result_file(text)
    other = tmp_path / "other.json"
    other.write_text('{"schema": "something/1"}', encoding="utf-8")
    with pytest.raises(ArgumentError, match="not a techeval result file"):
        read_result_file(other)
    with pytest.raises(ArgumentError, match="cannot read"):
        read_result_file(tmp_path / "missing" / "result.json")


def test_few_regions_are_warned_about(tmp_path):
    paths = [_write(tmp_path, r, _document(r, _rows(r))) for r in ("north", "east", "south")]
    document = pool_files(paths)
    assert any("3 result files" in w for w in document["warnings"])
    assert any("only 3 regions" in w for w in _find(document, "risk_difference")["warnings"])


# ---- outputs -------------------------------------------------------------------------------


def test_pooled_json_is_byte_identical_and_independent_of_argument_order(region_files):
    first = canonical_json(pool_files(region_files))
    again = canonical_json(pool_files(list(reversed(region_files))))
    assert first == again
    document = json.loads(first)
    assert document["schema"] == "techeval.pooled/1"
    assert [i["label"] for i in document["inputs"]] == sorted(RD)
    north = Path(region_files[0])
    assert document["inputs"][2]["sha256"] == hashlib.sha256(north.read_bytes()).hexdigest()


def test_cli_writes_the_pooled_folder(region_files, tmp_path):
    out = tmp_path / "pooled"
    result = CliRunner().invoke(app, ["pool", *map(str, region_files), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "5 regions" in result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "forest_undercover.png",
        "forest_undercover.svg",
        "pooled.csv",
        "pooled.html",
        "pooled.json",
        "pooled.md",
        "pooled.pdf",
    ]
    assert (out / "forest_undercover.png").read_bytes().startswith(b"\x89PNG")
    html = (out / "pooled.html").read_text(encoding="utf-8")
    # the single-run style: self-contained, the forest plot embedded, no markup from labels
    assert "default-src 'none'" in html and "data:image/svg+xml;base64," in html
    assert "<h2>Undercover operations</h2>" in html
    assert (out / "pooled.pdf").read_bytes().startswith(b"%PDF-")
    assert b"<svg" in (out / "forest_undercover.svg").read_bytes()
    markdown = (out / "pooled.md").read_text(encoding="utf-8")
    assert "prediction interval" in markdown and "![Forest plot for undercover" in markdown
    csv = (out / "pooled.csv").read_text(encoding="utf-8").splitlines()
    assert csv[0].startswith("technique,family,estimator")
    assert sum(",(pooled)," in line for line in csv) == 4  # RD, RR, naive RD, drug trafficking
    # a second run without --overwrite is refused (exit 2, no traceback); with it, same bytes
    before = (out / "pooled.json").read_bytes()
    assert main(["pool", *map(str, region_files), "--out", str(out)]) == 2
    assert main(["pool", *map(str, region_files), "--out", str(out), "--overwrite"]) == 0
    assert (out / "pooled.json").read_bytes() == before


def test_cli_errors_exit_2_without_traceback(tmp_path, region_files, capsys):
    other = _write(tmp_path, "v2", _document("v2", _rows("north"), version="2.0.0"))
    code = main(["pool", str(region_files[0]), str(other), "--out", str(tmp_path / "o")])
    captured = capsys.readouterr()
    assert code == 2
    assert "protocol versions" in captured.err and "Traceback" not in captured.err
    assert not (tmp_path / "o").exists()


def test_report_context_is_plain_data_with_figures_and_tables(region_files):
    document = pool_files(region_files)
    context = pooled_report_context(document)
    assert set(context) == {
        "title",
        "subtitle",
        "summary",
        "sections",
        "methods",
        "sources",
        "warnings",
    }
    json.dumps(context)  # plain data only
    section = next(s for s in context["sections"] if s["title"] == "Undercover operations")
    (figure,) = section["figures"]
    assert figure["file"] == "forest_undercover.png" and figure["svg"] == "forest_undercover.svg"
    assert "north" in figure["alt"] and "pooled" in figure["alt"]
    table = section["tables"][0]
    assert [r["region"] for r in table["rows"]][-1] == "pooled (random effects)"
    assert all(set(r) == set(table["columns"]) for r in table["rows"])
    assert "A new region could expect" in " ".join(section["paragraphs"])
    assert "REML" in " ".join(context["methods"])


def test_write_folder_is_all_or_nothing(tmp_path):
    out = tmp_path / "o"
    write_folder({"a.txt": b"1"}, out)
    with pytest.raises(ArgumentError, match="not empty"):
        write_folder({"a.txt": b"2"}, out)
    assert (out / "a.txt").read_bytes() == b"1"
    assert not list(tmp_path.glob(".o.partial-*"))


# ---- known truth: regions with different and with equal effects ---------------------------

_REGIONS_PROTOCOL = """\
name: regions-test
version: "1"
techniques: [electronic_surveillance]
covariates: [offence, group_structure, n_suspects, high_level_targets, jurisdiction, year,
             threat_level, transnational]
outcomes: [conviction]
estimators:
  - name: outcome.aipw
    params: {n_folds: 2}
inference: {seed: 5}
"""


def _pool_regions(tmp_path, protocol, effects, *, n, seed=11):
    from techeval.protocols.model import load_protocol
    from techeval.protocols.run import run_protocol, write_outputs
    from techeval.simulate import generate_regions, region_average_truth, write_regions

    regions = generate_regions(n, seed=seed, effects=effects, population=False)
    folder = write_regions(regions, tmp_path / "cases")
    loaded = load_protocol(protocol)
    paths = []
    for name in regions:
        outcome = run_protocol(loaded, folder / name / "cases.csv")
        paths.append(write_outputs(outcome, tmp_path / "results" / name) / "result.json")
    return pool_files(paths), region_average_truth(regions)


def test_regions_pool_covers_the_true_average_and_tau2_reflects_real_differences(tmp_path):
    from techeval.simulate import REGION_EFFECTS

    protocol = tmp_path / "regions-test.yaml"
    protocol.write_text(_REGIONS_PROTOCOL, encoding="utf-8")
    differ, truth_differ = _pool_regions(tmp_path / "differ", protocol, REGION_EFFECTS, n=6000)
    equal, truth_equal = _pool_regions(
        tmp_path / "equal", protocol, dict.fromkeys(REGION_EFFECTS, 1.0), n=6000
    )
    for document, truth in ((differ, truth_differ), (equal, truth_equal)):
        row = _find(document, "risk_difference")
        assert row["k"] == 5
        average = truth["electronic_surveillance"]["conviction"]
        assert row["ci_low"] < average < row["ci_high"]
    tau2_differ = _find(differ, "risk_difference")["tau2"]
    tau2_equal = _find(equal, "risk_difference")["tau2"]
    assert tau2_differ > tau2_equal
    # the true effects really differ: their spread is far above the equal case's
    spread = np.std([r["estimate"] for r in _find(differ, "risk_difference")["regions"]])
    assert spread > 0.02


@pytest.mark.slow
def test_regions_quick_protocol_pools_every_technique(tmp_path):
    """The shipped quick-v1 protocol on five regions: every technique's pooled CI covers truth."""
    from techeval.simulate import REGION_EFFECTS

    document, truth = _pool_regions(tmp_path, "quick-v1", REGION_EFFECTS, n=10_000, seed=3)
    for technique in document["settings"]["techniques"]:
        row = next(
            r
            for r in document["pooled"]
            if r["technique"] == technique
            and r["scale"] == "risk_difference"
            and r["subgroup"] is None
            and r["method"] == "aipw"
            and r["outcome"] == "conviction"
        )
        average = truth[technique]["conviction"]
        assert row["ci_low"] < average < row["ci_high"], technique
    files = pooled_files(document)
    assert {f"forest_{t}.png" for t in document["settings"]["techniques"]} <= set(files)


def test_region_documents_can_be_pooled_in_memory():
    files = [
        ResultFile(
            label=r, path=Path(f"{r}/result.json"), sha256=r, document=_document(r, _rows(r))
        )
        for r in RD
    ]
    document = pool_results(files)
    changed = copy.deepcopy(files[0].document)
    changed["results"][0]["estimate"] = 0.5
    moved = pool_results([ResultFile("north", Path("n"), "x", changed), *files[1:]])
    assert (
        _find(moved, "risk_difference")["estimate"] > _find(document, "risk_difference")["estimate"]
    )


def test_the_report_names_every_between_region_variance_estimator():
    from techeval.pooling.meta import TAU2_METHODS
    from techeval.report.pooled import TAU2_WORDS

    assert TAU2_WORDS == TAU2_METHODS


def test_a_file_from_before_rows_said_adjusted_pools_with_new_ones(tmp_path):
    """A result file without the rows' ``adjusted`` keys its rows as a new file does."""
    sample = json.loads((ROOT / "reports" / "sample" / "result.json").read_text("utf-8"))
    paths = []
    for index, region in enumerate("abcde"):
        document = copy.deepcopy(sample)
        document["data"]["sha256"] = hashlib.sha256(region.encode()).hexdigest()
        if index < 2:  # written by an earlier techeval
            document.pop("estimators")
            for row in document["results"]:
                row.pop("adjusted")
        paths.append(_write(tmp_path, region, document))
    pooled = pool_results([read_result_file(p, p.parent.name) for p in paths])["pooled"]
    new_only = pool_results([read_result_file(p, p.parent.name) for p in paths[2:]])["pooled"]
    assert len(pooled) == len(new_only)  # no quantity split in two by the missing field
    assert {r["k"] for r in pooled if r["k"]} == {5}
    naive = [r for r in pooled if r["method"] == "naive"]
    assert naive and all(r["adjusted"] is False for r in naive)
    assert all(r["adjusted"] is True for r in pooled if r["method"] == "aipw")
