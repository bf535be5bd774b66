"""Versioned migrations of a service's own tables (everything that is not an event).

Each migration is applied once, in order, in its own transaction, and recorded in the service's ledger
table. On PostgreSQL an advisory lock keeps two starting processes from racing; on SQLite the writer lock
does the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.storekit.dialect import POSTGRES_TYPES, SQLITE_TYPES, Dialect


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]
    # Statements for one database only (triggers, functions), after the common ones.
    postgres: tuple[str, ...] = ()
    sqlite: tuple[str, ...] = ()


Transaction = Callable[[], AbstractContextManager[Any]]


def apply_migrations(
    dialect: Dialect, transaction: Transaction, migrations: tuple[Migration, ...], *, ledger: str
) -> list[int]:
    """Apply the migrations not yet applied, recorded in the table ``ledger``; return those applied now."""
    types = POSTGRES_TYPES if dialect.name == "postgres" else SQLITE_TYPES
    with transaction() as curs:
        _lock(dialect, curs, ledger)  # concurrent CREATE TABLE IF NOT EXISTS races on PostgreSQL's catalog
        curs.execute(
            dialect.sql(
                f"CREATE TABLE IF NOT EXISTS {{t}}{ledger}"
                " (version integer PRIMARY KEY, name text NOT NULL, applied_at text NOT NULL)"
            )
        )
    applied: list[int] = []
    for migration in migrations:
        with transaction() as curs:
            _lock(dialect, curs, ledger)
            curs.execute(
                dialect.sql(f"SELECT version FROM {{t}}{ledger} WHERE version = %s"),
                (migration.version,),
            )
            if curs.fetchone() is not None:
                continue
            for statement in _statements(migration, dialect, types):
                curs.execute(statement)
            curs.execute(
                dialect.sql(f"INSERT INTO {{t}}{ledger} VALUES (%s, %s, %s)"),
                (migration.version, migration.name, datetime.now(UTC).isoformat()),
            )
            applied.append(migration.version)
    return applied


def _statements(migration: Migration, dialect: Dialect, types: dict[str, str]) -> Iterator[str]:
    prefix = f'"{dialect.schema}".' if dialect.schema else ""
    own = migration.postgres if dialect.name == "postgres" else migration.sqlite
    for statement in (*migration.statements, *own):
        yield statement.format(t=prefix, **types)


def _lock(dialect: Dialect, curs: Any, ledger: str) -> None:
    if dialect.name == "postgres":
        curs.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{dialect.schema}/{ledger}",))
