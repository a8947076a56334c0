"""The report reads rows by what they are, never by estimator name (report/document.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from techeval.errors import ArgumentError
from techeval.report.content import build_report
from techeval.report.document import ResultDocument
from techeval.report.model import Num
from techeval.report.render import render_markdown

SAMPLE = Path(__file__).resolve().parents[2] / "reports" / "sample" / "result.json"


@pytest.fixture(scope="module")
def sample() -> dict:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


def _renamed(document: dict, names: dict[str, str]) -> dict:
    """``document`` with estimators renamed in its rows and its ``estimators`` section."""
    renamed = copy.deepcopy(document)
    for row in renamed["results"]:
        row["estimator"] = names.get(row["estimator"], row["estimator"])
    renamed["estimators"] = {names.get(k, k): v for k, v in renamed["estimators"].items()}
    return renamed


def _numbers(paragraph) -> list[Num]:
    return [part for part in paragraph if isinstance(part, Num)]


def test_a_plugin_outcome_estimator_is_reported_like_a_builtin(sample):
    """A plug-in adjusted outcome estimator's effect and its own description are shown."""
    plugin = _renamed(sample, {"outcome.aipw": "example.plugin"})
    plugin["estimators"]["example.plugin"]["description"] = (
        "An example plug-in: doubly robust, in its own words."
    )
    rows = plugin["results"]
    report = build_report(plugin)
    summary = next(s for s in report.sections if s.id == "summary")
    by_technique = next(s for s in summary.subsections if s.id == "by-technique")
    first = by_technique.blocks[0]
    cited = [rows[n.row] for n in _numbers(first) if n.row is not None]
    effect = next(r for r in cited if r["family"] == "outcome")
    assert effect["estimator"] == "example.plugin"
    assert effect["adjusted"] is True and effect["scale"] == "risk_difference"
    markdown = render_markdown(report, {})
    assert "| example.plugin | aipw | An example plug-in: doubly robust, in its own words. |" in (
        markdown
    )
    assert "outcome.aipw" not in markdown


def test_the_report_does_not_depend_on_estimator_names(sample):
    """Renaming every estimator changes the methods table's names and nothing else."""
    names = {name: f"example.plugin{i:02d}" for i, name in enumerate(sorted(sample["estimators"]))}
    before = render_markdown(build_report(sample), {})
    after = render_markdown(build_report(_renamed(sample, names)), {})
    assert before != after
    for old, new in names.items():
        after = after.replace(f"| {new} |", f"| {old} |".replace("_", "\\_"))
    assert after == before


def test_settings_are_read_without_defaults(sample):
    for key in ("min_cell", "ci_level", "currency"):
        document = copy.deepcopy(sample)
        del document["settings"][key]
        with pytest.raises(ArgumentError, match=f"settings.{key}"):
            ResultDocument(document)
    document = copy.deepcopy(sample)
    del document["estimators"]
    with pytest.raises(ArgumentError, match="estimators"):
        ResultDocument(document)


def test_an_unadjusted_row_is_never_the_adjusted_effect(sample):
    document = copy.deepcopy(sample)
    document["results"] = [r for r in document["results"] if r["adjusted"] is not True]
    results = ResultDocument(document)
    technique = results.settings.techniques[0]
    assert results.adjusted_effect(technique, "conviction") is None
    naive = results.naive_effect(technique, "conviction")
    assert naive is not None and naive.row["adjusted"] is False


def test_the_adjusted_effect_is_the_graded_one_else_the_first_in_document_order(sample):
    results = ResultDocument(sample)
    technique = results.settings.techniques[0]
    graded = results.adjusted_effect(technique, "conviction")
    assert graded.row["method"] == results.graded_method(technique)
    document = copy.deepcopy(sample)
    position = graded.index
    second = dict(document["results"][position], method="later", estimate=0.5)
    document["results"].insert(position + 1, second)
    document["grades"][technique]["method"] = "later"
    assert ResultDocument(document).adjusted_effect(technique, "conviction").index == position + 1
    document["grades"][technique]["method"] = None
    assert ResultDocument(document).adjusted_effect(technique, "conviction").index == position
