"""The per-user cache of parsed CSV case files (issue #10): hits, keys, safety, identity."""

import json
import logging
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from techeval.cases import cache, load_cases
from techeval.cases.readers import read_csv, read_table
from techeval.cli import main
from techeval.simulate import generate_cases, write_cases

from .conftest import HEADER, VALID_ROWS, to_csv

SHIPPED = Path(__file__).resolve().parents[2] / "synthetic_data" / "cases.csv"


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """A fresh cache folder; small files are cached too, so tests stay fast."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(folder))
    monkeypatch.setattr(cache, "MIN_FILE_BYTES", 0)
    return folder


@pytest.fixture
def parses(monkeypatch):
    """How many times pandas parsed a CSV."""
    calls = []
    original = pd.read_csv

    def counting(*args, **kwargs):
        calls.append(args[0] if args else kwargs.get("filepath_or_buffer"))
        return original(*args, **kwargs)

    monkeypatch.setattr(pd, "read_csv", counting)
    return calls


def entries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.parquet") if not p.name.startswith("."))


def write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def assert_same_table(left, right):
    pd.testing.assert_frame_equal(left.frame, right.frame, check_exact=True)
    assert list(left.frame.columns) == list(right.frame.columns)
    assert left.frame.columns.dtype == right.frame.columns.dtype
    assert left.frame.index.equals(right.frame.index)
    assert left.notes == right.notes


# ---- files of every flavour: a cached read gives what parsing gives -------------------

FLAVOURS = {
    "plain": to_csv(VALID_ROWS).encode(),
    "semicolons, BOM": b"\xef\xbb\xbf"
    + to_csv(VALID_ROWS, sep=";").replace("wiretap;UC", "wiretap").encode(),
    "mixed Latin-1": to_csv(VALID_ROWS).encode().replace(b"North", b"Nord\xe9"),
    "UTF-16 tabs": to_csv(VALID_ROWS, sep="\t").encode("utf-16"),
    "lone CR line ends": to_csv(VALID_ROWS).replace("\n", "\r").encode(),
    "odd headers": to_csv(
        [["1", "", "x"], ["NA", "null", ""]], header=["__index_level_0__", " a.1 ", "é"]
    ).encode(),
    "two blank headers": to_csv([["1", "2", "3"]], header=["a", "", ""]).encode(),
    "header only": to_csv([]).encode(),
}


#: Parquet cannot hold two columns of one name
NOT_CACHED = {"two blank headers"}


@pytest.mark.parametrize("flavour", sorted(FLAVOURS))
def test_a_cached_read_equals_a_fresh_parse(cache_dir, parses, tmp_path, flavour):
    path = write(tmp_path / "cases.csv", FLAVOURS[flavour])
    fresh = read_csv(path, cache=False)
    assert len(parses) == 1 and not cache_dir.exists()
    cold = read_csv(path)
    warm = read_csv(path)
    assert_same_table(fresh, cold)
    assert_same_table(fresh, warm)
    assert warm.source == str(path)
    if flavour in NOT_CACHED:
        # an entry could not give these tables back exactly: parsed every time, still right
        assert len(parses) == 3 and entries(cache_dir) == []
    else:
        assert len(parses) == 2 and len(entries(cache_dir)) == 1


def test_second_read_is_not_parsed_and_validates_the_same(cache_dir, parses, tmp_path):
    rows = [row.copy() for row in VALID_ROWS]
    rows[1][11] = "9"  # convicted > charged: set aside
    path = write(tmp_path / "cases.csv", to_csv(rows))
    first = load_cases(path)
    second = load_cases(path)
    assert len(parses) == 1
    assert (second.rows_in, second.rows_used, second.rows_set_aside) == (4, 3, 1)
    pd.testing.assert_frame_equal(first.cases, second.cases)
    pd.testing.assert_frame_equal(first.set_aside, second.set_aside)


def test_same_bytes_elsewhere_hit_and_keep_their_own_name(cache_dir, parses, tmp_path):
    a = write(tmp_path / "a.csv", to_csv(VALID_ROWS))
    b = write(tmp_path / "b.csv", to_csv(VALID_ROWS))
    assert read_csv(a).source == str(a)
    assert read_csv(b).source == str(b)
    assert len(parses) == 1


def test_one_changed_byte_changes_the_key(cache_dir, parses, tmp_path):
    original = to_csv(VALID_ROWS).encode()
    changed = original.replace(b"North", b"Norti")
    assert len(changed) == len(original)
    assert sum(x != y for x, y in zip(original, changed, strict=True)) == 1
    path = write(tmp_path / "cases.csv", original)
    before = read_csv(path)
    key = cache.entry_key(cache.file_sha256(path), read_csv_parser())
    write(path, changed)
    after = read_csv(path)
    assert cache.entry_key(cache.file_sha256(path), read_csv_parser()) != key
    assert len(parses) == 2 and len(entries(cache_dir)) == 2
    assert before.frame.loc[0, "jurisdiction"] == "North"
    assert after.frame.loc[0, "jurisdiction"] == "Norti"


def read_csv_parser():
    from techeval.cases import readers

    return readers._parse_csv


def test_key_covers_versions_and_the_reader(monkeypatch):
    digest = "0" * 64
    key = cache.entry_key(digest, read_csv_parser())
    assert cache.entry_key(digest, read_csv_parser()) == key

    def another_reader(path):  # pragma: no cover - never called
        raise AssertionError

    assert cache.entry_key(digest, another_reader) != key
    monkeypatch.setattr(cache, "FORMAT_VERSION", cache.FORMAT_VERSION + 1)
    assert cache.entry_key(digest, read_csv_parser()) != key
    monkeypatch.undo()
    monkeypatch.setattr(cache, "__version__", "0.0.0-other")
    assert cache.entry_key(digest, read_csv_parser()) != key
    monkeypatch.undo()
    monkeypatch.setattr(pd, "__version__", "0.0.0-other")
    assert cache.entry_key(digest, read_csv_parser()) != key


def test_file_hash_is_the_one_the_run_records(tmp_path):
    import hashlib

    path = write(tmp_path / "cases.csv", to_csv(VALID_ROWS) * 3)
    assert cache.file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()


# ---- privacy ------------------------------------------------------------------------


def test_folder_is_private_and_entries_are_owner_only(cache_dir, tmp_path):
    path = write(tmp_path / "cases.csv", to_csv(VALID_ROWS))
    old = os.umask(0)  # even a permissive umask must not open the copy to others
    try:
        read_csv(path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700
    [entry] = entries(cache_dir)
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600


def test_folder_others_can_enter_is_not_used(cache_dir, parses, tmp_path, caplog):
    cache_dir.mkdir(mode=0o755)
    cache_dir.chmod(0o755)
    path = write(tmp_path / "cases.csv", to_csv(VALID_ROWS))
    with caplog.at_level(logging.WARNING, logger="techeval.cases.cache"):
        first = read_csv(path)
        second = read_csv(path)
    assert_same_table(first, second)
    assert len(parses) == 2 and list(cache_dir.iterdir()) == []
    assert "others can enter it (mode 755)" in caplog.text
    assert f"chmod 700 {cache_dir}" in caplog.text
    assert "others can enter it" in cache.cache_info().status


def test_folder_of_another_user_is_not_used(cache_dir, parses, tmp_path, monkeypatch):
    cache_dir.mkdir(mode=0o700)
    monkeypatch.setattr(os, "geteuid", lambda: os.stat(cache_dir).st_uid + 1)
    path = write(tmp_path / "cases.csv", to_csv(VALID_ROWS))
    read_csv(path)
    read_csv(path)
    assert len(parses) == 2 and list(cache_dir.iterdir()) == []


def test_folder_that_cannot_be_created_only_means_no_cache(monkeypatch, parses, tmp_path):
    blocker = write(tmp_path / "a-file", b"x")
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(blocker / "cache"))
    monkeypatch.setattr(cache, "MIN_FILE_BYTES", 0)
    path = write(tmp_path / "cases.csv", to_csv(VALID_ROWS))
    assert read_csv(path).frame.shape == (4, len(HEADER))
    assert read_csv(path).frame.shape == (4, len(HEADER))
    assert len(parses) == 2


# ---- damaged, tampered and half-written entries --------------------------------------


def test_crash_while_writing_leaves_no_usable_half_file(cache_dir, parses, tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    path = write(tmp_path / "cases.csv", to_csv(VALID_ROWS))
    original = pq.write_table

    def half_then_fail(table, where, **kwargs):
        original(table, where, **kwargs)
        where.seek(0)
        where.truncate(where.tell() // 2 + 100)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq, "write_table", half_then_fail)
    fresh = read_csv(path)
    assert list(cache_dir.iterdir()) == []  # neither an entry nor a temporary file
    monkeypatch.setattr(pq, "write_table", original)
    assert_same_table(read_csv(path), fresh)
    assert_same_table(read_csv(path), fresh)
    assert len(parses) == 2 and len(entries(cache_dir)) == 1


def test_killed_writer_leaves_only_a_temporary_file_that_is_swept(cache_dir, tmp_path):
    """SIGKILL after the bytes are written but before the rename: no entry appears."""
    path = write(tmp_path / "cases.csv", to_csv(VALID_ROWS))
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from techeval.cases import cache\n"
        "from techeval.cases.readers import read_csv\n"
        "cache.MIN_FILE_BYTES = 0\n"
        "os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)\n"
        "read_csv(Path(sys.argv[1]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(path)], check=False)
    assert done.returncode == -signal.SIGKILL
    leftovers = list(cache_dir.iterdir())
    assert leftovers and all(p.name.startswith(".tmp-") for p in leftovers)
    assert entries(cache_dir) == []
    # a later run reads and caches normally; the leftover goes once it is stale
    old = time.time() - cache.STALE_TEMP_SECONDS - 60
    for leftover in leftovers:
        os.utime(leftover, (old, old))
    assert read_csv(path).frame.shape == (4, len(HEADER))
    assert [p.name.startswith(".tmp-") for p in cache_dir.iterdir()] == [False]


def test_concurrent_runs_on_one_file_share_one_whole_entry(cache_dir, parses, tmp_path):
    path = write(tmp_path / "cases.csv", to_csv(VALID_ROWS * 2000))
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from techeval.cases import cache\n"
        "from techeval.cases.readers import read_csv\n"
        "cache.MIN_FILE_BYTES = 0\n"
        "print(read_csv(Path(sys.argv[1])).frame.shape)\n"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=120)[0].strip() for p in processes]
    assert [p.returncode for p in processes] == [0] * 4
    assert set(outputs) == {f"({len(VALID_ROWS) * 2000}, {len(HEADER)})"}
    assert [p.name for p in cache_dir.iterdir()] == [entries(cache_dir)[0].name]
    assert_same_table(read_csv(path), read_csv(path, cache=False))
    assert len(parses) == 1  # the cached read in this process was not parsed


@pytest.mark.parametrize("damage", ["truncated", "flipped bytes", "empty", "not parquet"])
def test_damaged_entry_is_ignored_and_rewritten(cache_dir, parses, tmp_path, damage):
    path = write(tmp_path / "cases.csv", to_csv(VALID_ROWS * 50))
    fresh = read_csv(path)
    [entry] = entries(cache_dir)
    good = entry.read_bytes()
    if damage == "truncated":
        entry.write_bytes(good[: len(good) // 2])
    elif damage == "flipped bytes":
        middle = len(good) // 2
        entry.write_bytes(good[:middle] + bytes(b ^ 0xFF for b in good[middle : middle + 64]))
    elif damage == "empty":
        entry.write_bytes(b"")
    else:
        entry.write_bytes(b"case_id\n007\n")
    assert_same_table(read_csv(path), fresh)
    assert len(parses) == 2
    assert entry.read_bytes() == good  # written again, whole


def tampered_entry(cache_dir, path, frame, *, key_of=None, notes=("a note",)):
    """Write a well-formed Parquet file where ``path``'s entry would be."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    key = cache.entry_key(cache.file_sha256(path), read_csv_parser())
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata(
        {
            **table.schema.metadata,
            b"techeval.cache.key": (key_of or key).encode(),
            b"techeval.cache.notes": json.dumps(list(notes)).encode(),
        }
    )
    cache_dir.mkdir(mode=0o700, exist_ok=True)
    pq.write_table(table, cache_dir / f"{key}.parquet")
    return cache_dir / f"{key}.parquet"


@pytest.mark.parametrize("tampering", ["another key", "numbers", "no key"])
def test_tampered_entry_is_not_believed(cache_dir, parses, tmp_path, tampering):
    path = write(tmp_path / "cases.csv", to_csv(VALID_ROWS))
    fresh = read_csv(path, cache=False)
    other = fresh.frame.assign(case_id="forged")
    if tampering == "another key":
        tampered_entry(cache_dir, path, other, key_of="f" * 64)
    elif tampering == "numbers":
        tampered_entry(cache_dir, path, pd.DataFrame({"case_id": [1, 2, 3, 4]}))
    else:
        entry = tampered_entry(cache_dir, path, other)
        import pyarrow.parquet as pq

        pq.write_table(pq.read_table(entry).replace_schema_metadata({}), entry)
    assert_same_table(read_csv(path), fresh)
    assert len(parses) == 2


def test_a_matching_key_is_what_makes_a_hit(cache_dir, parses, tmp_path):
    """The flip side of the tests above: an entry with the right key is used as it is."""
    path = write(tmp_path / "cases.csv", to_csv(VALID_ROWS))
    fresh = read_csv(path, cache=False)
    tampered_entry(cache_dir, path, fresh.frame.assign(case_id="marked"), notes=["marked"])
    hit = read_csv(path)
    assert len(parses) == 1
    assert set(hit.frame["case_id"]) == {"marked"} and hit.notes == ["marked"]


def test_file_changing_while_parsed_is_not_cached(cache_dir, tmp_path, monkeypatch):
    path = write(tmp_path / "cases.csv", to_csv(VALID_ROWS))
    original = pd.read_csv

    def parse_then_append(*args, **kwargs):
        frame = original(*args, **kwargs)
        with path.open("a") as handle:
            handle.write(",".join(VALID_ROWS[0]).replace("007", "008") + "\n")
        return frame

    monkeypatch.setattr(pd, "read_csv", parse_then_append)
    read_csv(path)
    assert entries(cache_dir) == []


# ---- turning it off, and what is never cached -----------------------------------------


@pytest.mark.parametrize("value", ["off", "OFF", "0", "false", "no", "none"])
def test_environment_turns_it_off(monkeypatch, parses, tmp_path, value):
    monkeypatch.setenv(cache.CACHE_DIR_ENV, value)
    monkeypatch.setattr(cache, "MIN_FILE_BYTES", 0)
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path / "cases.csv", to_csv(VALID_ROWS))
    read_csv(path)
    read_csv(path)
    assert len(parses) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cases.csv"]
    assert cache.cache_location()[0] is None and "off" in cache.cache_info().status


def test_caching_false_and_the_argument_turn_it_off(cache_dir, parses, tmp_path):
    path = write(tmp_path / "cases.csv", to_csv(VALID_ROWS))
    with cache.caching(False):
        load_cases(path)
        load_cases(path)
    read_table(path, cache=False)
    assert len(parses) == 3 and not cache_dir.exists()
    with cache.caching(False):
        read_csv(path, cache=True)  # an explicit argument wins
    assert len(entries(cache_dir)) == 1


def test_small_files_are_not_cached(tmp_path, monkeypatch, parses):
    folder = tmp_path / "cache"
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(folder))
    small = write(tmp_path / "small.csv", to_csv(VALID_ROWS))
    read_csv(small)
    assert not folder.exists()
    assert SHIPPED.stat().st_size >= cache.MIN_FILE_BYTES
    read_csv(SHIPPED)
    read_csv(SHIPPED)
    assert len(parses) == 2 and len(entries(folder)) == 1


def test_parquet_excel_and_databases_are_never_cached(cache_dir, tmp_path):
    import sqlite3

    frame = pd.DataFrame(VALID_ROWS, columns=HEADER, dtype="str")
    frame.to_parquet(tmp_path / "cases.parquet")
    frame.to_excel(tmp_path / "cases.xlsx", index=False)
    with sqlite3.connect(tmp_path / "cases.db") as connection:
        frame.to_sql("cases", connection, index=False)
    for source in ("cases.parquet", "cases.xlsx"):
        assert len(read_table(tmp_path / source).frame) == 4
    assert len(read_table(f"sqlite:///{tmp_path / 'cases.db'}?table=cases").frame) == 4
    assert not cache_dir.exists()


# ---- limits -----------------------------------------------------------------------------


def test_least_recently_used_entries_go_first(cache_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "MAX_ENTRIES", 3)
    paths = []
    for i in range(5):
        rows = [row.copy() for row in VALID_ROWS]
        rows[0][0] = f"case-{i}"
        paths.append(write(tmp_path / f"cases{i}.csv", to_csv(rows)))
    keys = [cache.entry_key(cache.file_sha256(p), read_csv_parser()) for p in paths]
    base = time.time() - 1000

    def read_at(i: int, seconds: float) -> None:
        read_csv(paths[i])
        os.utime(cache_dir / f"{keys[i]}.parquet", (base + seconds, base + seconds))

    for i in range(3):
        read_at(i, i)
    read_csv(paths[0])  # a hit makes 0 the most recently used
    read_at(3, 10)
    assert {p.stem for p in entries(cache_dir)} == {keys[0], keys[2], keys[3]}
    read_csv(paths[4])
    assert {p.stem for p in entries(cache_dir)} == {keys[0], keys[3], keys[4]}


def test_size_cap_keeps_the_newest_entry(cache_dir, tmp_path, monkeypatch):
    first = write(tmp_path / "a.csv", to_csv(VALID_ROWS))
    read_csv(first)
    [entry] = entries(cache_dir)
    monkeypatch.setattr(cache, "MAX_TOTAL_BYTES", entry.stat().st_size + 10)
    second = write(tmp_path / "b.csv", to_csv(VALID_ROWS * 2))
    read_csv(second)
    key = cache.entry_key(cache.file_sha256(second), read_csv_parser())
    assert [p.stem for p in entries(cache_dir)] == [key]


# ---- the command line -------------------------------------------------------------------


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_validate_output_is_identical_cold_warm_and_without_cache(
    cache_dir, parses, tmp_path, capsys
):
    rows = [row.copy() for row in VALID_ROWS]
    rows[0][7] = "wiretap"  # no semicolon inside a field
    rows[2][7] = "telepathy"
    path = write(tmp_path / "cases.csv", to_csv(rows, sep=";"))
    outputs = []
    for label, extra in (("cold", []), ("warm", []), ("off", ["--no-cache"])):
        aside = tmp_path / f"aside-{label}.csv"
        code, out, err = run_cli(capsys, "validate", path, "--json", "--set-aside", aside, *extra)
        assert code == 2 and err == ""
        outputs.append((out, aside.read_bytes()))
    assert outputs[0] == outputs[1] == outputs[2]
    assert "semicolons" in outputs[0][0]
    assert len(parses) == 2  # cold and --no-cache; the warm run read the cache
    assert len(entries(cache_dir)) == 1


def test_run_result_is_byte_identical_cold_warm_and_without_cache(
    cache_dir, parses, tmp_path, capsys
):
    path = tmp_path / "cases.csv"
    write_cases(generate_cases(2000, seed=5), path)
    results = []
    for label, extra in (("cold", []), ("warm", []), ("off", ["--no-cache"])):
        before = sorted(p.name for p in cache_dir.glob("*")) if cache_dir.exists() else []
        out = tmp_path / f"out-{label}"
        code, _, err = run_cli(
            capsys, "run", "quick-v1", "--cases", path, "--out", out, "--quiet", *extra
        )
        assert code == 0, err
        results.append((out / "result.json").read_bytes())
        if label == "off":
            assert sorted(p.name for p in cache_dir.glob("*")) == before
    assert results[0] == results[1] == results[2]
    assert len(parses) == 2
    assert json.loads(results[0])["data"]["sha256"] == cache.file_sha256(path)


def test_effect_reads_through_the_cache_unless_told_not_to(cache_dir, parses, capsys):
    args = ["effect", SHIPPED, "--treatment", "undercover", "--outcome", "conviction"]
    args += ["--covariates", "offence,n_suspects", "--method", "regression", "--json"]
    outputs = [run_cli(capsys, *args), run_cli(capsys, *args), run_cli(capsys, *args, "--no-cache")]
    assert outputs[0] == outputs[1] == outputs[2] and outputs[0][0] == 0
    assert len(parses) == 2


def test_cache_info_and_clear(cache_dir, tmp_path, capsys):
    code, out, _ = run_cli(capsys, "cache", "info")
    assert code == 0 and str(cache_dir) in out and "entries: 0" in out
    read_csv(write(tmp_path / "cases.csv", to_csv(VALID_ROWS)))
    (cache_dir / "keep.txt").write_text("not the cache's")
    [entry] = entries(cache_dir)
    code, out, _ = run_cli(capsys, "cache", "info")
    assert code == 0 and "entries: 1 of at most 8" in out
    assert cache.cache_info().total_bytes == entry.stat().st_size
    code, out, _ = run_cli(capsys, "cache", "clear")
    assert code == 0 and out.startswith("removed 1 cached case tables")
    assert [p.name for p in cache_dir.iterdir()] == ["keep.txt"]


# ---- where it lives ---------------------------------------------------------------------


def test_location_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(tmp_path / "mine"))
    assert cache.cache_location()[0] == tmp_path / "mine"
    monkeypatch.delenv(cache.CACHE_DIR_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_location()[0] == tmp_path / "xdg" / "techeval"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/is/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.cache_location()[0] == tmp_path / "home" / ".cache" / "techeval"


def test_the_suite_never_uses_the_real_home_cache(_csv_cache_outside_home):
    configured = Path(os.environ[cache.CACHE_DIR_ENV])
    assert configured == _csv_cache_outside_home
    assert Path.home() / ".cache" not in configured.parents
