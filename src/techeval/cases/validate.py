"""Validate case records lazily and set aside, never drop, the rows that break a rule.

The steps, in order:

1. Whole-file checks: column mapping, duplicate or missing required columns, no data
   rows, duplicate ``case_id``. Any of these is one :class:`~techeval.errors.CaseFileError`.
2. Cell parsing: each canonical column is turned into its type (text, whole number,
   number, yes/no, category, technique list). A cell that cannot be parsed is recorded
   as a problem with its row, column, rule and value.
3. Rules: the pandera schema from :func:`techeval.cases.schema.case_schema` checks
   required cells, ranges, allowed values and cross-column consistency, collecting every
   failure (``lazy=True``).
4. Every row with at least one problem is set aside with all its reasons; the others are
   the analysis-ready case table. ``rows_in == rows_used + rows_set_aside`` always.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from techeval.cases import schema as S
from techeval.cases.readers import RawTable, read_table
from techeval.errors import ArgumentError, CaseFileError

#: Text read as "no value" in non-text columns. Text columns (case_id, jurisdiction)
#: keep these strings as they are: a case may really be called "NA".
MISSING_TEXT = frozenset({"", "na", "n/a", "nan", "null", "none", "-"})

#: Columns added to the analysis table; an input column may not use these names.
DERIVED_COLUMNS: tuple[str, ...] = (
    *S.TECHNIQUES,
    "traditional_only",
    "n_techniques",
    "conviction",
    "high_level_conviction",
)

_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:[,\u00a0\u202f ]\d{3})+(?:\.\d+)?$")
_TECHNIQUE_SPLIT = re.compile(r"[;,|+]")
#: An ISO date, optionally with a time: its year is group 1.
_ISO_DATE = re.compile(r"^(\d{4})-\d{2}-\d{2}(?:[T ][0-9:.]+)?$")


@dataclass(frozen=True)
class Problem:
    """One broken rule in one cell.

    Attributes
    ----------
    row
        1-based data row in the source (the header is not counted).
    column
        Canonical column name.
    rule
        Short name of the rule broken, e.g. ``"whole number"`` or ``"convicted<=charged"``.
    value
        The offending value as text (``None`` for a missing value).
    message
        The rule in plain words.
    """

    row: int
    column: str
    rule: str
    value: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        """The problem as a JSON-compatible dictionary."""
        return {
            "row": self.row,
            "column": self.column,
            "rule": self.rule,
            "value": self.value,
            "message": self.message,
        }


@dataclass
class ValidationReport:
    """The outcome of validating a case table.

    Attributes
    ----------
    source
        Where the records came from.
    rows_in
        Data rows read.
    cases
        Analysis-ready table of the rows used, indexed by their 1-based source row
        (``row``): typed canonical columns, extra columns, one boolean column per
        technique, ``traditional_only``, ``n_techniques``, and the derived outcomes
        ``conviction`` (convicted ≥ 1) and ``high_level_conviction``
        (high_level_convicted ≥ 1; defined only for cases with high_level_targets ≥ 1,
        missing elsewhere and where high_level_convicted is missing).
    set_aside
        The set-aside rows as read (every column), with ``row`` and ``reasons``.
    problems
        Every broken rule, row by row.
    notes
        How the file was read (encoding, delimiter, filled values).
    """

    source: str
    rows_in: int
    cases: pd.DataFrame
    set_aside: pd.DataFrame
    problems: tuple[Problem, ...]
    notes: tuple[str, ...] = ()
    column_mapping: Mapping[str, str] = field(default_factory=dict)

    @property
    def rows_used(self) -> int:
        """Rows in the analysis table."""
        return len(self.cases)

    @property
    def rows_set_aside(self) -> int:
        """Rows set aside because at least one rule was broken."""
        return len(self.set_aside)

    @property
    def ok(self) -> bool:
        """Whether every row is usable."""
        return self.rows_set_aside == 0

    def technique_counts(self) -> dict[str, int]:
        """Cases using each technique, and traditional-only cases, among rows used."""
        counts = {t: int(self.cases[t].sum()) for t in S.TECHNIQUES}
        counts["traditional_only"] = int(self.cases["traditional_only"].sum())
        return counts

    def problem_summary(self) -> pd.DataFrame:
        """Problems counted by column and rule, with the first few rows for each."""
        if not self.problems:
            return pd.DataFrame(columns=["column", "rule", "count", "rows", "message"])
        frame = pd.DataFrame([p.to_dict() for p in self.problems])
        grouped = frame.groupby(["column", "rule"], sort=False)
        summary = grouped.agg(
            count=("row", "size"),
            rows=(
                "row",
                lambda rows: (
                    ", ".join(map(str, sorted(rows)[:5])) + (", …" if len(rows) > 5 else "")
                ),
            ),
            message=("message", "first"),
        ).reset_index()
        return summary.sort_values(["count", "column"], ascending=[False, True], ignore_index=True)

    def to_dict(self, *, include_problems: bool = True) -> dict[str, Any]:
        """A JSON-compatible summary: counts, technique counts, problems and notes."""
        out: dict[str, Any] = {
            "source": self.source,
            "rows_in": self.rows_in,
            "rows_used": self.rows_used,
            "rows_set_aside": self.rows_set_aside,
            "techniques": self.technique_counts(),
            "notes": list(self.notes),
        }
        if include_problems:
            out["problems"] = [p.to_dict() for p in self.problems]
        return out

    def write_set_aside(self, path: str | Path) -> Path:
        """Write the set-aside rows with their reasons, for correction.

        ``.xlsx`` writes a workbook, anything else CSV. Text cells that a spreadsheet
        would run as a formula (starting with ``= + - @``, tab or carriage return) are
        prefixed with an apostrophe; numbers are written as numbers.
        """
        from techeval.cases.export import write_table

        return write_table(self.set_aside, path)


def load_cases(
    source: str | Path,
    *,
    columns: Mapping[str, str] | None = None,
    aliases: Mapping[str, str] | None = None,
) -> ValidationReport:
    """Read and validate a case file or database table.

    Parameters
    ----------
    source
        A CSV/TSV, Parquet or .xlsx path, or a SQLAlchemy URL with ``?table=`` or
        ``?query=`` (see :func:`techeval.cases.readers.read_table`).
    columns
        Mapping from the file's own column names to canonical names
        (e.g. ``{"CaseNo": "case_id"}``), so nobody edits their data to use techeval.
    aliases
        Extra technique labels, mapped case-insensitively to canonical techniques
        (e.g. ``{"phone tap": "electronic_surveillance"}``).

    Returns
    -------
    ValidationReport
        Rows used, rows set aside with every reason, and counts that add up.

    Raises
    ------
    CaseFileError
        For whole-file problems (unreadable, empty, missing required column,
        duplicate case_id).

    Examples
    --------
    >>> report = load_cases("synthetic_data/cases.csv")  # doctest: +SKIP
    >>> report.rows_in == report.rows_used + report.rows_set_aside  # doctest: +SKIP
    True
    """
    table = read_table(source)
    return validate_table(table, columns=columns, aliases=aliases)


def validate_frame(
    frame: pd.DataFrame,
    *,
    source: str = "<data frame>",
    columns: Mapping[str, str] | None = None,
    aliases: Mapping[str, str] | None = None,
) -> ValidationReport:
    """Validate an in-memory case table (see :func:`load_cases`)."""
    return validate_table(
        RawTable(frame=frame.reset_index(drop=True), source=source),
        columns=columns,
        aliases=aliases,
    )


def validate_table(
    table: RawTable,
    *,
    columns: Mapping[str, str] | None = None,
    aliases: Mapping[str, str] | None = None,
) -> ValidationReport:
    """Validate a :class:`~techeval.cases.readers.RawTable` (see :func:`load_cases`)."""
    source = table.source
    notes = list(table.notes)
    raw = _apply_column_mapping(table.frame, columns or {}, source)
    raw = raw.reset_index(drop=True)
    _check_columns(raw, source)
    if len(raw) == 0:
        raise CaseFileError(
            "the file has a header but no data rows",
            where=source,
            hint="Export the case table again",
        )
    alias_map = _alias_map(aliases or {})

    parsed: dict[str, pd.Series] = {}
    problems: list[Problem] = []
    for spec in S.COLUMNS:
        if spec.name not in raw.columns:
            if spec.fill is not None:
                parsed[spec.name] = pd.Series(spec.fill, index=raw.index, dtype="str")
            else:
                parsed[spec.name] = _empty_column(spec, raw.index)
            continue
        values, bad, rule, message = _parse_column(raw[spec.name], spec, alias_map)
        if spec.fill is not None:
            filled = values.isna() & ~bad
            if filled.any():
                notes.append(
                    f"{int(filled.sum())} missing {spec.name} values read as {spec.fill!r}"
                )
            values = values.where(~filled, spec.fill)
        parsed[spec.name] = values
        problems.extend(_problems_for(raw[spec.name], bad, spec.name, rule, message))

    typed = pd.DataFrame(parsed, index=raw.index)
    _check_duplicate_ids(typed["case_id"], source)
    already = {(p.row - 1, p.column) for p in problems}
    problems.extend(_schema_problems(typed, raw, already))

    problems.sort(
        key=lambda p: (
            p.row,
            S.CANONICAL_COLUMNS.index(p.column) if p.column in S.COLUMNS_BY_NAME else 99,
        )
    )
    bad_positions = np.unique(
        np.fromiter((p.row - 1 for p in problems), dtype=np.int64, count=len(problems))
    )
    keep = np.ones(len(raw), dtype=bool)
    keep[bad_positions] = False

    cases = _analysis_table(typed, raw, keep)
    set_aside = _set_aside_table(raw, keep, problems)
    if alias_map.get("__used__"):
        notes.append("technique aliases mapped: " + ", ".join(sorted(alias_map["__used__"])))
    return ValidationReport(
        source=source,
        rows_in=len(raw),
        cases=cases,
        set_aside=set_aside,
        problems=tuple(problems),
        notes=tuple(notes),
        column_mapping=dict(columns or {}),
    )


# ---- whole-file checks ----------------------------------------------------------------


def _apply_column_mapping(
    frame: pd.DataFrame, mapping: Mapping[str, str], source: str
) -> pd.DataFrame:
    frame = frame.rename(columns=lambda c: str(c).strip())
    lowered = {c.lower(): c for c in frame.columns}
    # Headers that differ from a canonical name only by case are the canonical column.
    renames = {
        lowered[name]: name
        for name in S.CANONICAL_COLUMNS
        if name not in frame.columns and name in lowered and name not in mapping.values()
    }
    for theirs, canonical in mapping.items():
        if canonical not in S.COLUMNS_BY_NAME:
            close = difflib.get_close_matches(canonical, S.CANONICAL_COLUMNS, n=1)
            raise ArgumentError(
                f"the column mapping {theirs}={canonical} names {canonical!r}, which is not a "
                "canonical column" + (f" (did you mean {close[0]!r}?)" if close else ""),
                hint="See docs/case-records.md for the canonical names",
            )
        if theirs not in frame.columns:
            raise CaseFileError(
                f"the column mapping names {theirs!r}, which is not in the file",
                where=source,
                hint=f"Columns in the file: {_list_columns(frame.columns)}",
            )
        renames[theirs] = canonical
    frame = frame.rename(columns=renames)
    duplicated = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    if duplicated:
        raise CaseFileError(
            f"after mapping, the columns {', '.join(map(repr, duplicated))} appear more than once",
            where=source,
            hint="Map only one of the file's columns onto each canonical name",
        )
    return frame


def _check_columns(frame: pd.DataFrame, source: str) -> None:
    missing = [c for c in S.REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        hints = []
        for name in missing:
            close = difflib.get_close_matches(
                name, [str(c) for c in frame.columns], n=1, cutoff=0.6
            )
            if close:
                hints.append(f"{close[0]}={name}")
        if len(frame.columns) == 1 and re.search(r"[^\w\s]", str(frame.columns[0])):
            hint = (
                "The whole header was read as one column: check the delimiter (techeval "
                "reads commas, semicolons, tabs and vertical bars)"
            )
        elif hints:
            hint = (
                f"If your file names them differently, map them, e.g. --columns {','.join(hints)}"
            )
        else:
            hint = "Map your own column names with --columns THEIRS=CANONICAL"
        raise CaseFileError(
            "missing required column" + ("s " if len(missing) > 1 else " ") + ", ".join(missing),
            where=source,
            hint=hint + f". Columns in the file: {_list_columns(frame.columns)}",
        )
    clashes = [c for c in DERIVED_COLUMNS if c in frame.columns]
    if clashes:
        raise CaseFileError(
            f"the column names {', '.join(map(repr, clashes))} are reserved for columns techeval derives",
            where=source,
            hint="Rename them in the file or map them to other names with --columns",
        )


def _list_columns(columns: pd.Index) -> str:
    names = [str(c) for c in columns]
    return ", ".join(names[:30]) + (f" and {len(names) - 30} more" if len(names) > 30 else "")


def _check_duplicate_ids(case_id: pd.Series, source: str) -> None:
    present = case_id.dropna()
    duplicated = present[present.duplicated(keep=False)]
    if duplicated.empty:
        return
    examples = []
    for value, rows in duplicated.groupby(duplicated, sort=False).groups.items():
        examples.append(f"{value!r} on rows {', '.join(str(r + 1) for r in list(rows)[:4])}")
        if len(examples) == 3:
            break
    n_values = duplicated.nunique()
    raise CaseFileError(
        f"case_id must be unique, but {n_values} value{'s are' if n_values > 1 else ' is'} repeated: "
        + "; ".join(examples),
        where=source,
        hint="Give every investigation its own case_id, or remove the repeated records",
    )


# ---- cell parsing ---------------------------------------------------------------------


def _is_text(series: pd.Series) -> bool:
    return not (
        pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
    ) or pd.api.types.is_object_dtype(series)


def _text(series: pd.Series) -> pd.Series:
    """Cells as stripped text ('' for missing)."""
    if pd.api.types.is_object_dtype(series):
        series = series.map(
            lambda v: "" if v is None or (isinstance(v, float) and v != v) else str(v)
        )
    return series.astype("str").fillna("").str.strip()


def _empty_column(spec: S.ColumnSpec, index: pd.Index) -> pd.Series:
    dtype = {"integer": "Int64", "number": "float64", "boolean": "boolean"}.get(spec.kind, "str")
    return pd.Series(pd.NA if dtype != "float64" else np.nan, index=index, dtype=dtype)


def _parse_column(
    raw: pd.Series, spec: S.ColumnSpec, alias_map: dict
) -> tuple[pd.Series, pd.Series, str, str]:
    """Typed values (missing where absent or unparseable) and the unparseable mask."""
    if spec.kind == "text":
        text = _text(raw)
        return text.where(text != "", None).astype("str"), pd.Series(False, index=raw.index), "", ""
    if spec.kind in ("integer", "number"):
        if spec.year_from_date and _is_text(raw):
            raw = _text(raw).str.replace(_ISO_DATE, r"\1", regex=True)
        return _parse_number(raw, integer=spec.kind == "integer")
    if spec.kind == "boolean":
        return _parse_boolean(raw)
    if spec.kind == "category":
        return _parse_category(raw, spec)
    if spec.kind == "techniques":
        return _parse_techniques(raw, alias_map)
    raise AssertionError(spec.kind)  # pragma: no cover - exhaustive


def _parse_number(raw: pd.Series, *, integer: bool) -> tuple[pd.Series, pd.Series, str, str]:
    if pd.api.types.is_bool_dtype(raw):
        raw = raw.astype("str")
    if _is_text(raw):
        text = _text(raw)
        values = _plain_numbers(text)
        # only cells that are not plain numbers need a second look: missing-value
        # words and thousands separators (most files have none of either)
        second = values.isna().to_numpy()
        unparsed = pd.Series(False, index=raw.index)
        if second.any():
            rest = text[second]
            missing = rest.str.lower().isin(MISSING_TEXT)
            grouped = rest.str.match(_THOUSANDS)
            cleaned = rest.where(~grouped, rest.str.replace(r"[,\u00a0\u202f ]", "", regex=True))
            retried = pd.to_numeric(cleaned.where(~missing, None), errors="coerce").astype(
                "float64"
            )
            values.loc[second] = retried
            unparsed.loc[second] = ~missing & retried.isna()
    else:
        values = raw.astype("float64")
        unparsed = pd.Series(False, index=raw.index)
    infinite = np.isinf(values)
    unparsed |= infinite
    values = values.where(~infinite)
    if integer:
        fractional = values.notna() & (values != np.floor(values))
        unparsed |= fractional
        values = values.where(~fractional)
        return values.astype("Int64"), unparsed, "whole number", "must be a whole number"
    return values, unparsed, "number", "must be a number"


_PLAIN_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def _plain_numbers(text: pd.Series) -> pd.Series:
    """Cells that are plain decimal numbers as float64, NaN elsewhere.

    Arrow's compute kernels parse a million cells in a fraction of the time
    ``pandas.to_numeric`` takes on text; anything else (missing-value words, thousands
    separators, ``inf``) is left for the caller's second look.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    cells = pa.array(text.array)
    plain = pc.match_substring_regex(cells, _PLAIN_NUMBER)
    numbers = pc.cast(pc.if_else(plain, cells, None), pa.float64())
    return pd.Series(numbers.to_numpy(zero_copy_only=False), index=text.index, dtype="float64")


def _parse_boolean(raw: pd.Series) -> tuple[pd.Series, pd.Series, str, str]:
    text = _text(raw).str.lower()
    true = text.isin(S.BOOLEAN_TRUE) | text.isin({"1.0"})
    false = text.isin(S.BOOLEAN_FALSE) | text.isin({"0.0"})
    missing = text.isin(MISSING_TEXT) & ~false
    values = pd.Series(pd.NA, index=raw.index, dtype="boolean")
    values[true] = True
    values[false] = False
    return values, ~(true | false | missing), "yes/no", "must be true/false, 1/0 or yes/no"


def _normalise_label(value: str) -> str:
    return re.sub(r"[\s\-]+", "_", value.strip().lower())


def _parse_category(raw: pd.Series, spec: S.ColumnSpec) -> tuple[pd.Series, pd.Series, str, str]:
    text = _text(raw)
    mapping = {value: _normalise_label(value) for value in text.unique()}
    normalised = text.map(mapping)
    missing = normalised.isin({_normalise_label(m) for m in MISSING_TEXT})
    allowed = set(spec.categories or ())
    unknown = ~missing & ~normalised.isin(allowed)
    values = normalised.where(~(missing | unknown), None).astype("str")
    return values, unknown, "allowed value", f"must be one of {', '.join(spec.categories or ())}"


def _alias_map(extra: Mapping[str, str]) -> dict:
    mapping: dict = dict(S.DEFAULT_TECHNIQUE_ALIASES)
    for label, technique in extra.items():
        if technique not in S.TECHNIQUES:
            raise ArgumentError(
                f"the technique alias {label!r} points at {technique!r}, which is not a technique",
                hint=f"Techniques: {', '.join(S.TECHNIQUES)}",
            )
        mapping[_normalise_label(label)] = technique
    mapping["__used__"] = set()
    return mapping


def _parse_techniques(raw: pd.Series, alias_map: dict) -> tuple[pd.Series, pd.Series, str, str]:
    text = _text(raw)
    canonical: dict[str, str | None] = {}
    for value in text.unique():
        labels = [label for label in _TECHNIQUE_SPLIT.split(value) if label.strip()]
        found = []
        for label in labels:
            key = _normalise_label(label)
            technique = alias_map.get(key)
            if technique is None or key == "__used__":
                found = None
                break
            if key != technique:
                alias_map["__used__"].add(f"{label.strip()}→{technique}")
            found.append(technique)
        canonical[value] = (
            None if found is None else ";".join(t for t in S.TECHNIQUES if t in found)
        )
    values = text.map(canonical)
    unknown = values.isna()
    return (
        values.astype("str"),
        unknown,
        "known technique",
        ("every label must be a technique or a known alias (" + ", ".join(S.TECHNIQUES) + ")"),
    )


def _problems_for(
    raw: pd.Series, bad: pd.Series, column: str, rule: str, message: str
) -> list[Problem]:
    positions = np.flatnonzero(bad.to_numpy(dtype=bool))
    values = raw.to_numpy()[positions]
    return [
        Problem(row=int(i) + 1, column=column, rule=rule, value=_shown(v), message=message)
        for i, v in zip(positions, values, strict=True)
    ]


def _shown(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    text = str(value)
    return text if len(text) <= 200 else text[:200] + "…"


# ---- rules (pandera) ------------------------------------------------------------------


def _schema_problems(
    typed: pd.DataFrame, raw: pd.DataFrame, already: set[tuple[int, str]]
) -> list[Problem]:
    import pandera.errors

    schema = S.case_schema()
    try:
        schema.validate(typed, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        failures = exc.failure_cases
    else:
        return []
    messages = S.rule_messages()
    blamed = {rule: column for rule, column, _ in S.CROSS_COLUMN_RULES}
    problems: dict[tuple[int, str, str], Problem] = {}
    for check, column, index in failures[["check", "column", "index"]].itertuples(index=False):
        if index is None or (isinstance(index, float) and np.isnan(index)):
            continue
        position = int(index)
        rule = str(check)
        if rule in blamed:
            column = blamed[rule]
        if rule == "not_nullable":
            rule = "required"
        if (position, column) in already and rule == "required":
            continue  # the cell could not be parsed; that problem is already listed
        key = (position, column, rule)
        if key in problems:
            continue
        value = raw[column].iloc[position] if column in raw.columns else None
        problems[key] = Problem(
            row=position + 1,
            column=column,
            rule=rule,
            value=_shown(value) if rule != "required" else None,
            message=messages.get(rule, rule),
        )
    return list(problems.values())


# ---- outputs --------------------------------------------------------------------------


def _analysis_table(typed: pd.DataFrame, raw: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    cases = typed.loc[keep].copy()
    extras = [c for c in raw.columns if c not in S.COLUMNS_BY_NAME]
    for column in extras:
        cases[column] = infer_column(raw[column].loc[keep])
    used = cases["techniques"].fillna("")
    distinct = {value: value.split(";") for value in used.unique()}
    for technique in S.TECHNIQUES:
        cases[technique] = used.map(
            {value: technique in labels for value, labels in distinct.items()}
        ).astype(bool)
    technique_matrix = cases[list(S.TECHNIQUES)].to_numpy()
    cases["n_techniques"] = technique_matrix.sum(axis=1).astype("int64")
    cases["traditional_only"] = cases["n_techniques"] == 0
    cases["conviction"] = (cases["convicted"] >= 1).astype(bool)
    # Only cases with a high-level target can convict one: elsewhere the outcome is
    # undefined (missing), not "no", so estimators compare like with like.
    eligible = (cases["high_level_targets"] >= 1).fillna(False).astype(bool)
    high_level = (cases["high_level_convicted"] >= 1).astype("boolean")
    cases["high_level_conviction"] = high_level.where(eligible, pd.NA)
    cases.index = pd.RangeIndex(1, len(raw) + 1)[keep]
    cases.index.name = "row"
    return cases


def infer_column(values: pd.Series) -> pd.Series:
    """A column as text, or as numbers when every filled cell is a number.

    Used for columns outside the case-record schema (kept, and usable as covariates).
    """
    if not _is_text(values):
        return values
    text = _text(values)
    lowered = text.str.lower()
    missing = lowered.isin(MISSING_TEXT)
    if missing.all():
        return text.where(~missing, None).astype("str")
    filled = lowered[~missing]
    words = S.BOOLEAN_TRUE | S.BOOLEAN_FALSE
    if filled.isin(words - {"0", "1"}).any() and filled.isin(words).all():
        return _parse_boolean(values)[0]
    numbers = pd.to_numeric(text.where(~missing, None), errors="coerce")
    if numbers[~missing].isna().any():
        return text.where(~missing, None).astype("str")
    return numbers.astype("float64")


def _set_aside_table(raw: pd.DataFrame, keep: np.ndarray, problems: list[Problem]) -> pd.DataFrame:
    set_aside = raw.loc[~keep].copy()
    reasons: dict[int, list[str]] = {}
    for p in problems:
        reasons.setdefault(p.row, []).append(f"{p.column}: {p.message}")
    set_aside.insert(0, "row", np.flatnonzero(~keep) + 1)
    set_aside.insert(1, "reasons", ["; ".join(reasons[r]) for r in set_aside["row"]])
    return set_aside.reset_index(drop=True)
