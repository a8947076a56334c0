from pathlib import Path

from techeval.cases.schema import schema_markdown

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_case_record_docs_match_the_schema():
    text = (DOCS / "case-records.md").read_text(encoding="utf-8")
    generated = text.split("<!-- BEGIN GENERATED -->\n", 1)[1].split("<!-- END GENERATED -->", 1)[0]
    assert generated == schema_markdown(), (
        "docs/case-records.md is out of step with techeval.cases.schema; regenerate its table"
    )


def test_architecture_and_readme_layout_name_every_package():
    """docs/architecture.md has a sentence for every folder of src/techeval; README too."""
    root = Path(__file__).resolve().parents[1]
    packages = sorted(
        p.name for p in (root / "src" / "techeval").iterdir() if (p / "__init__.py").is_file()
    )
    architecture = (root / "docs" / "architecture.md").read_text(encoding="utf-8")
    readme = (root / "README.md").read_text(encoding="utf-8")
    for name in packages:
        assert f"| `{name}/` |" in architecture, name
        assert f"`src/techeval/{name}" in readme, name
