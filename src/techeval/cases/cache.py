"""A per-user cache of parsed CSV case files, stored as Parquet and keyed by the data hash.

Parsing a CSV case file of a million cases takes 7-14 s on a 2-core machine, reading the
same table back from Parquet about 1 s (issue #10). When the same CSV is validated or run again, the table
parsed the first time is read back from the cache instead. What is cached is exactly what
the CSV reader returned (every column as text, and its reading notes), so a cached read
gives the same table, the same validation and a byte-identical ``result.json``: the
cache skips parsing, never checking.

The key is the SHA-256 of the file's bytes together with everything that changes how a
CSV is parsed: the techeval, pandas and pyarrow versions, the cache format and a
fingerprint of the reader's source code. Editing one byte of the file, upgrading pandas
or changing the reader makes a new key; the old entry is never used again and is evicted
in time.

Case records are sensitive and an entry is a copy of one, so the folder is private
(created with mode 0700, entries 0600) and a folder that others can enter, or that
belongs to someone else, is not used at all. Entries are written to a temporary file in
the same folder and renamed into place, so a concurrent run never reads half an entry;
an entry that cannot be read (truncated, corrupt, from another key) is ignored and
written again. The cache never makes a read fail: any problem with it means the file is
parsed as if there were no cache.

Where: ``$TECHEVAL_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/techeval``, else
``~/.cache/techeval``. ``TECHEVAL_CACHE_DIR=off`` turns the cache off, as does
:func:`caching` (``--no-cache`` at the command line).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from techeval._version import __version__

logger = logging.getLogger(__name__)

#: Environment variable naming the cache folder, or turning the cache off.
CACHE_DIR_ENV = "TECHEVAL_CACHE_DIR"
#: Values of :data:`CACHE_DIR_ENV` (any case) that turn the cache off.
OFF_VALUES = frozenset({"off", "none", "no", "false", "0"})
#: Bumped whenever what an entry holds, or how it is written, changes.
FORMAT_VERSION = 1
#: Files smaller than this are not cached: 1 MiB of CSV (about 7,000 cases) parses in
#: under 0.1 s, so a copy of the records would buy nothing.
MIN_FILE_BYTES = 1024**2
#: At most this many entries are kept, the least recently used going first...
MAX_ENTRIES = 8
#: ...and at most this many bytes. An entry takes about a quarter of its CSV (measured:
#: 32 MB for the 138 MB file of 1,000,000 synthetic cases), so the largest CSV read at
#: all (1 GiB) fits several times over.
MAX_TOTAL_BYTES = 2 * 1024**3
#: Temporary files older than this were left by a run that was killed while writing.
STALE_TEMP_SECONDS = 3600

_ENTRY_NAME = re.compile(r"^[0-9a-f]{64}\.parquet$")
_TEMP_PREFIX = ".tmp-"
_KEY_FIELD = b"techeval.cache.key"
_NOTES_FIELD = b"techeval.cache.notes"
_BLOCK_BYTES = 1 << 20

_enabled: ContextVar[bool] = ContextVar("techeval_csv_cache", default=True)
_warned: set[str] = set()

Parser = Callable[[Path], tuple[pd.DataFrame, list[str]]]


@contextmanager
def caching(enabled: bool) -> Iterator[None]:
    """Turn the cache on or off for the reads inside the ``with`` block.

    Examples
    --------
    >>> from techeval.cases import load_cases
    >>> with caching(False):  # doctest: +SKIP
    ...     report = load_cases("cases.csv")  # parsed afresh, nothing written to the cache
    """
    token = _enabled.set(enabled)
    try:
        yield
    finally:
        _enabled.reset(token)


def cache_location() -> tuple[Path | None, str]:
    """Where the cache lives, or ``None`` with the reason when it is off.

    Returns
    -------
    folder, why
        The folder (it may not exist yet) and how it was chosen; or ``None`` and why
        there is no cache.
    """
    configured = os.environ.get(CACHE_DIR_ENV, "").strip()
    if configured.lower() in OFF_VALUES:
        return None, f"turned off by {CACHE_DIR_ENV}={configured}"
    if configured:
        return Path(configured).expanduser().absolute(), f"from {CACHE_DIR_ENV}"
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    # the XDG base-directory specification: relative values are to be ignored
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "techeval", "from XDG_CACHE_HOME"
    try:
        return Path.home() / ".cache" / "techeval", "the default"
    except RuntimeError:
        return None, f"no home folder to keep it in; set {CACHE_DIR_ENV}"


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks (0.1 s for 138 MB)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.cache
def parser_fingerprint(parse: Parser) -> str:
    """SHA-256 of the source of the module defining ``parse``, with its name.

    Any change to the reader (an option, a delimiter, a constant) changes the key, so an
    entry written by other reading code is never used.
    """
    module = sys.modules.get(parse.__module__)
    digest = hashlib.sha256(f"{parse.__module__}.{parse.__qualname__}".encode())
    source = getattr(module, "__file__", None)
    if source:
        try:
            with open(source, "rb") as handle:
                digest.update(handle.read())
        except OSError:  # pragma: no cover - a frozen install; the versions still count
            pass
    return digest.hexdigest()


def entry_key(data_sha256: str, parse: Parser) -> str:
    """The cache key: the data hash with everything that changes how it is parsed."""
    import pyarrow

    parts = {
        "format": FORMAT_VERSION,
        "techeval": __version__,
        "pandas": pd.__version__,
        "pyarrow": pyarrow.__version__,
        "reader": parser_fingerprint(parse),
        "data": data_sha256,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def cached_read(
    path: Path, parse: Parser, *, enabled: bool | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Read a text file through the cache: ``parse(path)`` only when it is not cached.

    Parameters
    ----------
    path
        The file.
    parse
        The reader: returns the table and its reading notes, or raises. Its notes must
        not name the path (the same bytes elsewhere give the same entry).
    enabled
        ``False`` reads without the cache; ``None`` follows :func:`caching` and
        :data:`CACHE_DIR_ENV`.

    Returns
    -------
    frame, notes
        What ``parse`` returned for these bytes, now or on an earlier run.

    Notes
    -----
    Files under :data:`MIN_FILE_BYTES`, and every read while the cache is off or its
    folder unusable, go straight to ``parse``. Errors from ``parse`` pass through and
    nothing is cached. An entry is written only when the file did not change (size,
    modification time, inode) between hashing and parsing, and only for a table an
    entry gives back exactly: text columns of distinct names on a 0..n-1 index.
    """
    if enabled is None:
        enabled = _enabled.get()
    before = path.stat()
    folder = _usable_folder() if enabled and before.st_size >= MIN_FILE_BYTES else None
    if folder is None:
        return parse(path)
    key = entry_key(file_sha256(path), parse)
    found = _load(folder, key)
    if found is not None:
        logger.debug("%s: read from the cache (%s)", path, key[:12])
        return found
    frame, notes = parse(path)
    after = path.stat()
    if (before.st_size, before.st_mtime_ns, before.st_ino) != (
        after.st_size,
        after.st_mtime_ns,
        after.st_ino,
    ):
        logger.debug("%s changed while it was read; not cached", path)
    elif not frame.index.equals(pd.RangeIndex(len(frame))):
        # an entry holds columns only, so it could not give this frame back as it is
        logger.debug("%s: the table has an index of its own; not cached", path)
    else:
        _store(folder, key, frame, notes)
    return frame, notes


@dataclass(frozen=True)
class CacheInfo:
    """What the cache holds.

    Attributes
    ----------
    folder
        Where it is (``None`` when off).
    status
        How the folder was chosen, or why the cache is off or unusable.
    entries
        Number of cached tables.
    total_bytes
        Their size on disk.
    """

    folder: Path | None
    status: str
    entries: int
    total_bytes: int

    def lines(self) -> list[str]:
        """The information in plain words, one line each."""
        if self.folder is None:
            return [f"no cache of parsed CSV files: {self.status}"]
        return [
            f"cache folder: {self.folder} ({self.status})",
            f"entries: {self.entries} of at most {MAX_ENTRIES}, "
            f"{self.total_bytes / 1024**2:,.1f} MB of at most {MAX_TOTAL_BYTES / 1024**3:.0f} GB",
            f"CSV files of {MIN_FILE_BYTES / 1024**2:.0f} MB or more are cached; "
            f"{CACHE_DIR_ENV}=off or --no-cache turns it off",
        ]


def cache_info() -> CacheInfo:
    """Where the cache is and what it holds (see :class:`CacheInfo`)."""
    folder, status = cache_location()
    if folder is None:
        return CacheInfo(None, status, 0, 0)
    if not folder.exists():
        return CacheInfo(folder, f"{status}; not created yet", 0, 0)
    problem = _folder_problem(folder)
    if problem:
        status = f"{status}; not used: {problem}"
    entries = _entries(folder) if folder.is_dir() else []
    return CacheInfo(folder, status, len(entries), sum(size for _, size, _ in entries))


def clear_cache() -> tuple[int, int]:
    """Delete every cached table (and any temporary file left by a killed run).

    Only files the cache wrote are deleted; anything else in the folder is left alone.

    Returns
    -------
    entries, freed_bytes
        How many entries were deleted and the bytes freed.
    """
    folder, _ = cache_location()
    if folder is None or not folder.is_dir():
        return 0, 0
    removed = freed = 0
    for path, size, _ in _entries(folder):
        if _unlink(path):
            removed, freed = removed + 1, freed + size
    for path in folder.glob(f"{_TEMP_PREFIX}*"):
        _unlink(path)
    return removed, freed


# ---- the folder -----------------------------------------------------------------------


def _usable_folder() -> Path | None:
    """The cache folder, created private if missing; ``None`` when off or unsafe."""
    folder, _ = cache_location()
    if folder is None:
        return None
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        _warn_once(
            folder,
            f"cannot create the cache folder ({exc.strerror}); CSV files are parsed every time",
        )
        return None
    problem = _folder_problem(folder)
    if problem:
        _warn_once(folder, f"the cache folder is not used: {problem}")
        return None
    return folder


def _folder_problem(folder: Path) -> str | None:
    """Why a folder must not hold copies of case records, or ``None``."""
    try:
        status = folder.stat()
    except OSError as exc:
        return f"cannot inspect it ({exc.strerror})"
    if not folder.is_dir():
        return "it is not a folder"
    if os.name != "posix":  # pragma: no cover - modes and owners are POSIX ideas
        return None
    if status.st_uid != os.geteuid():
        return "it belongs to another user"
    if status.st_mode & 0o077:
        return (
            f"others can enter it (mode {status.st_mode & 0o777:o}); "
            f"make it private with `chmod 700 {folder}`"
        )
    return None


def _warn_once(folder: Path, message: str) -> None:
    if str(folder) + message not in _warned:
        _warned.add(str(folder) + message)
        logger.warning("warning: %s: %s", folder, message)


def _entries(folder: Path) -> list[tuple[Path, int, float]]:
    """The folder's entries as (path, size, last use), most recently used first."""
    found = []
    for path in folder.iterdir():
        if not _ENTRY_NAME.match(path.name):
            continue
        try:
            status = path.stat()
        except OSError:  # evicted by a concurrent run
            continue
        found.append((path, status.st_size, status.st_mtime))
    return sorted(found, key=lambda entry: entry[2], reverse=True)


def _unlink(path: Path) -> bool:
    try:
        path.unlink()
    except OSError:
        return False
    return True


# ---- entries --------------------------------------------------------------------------


def _load(folder: Path, key: str) -> tuple[pd.DataFrame, list[str]] | None:
    """The entry for ``key``, or ``None`` when missing or unusable (never raises)."""
    import pyarrow.parquet as pq

    path = folder / f"{key}.parquet"
    try:
        table = pq.read_table(path, page_checksum_verification=True)
        metadata = table.schema.metadata or {}
        if metadata.get(_KEY_FIELD) != key.encode():
            raise ValueError("the entry was written for another key")
        notes = json.loads(metadata[_NOTES_FIELD])
        if not (isinstance(notes, list) and all(isinstance(n, str) for n in notes)):
            raise ValueError("the entry's notes are not a list of text")
        frame = table.to_pandas()
        # the reader gives text columns and a 0..n-1 index, nothing else
        if not isinstance(frame.index, pd.RangeIndex) or frame.index.start != 0:
            raise ValueError("the entry's index is not 0..n-1")
        if not all(pd.api.types.is_string_dtype(dtype) for dtype in frame.dtypes):
            raise ValueError("the entry holds columns that are not text")
    except FileNotFoundError:
        return None
    except Exception as exc:  # pyarrow raises many types for a damaged file
        logger.debug("ignoring cache entry %s (%s: %s)", path, type(exc).__name__, exc)
        return None
    try:
        os.utime(path)  # least recently used goes first
    except OSError:
        pass
    return frame, notes


def _store(folder: Path, key: str, frame: pd.DataFrame, notes: list[str]) -> None:
    """Write the entry for ``key`` atomically, then evict; a failure only logs."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    temporary: str | None = None
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        metadata = {
            **(table.schema.metadata or {}),
            _KEY_FIELD: key.encode(),
            _NOTES_FIELD: json.dumps(notes).encode(),
        }
        table = table.replace_schema_metadata(metadata)
        # mkstemp creates the file with mode 0600, in the folder the entry goes to, so
        # the rename below is atomic: a reader sees the whole entry or none
        descriptor, temporary = tempfile.mkstemp(prefix=_TEMP_PREFIX, suffix=".parquet", dir=folder)
        with os.fdopen(descriptor, "wb") as handle:
            # no dictionary encoding: case IDs and free text are mostly unique, and
            # plain pages read back about twice as fast (measured: 0.6 s against 1.1 s
            # for 1,000,000 cases; 32 MB against 24 MB on disk)
            pq.write_table(
                table,
                handle,
                compression="zstd",
                use_dictionary=False,
                write_page_checksum=True,
            )
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, folder / f"{key}.parquet")
        temporary = None
    except Exception as exc:  # the cache must never make a read fail
        logger.debug("not cached in %s (%s: %s)", folder, type(exc).__name__, exc)
    finally:
        if temporary is not None:
            _unlink(Path(temporary))
    _evict(folder, keep=f"{key}.parquet")


def _evict(folder: Path, *, keep: str) -> None:
    """Delete the least recently used entries beyond the limits, and stale temp files."""
    try:
        entries = _entries(folder)
        entries.sort(key=lambda entry: entry[0].name != keep)  # stable: keep stays first
        total = 0
        for count, (path, size, _) in enumerate(entries, start=1):
            total += size
            if count > MAX_ENTRIES or (total > MAX_TOTAL_BYTES and count > 1):
                _unlink(path)
        now = time.time()
        for path in folder.glob(f"{_TEMP_PREFIX}*"):
            try:
                if now - path.stat().st_mtime > STALE_TEMP_SECONDS:
                    _unlink(path)
            except OSError:
                continue
    except OSError as exc:
        logger.debug("cache eviction in %s stopped (%s)", folder, exc)
