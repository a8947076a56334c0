"""The case record: schema, readers, validation, the set-aside ledger and comparison cases."""

from techeval.cases.comparison import comparison_frame, read_data
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
    "comparison_frame",
    "load_cases",
    "read_data",
    "read_table",
    "validate_frame",
    "validate_table",
]
