"""The SQL path against a real PostgreSQL server (.ci/run starts one when it can)."""

import os
import uuid

import pytest

from techeval.cases import load_cases

URL = os.environ.get("TECHEVAL_TEST_POSTGRES_URL")

pytestmark = pytest.mark.postgres


@pytest.fixture
def engine():
    if not URL:
        pytest.skip(
            "no PostgreSQL server: set TECHEVAL_TEST_POSTGRES_URL (.ci/run does when it can start one)"
        )
    sqlalchemy = pytest.importorskip("sqlalchemy")
    pytest.importorskip("psycopg", reason="the psycopg driver is not installed")
    engine = sqlalchemy.create_engine(URL)
    try:
        with engine.connect():
            pass
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"PostgreSQL at {URL} cannot be reached: {exc}")
    yield engine
    engine.dispose()


def test_postgres_table_and_query(engine, valid_frame):
    table = f"cases_{uuid.uuid4().hex[:8]}"
    valid_frame.to_sql(table, engine, index=False)
    try:
        report = load_cases(f"{URL}?table={table}")
        assert report.ok and report.rows_used == 4
        assert report.cases["case_id"].iloc[0] == "007"
        query = load_cases(f"{URL}?query=SELECT * FROM {table} WHERE year >= '2017'")
        assert query.rows_used == 2
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP TABLE {table}")
