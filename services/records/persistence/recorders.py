"""Application recorders that also write our own rows in the transaction that inserts the events.

Selected through the library's ``APPLICATION_RECORDER_TOPIC``. ``Application.save(..., commit_rows=...)``
passes :class:`CommitRows` down to ``insert_events`` (the library's searchable-timestamps example uses the
same technique): on SQLite they are written after the events in the same transaction, on PostgreSQL by the
group committer (``services.storekit.pg_recorder``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore

from services.records.application.ports import IdempotencyClaimLost, IdentifierTaken
from services.records.persistence.migrations import migrate
from services.records.persistence.tables import RecordTables
from services.storekit.dialect import Dialect
from services.storekit.pg_recorder import GroupCommitPostgresRecorder


class PostgresRecordsRecorder(GroupCommitPostgresRecorder):
    service = "records"
    refusals = (IdentifierTaken, IdempotencyClaimLost)

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.tables = RecordTables(
            Dialect("postgres", datastore.schema), lambda: datastore.transaction(commit=True)
        )

    def create_table(self) -> None:
        super().create_table()
        migrate(self.tables.dialect, self.tables.transaction)

    def write_rows(self, curs: Any, rows: Any) -> None:
        self.tables.write_commit_rows(curs, rows)


class SQLiteRecordsRecorder(SQLiteApplicationRecorder):
    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name)
        self.tables = RecordTables(Dialect("sqlite"), lambda: datastore.transaction(commit=True))

    def create_table(self) -> None:
        super().create_table()
        migrate(self.tables.dialect, self.tables.transaction)

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids = super()._insert_events(c, stored_events, **kwargs)
        self.tables.write_commit_rows(c, kwargs.get("commit_rows"))
        return notification_ids
