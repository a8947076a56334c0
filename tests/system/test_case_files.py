"""Hostile and broken case files at the command line (issue #11).

Each case: exit code 2, one message naming the file (and row and column where there is
one), no traceback, nothing written half-way. Most tests call the CLI in-process
through ``techeval.cli.main`` (what the console script runs); those that measure time or
memory run it in a subprocess.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import pickle
import struct
import sys
import time
import zipfile
import zlib

import openpyxl
import pandas as pd
import pytest

from techeval.cases import load_cases
from techeval.cases import readers as readers_module
from techeval.cases.readers import MAX_FILE_BYTES, read_table
from techeval.cases.schema import COLUMNS, CROSS_COLUMN_RULES
from techeval.errors import CaseFileError

from .._helpers import RULE_BREAKS, Completed, assert_refused, cli, in_process
from ..cases.conftest import HEADER, VALID_ROWS, to_csv


@pytest.fixture
def run(capsys):
    return lambda *args: in_process(capsys, *args)


def _write(tmp_path, name, data: bytes | str):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def _summary(run, path, *extra):
    result = run("validate", path, "--json", *extra)
    assert "Traceback" not in result.out + result.err
    return result, json.loads(result.out)


# ---- whole files that cannot be used ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("empty.csv", b"", "the file is empty (0 bytes)"),
        ("header.csv", to_csv([]).encode(), "the file has a header but no data rows"),
        ("garbage.csv", bytes(range(256)) * 64, "binary data"),
        ("colons.csv", to_csv(VALID_ROWS, sep=":").encode(), "check the delimiter"),
        ("blank-header.csv", b"\n\n1,2\n", "the header) is blank"),
        (
            "twice.csv",
            to_csv(VALID_ROWS, header=[*HEADER[:-1], "year"]).encode(),
            "'year' more than once",
        ),
        ("ragged.csv", to_csv(VALID_ROWS).encode() + b"1," * 19 + b"1\n", "line 6 has 20 fields"),
        # one field too many on the first data line: pandas would take the first column
        # as row labels and shift every other column (found in session 3)
        (
            "shifted.csv",
            to_csv([[*VALID_ROWS[0], "extra"], *VALID_ROWS[1:]]).encode(),
            f"line 2 has {len(HEADER) + 1} fields where the header has {len(HEADER)}",
        ),
        ("cases.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 512, "old-style .xls"),
        ("cases.dat", b"anything", "cannot tell the format"),
        ("cases.parquet", b"PAR1 not really", "cannot be read as Parquet"),
        ("cases.xlsx", b"PK\x03\x04 not really a zip", "not a valid .xlsx workbook"),
    ],
)
def test_unusable_file_is_refused_by_name(run, tmp_path, name, content, fragment):
    path = _write(tmp_path, name, content)
    aside = tmp_path / "aside.csv"
    err = assert_refused(run("validate", path, "--set-aside", aside), fragment, str(path))
    assert err.count("\n") <= 1  # one paragraph
    assert not aside.exists()  # nothing written half-way


def test_missing_file_and_folder(run, tmp_path):
    assert_refused(run("validate", tmp_path / "nope.csv"), "file not found")
    assert_refused(run("validate", tmp_path), "is a folder")


def test_duplicate_case_ids_name_the_rows(run, tmp_path):
    rows = [row.copy() for row in VALID_ROWS]
    rows[3][0] = "007"
    path = _write(tmp_path, "dupes.csv", to_csv(rows))
    assert_refused(run("validate", path), "case_id must be unique", "'007' on rows 1, 4")


def test_a_file_over_the_size_cap_is_refused_before_reading(tmp_path):
    """A sparse 2 GiB file: refused by its size, quickly, without reading it."""
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:
        handle.truncate(2 * 1024**3 + 1)
    assert path.stat().st_size > MAX_FILE_BYTES
    started = time.perf_counter()
    result, peak_mb = _measured_cli("validate", path)
    elapsed = time.perf_counter() - started
    assert_refused(result, "over the 1.0 GB limit", str(path), "database")
    assert elapsed < 60
    assert peak_mb < _baseline_mb(tmp_path) + 64, peak_mb


def test_large_binary_file_under_the_cap_is_refused_without_reading_it(tmp_path):
    """900 MiB of NUL bytes: the first 64 KiB give it away; the file is never read."""
    path = tmp_path / "zeros.csv"
    with path.open("wb") as handle:
        handle.truncate(900 * 1024**2)
    result, peak_mb = _measured_cli("validate", path)
    assert_refused(result, "binary data")
    assert peak_mb < _baseline_mb(tmp_path) + 64, peak_mb


def _baseline_mb(tmp_path):
    """Peak memory of the same refusal for a 1 KiB file: Python and its imports."""
    small = _write(tmp_path, "small.csv", b"\x00" * 1024)
    result, peak_mb = _measured_cli("validate", small)
    assert_refused(result, "binary data")
    return peak_mb


def _measured_cli(*args):
    """Run the CLI in a subprocess that reports its own peak memory on its last line."""
    import subprocess

    script = (
        "import resource, sys\n"
        "from techeval.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "print('peak_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = done.stderr.rstrip("\n").split("\n")
    peak_kb = int(lines[-1].split()[1])
    return Completed(done.returncode, done.stdout, "\n".join(lines[:-1]) + "\n"), peak_kb / 1024


# ---- encodings and delimiters that are read --------------------------------------------------


def test_mixed_utf8_latin1_and_bom_are_read_without_loss(run, tmp_path):
    rows = [row.copy() for row in VALID_ROWS]
    rows[0][1], rows[1][1] = "São Paulo", "Zürich"
    lines = to_csv(rows).splitlines(keepends=True)
    data = b"\xef\xbb\xbf" + lines[0].encode() + lines[1].encode("utf-8")
    data += lines[2].encode("latin-1") + "".join(lines[3:]).encode("utf-8")
    path = _write(tmp_path, "mixed.csv", data)
    result, summary = _summary(run, path)
    assert result.code == 0 and summary["rows_used"] == 4
    assert any("byte-order mark" in n for n in summary["notes"])
    assert any("Latin-1" in n for n in summary["notes"])
    assert load_cases(path).cases["jurisdiction"].tolist()[:2] == ["São Paulo", "Zürich"]


def test_utf16_tab_separated_export_is_read(run, tmp_path):
    """Excel's "Unicode text" export: UTF-16 with a byte-order mark, tab-separated."""
    rows = [row.copy() for row in VALID_ROWS]
    rows[0][1] = "Łódź"
    path = _write(tmp_path, "unicode.txt", to_csv(rows, sep="\t").encode("utf-16"))
    result, summary = _summary(run, path)
    assert result.code == 0 and summary["rows_used"] == 4
    assert load_cases(path).cases["jurisdiction"].iloc[0] == "Łódź"


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_other_delimiters_are_sniffed(run, tmp_path, sep):
    rows = [[c.replace(";", "+") for c in row] for row in VALID_ROWS]
    result, summary = _summary(run, _write(tmp_path, "d.csv", to_csv(rows, sep=sep)))
    assert result.code == 0 and summary["rows_used"] == 4


def test_thousands_separators_are_numbers_and_ambiguous_commas_are_not(tmp_path):
    rows = [row.copy() for row in VALID_ROWS]
    rows[0][8] = '"1,234,567.50"'
    rows[1][8] = "20\u00a0000"
    rows[2][8] = '"55,00"'  # decimal comma or a typo: never guessed
    report = load_cases(_write(tmp_path, "t.csv", to_csv(rows)))
    assert report.cases.loc[1, "cost_total"] == pytest.approx(1234567.5)
    assert report.cases.loc[2, "cost_total"] == 20000
    (problem,) = report.problems
    assert (problem.row, problem.column, problem.rule, problem.value) == (
        3,
        "cost_total",
        "number",
        "55,00",
    )


# ---- identifiers that look like numbers or missing values ------------------------------------

TRICKY_IDS = ["007", "00060", "NA", "1E5"]


def _tricky_frame():
    frame = pd.DataFrame(VALID_ROWS, columns=HEADER, dtype="str")
    frame["case_id"] = TRICKY_IDS
    return frame


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_tricky_ids_round_trip_through_every_format(run, tmp_path, suffix):
    frame = _tricky_frame()
    path = tmp_path / f"ids{suffix}"
    {
        ".csv": lambda: frame.to_csv(path, index=False),
        ".parquet": lambda: frame.to_parquet(path, index=False),
        ".xlsx": lambda: frame.to_excel(path, index=False),
    }[suffix]()
    assert load_cases(path).cases["case_id"].tolist() == TRICKY_IDS
    # set every row aside and export it: the IDs come back unchanged from CSV and Excel
    broken = frame.assign(convicted="99")
    source = tmp_path / f"broken{suffix}"
    {
        ".csv": lambda: broken.to_csv(source, index=False),
        ".parquet": lambda: broken.to_parquet(source, index=False),
        ".xlsx": lambda: broken.to_excel(source, index=False),
    }[suffix]()
    for exported in ("aside.csv", "aside.xlsx"):
        target = tmp_path / exported
        result = run("validate", source, "--set-aside", target)
        assert result.code == 2 and "Traceback" not in result.err
        assert read_table(target).frame["case_id"].tolist() == TRICKY_IDS


# ---- Excel: dates, zip bombs, XML entities ----------------------------------------------------


@pytest.mark.parametrize("system", ["1900", "1904"])
def test_excel_dates_in_either_date_system(tmp_path, system):
    workbook = openpyxl.Workbook()
    if system == "1904":
        workbook.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    sheet = workbook.active
    sheet.append([*HEADER, "opened"])
    for row in VALID_ROWS:
        sheet.append([*row, dt.datetime(2015, 3, 1)])
    sheet["C2"] = dt.datetime(2014, 12, 31)  # year given as the date the case opened
    path = tmp_path / f"dates{system}.xlsx"
    workbook.save(path)
    # the stored serial differs by the 1,462 days between the two systems
    xml = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    assert {"1900": "<v>42064</v>", "1904": "<v>40602</v>"}[system] in xml
    report = load_cases(path)
    assert report.ok
    assert report.cases["year"].tolist() == [2014, 2016, 2017, 2018]
    assert report.cases["opened"].tolist() == ["2015-03-01"] * 4


def test_dates_and_serials_in_a_text_file(tmp_path):
    rows = [row.copy() for row in VALID_ROWS]
    rows[0][2] = "2015-03-01"
    rows[1][2] = "42064"  # an Excel serial pasted as a number: not guessed
    report = load_cases(_write(tmp_path, "d.csv", to_csv(rows)))
    assert report.cases.loc[1, "year"] == 2015
    (problem,) = report.problems
    assert (problem.row, problem.column, problem.rule) == (2, "year", "1950..2100")


def test_excel_zip_bomb_is_refused_before_parsing(run, tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"<a>" + b" " * (50 * 1024**2) + b"</a>")
    started = time.perf_counter()
    assert_refused(run("validate", path), "looks like a zip bomb", str(path))
    assert time.perf_counter() - started < 5


def test_excel_over_the_uncompressed_cap_is_refused(run, tmp_path, monkeypatch):
    frame = pd.DataFrame(VALID_ROWS * 50, columns=HEADER, dtype="str")
    frame["case_id"] = [f"C{i}" for i in range(len(frame))]
    path = tmp_path / "big.xlsx"
    frame.to_excel(path, index=False)
    total = sum(m.file_size for m in zipfile.ZipFile(path).infolist())
    monkeypatch.setattr(readers_module, "MAX_XLSX_UNCOMPRESSED_BYTES", total - 1)
    assert_refused(run("validate", path), "would expand to", "over the")
    monkeypatch.setattr(readers_module, "MAX_XLSX_UNCOMPRESSED_BYTES", total)
    assert run("validate", path).code == 0


def test_excel_asking_for_an_unknown_zip_version_is_refused(run, tmp_path):
    # found by the long Excel fuzz run: zipfile raises NotImplementedError for a
    # "version needed to extract" above 6.3 while listing the archive
    source = tmp_path / "plain.xlsx"
    pd.DataFrame(VALID_ROWS, columns=HEADER, dtype="str").to_excel(source, index=False)
    raw = bytearray(source.read_bytes())
    central = raw.index(b"PK\x01\x02")  # the first central directory record
    raw[central + 6] = 64  # needs version 6.4 to extract
    path = tmp_path / "future.xlsx"
    path.write_bytes(bytes(raw))
    with pytest.raises(NotImplementedError):
        zipfile.ZipFile(path)
    assert_refused(run("validate", path), "not a valid .xlsx workbook", "zip file version")


def _workbook_with(tmp_path, name, member, transform):
    source = tmp_path / "plain.xlsx"
    pd.DataFrame(VALID_ROWS, columns=HEADER, dtype="str").to_excel(source, index=False)
    path = tmp_path / name
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info.filename)
            out.writestr(info.filename, transform(data) if info.filename == member else data)
    return path


LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "' + (f"&lol{i - 1};" if i > 1 else "&lol;") * 10 + '">'
        for i in range(1, 10)
    )
    + "]>"
)


def _inject(dtd: str, entity: str, *, into: str):
    def transform(data: bytes) -> bytes:
        text = data.decode("utf-8")
        declaration, sep, body = text.partition("?>")
        if not sep:
            declaration, body = "", text
        else:
            declaration += sep
        if into:
            body = body.replace(into, into.replace(">", ">" + entity, 1), 1)
        return (declaration + dtd + body).encode("utf-8")

    return transform


@pytest.mark.parametrize(
    ("member", "dtd", "entity", "into"),
    [
        ("xl/worksheets/sheet1.xml", LAUGHS, "&lol9;", "<t>"),
        ("[Content_Types].xml", LAUGHS, "", ""),
        ("xl/workbook.xml", LAUGHS, "", ""),
        (
            "xl/worksheets/sheet1.xml",
            '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
            "&xxe;",
            "<t>",
        ),
    ],
)
def test_excel_xml_entities_are_refused(run, tmp_path, member, dtd, entity, into):
    source = tmp_path / "plain.xlsx"
    pd.DataFrame(VALID_ROWS, columns=HEADER, dtype="str").to_excel(source, index=False)
    assert member in zipfile.ZipFile(source).namelist()
    path = _workbook_with(tmp_path, "entities.xlsx", member, _inject(dtd, entity, into=into))
    started = time.perf_counter()
    result = run("validate", path, "--json")
    assert time.perf_counter() - started < 5
    assert_refused(result, "declares entities", str(path))
    assert "root:" not in result.out + result.err


# ---- code-bearing formats are never loaded ----------------------------------------------------


class _Payload:
    """Unpickling this touches a marker file: proof that a pickle was loaded."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize(
    "name", ["cases.pkl", "cases.pickle", "cases.joblib", "cases.npy", "cases.csv", "cases.xlsx"]
)
def test_pickles_are_never_loaded(run, tmp_path, name):
    marker = tmp_path / "UNPICKLED"
    path = _write(tmp_path, name, pickle.dumps(_Payload(marker), protocol=4))
    for command in (["validate", path], ["effect", path, "--treatment", "a", "--outcome", "b"]):
        assert_refused(run(*command))
    assert not marker.exists()


# ---- every rule, broken one at a time ----------------------------------------------------------


def _base_frame():
    frame = pd.DataFrame(VALID_ROWS, columns=HEADER, dtype="str")
    for spec in COLUMNS:
        if spec.name not in frame.columns:
            frame[spec.name] = ""
    return frame


def _breaking_value(spec):
    if spec.kind == "text":
        return ""
    if spec.kind == "category":
        return "piracy"
    if spec.kind == "boolean":
        return "perhaps"
    if spec.kind == "techniques":
        return "telepathy"
    if spec.minimum is not None:
        return str(int(spec.minimum) - 1)
    return "abc"  # pragma: no cover - every numeric column has a minimum


@pytest.mark.parametrize("spec", COLUMNS, ids=[c.name for c in COLUMNS])
def test_every_column_rule_broken_alone_sets_one_row_aside(run, tmp_path, spec):
    frame = _base_frame()
    frame.loc[1, spec.name] = _breaking_value(spec)
    path = tmp_path / "one.csv"
    frame.to_csv(path, index=False)
    if spec.name == "case_id":  # an empty ID cannot be told apart from the others
        result, summary = _summary(run, path)
        assert result.code == 2 and summary["rows_set_aside"] == 1
        return
    result, summary = _summary(run, path)
    assert result.code == 2
    assert (summary["rows_in"], summary["rows_used"], summary["rows_set_aside"]) == (4, 3, 1)
    assert {(p["row"], p["column"]) for p in summary["problems"]} >= {(2, spec.name)}
    assert {p["row"] for p in summary["problems"]} == {2}


@pytest.mark.parametrize(("rule", "column", "_"), CROSS_COLUMN_RULES, ids=lambda v: str(v)[:40])
def test_every_consistency_rule_broken_alone_sets_one_row_aside(run, tmp_path, rule, column, _):
    frame = _base_frame()
    breaking = RULE_BREAKS.get(rule, {"techniques": "", "cost_undercover": "", column: "1"})
    for name, value in breaking.items():
        frame.loc[0, name] = value
    path = tmp_path / "rule.csv"
    frame.to_csv(path, index=False)
    result, summary = _summary(run, path)
    assert result.code == 2 and summary["rows_set_aside"] == 1
    assert {(p["row"], p["column"], p["rule"]) for p in summary["problems"]} == {(1, column, rule)}
    rich = run("validate", path)
    assert column in rich.out and "Traceback" not in rich.err


def test_effect_refuses_hostile_files_cleanly(run, tmp_path):
    path = _write(tmp_path, "garbage.csv", bytes(range(256)) * 8)
    assert_refused(run("effect", path, "--treatment", "t", "--outcome", "y"), "binary data")


def test_subprocess_cli_gives_the_same_refusal(tmp_path):
    """The console entry point itself (not only main()): exit 2, one line, no traceback."""
    path = _write(tmp_path, "empty.csv", b"")
    result = cli("validate", path)
    err = assert_refused(result, "the file is empty (0 bytes)", str(path))
    assert err.strip().count("\n") == 0


def test_in_memory_reading_is_streamed(tmp_path, monkeypatch):
    """The CSV reader parses from the file: it never reads the whole file into memory."""
    calls = []
    original = readers_module.Path.read_bytes

    def spy(self):
        calls.append(self)
        return original(self)

    monkeypatch.setattr(readers_module.Path, "read_bytes", spy)
    path = _write(tmp_path, "ok.csv", to_csv(VALID_ROWS))
    assert load_cases(path).ok
    assert calls == []


def test_carriage_return_line_ends(run, tmp_path):
    """Old Mac exports end lines with a lone CR; a CR before the header is a blank header."""
    text = to_csv(VALID_ROWS).replace("\n", "\r")
    result, summary = _summary(run, _write(tmp_path, "mac.csv", text))
    assert result.code == 0 and summary["rows_used"] == 4
    assert_refused(run("validate", _write(tmp_path, "cr.csv", "\r" + text)), "header) is blank")


def test_parquet_that_would_expand_over_the_cap_is_refused_from_its_metadata(tmp_path):
    """Compressed 50-fold: the file is small, its columns are not."""
    frame = pd.DataFrame(VALID_ROWS * 500, columns=HEADER, dtype="str")
    frame["case_id"] = [f"{i:08d}" + "x" * 1000 for i in range(len(frame))]
    path = tmp_path / "dense.parquet"
    frame.to_parquet(path, compression="gzip", index=False)
    size = path.stat().st_size
    assert size < 200_000
    with pytest.raises(CaseFileError, match="uncompressed, over the"):
        read_table(path, max_bytes=1_000_000)
    assert len(read_table(path, max_bytes=10_000_000).frame) == len(frame)


# ---- Excel: a zip whose records understate a member's size -----------------------------------

_SHEET = "xl/worksheets/sheet1.xml"
_INFLATED_MIB = 256


@pytest.fixture(scope="module")
def honest_big_workbook(tmp_path_factory):
    """A workbook whose sheet inflates to 256 MiB (spaces before the rows), 250 KiB on disk.

    Its zip records are honest: the ratio check refuses it as it is. Built once per
    module; each test forges its own copy of the bytes. Returns the bytes, the sheet's
    real inflated size (counted in a stream) and its first 4 KiB.
    """
    folder = tmp_path_factory.mktemp("forged")
    source = folder / "plain.xlsx"
    pd.DataFrame(VALID_ROWS, columns=HEADER, dtype="str").to_excel(source, index=False)
    path = folder / "big.xlsx"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename != _SHEET:
                out.writestr(info.filename, data)
                continue
            head, tag, rows = data.partition(b"<sheetData>")
            with out.open(_SHEET, "w") as sheet:
                sheet.write(head + tag)
                for _ in range(_INFLATED_MIB):
                    sheet.write(b" " * 1024**2)
                sheet.write(rows)
    raw = path.read_bytes()
    return raw, *_inflated_bytes(raw)


@pytest.fixture(scope="module")
def baseline_mb(tmp_path_factory):
    return _baseline_mb(tmp_path_factory.mktemp("baseline"))


def _forge(raw: bytes, *, size: int, crc: int | None, records: tuple[str, ...]) -> bytes:
    """Write ``size`` (and ``crc``) over the sheet's sizes in the ``records`` named.

    ``"central"``: its central-directory entry (what Python's zipfile and openpyxl
    believe); ``"local"``: its local file header (what streaming unzippers believe).
    Offsets from the ZIP specification (APPNOTE.TXT 4.3.7, 4.3.12, 4.3.16).
    """
    forged = bytearray(raw)
    info = zipfile.ZipFile(io.BytesIO(raw)).getinfo(_SHEET)
    if "local" in records:
        assert forged[info.header_offset : info.header_offset + 4] == b"PK\x03\x04"
        struct.pack_into("<I", forged, info.header_offset + 22, size)
        if crc is not None:
            struct.pack_into("<I", forged, info.header_offset + 14, crc)
    if "central" in records:
        end = raw.rindex(b"PK\x05\x06")
        (entry,) = struct.unpack_from("<I", raw, end + 16)
        while True:
            assert forged[entry : entry + 4] == b"PK\x01\x02"
            name_length, extra_length, comment_length = struct.unpack_from("<HHH", raw, entry + 28)
            if raw[entry + 46 : entry + 46 + name_length] == _SHEET.encode():
                break
            entry += 46 + name_length + extra_length + comment_length
        struct.pack_into("<I", forged, entry + 24, size)
        if crc is not None:
            struct.pack_into("<I", forged, entry + 16, crc)
    return bytes(forged)


def _inflated_bytes(raw: bytes) -> tuple[int, bytes]:
    """How far the sheet really inflates (counted in a stream), and its first 4 KiB."""
    info = zipfile.ZipFile(io.BytesIO(raw)).getinfo(_SHEET)
    name_length, extra_length = struct.unpack_from("<HH", raw, info.header_offset + 26)
    start = info.header_offset + 30 + name_length + extra_length
    stream = io.BytesIO(raw[start : start + info.compress_size])
    inflate = zlib.decompressobj(-zlib.MAX_WBITS)
    total, head = 0, b""
    while chunk := stream.read(1 << 16):
        while chunk:
            out = inflate.decompress(chunk, 1 << 20)
            total += len(out)
            if len(head) < 4096:
                head = (head + out)[:4096]
            chunk = inflate.unconsumed_tail
    return total, head


@pytest.mark.parametrize(
    ("records", "with_crc", "fragments"),
    [
        # Python's zipfile trusts the central directory: it stops at 4 KiB and the
        # checksum of those 4 KiB is not the recorded one
        (("central",), False, ("damaged or forged", "Bad CRC-32", _SHEET)),
        (("central", "local"), False, ("damaged or forged", "Bad CRC-32", _SHEET)),
        # the checksum forged too, for the first 4 KiB: the sheet ends mid-XML
        (("central", "local"), True, ("cannot be read", "no element found")),
        # only the local header lies: the central directory gives the ratio away
        (("local",), False, ("looks like a zip bomb", _SHEET)),
    ],
)
def test_excel_whose_zip_understates_a_member_size_is_refused_in_small_memory(
    honest_big_workbook, baseline_mb, tmp_path, records, with_crc, fragments
):
    raw, total, head = honest_big_workbook
    assert total > _INFLATED_MIB * 1024**2  # the forged file really is a bomb
    declared = 4096
    crc = zlib.crc32(head[:declared]) if with_crc else None
    path = tmp_path / "forged.xlsx"
    path.write_bytes(_forge(raw, size=declared, crc=crc, records=records))
    sheet = zipfile.ZipFile(path).getinfo(_SHEET)
    assert sheet.file_size == (declared if "central" in records else total)
    started = time.perf_counter()
    result, peak_mb = _measured_cli("validate", path)
    elapsed = time.perf_counter() - started
    assert_refused(result, *fragments, str(path))
    assert elapsed < 15, elapsed
    # inflating the sheet would hold over 256 MiB of text; reading stops at 4 KiB
    assert peak_mb < baseline_mb + 64, (peak_mb, baseline_mb)
