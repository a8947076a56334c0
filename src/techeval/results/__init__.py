"""Results: the frozen result row, the long results table, canonical JSON and the
disclosure gate.

Modules: :mod:`~techeval.results.row` (:class:`EffectResult`),
:mod:`~techeval.results.table` (:data:`RESULT_COLUMNS`, :data:`ROW_KEY`,
:func:`results_frame`), :mod:`~techeval.results.canonical` (:func:`canonical_json`,
:func:`canonical_value`) and :mod:`~techeval.results.disclosure` (statistical
disclosure control). This package sits at the bottom of the import flow: it imports
nothing from techeval but :mod:`techeval.errors`.
"""

from techeval.results.canonical import CANONICAL_DIGITS, canonical_json, canonical_value
from techeval.results.row import EffectResult
from techeval.results.table import RESULT_COLUMNS, ROW_KEY, results_frame, row_adjusted, row_key

__all__ = [
    "CANONICAL_DIGITS",
    "RESULT_COLUMNS",
    "ROW_KEY",
    "EffectResult",
    "canonical_json",
    "canonical_value",
    "results_frame",
    "row_adjusted",
    "row_key",
]
