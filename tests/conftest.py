"""Fixtures for the whole test suite."""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _csv_cache_outside_home(tmp_path_factory):
    """Point the per-user cache of parsed CSV files at a temporary folder.

    The default run must never write copies of case files into the real
    ``~/.cache/techeval``. Session-scoped so that it is in place before any
    module-scoped fixture starts a ``techeval`` subprocess (which inherits it).
    """
    folder = tmp_path_factory.mktemp("csv-cache") / "techeval"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TECHEVAL_CACHE_DIR", str(folder))
        yield folder
