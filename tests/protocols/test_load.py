import time
import tracemalloc

import pytest

from techeval.errors import ProtocolError
from techeval.protocols.load import MAX_PROTOCOL_BYTES, parse_yaml, read_protocol_text

BILLION_LAUGHS = """
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_plain_protocol_parses():
    assert parse_yaml("name: x\nversion: '1'\ntechniques: [undercover]\n") == {
        "name": "x",
        "version": "1",
        "techniques": ["undercover"],
    }


def test_python_tags_are_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "ran"
    text = f"x: !!python/object/apply:os.system ['touch {marker}']\n"
    with pytest.raises(ProtocolError, match="line 1"):
        parse_yaml(text)
    assert not marker.exists()


def test_billion_laughs_refused_quickly_in_little_memory():
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(ProtocolError, match="anchors and aliases"):
        parse_yaml(BILLION_LAUGHS)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 1.0 and peak < 5 * 1024**2


def test_oversized_text_and_file_refused(tmp_path):
    big = "a: " + "x" * (MAX_PROTOCOL_BYTES + 1)
    with pytest.raises(ProtocolError, match="larger than"):
        parse_yaml(big)
    path = tmp_path / "big.yaml"
    path.write_text(big)
    with pytest.raises(ProtocolError, match="over the"):
        read_protocol_text(path)


def test_malformed_yaml_names_the_line():
    with pytest.raises(ProtocolError, match="line 2"):
        parse_yaml("a: 1\nb: x: y\n")


def test_deep_nesting_refused():
    with pytest.raises(ProtocolError, match="nesting"):
        parse_yaml("a: " + "[" * 50 + "]" * 50)
