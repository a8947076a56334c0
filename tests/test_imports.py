"""Every module imports under ``python -OO`` (docstrings stripped) and without cycles."""

import subprocess
import sys

CODE = """
import importlib, pkgutil, techeval
names = [m.name for m in pkgutil.walk_packages(techeval.__path__, "techeval.")]
for name in names:
    importlib.import_module(name)
print(len(names))
"""


def test_every_module_imports_under_python_oo():
    """Nothing may build on a docstring at import (``__doc__`` is ``None`` under -OO)."""
    done = subprocess.run(
        [sys.executable, "-OO", "-c", CODE], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) > 60  # the walk found the packages
