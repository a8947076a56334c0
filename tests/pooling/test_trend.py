"""Periodic assessments: trends over periods and plan versus actual."""

import json
import math

import pytest

from techeval.cli import main
from techeval.errors import ArgumentError, ProtocolError
from techeval.pooling.meta import meta_regression
from techeval.pooling.output import trend_files
from techeval.pooling.trend import parse_period, trend_from_files
from techeval.protocols.model import protocol_from_mapping
from techeval.report.trend import trend_report_context
from techeval.results import canonical_json

from .test_pool import _document, _row, _write


def _programme_row(per_year: float, family_per_witness: float):
    """The runner's witnesses_admitted_per_year row (programme model, docs/result-schema.md)."""
    return {
        **_row(
            "witness_protection",
            "witnesses_admitted_per_year",
            "per_year",
            per_year,
            0.0,
            n_treated=500,
            n_control=0,
            estimand=None,
            method="programme_model",
        ),  # fmt: skip
        "family": "synthesis",
        "estimator": "witness_programme",
        "outcome": "protected_witnesses",
        "std_error": None,
        "ci_low": None,
        "ci_high": None,
        "p_value": None,
        "diagnostics": {"programme": {"family_per_witness": family_per_witness}},
    }


def _witness_document(data_sha: str, per_year: float, family_per_witness: float):
    document = _document(data_sha, [_programme_row(per_year, family_per_witness)])
    document["protocol"].update(name="witness-protection", version="1.0.0")
    document["settings"]["techniques"] = ["witness_protection"]
    return document


def test_the_us_witness_programme_overrun_is_flagged_in_words(tmp_path):
    """A/CONF.213/15 para 43: planned 25-50 witnesses a year for under $1 million; in its
    first 13 years (1971-1983) the programme took in more than 4,400 witnesses and more
    than 8,000 family members."""
    path = _write(tmp_path, "us", _witness_document("us", 4400 / 13, 8000 / 4400))
    document = trend_from_files([path], periods=["1971-1983"], protocol="witness-protection-v1")
    (figure,) = document["plan"]
    assert (figure["planned_low"], figure["planned_high"]) == (25.0, 50.0)
    assert figure["annual_budget"] == 1_000_000
    (period,) = figure["periods"]
    assert period["flagged"] and period["direction"] == "above"
    assert period["actual"] == pytest.approx(338.46, abs=0.01)
    assert period["departure"] == pytest.approx(4400 / 13 / 50 - 1, rel=1e-9)  # 577% over
    sentence = period["sentence"]
    assert sentence.startswith("1971-1983: FLAGGED — overrun of 577% beyond the plan (25–50")
    assert "338 witnesses a year over 13 years, 6.8–13.5 times the plan of 25–50 a year" in sentence
    assert "4,400 witnesses against 325–650 planned" in sentence
    assert "1.8 family members" in sentence
    assert "$6.8 million–$13.5 million a year against a budget of $1.0 million" in sentence
    # the report leads with the flag
    context = trend_report_context(document)
    assert any("FLAGGED" in p for p in context["summary"])
    plan_section = context["sections"][0]
    assert plan_section["title"] == "Plan versus actual"
    assert plan_section["tables"][0]["rows"][0]["flagged"] == "yes"


def test_intake_within_the_plan_is_not_flagged_and_threshold_is_respected(tmp_path):
    paths = [
        _write(tmp_path, "a", _witness_document("a", 40, 1.5)),
        _write(tmp_path, "b", _witness_document("b", 60, 1.5)),
    ]
    document = trend_from_files(
        paths, periods=["1971-1975", "1976-1980"], protocol="witness-protection-v1"
    )
    within, above = document["plan"][0]["periods"]
    assert within["direction"] == "within" and not within["flagged"]
    assert above["direction"] == "above" and not above["flagged"]  # 20% over < 25%
    assert "within the 25% threshold" in above["sentence"]
    strict = trend_from_files(
        paths,
        periods=["1971-1975", "1976-1980"],
        protocol="witness-protection-v1",
        threshold=0.1,
    )
    assert strict["plan"][0]["periods"][1]["flagged"]


@pytest.mark.parametrize(
    ("counts", "withheld"),
    [
        ({"n_treated": 500, "n_control": 0}, False),  # one arm: a structural zero
        ({"n_treated": 5, "n_control": 0}, True),
        ({"n_treated": 0, "n_control": 0}, True),  # no structural zero: disclosive
        ({"diagnostics": {"n_cases": 3}}, True),  # the estimator's own case count
    ],
    ids=["structural-zero", "five", "both-zero", "n-cases"],
)
def test_the_actual_figure_follows_the_runners_threshold_rule(tmp_path, counts, withheld):
    document = _witness_document("a", 340.0, 1.5)
    document["results"] = [{**document["results"][0], **counts}]
    path = _write(tmp_path, "a", document)
    trend = trend_from_files([path], periods=["1971-1983"], protocol="witness-protection-v1")
    (period,) = trend["plan"][0]["periods"]
    assert (period["direction"] == "withheld") is withheld
    assert (period["actual"] is None) is withheld
    if withheld:
        assert "withheld (disclosure control)" in period["sentence"]
        assert "338" not in canonical_json(trend)


def test_a_protocol_plan_section_flags_other_figures(tmp_path):
    protocol = tmp_path / "planned.yaml"
    protocol.write_text(
        "name: standard\nversion: '1.0.0'\ntechniques: [undercover]\n"
        "estimators: [{name: outcome.aipw}]\n"
        "plan:\n  - {technique: undercover, measure: conviction, scale: risk_difference,\n"
        "     planned: [0.05, 0.10], threshold: 0.5, unit: more convictions per case,\n"
        "     source: illustrative}\n",
        encoding="utf-8",
    )
    values = {"p1": 0.08, "p2": 0.20, "p3": 0.04}
    paths = [
        _write(
            tmp_path,
            name,
            _document(
                name,
                [
                    _row("undercover", "conviction", "odds_ratio", 1.5, 0.1),
                    _row("undercover", "conviction", "risk_difference", value, 0.01),
                ],
            ),
        )  # fmt: skip
        for name, value in values.items()
    ]
    document = trend_from_files(paths, periods=["2010", "2011", "2012"], protocol=protocol)
    directions = [(p["direction"], p["flagged"]) for p in document["plan"][0]["periods"]]
    assert directions == [("within", False), ("above", True), ("below", False)]
    assert document["plan"][0]["periods"][1]["departure"] == pytest.approx(1.0)
    assert document["settings"]["plan_protocol"]["name"] == "standard"


def test_plan_figures_are_checked_by_the_protocol_model():
    base = {"name": "x", "version": "1", "techniques": ["undercover"],
            "estimators": [{"name": "outcome.aipw"}]}  # fmt: skip
    with pytest.raises(ProtocolError, match="low <= high"):
        protocol_from_mapping(
            {**base, "plan": [{"technique": "undercover", "measure": "m", "planned": [5.0, 1.0]}]}
        )
    with pytest.raises(ProtocolError, match="unknown key 'plan\\[0\\].target'"):
        protocol_from_mapping(
            {
                **base,
                "plan": [
                    {"technique": "undercover", "measure": "m", "planned": [1.0], "target": 3}
                ],
            }  # fmt: skip
        )


# ---- trends --------------------------------------------------------------------------------


def _period_files(tmp_path, values, *, suppressed=()):
    paths = []
    for name, (estimate, se) in values.items():
        rows = [
            _row(
                "undercover",
                "conviction",
                "risk_difference",
                estimate,
                se,
                suppressed=name in suppressed,
            ),  # fmt: skip
            _row("undercover", "conviction", "risk_ratio", 1 + 2 * estimate, 0.05),
        ]
        paths.append(_write(tmp_path, name, _document(f"d-{name}", rows)))
    return paths


def test_a_rising_effect_is_tested_by_meta_regression_on_the_mid_year(tmp_path):
    values = {"a": (0.02, 0.01), "b": (0.05, 0.012), "c": (0.09, 0.01), "d": (0.11, 0.015)}
    periods = ["2010-2012", "2013-2015", "2016-2018", "2019-2021"]
    paths = _period_files(tmp_path, values)
    document = trend_from_files(list(reversed(paths)), periods=list(reversed(periods)))
    assert [i["period"] for i in document["inputs"]] == periods  # ordered by period
    row = next(
        r for r in document["trends"] if r["scale"] == "risk_difference" and r["method"] == "aipw"
    )
    mids = [2011.0, 2014.0, 2017.0, 2020.0]
    centre = sum(mids) / 4
    reference = meta_regression(
        [v[0] for v in values.values()],
        [v[1] ** 2 for v in values.values()],
        [m - centre for m in mids],
    )
    assert row["test"] == "meta_regression" and row["k"] == 4
    assert row["slope_per_year"] == pytest.approx(reference.coefficients[1], rel=1e-10)
    assert row["slope_std_error"] == pytest.approx(reference.std_errors[1], rel=1e-10)
    assert row["slope_p_value"] < 0.001
    assert row["slope_per_year"] == pytest.approx(0.0103, abs=0.002)
    text = " ".join(trend_report_context(document)["summary"])
    assert "a clear change" in text and "percentage points a year" in text
    ratio = next(r for r in document["trends"] if r["scale"] == "risk_ratio")
    assert ratio["trend_on"] == "log" and ratio["slope_per_year"] > 0


def test_withheld_periods_stay_out_and_two_periods_are_compared_directly(tmp_path):
    values = {"a": (0.02, 0.01), "b": (0.50, 0.01), "c": (0.08, 0.02)}
    paths = _period_files(tmp_path, values, suppressed={"b"})
    document = trend_from_files(paths, periods=["2010", "2015", "2020"])
    row = next(
        r for r in document["trends"] if r["scale"] == "risk_difference" and r["method"] == "aipw"
    )
    statuses = [p["status"] for p in row["periods"]]
    assert statuses == ["used", "suppressed", "used"]
    assert row["periods"][1]["estimate"] is None
    assert row["test"] == "two_periods" and row["k"] == 2
    assert row["slope_per_year"] == pytest.approx((0.08 - 0.02) / 10, rel=1e-10)
    se = math.sqrt(0.01**2 + 0.02**2) / 10
    assert row["slope_std_error"] == pytest.approx(se, rel=1e-10)
    assert any("withheld" in w for w in row["warnings"])
    files = trend_files(document)
    assert b"0.5" not in files["trend.csv"].split(b"\n", 1)[1].replace(b"0.05", b"")
    markdown = files["trend.md"].decode()
    assert "withheld (disclosure control)" in markdown


def test_periods_are_required_and_checked(tmp_path):
    paths = _period_files(tmp_path, {"a": (0.02, 0.01), "b": (0.05, 0.01)})
    with pytest.raises(ArgumentError, match="does not record the years"):
        trend_from_files(paths)
    with pytest.raises(ArgumentError, match="cannot read the period"):
        trend_from_files(paths, periods=["2019", "last year"])
    with pytest.raises(ArgumentError, match="one --period per result file"):
        trend_from_files(paths, periods=["2019"])
    with pytest.raises(ArgumentError, match="same label"):
        trend_from_files(paths, periods=["2019", "2019"])
    with pytest.raises(ArgumentError, match="not the one the results were made with"):
        trend_from_files(paths, periods=["2018", "2019"], protocol="witness-protection-v1")
    assert parse_period("2015–2018") == (2015, 2018)
    with pytest.raises(ArgumentError, match="ends before"):
        parse_period("2019-2015")


def test_cli_trend_writes_its_folder_and_is_reproducible(tmp_path, capsys):
    paths = _period_files(tmp_path, {"a": (0.02, 0.01), "b": (0.05, 0.01), "c": (0.07, 0.01)})
    out = tmp_path / "trend"
    args = ["trend", *map(str, paths), "--period", "2010", "--period", "2012",
            "--period", "2014", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["trend.csv", "trend.html", "trend.json", "trend.md", "trend.pdf",
                     "trend_undercover.png", "trend_undercover.svg"]  # fmt: skip
    assert "data:image/svg+xml;base64," in (out / "trend.html").read_text(encoding="utf-8")
    before = (out / "trend.json").read_bytes()
    assert json.loads(before)["schema"] == "techeval.trend/1"
    assert main([*args, "--overwrite"]) == 0
    assert (out / "trend.json").read_bytes() == before
    capsys.readouterr()
    assert main(["trend", str(paths[0]), "--out", str(tmp_path / "x")]) == 2
    assert "--period" in capsys.readouterr().err
    assert canonical_json(json.loads(before)) == before.decode()
