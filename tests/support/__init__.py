"""Test support: where the tests' databases come from (see docs/running.md, "How the tests find PostgreSQL").

Fixtures (defined in ``tests/conftest.py``): ``postgres_server`` and ``postgres_dsn`` (session),
``pg_schema``, ``sqlite_db`` and ``database`` (parametrized over sqlite and postgres).
"""

from typing import Protocol

from tests.support.postgres import PgDatabase, PgServer, PostgresUnavailable, postgres_url
from tests.support.sqlite import SqliteDatabase, sqlite_env


class Database(Protocol):
    """What the ``database`` fixture yields, whichever backend it is."""

    @property
    def kind(self) -> str: ...

    @property
    def url(self) -> str: ...

    def eventsourcing_env(self, prefix: str = "") -> dict[str, str]: ...


__all__ = [
    "Database",
    "PgDatabase",
    "PgServer",
    "PostgresUnavailable",
    "SqliteDatabase",
    "postgres_url",
    "sqlite_env",
]
