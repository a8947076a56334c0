"""Shared helpers for the end-to-end hardening suite (tests/system/).

* :func:`cli` runs ``techeval`` in a subprocess (the real entry point, real exit code,
  real stderr) with an optional environment, and :func:`assert_refused` checks the
  contract for bad input: exit code 2, one message naming the problem, no traceback.
* :func:`disclosure_case_file` builds the crafted data set of issue #11: one
  technique x case-type cell with 9 cases and another with 10.
* :func:`scan_output_folder` reads every file of an output folder as text, so a check
  written today also covers report files added later (HTML, Markdown, PDF).
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from techeval.simulate import generate_cases

ROOT = Path(__file__).resolve().parents[1]

#: Run the CLI exactly as the console script does (techeval.cli:_entry).
_ENTRY = "import sys; from techeval.cli import _entry; sys.argv[0] = 'techeval'; _entry()"


@dataclass(frozen=True)
class Completed:
    """A finished CLI run."""

    code: int
    out: str
    err: str


def cli(
    *args: object, env: dict[str, str] | None = None, cwd: Path | None = None, timeout=300
) -> Completed:
    """Run ``techeval ARGS`` in a fresh Python process and return its outcome."""
    environment = {**os.environ, **(env or {})}
    environment.setdefault("COLUMNS", "200")  # one paragraph stays on one line
    done = subprocess.run(
        [sys.executable, "-c", _ENTRY, *map(str, args)],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
    return Completed(done.returncode, done.stdout, done.stderr)


def in_process(capsys, *args: object) -> Completed:
    """Run ``techeval ARGS`` through :func:`techeval.cli.main` in this process (fast).

    ``main`` is what the console script calls: same error handling, same exit codes.
    """
    from techeval.cli import main

    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return Completed(code, captured.out, captured.err)


def assert_refused(result: Completed | tuple, *fragments: str) -> str:
    """Exit code 2, each fragment in the message, no traceback; returns stderr."""
    code, out, err = (
        (result.code, result.out, result.err) if isinstance(result, Completed) else result
    )
    assert code == 2, (code, out, err)
    assert "Traceback" not in out + err and "internal error" not in err, err
    assert err.lstrip().startswith("error:"), err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    return err


# ---- the crafted disclosure data set ------------------------------------------------------

#: The case types whose undercover cells are crafted: 9 cases (withheld) and 10
#: (published). A third, of 4 cases, is withheld too, so the 9 is not alone and needs
#: no secondary suppression (which would otherwise take the next-smallest cell, the 10).
#: One way to break each consistency rule of the schema alone: the cells to set in an
#: otherwise valid row (rules not listed break by setting their column to "1").
RULE_BREAKS: dict[str, dict[str, str]] = {
    "high_level_targets<=n_suspects": {"high_level_targets": "6"},
    "charged<=n_suspects": {"charged": "6", "convicted": "2"},
    "convicted<=charged": {"convicted": "4"},
    "high_level_convicted<=convicted": {
        "high_level_convicted": "1",
        "convicted": "0",
        "high_level_targets": "2",
    },
    "high_level_convicted<=high_level_targets": {
        "high_level_convicted": "2",
        "high_level_targets": "1",
    },
    "intercepts_incriminating<=intercepts_total": {
        "intercepts_total": "5",
        "intercepts_incriminating": "6",
    },
}


NINE_CELL = "arms_trafficking"
TEN_CELL = "counterfeiting"
FOUR_CELL = "cybercrime"

DISCLOSURE_PROTOCOL = """
name: crafted-disclosure
version: "0.1"
techniques: [undercover]
covariates: [offence, n_suspects, year]
outcomes: [conviction]
estimators:
  - name: outcome.naive
  - name: outcome.regression
  - name: harm.undercover_risk
subgroups:
  by: [offence, district]
  outcomes: [conviction]
  estimator: outcome.naive
  min_cases: 5
disclosure:
  min_cell: {min_cell}
"""


@dataclass(frozen=True)
class DisclosureData:
    """The crafted case file and its facts."""

    cases: Path
    protocol: Path
    #: the same protocol with ``min_cell: 1`` (publishes everything: the true values)
    protocol_unprotected: Path
    secret_ids: tuple[str, ...]
    secret_text: tuple[str, ...]


def disclosure_case_file(folder: Path, *, n: int = 1500, seed: int = 21) -> DisclosureData:
    """A case file where undercover x offence has one cell of 9 cases and one of 10.

    Offence: 9 undercover cases in :data:`NINE_CELL`, 10 in :data:`TEN_CELL`, 4 in
    :data:`FOUR_CELL`, at least 10 in every other offence, and plenty of cases without
    the technique everywhere. ``district``: the same 9 cases form the only small
    undercover cell (``north``), so secondary suppression must withhold one more.
    Case IDs (``SECRET-…``) and a free-text column (``notes``) must never reach an
    output, nor must the unknown technique label of the one row that is set aside
    (``telepathy-XYZ``).
    """
    frame = generate_cases(n, seed=seed).cases.copy()
    frame["case_id"] = [f"SECRET-{i:05d}" for i in range(len(frame))]
    frame["notes"] = [f"PRIVATE-NOTE {i} informant said" for i in range(len(frame))]
    undercover = frame["techniques"].fillna("").str.contains("undercover").to_numpy()
    offences = frame["offence"].to_numpy(dtype=object).copy()
    crafted = (NINE_CELL, TEN_CELL, FOUR_CELL)
    # move every undercover case out of the crafted offences, then put exactly 9, 10
    # and 4 back
    common = ["drug_trafficking", "fraud", "money_laundering"]
    rows = np.flatnonzero(undercover)
    for position, row in enumerate(rows):
        if offences[row] in crafted:
            offences[row] = common[position % len(common)]
    offences[rows[:9]] = NINE_CELL
    offences[rows[9:19]] = TEN_CELL
    offences[rows[19:23]] = FOUR_CELL
    others = np.flatnonzero(~undercover)
    for number, offence in enumerate(crafted):
        offences[others[80 * number : 80 * (number + 1)]] = offence
    frame["offence"] = offences
    district = np.array(["south"] * len(frame), dtype=object)
    district[rows[:9]] = "north"
    district[rows[9:60]] = "east"
    district[others[:300]] = "north"
    district[others[300:600]] = "east"
    frame["district"] = district
    counts = pd.crosstab(frame["offence"], undercover)
    assert counts.loc[NINE_CELL, True] == 9 and counts.loc[TEN_CELL, True] == 10
    assert counts.loc[FOUR_CELL, True] == 4
    assert counts[True].drop(list(crafted)).min() >= 10
    frame.loc[frame.index[-1], "techniques"] = "telepathy-XYZ"  # one row set aside
    cases = folder / "crafted.csv"
    frame.to_csv(cases, index=False)
    protocol = folder / "crafted.yaml"
    protocol.write_text(DISCLOSURE_PROTOCOL.format(min_cell=10), encoding="utf-8")
    unprotected = folder / "crafted-unprotected.yaml"
    unprotected.write_text(DISCLOSURE_PROTOCOL.format(min_cell=1), encoding="utf-8")
    return DisclosureData(
        cases=cases,
        protocol=protocol,
        protocol_unprotected=unprotected,
        secret_ids=tuple(frame["case_id"]),
        secret_text=("SECRET-", "PRIVATE-NOTE", "informant", "telepathy"),
    )


# ---- scanning output folders ---------------------------------------------------------------

_TEXT_SUFFIXES = {".json", ".csv", ".log", ".md", ".html", ".htm", ".txt", ".svg", ".yaml"}


def output_text(path: Path) -> str:
    """The text of one output file, for scanning.

    Text formats are read as UTF-8. PDF text is extracted with ``pdftotext`` (poppler;
    .ci/run installs it). Any other kind of file fails the calling test: a new output
    format must be taught to the scanner before it can ship.
    """
    suffix = path.suffix.lower()
    if suffix == ".html":
        # the figures travel inside the page as base64 SVG data URIs, their numbers as text
        page = path.read_text(encoding="utf-8")
        figures = [
            base64.b64decode(data).decode("utf-8")
            for data in re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", page)
        ]
        return "\n".join([page, *figures])
    if suffix in _TEXT_SUFFIXES:
        return path.read_text(encoding="utf-8")
    if suffix == ".png" and path.parent.name == "figures":
        # the Markdown report's PNG figures are drawn from the same numbers as the SVG
        # figures in report.html, which are scanned as text above; a folder with PNGs
        # and no report.html is refused
        if not (path.parent.parent / "report.html").is_file():
            raise AssertionError(f"{path}: PNG figures are scanned through report.html")
        return ""
    if suffix == ".pdf":
        done = subprocess.run(
            ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
        )
        return done.stdout
    raise AssertionError(f"{path.name}: the disclosure scanner cannot read {suffix} files yet")


def scan_output_folder(
    folder: Path, forbidden: list[str] | tuple[str, ...]
) -> list[tuple[str, str]]:
    """Every (file, forbidden text) found in any file under ``folder``.

    A number is found only as a whole number (``11.50`` is not found in ``211.500``).
    """
    patterns = {
        token: re.compile(
            (r"(?<![\d.])" + re.escape(token) + r"(?![\d])")
            if _NUMBER.match(token)
            else re.escape(token)
        )
        for token in forbidden
    }
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        text = output_text(path)
        found.extend(
            (str(path.relative_to(folder)), token)
            for token, pattern in patterns.items()
            if pattern.search(text)
        )
    return found


_NUMBER = re.compile(r"^-?[\d.]+(?:e[+-]?\d+)?$")


def number_tokens(value: float, *, min_digits: int = 4) -> set[str]:
    """How a number may be written in an output: fixed and general forms, ≥ min_digits."""
    if value is None or not math.isfinite(value) or value == 0:
        return set()
    tokens = {repr(value), json.dumps(value)}
    for digits in range(min_digits, 13):
        tokens.add(f"{value:.{digits}g}")
    magnitude = math.floor(math.log10(abs(value)))
    for decimals in range(max(0, min_digits - 1 - magnitude), 13):
        tokens.add(f"{value:.{decimals}f}")
    # a token whose significant digits are fewer than min_digits is too common to test
    return {t for t in tokens if sum(c.isdigit() for c in t.lstrip("-0.")) >= min_digits}


def write_sitecustomize(folder: Path, record: Path) -> Path:
    """A ``sitecustomize.py`` that refuses and records every network connection.

    Put ``folder`` on ``PYTHONPATH`` of a subprocess: every Python process it starts
    (joblib workers included) then raises on ``connect``/``connect_ex``/``sendto`` to an
    internet address and on name look-ups, and appends what was tried to ``record``.
    Local (AF_UNIX) sockets, which process pools use between processes, still work.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(
        f"""
import socket

_RECORD = {str(record)!r}


def _refuse(what):
    with open(_RECORD, "a", encoding="utf-8") as handle:
        handle.write(what + "\\n")
    raise OSError("network blocked by the techeval test suite: " + what)


_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex
_sendto = socket.socket.sendto


def _guard(method, name):
    def guarded(self, *args):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            _refuse(name + " " + repr(args[-1]))
        return method(self, *args)

    return guarded


socket.socket.connect = _guard(_connect, "connect")
socket.socket.connect_ex = _guard(_connect_ex, "connect_ex")
socket.socket.sendto = _guard(_sendto, "sendto")
socket.getaddrinfo = lambda *a, **k: _refuse("getaddrinfo " + repr(a[:2]))
socket.gethostbyname = lambda *a, **k: _refuse("gethostbyname " + repr(a))
""",
        encoding="utf-8",
    )
    return folder
