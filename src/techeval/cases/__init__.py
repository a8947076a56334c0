"""The case record: schema, readers, validation and the set-aside ledger."""

from techeval.cases.readers import RawTable, read_table
from techeval.cases.schema import CANONICAL_COLUMNS, OFFENCES, TECHNIQUES
from techeval.cases.validate import (
    Problem,
    ValidationReport,
    load_cases,
    validate_frame,
    validate_table,
)

__all__ = [
    "CANONICAL_COLUMNS",
    "OFFENCES",
    "TECHNIQUES",
    "Problem",
    "RawTable",
    "ValidationReport",
    "load_cases",
    "read_table",
    "validate_frame",
    "validate_table",
]
