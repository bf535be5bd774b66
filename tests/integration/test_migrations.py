"""Versioned migrations of the records service's own tables, on SQLite and PostgreSQL.

DESIGN.md, "Storage and events": tables that are not events have versioned migrations. Each migration is
applied once and recorded with its version; starting again (or a second process) applies nothing.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest

from services.records.application.app import RecordsApplication
from services.records.application.commands import IdempotentWrite, Written
from services.records.application.ports import IdempotencyScope, StoredResponse
from services.records.bootstrap import build_records
from services.records.persistence.migrations import MIGRATIONS, migrate
from services.storekit.dialect import POSTGRES_TYPES, SQLITE_TYPES, Dialect
from tests.support import Database, PgDatabase, PgServer, SqliteDatabase
from tests.support.integration_records import (
    ADA,
    TENANT,
    RawDatabase,
    hold_session,
    practice,
    records_app,
    register_practitioner,
)
from tests.support.policy_gate import PolicyGate
from tests.support.postgres import temporary_schema
from tests.support.records import records_settings

OWN_TABLES = {
    "records_schema_migrations",
    "records_client_keys",
    "records_as_of",
    "records_idempotency",
    "records_client_identifiers",
    "records_client_episodes",
}


def recorded_migrations(raw: RawDatabase) -> list[tuple[Any, ...]]:
    return raw.rows("SELECT version, name, applied_at FROM {t}records_schema_migrations ORDER BY version")


def test_migrations_create_the_tables_and_record_each_version(database: Database, tmp_path: Path) -> None:
    with records_app(records_settings(database, tmp_path)) as app:
        raw = RawDatabase(database, app)
        assert set(raw.tables()) >= OWN_TABLES
        assert "records_as_of_time" in raw.indexes()
        recorded = recorded_migrations(raw)
        assert [(version, name) for version, name, _ in recorded] == [(m.version, m.name) for m in MIGRATIONS]
        assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
        for _, _, applied_at in recorded:
            assert datetime.fromisoformat(applied_at).tzinfo is not None
        for table in OWN_TABLES - {"records_schema_migrations"}:
            assert raw.scalar(f"SELECT count(*) FROM {{t}}{table}") == 0, table


def test_migrating_again_applies_nothing_and_keeps_every_row(database: Database, tmp_path: Path) -> None:
    with records_app(records_settings(database, tmp_path)) as app:
        client_id, episode_id = practice(app)
        raw = RawDatabase(database, app)
        before = recorded_migrations(raw)
        counts = {table: raw.scalar(f"SELECT count(*) FROM {{t}}{table}") for table in OWN_TABLES}

        tables = app.recorder.tables  # type: ignore[attr-defined]
        assert migrate(tables.dialect, tables.transaction) == []
        assert migrate(tables.dialect, tables.transaction) == []

        assert recorded_migrations(raw) == before
        assert {table: raw.scalar(f"SELECT count(*) FROM {{t}}{table}") for table in OWN_TABLES} == counts
        assert counts["records_client_keys"] == counts["records_client_identifiers"] == 1
        assert app.get_episode(ADA, episode_id).episode.client_id == client_id


def test_a_second_app_on_the_same_database_starts_and_shares_the_tables(
    database: Database, tmp_path: Path
) -> None:
    settings = records_settings(database, tmp_path)  # one master key for both, as two replicas share it
    with records_app(settings) as first:
        raw = RawDatabase(database, first)
        before = recorded_migrations(raw)
        client_id, episode_id = practice(first)
        with records_app(settings) as second:
            assert recorded_migrations(raw) == before
            assert second.get_client(ADA, client_id).id == client_id
            register_practitioner(second, "dr-bo")
            assert first.get_practitioner(ADA, "dr-bo").sub == "dr-bo"
    with records_app(settings) as third:  # and again, after both stopped
        assert recorded_migrations(RawDatabase(database, third)) == before
        assert third.get_episode(ADA, episode_id).episode.version == 1


def test_event_tables_have_the_pinned_application_name(pg_schema: PgDatabase, tmp_path: Path) -> None:
    # EVENTSOURCING.md: pin ``name``, it names the tables; README: ``records_events``, ``records_snapshots``.
    # A name derived from the class would move every stored event to a new, empty table on a rename.
    with records_app(records_settings(pg_schema, tmp_path)) as app:
        tables = set(RawDatabase(pg_schema, app).tables())
        name = type(app).name
    assert {"records_events", "records_snapshots"} <= tables, sorted(tables - OWN_TABLES)
    assert name == "records"


@contextmanager
def _transaction(database: PgDatabase) -> Iterator[Any]:
    with database.connect() as conn, conn.transaction(), conn.cursor() as curs:
        yield curs


def _at_once(starts: int, start: Callable[[], object]) -> list[object]:
    """``start()`` on that many threads released at the same instant: what each returned or raised."""
    barrier = threading.Barrier(starts, timeout=30)
    outcomes: list[object] = []

    def run() -> None:
        barrier.wait()
        try:
            outcomes.append(start())
        except Exception as error:  # reported by the caller
            outcomes.append(error)

    threads = [threading.Thread(target=run) for _ in range(starts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_processes_migrating_at_once_apply_each_version_exactly_once(postgres_server: PgServer) -> None:
    # migrations.py: "On PostgreSQL an advisory lock keeps two starting processes from racing" (replicas
    # of the service start together after a deploy). A few rounds, each on a fresh schema: a race is a race.
    processes = 4
    for _ in range(5):
        with temporary_schema(postgres_server) as database:
            dialect = Dialect("postgres", database.schema)
            outcomes = _at_once(processes, partial(migrate, dialect, partial(_transaction, database)))
            errors = [o for o in outcomes if isinstance(o, Exception)]
            assert errors == [], f"{len(errors)} of {processes} starts failed: {errors[0]!r}"
            # Every version applied by exactly one of them (not necessarily all by the same one).
            applied = [version for o in outcomes if isinstance(o, list) for version in o]
            assert len(outcomes) == processes
            assert sorted(applied) == [m.version for m in MIGRATIONS]
            with database.connect() as conn:
                recorded = conn.execute("SELECT count(*) FROM records_schema_migrations").fetchone()
            assert recorded == (len(MIGRATIONS),)


def test_replicas_starting_at_once_on_an_empty_database_all_start(
    postgres_server: PgServer, tmp_path: Path
) -> None:
    # After a deploy, replicas start together; each one's recorder creates the event tables and migrates.
    replicas = 3
    for round_ in range(3):
        with temporary_schema(postgres_server) as database:
            settings = records_settings(database, tmp_path / str(round_))
            started = _at_once(replicas, partial(build_records, settings, gate=PolicyGate()))
            for app in started:
                if isinstance(app, RecordsApplication):
                    app.close()
            errors = [o for o in started if isinstance(o, Exception)]
            assert errors == [], f"{len(errors)} of {replicas} replicas failed to start: {errors[0]!r}"
            assert len(started) == replicas


# Migration 1 exactly as the first build (44af3e1) applied it. An applied migration is history: a database
# that ran it must reach the current schema through later versions, never by editing this one.
FIRST_BUILD_MIGRATION_1 = (
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
)


def _as_the_first_build_left_it(database: Database) -> None:
    """The records tables and migration record of a database the first build had started on."""
    types = POSTGRES_TYPES if database.kind == "postgres" else SQLITE_TYPES
    prefix = f'"{database.schema}".' if isinstance(database, PgDatabase) else ""
    statements = [
        "CREATE TABLE {t}records_schema_migrations"
        " (version integer PRIMARY KEY, name text NOT NULL, applied_at text NOT NULL)",
        *FIRST_BUILD_MIGRATION_1,
    ]
    if isinstance(database, PgDatabase):
        with psycopg.connect(database.dsn, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement.format(t=prefix, **types).encode())
            conn.execute(
                f"INSERT INTO {prefix}records_schema_migrations VALUES (1, %s, %s)".encode(),
                (MIGRATIONS[0].name, "2026-11-01T00:00:00+00:00"),
            )
        return
    assert isinstance(database, SqliteDatabase)
    with closing(sqlite3.connect(database.path)) as lite, lite:
        for statement in statements:
            lite.execute(statement.format(t="", **types))
        lite.execute(
            "INSERT INTO records_schema_migrations VALUES (1, ?, ?)", (MIGRATIONS[0].name, "2026-11-01")
        )


def test_a_database_the_first_build_migrated_is_brought_up_to_date(
    database: Database, tmp_path: Path
) -> None:
    _as_the_first_build_left_it(database)
    with records_app(records_settings(database, tmp_path)) as app:
        client_id, episode_id = practice(app)
        where = IdempotencyScope(TENANT, ADA.sub, "POST", f"/v1/episodes/{episode_id}/sessions", "key-1")
        assert app.index.claim_idempotency(where, "hash", "token", 60) is None

        def respond(written: Written) -> StoredResponse:
            return StoredResponse(201, {}, str(written.version).encode())

        hold_session(app, episode_id, idempotency=IdempotentWrite(where, "token", render=respond))

        found = app.index.claim_idempotency(where, "hash", "token-2", 60)
        assert found is not None and found.completed is not None
        assert app.replay(where, found).body == b"2"
        assert app.get_client(ADA, client_id).id == client_id


def test_client_identifiers_are_unique_per_tenant_by_schema(database: Database, tmp_path: Path) -> None:
    # The migration's primary key, not only the application, keeps an identifier to one client per tenant.
    with records_app(records_settings(database, tmp_path)) as app:
        raw = RawDatabase(database, app)
        first, second = UUID(int=1), UUID(int=2)
        insert = "INSERT INTO {t}records_client_identifiers VALUES (%s, %s, %s)"
        raw.execute(insert, ("t1", b"digest", raw.uuid(first)))
        raw.execute(insert, ("t2", b"digest", raw.uuid(second)))
        with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
            raw.execute(insert, ("t1", b"digest", raw.uuid(second)))
        assert raw.scalar("SELECT count(*) FROM {t}records_client_identifiers") == 2
