"""The import flow: cases → estimators → synthesis → protocols → report, pooling → cli.

Every import in src/techeval (also those inside functions) goes to the same layer or a
lower one; the shared modules at the bottom import only each other.
"""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "techeval"

#: layer of each top-level module or package of techeval (higher may import lower)
LAYERS = {
    "_version": 0,
    "errors": 0,
    "assumptions": 0,
    "_files": 0,
    "inference": 1,
    "results": 1,
    "economics": 2,
    "cases": 2,
    "estimators": 3,
    "effect": 4,
    "simulate": 4,
    "synthesis": 5,
    "protocols": 6,
    "report": 7,
    "pooling": 8,
    "cli": 9,
    "__init__": 9,  # the lazy package face
}


def _top(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if parts[0] == "techeval" and len(parts) > 1 else None


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "techeval":
                found += [(node.lineno, f"techeval.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


def test_every_module_has_a_layer():
    tops = {
        p.stem if p.is_file() else p.name
        for p in SRC.iterdir()
        if p.suffix == ".py" or (p / "__init__.py").is_file()
    }
    assert tops <= set(LAYERS), tops - set(LAYERS)


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_no_import_goes_up_the_flow(path):
    own = path.relative_to(SRC).parts[0].removesuffix(".py")
    upward = [
        f"line {line}: {name}"
        for line, name in _imports(path)
        if (top := _top(name)) is not None and top in LAYERS and LAYERS[top] > LAYERS[own]
    ]
    assert not upward, f"{path.relative_to(SRC)} imports up the flow: {upward}"
