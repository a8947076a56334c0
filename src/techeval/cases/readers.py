"""Read a case table from CSV, Parquet, Excel or a SQL database, losing nothing.

Readers return every cell as it was found: text stays text (``"007"`` keeps its
zeros), numbers from typed sources stay numbers. Turning cells into typed canonical
columns, and setting aside rows that break a rule, is :mod:`techeval.cases.validate`'s
job. Readers only refuse whole files they cannot read, with a message naming the file
and what to do.

Code-bearing formats (pickle, joblib, feather with Python objects) are never read.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from techeval.cases.cache import cached_read
from techeval.errors import CaseFileError

#: Largest file read at all; larger files are refused before reading (bytes). A case
#: table in memory takes about 6 times its CSV size (measured: 138 MB for 1,000,000
#: cases, 0.8 GB read, 1.3 GB validated), so 1 GiB (about 7.5 million cases) stays well
#: inside a 16-24 GB machine; larger tables belong in a database (read by URL).
MAX_FILE_BYTES = 1024**3
#: Excel files are zip archives: refuse ones that would expand beyond this (bytes)...
MAX_XLSX_UNCOMPRESSED_BYTES = 1024**3
#: ...or whose members compress better than this, the signature of a zip bomb.
#: Real worksheets compress 5-30x; 200x leaves room for very repetitive sheets.
MAX_XLSX_COMPRESSION_RATIO = 200

CSV_DELIMITERS = (",", ";", "\t", "|")
SQL_URL = re.compile(r"^[a-z][a-z0-9+_.-]*://", re.IGNORECASE)
_CSV_SUFFIXES = {".csv", ".txt", ".tsv", ".tab"}
_EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}


def _latin1_fallback(error: UnicodeDecodeError) -> tuple[str, int]:
    # Files exported from older systems mix UTF-8 with Latin-1 bytes; read each byte
    # that is not valid UTF-8 as Latin-1 rather than failing or losing it.
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error("techeval-latin1", _latin1_fallback)


@dataclass
class RawTable:
    """A table as read, before validation.

    Attributes
    ----------
    frame
        Every column as found; text sources give text columns.
    source
        How to name the source in messages (a path, or a URL with its password hidden).
    notes
        Things worth telling the user about how the file was read (encoding, delimiter).
    """

    frame: pd.DataFrame
    source: str
    notes: list[str] = field(default_factory=list)


def read_table(
    source: str | Path, *, max_bytes: int | None = None, cache: bool | None = None
) -> RawTable:
    """Read a case table from a file path or a SQLAlchemy URL.

    Parameters
    ----------
    source
        A ``.csv``/``.tsv``/``.txt``, ``.parquet`` or ``.xlsx`` path, or a database URL
        such as ``sqlite:///cases.db?table=cases`` or
        ``postgresql+psycopg://user@host/db?query=SELECT * FROM cases``.
    max_bytes
        Files larger than this are refused before any reading (default
        :data:`MAX_FILE_BYTES`; for Parquet, the uncompressed size).
    cache
        For CSV/TSV files: ``False`` parses afresh without the per-user cache, ``None``
        follows :func:`techeval.cases.cache.caching` and ``TECHEVAL_CACHE_DIR`` (see
        :func:`read_csv`). Other sources are never cached.

    Returns
    -------
    RawTable
        The cells as found, the source's display name and reading notes.

    Raises
    ------
    CaseFileError
        The file is missing, empty, too large, of an unknown or unsafe format, or
        cannot be parsed.
    """
    max_bytes = MAX_FILE_BYTES if max_bytes is None else max_bytes
    text = str(source)
    if SQL_URL.match(text) and not Path(text).exists():
        return read_sql(text)
    path = Path(source)
    if not path.exists():
        raise CaseFileError("file not found", where=str(path), hint="Check the path")
    if path.is_dir():
        raise CaseFileError("is a folder, not a case file", where=str(path))
    size = path.stat().st_size
    if size == 0:
        raise CaseFileError(
            "the file is empty (0 bytes)", where=str(path), hint="Export the case table again"
        )
    if size > max_bytes:
        raise CaseFileError(
            f"the file is {size / 1024**3:.1f} GB, over the {max_bytes / 1024**3:.1f} GB "
            "limit for one case file",
            where=str(path),
            hint="Split it by year or jurisdiction, or store it in a database and read it "
            "with a sqlite:// or postgresql:// URL",
        )
    suffix = path.suffix.lower()
    if suffix in _PARQUET_SUFFIXES:
        return read_parquet(path, max_bytes=max_bytes)
    if suffix in _EXCEL_SUFFIXES:
        return read_excel(path)
    if suffix in _CSV_SUFFIXES:
        return read_csv(path, cache=cache)
    if suffix in {".xls"}:
        raise CaseFileError(
            "old-style .xls workbooks are not read", where=str(path), hint="Save it as .xlsx or CSV"
        )
    raise CaseFileError(
        f"cannot tell the format of a {suffix or 'suffix-less'} file",
        where=str(path),
        hint="Use .csv, .tsv, .parquet or .xlsx (pickle and other code-bearing formats "
        "are never read)",
    )


# ---- CSV ------------------------------------------------------------------------------

#: Bytes looked at for NUL bytes (binary data) and for the header line.
_SNIFF_BYTES = 1 << 16
#: Block size of the streaming passes over a text file.
_BLOCK_BYTES = 1 << 20


def read_csv(path: Path, *, cache: bool | None = None) -> RawTable:
    """Read a delimited text file with every cell kept as text.

    The encoding is UTF-8 (with or without a byte-order mark) or UTF-16 with its
    byte-order mark (Excel's "Unicode text"); bytes that are not valid UTF-8 are read as
    Latin-1, so Latin-1 and mixed files load without loss. The delimiter is the most
    frequent of ``, ; TAB |`` in the header line.

    The file is streamed: only the first 64 KiB are read to check for binary data and
    to find the header, one streaming pass checks the encoding, and pandas then parses
    from the file, so memory holds the table and never a second copy of the file.

    A file read before is not parsed again: the table and notes come from the per-user
    cache, keyed by the SHA-256 of the file's bytes (:mod:`techeval.cases.cache`;
    ``cache=False`` or ``TECHEVAL_CACHE_DIR=off`` turns it off).
    """
    frame, notes = cached_read(path, _parse_csv, enabled=cache)
    return RawTable(frame=frame, source=str(path), notes=notes)


def _parse_csv(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """The table and reading notes of :func:`read_csv`, parsed from the file.

    The notes never name the path: the cache gives them to any file with these bytes.
    """
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    notes: list[str] = []
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, errors = "utf-16", "strict"
        notes.append("read as UTF-16 (it starts with a UTF-16 byte-order mark)")
        try:
            header_text = head.decode("utf-16", errors="ignore")
        except UnicodeDecodeError:  # pragma: no cover - "ignore" does not raise
            header_text = ""
    else:
        if b"\x00" in head:
            raise CaseFileError(
                "the file holds binary data, not delimited text",
                where=str(path),
                hint="Export the case table as CSV (or give a .parquet/.xlsx file its own suffix)",
            )
        encoding, errors = "utf-8", "strict"
        if head.startswith(codecs.BOM_UTF8):
            notes.append("a UTF-8 byte-order mark was skipped")
        if not _is_utf8(path):
            errors = "techeval-latin1"
            notes.append("bytes that were not UTF-8 were read as Latin-1")
        header_text = head.decode("utf-8", errors="techeval-latin1")
    # any line end ends the header: \n, \r\n or a lone \r (old Mac exports)
    header_line = re.split(r"\r\n|\r|\n", header_text.lstrip("\ufeff"), maxsplit=1)[0]
    if not header_line.strip():
        raise CaseFileError("the first line (the header) is blank", where=str(path))
    try:
        delimiter = _sniff_delimiter(header_line)
        header = next(csv.reader([header_line], delimiter=delimiter))
    except csv.Error as exc:
        raise CaseFileError(
            f"the header line cannot be read ({exc})",
            where=str(path),
            hint="Check the quotes in the first line",
        ) from None
    stripped = [name.strip() for name in header]
    duplicates = sorted({name for name in stripped if stripped.count(name) > 1 and name})
    if duplicates:
        raise CaseFileError(
            f"the header names {', '.join(repr(d) for d in duplicates)} more than once",
            where=str(path),
            hint="Rename or remove the repeated columns",
        )
    try:
        with warnings.catch_warnings():
            # index_col=False: a first data line with one field more than the header
            # would otherwise make pandas take the first column as row labels and shift
            # every other column one place to the left; pandas warns instead, and the
            # warning is raised here as the error it is
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                path,
                sep=delimiter,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=True,
                engine="c",
                index_col=False,
                encoding=encoding,
                encoding_errors=errors,
            )
    except pd.errors.ParserWarning:
        line, fields = _first_data_line(header_text, delimiter)
        raise CaseFileError(
            f"the file cannot be parsed as delimited text (line {line} has {fields} fields "
            f"where the header has {len(stripped)})",
            where=str(path),
            hint="Check that every line has the same number of fields and that quotes are closed",
        ) from None
    except pd.errors.ParserError as exc:
        raise CaseFileError(
            f"the file cannot be parsed as delimited text ({_parser_detail(exc)})",
            where=str(path),
            hint="Check that every line has the same number of fields and that quotes are closed",
        ) from None
    except pd.errors.EmptyDataError:
        raise CaseFileError("the file has no header line", where=str(path)) from None
    except UnicodeError as exc:
        raise CaseFileError(
            f"the file is not valid {encoding.upper()} text ({exc.reason})", where=str(path)
        ) from None
    if len(frame.columns) != len(stripped):
        raise CaseFileError(
            "the header line could not be read consistently",
            where=str(path),
            hint="Check the quotes in the first line",
        )
    frame.columns = stripped
    if delimiter != ",":
        notes.append(f"fields are separated by {_DELIMITER_NAMES[delimiter]}")
    return frame.fillna(""), notes


def _is_utf8(path: Path) -> bool:
    """Whether the whole file is valid UTF-8, read block by block."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as handle:
        try:
            for block in iter(lambda: handle.read(_BLOCK_BYTES), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


_DELIMITER_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "vertical bars"}


def _sniff_delimiter(header_line: str) -> str:
    counts = {d: len(next(csv.reader([header_line], delimiter=d))) for d in CSV_DELIMITERS}
    best = max(CSV_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 1 else ","


def _first_data_line(text: str, delimiter: str) -> tuple[int, int]:
    """Line number (1-based) and field count of the first non-blank line after the header."""
    lines = re.split(r"\r\n|\r|\n", text.lstrip("\ufeff"))
    for number, line in enumerate(lines[1:], start=2):
        if line.strip():
            return number, len(next(csv.reader([line], delimiter=delimiter)))
    return 2, 0  # pragma: no cover - pandas warns only when a data line exists


def _parser_detail(exc: Exception) -> str:
    message = str(exc).strip().splitlines()[-1]
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if match:
        expected, line, saw = match.groups()
        return f"line {line} has {saw} fields where the header has {expected}"
    return message


# ---- Parquet --------------------------------------------------------------------------


def read_parquet(path: Path, *, max_bytes: int | None = None) -> RawTable:
    """Read a Parquet file (typed columns are kept as they are).

    Parquet is compressed, so the file's size says little about the memory it needs:
    files whose columns would take more than ``max_bytes`` (default
    :data:`MAX_FILE_BYTES`) uncompressed, by the file's own metadata, are refused
    before any column is read.
    """
    import pyarrow.parquet as pq

    limit = MAX_FILE_BYTES if max_bytes is None else max_bytes
    try:
        metadata = pq.ParquetFile(path).metadata
        uncompressed = sum(
            metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups)
        )
    except Exception as exc:  # pyarrow raises many types for corrupt files
        raise CaseFileError(
            f"the file cannot be read as Parquet ({type(exc).__name__}: {_first_line(exc)})",
            where=str(path),
        ) from None
    if uncompressed > limit:
        raise CaseFileError(
            f"the Parquet file would take {uncompressed / 1024**3:.1f} GB uncompressed, over "
            f"the {limit / 1024**3:.1f} GB limit for one case file",
            where=str(path),
            hint="Split it by year or jurisdiction, or read it from a database with a URL",
        )
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:
        raise CaseFileError(
            f"the file cannot be read as Parquet ({type(exc).__name__}: {_first_line(exc)})",
            where=str(path),
        ) from None
    return RawTable(frame=frame.reset_index(drop=True), source=str(path))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# ---- Excel ----------------------------------------------------------------------------


def read_excel(path: Path) -> RawTable:
    """Read the first worksheet of an .xlsx workbook.

    The archive is inspected before parsing: workbooks that would expand beyond
    :data:`MAX_XLSX_UNCOMPRESSED_BYTES` or compress suspiciously well (zip bombs) are
    refused. XML entity expansion is refused by defusedxml, which openpyxl uses when it
    is installed (it is a techeval dependency).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        raise CaseFileError(
            "the file is not a valid .xlsx workbook",
            where=str(path),
            hint="Save it again from Excel",
        ) from None
    except (NotImplementedError, UnicodeDecodeError, ValueError) as exc:
        # zipfile refuses an archive that asks for a newer zip version (a fuzzed or
        # hand-made file; Excel never writes one) or has an undecodable member name
        raise CaseFileError(
            f"the file is not a valid .xlsx workbook ({_first_line(exc)})",
            where=str(path),
            hint="Save it again from Excel",
        ) from None
    total = sum(m.file_size for m in members)
    if total > MAX_XLSX_UNCOMPRESSED_BYTES:
        raise CaseFileError(
            f"the workbook would expand to {total / 1024**2:,.0f} MB, over the "
            f"{MAX_XLSX_UNCOMPRESSED_BYTES / 1024**2:,.0f} MB limit",
            where=str(path),
            hint="Export the case table as CSV or Parquet",
        )
    for member in members:
        if (
            member.compress_size
            and member.file_size / member.compress_size > MAX_XLSX_COMPRESSION_RATIO
        ):
            raise CaseFileError(
                f"the workbook member {member.filename!r} is compressed "
                f"{member.file_size / member.compress_size:,.0f}-fold, which looks like a zip bomb",
                where=str(path),
                hint="Export the case table as CSV or Parquet",
            )
    try:
        # every cell as found: "NA", "null" or "None" are text, not missing values
        frame = pd.read_excel(
            path,
            sheet_name=0,
            dtype=object,
            engine="openpyxl",
            keep_default_na=False,
            na_filter=False,
        )
    except Exception as exc:
        raise CaseFileError(_excel_problem(exc), where=str(path)) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    duplicates = [
        c
        for c in frame.columns
        if re.fullmatch(r".+\.\d+", c) and c.rsplit(".", 1)[0] in frame.columns
    ]
    if duplicates:
        raise CaseFileError(
            "the header names "
            + ", ".join(repr(c.rsplit(".", 1)[0]) for c in duplicates)
            + " more than once",
            where=str(path),
            hint="Rename or remove the repeated columns",
        )
    frame = frame.map(_excel_cell_to_text).astype(str)
    frame = frame.loc[~(frame == "").all(axis=1)].reset_index(drop=True)
    return RawTable(frame=frame, source=str(path), notes=["read the first worksheet"])


def _excel_problem(exc: BaseException) -> str:
    """One sentence on why openpyxl could not read a workbook."""
    chain: list[BaseException] = []
    while exc is not None and exc not in chain:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    for link in chain:
        if type(link).__module__.startswith("defusedxml"):
            return (
                "the workbook's XML declares entities or a document type, which techeval "
                "refuses (XML entity expansion and external entities are attacks)"
            )
        if isinstance(link, zipfile.BadZipFile):
            # zipfile inflates a member only up to the size the archive declares, so a
            # forged size ends here (checksum mismatch), never in a memory blow-up
            return (
                f"the workbook's zip archive is damaged or forged ({_first_line(link)}): "
                "a member does not match the size or checksum the archive records for it"
            )
    detail = chain[-1]
    return f"the workbook cannot be read ({type(detail).__name__}: {_first_line(detail)})"


def _excel_cell_to_text(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    # date cells: openpyxl has already applied the workbook's date system (1900 or
    # 1904), so the date is the one Excel shows
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


# ---- SQL ------------------------------------------------------------------------------


def read_sql(url: str) -> RawTable:
    """Read a table or query through SQLAlchemy.

    The URL is an ordinary SQLAlchemy URL with one extra query parameter: ``table=NAME``
    (read the whole table) or ``query=SELECT ...`` (read the query's rows).
    """
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise CaseFileError(
            f"{url!r} is not a database URL", hint="Use e.g. sqlite:///cases.db?table=cases"
        ) from None
    shown = parsed.render_as_string(hide_password=True)
    query = dict(parsed.query)
    table_name = query.pop("table", None)
    sql = query.pop("query", None)
    if isinstance(table_name, tuple) or isinstance(sql, tuple):
        raise CaseFileError("give `table` or `query` once", where=shown)
    if bool(table_name) == bool(sql):
        raise CaseFileError(
            "the database URL must name exactly one of ?table=NAME or ?query=SELECT ...",
            where=shown,
        )
    parsed = parsed.set(query=query)
    if (
        parsed.get_backend_name() == "sqlite"
        and parsed.database
        and not Path(parsed.database).exists()
    ):
        raise CaseFileError("the SQLite database file does not exist", where=shown)
    try:
        engine = sa.create_engine(parsed)
    except NoSuchModuleError as exc:
        raise CaseFileError(f"no database driver for this URL ({exc})", where=shown) from None
    except ModuleNotFoundError as exc:
        raise CaseFileError(
            f"the database driver {exc.name!r} is not installed",
            where=shown,
            hint=f"Install it with `pip install {exc.name}`",
        ) from None
    try:
        with engine.connect() as connection:
            if table_name:
                inspector = sa.inspect(connection)
                names = inspector.get_table_names()
                if table_name not in names:
                    raise CaseFileError(
                        f"the database has no table {table_name!r}",
                        where=shown,
                        hint=f"Tables there: {', '.join(names) or '(none)'}",
                    )
                selectable = sa.Table(table_name, sa.MetaData(), autoload_with=connection).select()
            else:
                selectable = sa.text(sql)
            frame = pd.read_sql(selectable, connection)
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise CaseFileError(f"the database could not be read ({detail})", where=shown) from None
    finally:
        engine.dispose()
    return RawTable(frame=frame, source=shown)
