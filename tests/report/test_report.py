"""Reports: rendered from result.json alone, saying what the result says, in every format."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from techeval.cli import main
from techeval.protocols.run import run_protocol, write_outputs
from techeval.report import load_run, render_folder, render_reports
from techeval.report.text import display_tolerance, fmt_money, fmt_pp, parse_display
from techeval.simulate import generate_cases

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_CASES = ROOT / "synthetic_data" / "cases.csv"
SECTIONS = (
    "Summary for decision makers",
    "At a glance",
    "Techniques side by side",
    "Where each technique works best",
    "Methods",
    "Data",
    "Provenance",
)
TECHNIQUES = (
    "Electronic surveillance",
    "Undercover operations",
    "Controlled delivery",
    "Witness protection",
)


@pytest.fixture(scope="module")
def standard_run(tmp_path_factory):
    """standard-v1 on the shipped synthetic data (fewer bootstrap replicates), all formats."""
    folder = tmp_path_factory.mktemp("standard")
    text = (ROOT / "protocols" / "standard-v1.yaml").read_text(encoding="utf-8")
    assert "n_bootstrap: 200" in text
    protocol = folder / "standard-test.yaml"
    protocol.write_text(text.replace("n_bootstrap: 200", "n_bootstrap: 40"), encoding="utf-8")
    out = folder / "out"
    write_outputs(
        run_protocol(protocol, SHIPPED_CASES),
        out,
        formats=("json", "html", "md", "pdf"),
        render=render_folder,
    )
    document = json.loads((out / "result.json").read_text(encoding="utf-8"))
    return out, document


class _Page(HTMLParser):
    """Headings, number spans (with the section they sit in), images and visible text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.sections: list[str] = []
        self.headings: list[str] = []
        self.numbers: list[tuple[str, dict, str]] = []
        self.images: list[dict] = []
        self.text: list[str] = []
        self.tags: list[str] = []
        self._heading = None
        self._number = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "section":
            self.sections.append(attrs.get("id", ""))
        elif tag in ("h2", "h3"):
            self._heading = []
        elif tag == "span" and attrs.get("class") == "num":
            self._number = (list(self.sections), attrs, [])
        elif tag == "img":
            self.images.append(attrs)

    def handle_endtag(self, tag):
        if tag in ("h2", "h3") and self._heading is not None:
            self.headings.append("".join(self._heading).strip())
            self._heading = None
        elif tag == "span" and self._number is not None:
            sections, attrs, text = self._number
            self.numbers.append((sections, attrs, "".join(text)))
            self._number = None
        elif tag == "section":
            self.sections.pop()

    def handle_data(self, data):
        self.text.append(data)
        if self._heading is not None:
            self._heading.append(data)
        if self._number is not None:
            self._number[2].append(data)


def _page(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def _value(document: dict, row: str, field: str):
    if row == "":
        return None
    value = document["results"][int(row)]
    for key in field.split("."):
        value = value[key]
    return value


def test_every_section_and_technique_is_in_the_html(standard_run):
    out, _ = standard_run
    page = _page(out / "report.html")
    for heading in SECTIONS + TECHNIQUES:
        assert heading in page.headings, heading
    assert page.headings[0] == "Summary for decision makers"
    summary = " ".join(page.text)
    for technique in TECHNIQUES:
        assert technique in summary


def test_summary_numbers_are_the_result_files_numbers(standard_run):
    out, document = standard_run
    page = _page(out / "report.html")
    in_summary = [(attrs, text) for sections, attrs, text in page.numbers if "summary" in sections]
    assert len(in_summary) >= 4 * 8
    kinds = set()
    for attrs, text in in_summary:
        assert attrs["data-row"] != "", text
        stored = _value(document, attrs["data-row"], attrs["data-field"])
        # the exact value travels with the rounded one ...
        assert float(attrs["data-value"]) == stored
        # ... and the rounded one is that value, rounded
        shown = parse_display(text)
        expected = 100 * stored if attrs["data-kind"] == "pp" else stored
        if text.startswith("<"):
            assert 0 < expected < shown, (text, stored)
        elif text.startswith(">"):
            assert shown < expected < 1, (text, stored)
        else:
            assert abs(shown - expected) <= display_tolerance(text) * 1.0001 + 1e-12, (text, stored)
        kinds.add(attrs["data-kind"])
    assert {"pp", "money", "prob", "ratio"} <= kinds


def test_summary_says_no_detectable_effect_when_the_interval_spans_zero(standard_run):
    out, document = standard_run
    text = "".join(_page(out / "report.html").text)
    spans_zero = [
        r
        for r in document["results"]
        if r["family"] == "outcome"
        and r["estimator"] == "outcome.aipw"
        and r["subgroup"] is None
        and r["scale"] == "risk_difference"
        and r["outcome"] == "conviction"
        and r["ci_low"] < 0 < r["ci_high"]
    ]
    if spans_zero:
        assert "no detectable effect" in text
    # and the adjusted effects that do not span zero are stated as rises, with their CI
    for row in document["results"]:
        if (
            row["estimator"] == "outcome.aipw"
            and row["subgroup"] is None
            and row["scale"] == "risk_difference"
            and row["outcome"] == "conviction"
            and row["ci_low"] > 0
        ):
            assert (
                f"by {fmt_pp(row['estimate'])} percentage points (95% CI "
                f"{fmt_pp(row['ci_low'])} to {fmt_pp(row['ci_high'])})" in text
            )


def test_every_image_has_alt_text_and_data(standard_run):
    out, _ = standard_run
    page = _page(out / "report.html")
    assert len(page.images) >= 8
    for image in page.images:
        assert image["alt"].strip()
        assert image["src"].startswith("data:image/svg+xml;base64,")


def test_html_is_self_contained(standard_run):
    out, _ = standard_run
    page = _page(out / "report.html")
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "script" not in page.tags and "link" not in page.tags
    assert "http://" not in html and "https://" not in html
    assert "default-src 'none'" in html


def test_markdown_has_every_section_and_its_figures(standard_run):
    out, _ = standard_run
    markdown = (out / "report.md").read_text(encoding="utf-8")
    for heading in SECTIONS + TECHNIQUES:
        assert f" {heading}\n" in markdown, heading
    figures = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert "forest.png" in figures and "ce-plane.png" in figures
    for name in figures:
        assert f"(figures/{name})" in markdown
        assert (out / "figures" / name).stat().st_size > 1000


def test_pdf_opens_and_has_the_sections(standard_run):
    out, _ = standard_run
    pdf = out / "report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed; .ci/run installs it")
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for heading in SECTIONS + TECHNIQUES:
        assert heading in text, heading


def test_no_case_id_anywhere(standard_run):
    out, _ = standard_run
    ids = SHIPPED_CASES.read_text(encoding="utf-8").splitlines()[1:]
    ids = {line.split(",", 1)[0] for line in ids}
    assert len(ids) == 20_000
    texts = []
    for path in out.rglob("*"):
        if path.suffix in (".html", ".md", ".json", ".csv", ".log", ".yaml"):
            texts.append(path.read_text(encoding="utf-8"))
    if shutil.which("pdftotext"):
        texts.append(
            subprocess.run(
                ["pdftotext", str(out / "report.pdf"), "-"], capture_output=True, text=True
            ).stdout
        )
    import re

    found = set()
    for text in texts:
        found |= set(re.findall(r"C\d{6}", text)) & ids
    assert not found


def test_report_command_rerenders_without_estimating(standard_run, tmp_path, monkeypatch):
    out, _ = standard_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    for name in ("report.html", "report.md", "report.pdf"):
        (copy / name).unlink()
    import techeval.protocols.run as runner

    def no_estimation(*args, **kwargs):
        raise AssertionError("a report must not re-estimate")

    monkeypatch.setattr(runner, "run_protocol", no_estimation)
    assert main(["report", str(copy)]) == 0
    for name in ("report.html", "report.md"):
        assert (copy / name).read_bytes() == (out / name).read_bytes(), name
    assert (copy / "report.pdf").read_bytes() == (out / "report.pdf").read_bytes()


def test_report_command_without_a_result_file_exits_2(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "no result.json" in capsys.readouterr().err


def test_rendering_is_deterministic(standard_run):
    out, _ = standard_run
    document, frames, protocol_text, text = load_run(out)
    first = render_reports(
        document, frames, ["html", "md"], protocol_text=protocol_text, result_text=text
    )
    second = render_reports(
        document, frames, ["html", "md"], protocol_text=protocol_text, result_text=text
    )
    assert first == second
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert digest in first["report.html"].decode("utf-8")


# ---- hostile values ------------------------------------------------------------------------------

INJECTION = '<script>alert("x")</script><img src=x onerror=alert(1)>'

BY_JURISDICTION = """
name: by-jurisdiction
version: "0.1"
techniques: [electronic_surveillance]
covariates: [offence, n_suspects, high_level_targets]
outcomes: [conviction]
estimators:
  - name: outcome.naive
  - name: outcome.ipw
subgroups:
  by: [jurisdiction]
  outcomes: [conviction]
  estimator: outcome.naive
  min_cases: 10
"""


def test_markup_in_a_jurisdiction_name_renders_as_text(tmp_path):
    frame = generate_cases(1500, seed=5).cases.copy()
    frame.loc[frame["jurisdiction"] == "J01", "jurisdiction"] = INJECTION
    cases = tmp_path / "cases.csv"
    frame.to_csv(cases, index=False)
    protocol = tmp_path / "p.yaml"
    protocol.write_text(BY_JURISDICTION, encoding="utf-8")
    out = tmp_path / "out"
    write_outputs(
        run_protocol(protocol, cases), out, formats=("json", "html", "md"), render=render_folder
    )
    html = (out / "report.html").read_text(encoding="utf-8")
    page = _page(out / "report.html")
    assert "script" not in page.tags
    assert [i for i in page.images if i["src"] == "x"] == []
    assert "<script>" not in html and "onerror=alert(1)>" not in html
    # the name is there, as text
    assert any('<script>alert("x")</script>' in t for t in page.text)
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown


# ---- formatting ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (167894.87, "$168,000"),
        (2020973.4, "$2.0 million"),
        (-57960.07, "−$58,000"),
        (641234.0, "$641,000"),
        (850.4, "$850"),
        (45123.0, "$45,000"),
    ],
)
def test_money_is_rounded_for_reading(value, text):
    assert fmt_money(value) == text
    assert abs(parse_display(text) - value) <= display_tolerance(text)


@pytest.mark.parametrize(
    ("value", "text"), [(0.0831, "8.3"), (0.1264, "13"), (-0.004, "−0.4"), (0.00001, "0.0")]
)
def test_percentage_points(value, text):
    assert fmt_pp(value) == text


# ---- a real browser --------------------------------------------------------------------------------

_BROWSER_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no Chromium found (Debian: apt-get install chromium; .ci/run installs it)")


@pytest.mark.parametrize("viewport", [(390, 844), (1280, 900)], ids=["phone", "desktop"])
def test_report_renders_in_a_real_browser(standard_run, tmp_path, viewport):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    executable = _chromium()
    out, _ = standard_run
    page_url = (out / "report.html").resolve().as_uri()
    console, requests, failures = [], [], []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=_BROWSER_FLAGS)
        try:
            page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            page.on("console", lambda m: console.append((m.type, m.text)))
            page.on("pageerror", lambda e: console.append(("pageerror", str(e))))
            page.on("request", lambda r: requests.append(r.url))
            page.on("requestfailed", lambda r: failures.append(r.url))
            page.goto(page_url, wait_until="load")
            images = page.evaluate(
                "Array.from(document.images).map(i => [i.complete, i.naturalWidth,"
                " i.naturalHeight, i.getBoundingClientRect().width])"
            )
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            shot = tmp_path / "shot.png"
            page.screenshot(path=str(shot))
        finally:
            browser.close()
    errors = [m for m in console if m[0] in ("error", "pageerror")]
    assert errors == []
    assert [u for u in requests if u != page_url and not u.startswith("data:")] == []
    assert failures == []
    assert len(images) >= 8
    assert all(
        done and width > 0 and height > 0 and shown > 0 for done, width, height, shown in images
    )
    # readable on a phone: nothing wider than the screen
    assert overflow <= 0
    from PIL import Image, ImageStat

    with Image.open(shot) as image:
        spread = ImageStat.Stat(image.convert("L")).stddev[0]
    assert spread > 10, "the screenshot is blank"


def test_witness_protection_report_shows_plan_against_actual(tmp_path):
    """The programme model (para 43) gets its own section and figure when the protocol runs it."""
    text = (ROOT / "protocols" / "witness-protection-v1.yaml").read_text(encoding="utf-8")
    text = text.replace("n_bootstrap: 200", "n_bootstrap: 20")
    protocol = tmp_path / "wp.yaml"
    protocol.write_text(text, encoding="utf-8")
    cases = tmp_path / "cases.csv"
    generate_cases(3000, seed=8).cases.to_csv(cases, index=False)
    out = tmp_path / "out"
    write_outputs(
        run_protocol(protocol, cases), out, formats=("json", "html", "md"), render=render_folder
    )
    page = _page(out / "report.html")
    assert "Witness-protection programme: plan and actual" in page.headings
    assert "Witness protection" in page.headings
    assert (out / "figures" / "programme.png").stat().st_size > 1000
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "times the plan of 25–50 a year" in markdown
