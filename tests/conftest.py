"""Fixtures every test tier shares: a real PostgreSQL (one schema per test) and SQLite files.

``postgres_server`` / ``postgres_dsn`` (session, one server per xdist worker at most), ``pg_schema`` (a fresh
schema, dropped after the test), ``sqlite_db`` (a fresh file) and ``database`` (runs a test once per backend).
A test that needs PostgreSQL is marked ``postgres`` automatically; when no server can be found it fails, it is
never skipped. Nothing here changes ``os.environ``: pass ``eventsourcing_env()`` to ``Application(env=...)``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.support import Database, PgDatabase, PgServer, PostgresUnavailable, SqliteDatabase
from tests.support.postgres import provide_postgres, temporary_schema

_POSTGRES_FIXTURES = frozenset({"postgres_server", "postgres_dsn", "pg_schema"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _POSTGRES_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgServer]:
    with ExitStack() as stack:
        try:
            server = stack.enter_context(provide_postgres(tmp_path_factory.mktemp("postgres"), os.environ))
        except PostgresUnavailable as exc:
            pytest.fail(str(exc), pytrace=False)
        yield server


@pytest.fixture(scope="session")
def postgres_dsn(postgres_server: PgServer) -> str:
    return postgres_server.dsn


@pytest.fixture
def pg_schema(postgres_server: PgServer) -> Iterator[PgDatabase]:
    with temporary_schema(postgres_server) as database:
        yield database


@pytest.fixture
def sqlite_db(tmp_path: Path) -> SqliteDatabase:
    return SqliteDatabase(tmp_path / "touchstone.sqlite")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> Database:
    """The same suite once on SQLite and once on PostgreSQL (``test_x[sqlite]``, ``test_x[postgres]``)."""
    fixture = "sqlite_db" if request.param == "sqlite" else "pg_schema"
    database: Database = request.getfixturevalue(fixture)
    return database
