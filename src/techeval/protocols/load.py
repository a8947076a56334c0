"""Load protocol YAML safely: protocols are data, never code.

* The file is size-capped before it is parsed (:data:`MAX_PROTOCOL_BYTES`).
* Only YAML's safe types are built: tags such as ``!!python/object/apply`` are refused
  and nothing is executed.
* Anchors and aliases are refused outright. A protocol never needs them, and refusing
  them stops "billion laughs" documents, whose aliases expand exponentially, before any
  expansion happens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from techeval.errors import ProtocolError

#: Largest protocol file read (bytes); real protocols are a few kilobytes.
MAX_PROTOCOL_BYTES = 256 * 1024
#: Deepest nesting of mappings and lists accepted.
MAX_DEPTH = 20


class _ProtocolLoader(yaml.SafeLoader):
    """A SafeLoader that refuses anchors, aliases and deep nesting."""

    def compose_node(self, parent, index):  # type: ignore[override]
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            mark = event.start_mark
            raise ProtocolError(
                f"line {mark.line + 1}: YAML anchors and aliases (& and *) are not allowed in protocols",
                hint="Write each value out in full",
            )
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_DEPTH:
                raise ProtocolError(
                    f"line {event.start_mark.line + 1}: nesting deeper than {MAX_DEPTH} levels"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def parse_yaml(text: str, *, source: str = "<protocol>") -> Any:
    """Parse protocol YAML text with :class:`_ProtocolLoader`.

    Raises
    ------
    ProtocolError
        For unsafe tags, anchors/aliases, excessive nesting or malformed YAML, naming the
        line.
    """
    if len(text.encode("utf-8", errors="replace")) > MAX_PROTOCOL_BYTES:
        raise ProtocolError(
            f"the protocol is larger than {MAX_PROTOCOL_BYTES // 1024} KiB", where=source
        )
    try:
        # _ProtocolLoader is a SafeLoader subclass: only plain YAML types are built.
        return yaml.load(text, Loader=_ProtocolLoader)
    except ProtocolError as exc:
        raise ProtocolError(exc.message, where=source, hint=exc.hint) from None
    except yaml.constructor.ConstructorError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else "?"
        raise ProtocolError(
            f"line {line}: {exc.problem} — protocols may hold only plain values, lists and mappings",
            where=source,
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ProtocolError(f"{where}not valid YAML ({problem})", where=source) from None


def read_protocol_text(path: str | Path) -> tuple[str, bytes]:
    """The protocol's text and raw bytes (for hashing), size-capped before reading."""
    path = Path(path)
    if not path.is_file():
        raise ProtocolError("protocol file not found", where=str(path))
    size = path.stat().st_size
    if size > MAX_PROTOCOL_BYTES:
        raise ProtocolError(
            f"the protocol file is {size:,} bytes, over the {MAX_PROTOCOL_BYTES // 1024} KiB limit",
            where=str(path),
        )
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig"), raw
    except UnicodeDecodeError:
        raise ProtocolError("the protocol file is not UTF-8 text", where=str(path)) from None
