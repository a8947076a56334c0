"""Rendering helpers for the CLI: option parsing and rich summaries (no statistics here)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from techeval.cases import ValidationReport
from techeval.errors import ArgumentError, ProtocolError


def parse_mapping(value: str | Sequence[str] | None, *, what: str) -> dict[str, str]:
    """Parse ``'a=b,c=d'``, repeated ``a=b`` options, or a .yaml/.json file of a mapping."""
    if not value:
        return {}
    items = [value] if isinstance(value, str) else list(value)
    if len(items) == 1 and Path(items[0]).suffix.lower() in {".yaml", ".yml", ".json"}:
        path = Path(items[0])
        if not path.is_file():
            raise ArgumentError(f"the {what} file {str(path)!r} does not exist")
        # the protocol loader: no tags, no aliases (billion laughs), a size cap
        from techeval.protocols.load import parse_yaml

        try:
            loaded = parse_yaml(path.read_text(encoding="utf-8"), source=str(path))
        except (ProtocolError, UnicodeDecodeError) as exc:
            raise ArgumentError(
                f"the {what} file cannot be read as YAML or JSON ({exc})", where=str(path)
            ) from None
        if not isinstance(loaded, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in loaded.items()
        ):
            raise ArgumentError(
                f"the {what} file must hold a mapping of names to names", where=str(path)
            )
        return dict(loaded)
    mapping: dict[str, str] = {}
    for item in items:
        for pair in item.split(",") if isinstance(value, str) else [item]:
            if not pair.strip():
                continue
            theirs, sep, ours = pair.partition("=")
            if not sep or not theirs.strip() or not ours.strip():
                raise ArgumentError(f"{what} takes NAME=VALUE pairs, got {pair!r}")
            mapping[theirs.strip()] = ours.strip()
    return mapping


def print_validation(
    report: ValidationReport, console: Console, *, as_json: bool, set_aside_path: Path | None
) -> None:
    """Print a validation report as rich tables, or as JSON."""
    if as_json:
        console.out(json.dumps(report.to_dict(), indent=2, ensure_ascii=False), highlight=False)
        return
    style = "green" if report.ok else "yellow"
    console.print(f"[bold]{report.source}[/]", highlight=False)
    console.print(
        f"rows in {report.rows_in:,} = rows used [{style}]{report.rows_used:,}[/] + "
        f"rows set aside [{style}]{report.rows_set_aside:,}[/]"
    )
    for note in report.notes:
        console.print(f"  note: {note}", highlight=False)
    techniques = Table(title="Cases by technique (rows used)", title_justify="left")
    techniques.add_column("technique")
    techniques.add_column("cases", justify="right")
    for name, count in report.technique_counts().items():
        techniques.add_row(name.replace("_", " "), f"{count:,}")
    console.print(techniques)
    if report.problems:
        problems = Table(title="Problems by column", title_justify="left")
        problems.add_column("column", no_wrap=True)
        problems.add_column("rows", justify="right")
        problems.add_column("first rows")
        problems.add_column("what is wrong", ratio=1)
        for row in report.problem_summary().itertuples(index=False):
            problems.add_row(row.column, f"{row.count:,}", row.rows, row.message)
        console.print(problems)
        if set_aside_path is not None:
            console.print(
                f"Set-aside rows and their reasons written to {set_aside_path}", highlight=False
            )
        else:
            console.print("Use --set-aside FILE to write the set-aside rows with their reasons.")
    else:
        console.print("[green]Every row is usable.[/]")
