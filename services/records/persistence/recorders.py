"""Application recorders that also write our own rows in the transaction that inserts the events.

Selected through the library's ``APPLICATION_RECORDER_TOPIC``. ``Application.save(..., commit_rows=...)``
passes :class:`CommitRows` down to ``_insert_events``; the library's searchable-timestamps example uses
the same technique.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore
from eventsourcing.utils import retry

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

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """The library's insert, without psycopg's pipeline mode.

        In a pipeline, a conflict on one of our rows (two writers racing for the same version) can reach
        the client before the library's sync, which then commits an aborted pipeline: the conflict
        surfaces as ``PipelineAborted`` (an OperationalError) instead of an IntegrityError that the
        application retries. Statement by statement, every conflict is an IntegrityError where it occurs.
        """
        with self.datastore.transaction(commit=True) as curs:
            self.tables.write_commit_rows(curs, kwargs.get("commit_rows"))
            if not stored_events:
                return []
            self._insert_stored_events(curs, stored_events, **kwargs)
            return self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)


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
