"""Helpers for the integration suites: the records application on a real database, and raw SQL on it.

``records_app`` builds the application the way the service does (``build_records``) and closes it;
``RawDatabase`` reads (and, for the tampering tests, writes) the rows underneath it, bypassing the
application, on either backend. Ids are random, so tests never depend on one another.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

from services.records.application.access import Actor
from services.records.application.app import RecordsApplication
from services.records.application.commands import Command, Written
from services.records.application.core import Clock, utc_now
from services.records.application.errors import AlreadyExists
from services.records.bootstrap import build_records
from services.records.domain.client import HumanName, Identifier
from services.records.settings import RecordsSettings
from tests.support import Database, PgDatabase, SqliteDatabase
from tests.support.policy_gate import PolicyGate

TENANT = "practice-a"
OTHER_TENANT = "practice-b"
MRN = "urn:test:mrn"
OCCURRED = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)

ADMIN = Actor("admin-1", TENANT, frozenset({"admin"}), None, "HOPERAT")
ADA = Actor("dr-ada", TENANT, frozenset({"clinician"}), None, "TREAT")


def clinician(sub: str, tenant: str = TENANT) -> Actor:
    return Actor(sub, tenant, frozenset({"clinician"}), None, "TREAT")


def command(actor: Actor, **kwargs: Any) -> Command:
    return Command(actor, f"req-{uuid4().hex[:12]}", **kwargs)


@contextmanager
def records_app(settings: RecordsSettings, *, clock: Clock = utc_now) -> Iterator[RecordsApplication]:
    """The application as the service builds it, closed (with its pool) afterwards."""
    app = build_records(settings, gate=PolicyGate(), clock=clock)
    try:
        yield app
    finally:
        app.close()


# --- seeding through the use cases ---------------------------------------------------------------------
def register_practitioner(app: RecordsApplication, sub: str = ADA.sub, tenant: str = TENANT) -> None:
    """Put ``sub`` in the tenant's directory (as its admin); already there is fine."""
    admin = Actor(ADMIN.sub, tenant, ADMIN.roles, None, ADMIN.purpose_of_use)
    with suppress(AlreadyExists):
        app.register_practitioner(command(admin), sub, f"Dr {sub}", ["clinician"], None, False)


def register_client(
    app: RecordsApplication,
    actor: Actor = ADA,
    *,
    family: str = "Doe",
    identifier: str | None = None,
    **cmd: Any,
) -> Written:
    return app.register_client(
        command(actor, **cmd),
        [Identifier(system=MRN, value=identifier or uuid4().hex)],
        HumanName(family=family, given=["Alex"]),
        date(1990, 4, 1),
        "Europe/Berlin",
    )


def open_episode(app: RecordsApplication, client_id: UUID, actor: Actor = ADA) -> UUID:
    written = app.open_episode(command(actor), client_id, actor.sub, [], "low mood", ["sleep"], OCCURRED, [])
    return UUID(str(written.aggregate_id))


def practice(app: RecordsApplication, actor: Actor = ADA) -> tuple[UUID, UUID]:
    """A clinician in the directory, a client of theirs and an open episode: (client_id, episode_id)."""
    register_practitioner(app, actor.sub, actor.tenant)
    client_id = UUID(str(register_client(app, actor).aggregate_id))
    return client_id, open_episode(app, client_id, actor)


def hold_session(app: RecordsApplication, episode_id: UUID, actor: Actor = ADA, **cmd: Any) -> Written:
    return app.hold_session(command(actor, **cmd), episode_id, OCCURRED, 50, "in_person", [actor.sub], [])


def state_of(aggregate: Any) -> dict[str, Any]:
    """An aggregate's whole state, without the events it has not saved (those are not state)."""
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


# --- raw SQL underneath the application ----------------------------------------------------------------
class RawDatabase:
    """Plain SQL on the test's database. Statements use ``%s``; ``{t}`` is the schema prefix (PostgreSQL)."""

    def __init__(self, database: Database, app: RecordsApplication) -> None:
        self.database = database
        self.kind = database.kind
        # As the library names them (``<app name>_events`` on PostgreSQL, ``stored_events`` on SQLite).
        self.events_table: str = app.recorder.events_table_name  # type: ignore[attr-defined]
        snapshots = app.snapshots
        assert snapshots is not None, "the records application keeps snapshots"
        self.snapshots_table: str = snapshots.recorder.events_table_name  # type: ignore[attr-defined]

    def uuid(self, value: UUID) -> Any:
        """A UUID as the rows hold it: ``uuid`` on PostgreSQL, hex text on SQLite."""
        return value if self.kind == "postgres" else value.hex

    def time_param(self, value: datetime) -> Any:
        """A time as the records tables hold it (SQLite: fixed-width UTC ISO text)."""
        if self.kind == "postgres":
            return value
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def time(self, value: Any) -> datetime:
        """A stored time as an aware datetime (SQLite keeps fixed-width UTC ISO text)."""
        if isinstance(value, datetime):
            return value
        return datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._run(statement, params, fetch=True)

    def scalar(self, statement: str, params: Sequence[Any] = ()) -> Any:
        found = self.rows(statement, params)
        assert len(found) == 1 and len(found[0]) == 1, found
        return found[0][0]

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        self._run(statement, params, fetch=False)

    def tables(self) -> list[str]:
        if isinstance(self.database, PgDatabase):
            found = self.rows(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (self.database.schema,),
            )
        else:
            found = self.rows("SELECT name FROM sqlite_master WHERE type = 'table'")
        return sorted(str(row[0]) for row in found)

    def indexes(self) -> list[str]:
        if isinstance(self.database, PgDatabase):
            found = self.rows(
                "SELECT indexname FROM pg_indexes WHERE schemaname = %s", (self.database.schema,)
            )
        else:
            found = self.rows("SELECT name FROM sqlite_master WHERE type = 'index'")
        return sorted(str(row[0]) for row in found)

    def _run(self, statement: str, params: Sequence[Any], *, fetch: bool) -> list[tuple[Any, ...]]:
        if isinstance(self.database, PgDatabase):
            statement = statement.replace("{t}", f'"{self.database.schema}".')
            with self.database.connect(autocommit=True) as conn:
                cursor = conn.execute(statement, tuple(params))
                return [tuple(row) for row in cursor.fetchall()] if fetch else []
        assert isinstance(self.database, SqliteDatabase)
        statement = statement.replace("{t}", "").replace("%s", "?")
        with closing(sqlite3.connect(self.database.path, timeout=10)) as lite, lite:
            found = lite.execute(statement, tuple(params))
            return [tuple(row) for row in found.fetchall()] if fetch else []
