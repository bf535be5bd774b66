"""Versioned migrations for the records service's own tables (everything that is not an event).

Each migration is applied once, in order, in its own transaction, and recorded in
``records_schema_migrations``. On PostgreSQL an advisory lock keeps two starting processes from
racing; on SQLite the writer lock does the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.records.persistence.dialect import POSTGRES_TYPES, SQLITE_TYPES, Dialect


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "client keys, as_of index, idempotency keys, client identifiers, episodes by client",
        (
            "CREATE TABLE {t}records_client_keys ("
            " client_id {uuid} PRIMARY KEY, tenant text NOT NULL, wrapped_key {bytes},"
            " created_at {time} NOT NULL, destroyed_at {time})",
            "CREATE TABLE {t}records_as_of ("
            " originator_id {uuid} NOT NULL, version {bigint} NOT NULL, recorded_at {time} NOT NULL,"
            " PRIMARY KEY (originator_id, version))",
            "CREATE INDEX records_as_of_time ON {t}records_as_of (originator_id, recorded_at)",
            "CREATE TABLE {t}records_idempotency ("
            " tenant text NOT NULL, actor text NOT NULL, method text NOT NULL, path text NOT NULL,"
            " key text NOT NULL, request_hash text NOT NULL, claim_token text NOT NULL,"
            " state text NOT NULL, claimed_at {time} NOT NULL, response_status integer,"
            " response_headers text, response_body {bytes},"
            " PRIMARY KEY (tenant, actor, method, path, key))",
            "CREATE TABLE {t}records_client_identifiers ("
            " tenant text NOT NULL, digest {bytes} NOT NULL, client_id {uuid} NOT NULL,"
            " PRIMARY KEY (tenant, digest))",
            "CREATE TABLE {t}records_client_episodes ("
            " tenant text NOT NULL, client_id {uuid} NOT NULL, episode_id {uuid} NOT NULL,"
            " PRIMARY KEY (tenant, client_id, episode_id))",
        ),
    ),
    Migration(
        2,
        "kept idempotent responses name their client (sealed with its key); expiry by claim time",
        (
            "ALTER TABLE {t}records_idempotency ADD COLUMN client_id {uuid}",
            "CREATE INDEX records_idempotency_claimed ON {t}records_idempotency (claimed_at)",
        ),
    ),
)

Transaction = Callable[[], AbstractContextManager[Any]]


def migrate(dialect: Dialect, transaction: Transaction) -> list[int]:
    """Apply the migrations not yet applied; return the versions applied now."""
    types = POSTGRES_TYPES if dialect.name == "postgres" else SQLITE_TYPES
    with transaction() as curs:
        _lock(dialect, curs)  # concurrent CREATE TABLE IF NOT EXISTS races on PostgreSQL's catalog
        curs.execute(
            dialect.sql(
                "CREATE TABLE IF NOT EXISTS {t}records_schema_migrations"
                " (version integer PRIMARY KEY, name text NOT NULL, applied_at text NOT NULL)"
            )
        )
    applied: list[int] = []
    for migration in MIGRATIONS:
        with transaction() as curs:
            _lock(dialect, curs)
            curs.execute(
                dialect.sql("SELECT version FROM {t}records_schema_migrations WHERE version = %s"),
                (migration.version,),
            )
            if curs.fetchone() is not None:
                continue
            for statement in _statements(migration, dialect, types):
                curs.execute(statement)
            curs.execute(
                dialect.sql("INSERT INTO {t}records_schema_migrations VALUES (%s, %s, %s)"),
                (migration.version, migration.name, datetime.now(UTC).isoformat()),
            )
            applied.append(migration.version)
    return applied


def _statements(migration: Migration, dialect: Dialect, types: dict[str, str]) -> Iterator[str]:
    prefix = f'"{dialect.schema}".' if dialect.schema else ""
    for statement in migration.statements:
        yield statement.format(t=prefix, **types)


def _lock(dialect: Dialect, curs: Any) -> None:
    if dialect.name == "postgres":
        curs.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{dialect.schema}/records-migrations",))
