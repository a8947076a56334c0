from pathlib import Path

from techeval.cases.schema import schema_markdown

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_case_record_docs_match_the_schema():
    text = (DOCS / "case-records.md").read_text(encoding="utf-8")
    generated = text.split("<!-- BEGIN GENERATED -->\n", 1)[1].split("<!-- END GENERATED -->", 1)[0]
    assert generated == schema_markdown(), (
        "docs/case-records.md is out of step with techeval.cases.schema; regenerate its table"
    )
