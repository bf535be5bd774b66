"""Application recorders that also write our own rows in the transaction that inserts the events.

Selected through the library's ``APPLICATION_RECORDER_TOPIC``. ``Application.save(..., commit_rows=...)``
passes :class:`CommitRows` down to ``_insert_events``; the library's searchable-timestamps example uses
the same technique.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore

from services.records.persistence.dialect import Dialect
from services.records.persistence.migrations import migrate
from services.records.persistence.tables import RecordTables


class PostgresRecordsRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.tables = RecordTables(
            Dialect("postgres", datastore.schema), lambda: datastore.transaction(commit=True)
        )

    def create_table(self) -> None:
        super().create_table()
        migrate(self.tables.dialect, self.tables.transaction)

    def _insert_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        # Runs in the events' transaction, before their INSERT (and before the table lock).
        self.tables.write_commit_rows(curs, kwargs.get("commit_rows"))


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
