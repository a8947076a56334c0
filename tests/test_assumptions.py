"""techeval.assumptions: plain values at the bottom of the package, read under the documented names."""

import ast
from pathlib import Path

from techeval import assumptions, economics
from techeval.estimators import harm


def test_assumptions_import_nothing_from_techeval():
    tree = ast.parse(Path(assumptions.__file__).read_text(encoding="utf-8"))
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    ]
    assert not [name for name in imported if name and name.split(".")[0] == "techeval"]


def test_the_documented_names_are_the_assumed_values():
    # protocols/README.md and the shipped protocols name these paths
    assert harm.DEFAULT_HARM_UNIT_COSTS is assumptions.DEFAULT_HARM_UNIT_COSTS
    assert harm.DEFAULT_HARM_WEIGHTS is assumptions.DEFAULT_HARM_WEIGHTS
    assert economics.DEFAULT_MONETARY_VALUES.to_dict() == {
        **assumptions.DEFAULT_MONETARY_VALUE_SPECS,
        "currency": assumptions.DEFAULT_CURRENCY,
    }
