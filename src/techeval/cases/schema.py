"""The canonical case record: one row per investigation.

This module is the single source of truth for column names, types and rules. The
pandera schema (:func:`case_schema`) and the documentation table in
``docs/case-records.md`` (:func:`schema_markdown`) are both generated from
:data:`COLUMNS`, so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TECHNIQUES: tuple[str, ...] = (
    "electronic_surveillance",
    "undercover",
    "controlled_delivery",
    "witness_protection",
)

OFFENCES: tuple[str, ...] = (
    "drug_trafficking",
    "human_trafficking",
    "migrant_smuggling",
    "arms_trafficking",
    "money_laundering",
    "fraud",
    "counterfeiting",
    "corruption",
    "cybercrime",
    "other",
)

GROUP_STRUCTURES: tuple[str, ...] = ("hierarchical", "network", "loose", "unknown")

#: Labels mapped onto canonical technique names (compared case-insensitively, after
#: trimming and turning spaces and hyphens into underscores). Protocols may add more.
DEFAULT_TECHNIQUE_ALIASES: dict[str, str] = {
    "electronic_surveillance": "electronic_surveillance",
    "es": "electronic_surveillance",
    "wiretap": "electronic_surveillance",
    "wire_tap": "electronic_surveillance",
    "interception": "electronic_surveillance",
    "intercept": "electronic_surveillance",
    "lawful_interception": "electronic_surveillance",
    "undercover": "undercover",
    "uc": "undercover",
    "undercover_operation": "undercover",
    "controlled_delivery": "controlled_delivery",
    "cd": "controlled_delivery",
    "witness_protection": "witness_protection",
    "witsec": "witness_protection",
    "wp": "witness_protection",
}

#: Covariates adjusted for unless a protocol names its own: the case characteristics
#: known when an investigation opens that drive both the choice of technique and the
#: chance of conviction (confounding by indication).
DEFAULT_COVARIATES: tuple[str, ...] = (
    "offence",
    "group_structure",
    "n_suspects",
    "high_level_targets",
    "jurisdiction",
    "year",
)

#: Value in the ``techniques`` column separating several techniques.
TECHNIQUE_SEPARATOR = ";"

BOOLEAN_TRUE = frozenset({"true", "t", "1", "yes", "y"})
BOOLEAN_FALSE = frozenset({"false", "f", "0", "no", "n"})

Kind = Literal["text", "integer", "number", "boolean", "category", "techniques"]


@dataclass(frozen=True)
class ColumnSpec:
    """One canonical column: its type, its rule in words, and whether it is required."""

    name: str
    kind: Kind
    rule: str
    required: bool
    minimum: float | None = None
    maximum: float | None = None
    categories: tuple[str, ...] | None = None
    #: value used when the column is absent or a cell is empty (optional columns only)
    fill: object | None = None
    #: a year column: a date (``2015-03-01``, or an Excel date cell) counts as its year
    year_from_date: bool = False


def _count(name: str, rule: str = "integer ≥ 0", required: bool = False) -> ColumnSpec:
    return ColumnSpec(name, "integer", rule, required, minimum=0)


def _amount(name: str, rule: str = "number ≥ 0", required: bool = False) -> ColumnSpec:
    return ColumnSpec(name, "number", rule, required, minimum=0)


COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec(
        "case_id", "text", "text, unique, non-empty (kept as text: leading zeros survive)", True
    ),
    ColumnSpec("jurisdiction", "text", "text, non-empty", True),
    ColumnSpec(
        "year",
        "integer",
        "integer 1950–2100 (year the investigation opened; a date such as 2015-03-01, or an "
        "Excel date cell in either date system, counts as its year)",
        True,
        1950,
        2100,
        year_from_date=True,
    ),
    ColumnSpec("offence", "category", "one of " + ", ".join(OFFENCES), True, categories=OFFENCES),
    ColumnSpec(
        "group_structure",
        "category",
        "one of " + ", ".join(GROUP_STRUCTURES) + " (missing → unknown)",
        False,
        categories=GROUP_STRUCTURES,
        fill="unknown",
    ),
    ColumnSpec("n_suspects", "integer", "integer ≥ 1", True, minimum=1),
    _count("high_level_targets", "integer, 0 ≤ x ≤ n_suspects"),
    ColumnSpec(
        "techniques",
        "techniques",
        "zero or more of " + ", ".join(TECHNIQUES) + " separated by `;` "
        "(empty = traditional investigation only); known aliases such as wiretap, UC, "
        "WITSEC are mapped case-insensitively",
        True,
    ),
    _amount("cost_total", required=True),
    *(
        _amount(f"cost_{t}", "number ≥ 0, only > 0 when that technique is tagged")
        for t in TECHNIQUES
    ),
    _amount("officer_days"),
    _amount("duration_days"),
    _count("charged", "integer, 0 ≤ x ≤ n_suspects", required=True),
    _count("convicted", "integer, 0 ≤ x ≤ charged", required=True),
    _count("high_level_convicted", "integer, 0 ≤ x ≤ min(convicted, high_level_targets)"),
    ColumnSpec("group_disrupted", "boolean", "boolean (true/false/1/0/yes/no)", False),
    _amount("assets_seized"),
    _count("officer_injuries"),
    _count("undercover_compromised"),
    _count("third_party_harms"),
    _count("complaints_upheld"),
    _count("intercepts_total"),
    _count("intercepts_incriminating", "integer ≥ 0, ≤ intercepts_total"),
    _count("non_suspects_intercepted"),
    ColumnSpec("evidence_excluded", "boolean", "boolean (true/false/1/0/yes/no)", False),
    _count("protected_witnesses"),
    _count("protected_family"),
    _count("witness_offences"),
)

COLUMNS_BY_NAME: dict[str, ColumnSpec] = {c.name: c for c in COLUMNS}
REQUIRED_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.required)
CANONICAL_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS)

#: Consistency rules across columns: (rule name, column blamed, description).
CROSS_COLUMN_RULES: tuple[tuple[str, str, str], ...] = (
    ("high_level_targets<=n_suspects", "high_level_targets", "high_level_targets ≤ n_suspects"),
    ("charged<=n_suspects", "charged", "charged ≤ n_suspects"),
    ("convicted<=charged", "convicted", "convicted ≤ charged"),
    ("high_level_convicted<=convicted", "high_level_convicted", "high_level_convicted ≤ convicted"),
    (
        "high_level_convicted<=high_level_targets",
        "high_level_convicted",
        "high_level_convicted ≤ high_level_targets",
    ),
    (
        "intercepts_incriminating<=intercepts_total",
        "intercepts_incriminating",
        "intercepts_incriminating ≤ intercepts_total",
    ),
    *(
        (f"cost_{t}_only_if_tagged", f"cost_{t}", f"cost_{t} > 0 only when {t} is tagged")
        for t in TECHNIQUES
    ),
)


def _range_rule(spec: ColumnSpec) -> tuple[str, str] | None:
    """(rule name, message) of a numeric column's range, if it has one."""
    if spec.minimum is None and spec.maximum is None:
        return None
    if spec.maximum is None:
        return f">= {spec.minimum:g}", f"must be ≥ {spec.minimum:g}"
    return (
        f"{spec.minimum:g}..{spec.maximum:g}",
        f"must be between {spec.minimum:g} and {spec.maximum:g}",
    )


def _cross_check(rule: str):
    """Vectorised cross-column check: True where the row satisfies ``rule``."""

    def le(left: str, right: str):
        def check(frame):
            return ~(frame[left] > frame[right]).fillna(False).astype(bool)

        return check

    def only_if_tagged(technique: str):
        def check(frame):
            labels = frame["techniques"].fillna("")
            # a handful of distinct technique lists: test each once, not once per row
            tagged = labels.map({v: technique in v.split(";") for v in labels.unique()})
            return ~(
                (frame[f"cost_{technique}"] > 0).fillna(False).astype(bool) & ~tagged.astype(bool)
            )

        return check

    if rule.endswith("_only_if_tagged"):
        return only_if_tagged(rule.removeprefix("cost_").removesuffix("_only_if_tagged"))
    left, right = rule.split("<=")
    return le(left, right)


def case_schema():
    """The pandera schema of a parsed case table (typed columns, missing as NA).

    Parsing text into types happens before this schema runs (see
    :mod:`techeval.cases.validate`); the schema holds the rules: required cells,
    ranges, allowed values and cross-column consistency (:data:`CROSS_COLUMN_RULES`).
    """
    import pandera.pandas as pa

    columns = {}
    for spec in COLUMNS:
        checks = []
        rng = _range_rule(spec)
        if rng is not None:
            low, high = spec.minimum, spec.maximum
            if high is None:
                checks.append(pa.Check(lambda s, low=low: s >= low, name=rng[0]))
            else:
                checks.append(
                    pa.Check(lambda s, low=low, high=high: (s >= low) & (s <= high), name=rng[0])
                )
        if spec.categories is not None:
            checks.append(pa.Check.isin(list(spec.categories), name="allowed value"))
        columns[spec.name] = pa.Column(checks=checks, nullable=not spec.required, required=True)
    frame_checks = [pa.Check(_cross_check(rule), name=rule) for rule, _, _ in CROSS_COLUMN_RULES]
    return pa.DataFrameSchema(columns, checks=frame_checks, strict=False, name="case record")


def rule_messages() -> dict[str, str]:
    """Plain-language message for every rule name the schema can report."""
    messages = {"required": "a value is required", "allowed value": "is not an allowed value"}
    for spec in COLUMNS:
        rng = _range_rule(spec)
        if rng is not None:
            messages[rng[0]] = rng[1]
    for rule, _, description in CROSS_COLUMN_RULES:
        messages[rule] = f"breaks {description}"
    return messages


def schema_markdown() -> str:
    """The canonical case record as a Markdown table (the body of docs/case-records.md)."""
    lines = ["| column | type / rule | required |", "|---|---|---|"]
    for spec in COLUMNS:
        lines.append(f"| {spec.name} | {spec.rule} | {'yes' if spec.required else 'no'} |")
    lines.append("")
    lines.append("Consistency rules across columns (a row breaking one is set aside):")
    lines.append("")
    lines.extend(f"- {description}" for _, _, description in CROSS_COLUMN_RULES)
    return "\n".join(lines) + "\n"
