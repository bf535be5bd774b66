"""Application recorders that write the consent index rows in the transaction that inserts the events.

Selected through the library's ``APPLICATION_RECORDER_TOPIC``; ``Application.save(..., commit_rows=...)``
passes :class:`~services.consent.application.ports.CommitRows` down to ``_insert_events``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore

from services.consent.persistence.tables import ConsentTables
from services.storekit.dialect import Dialect


class PostgresConsentRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.index = ConsentTables(
            Dialect("postgres", datastore.schema), lambda: datastore.transaction(commit=True)
        )

    def create_table(self) -> None:
        super().create_table()
        self.index.migrate()

    def _insert_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        self.index.write_commit_rows(curs, kwargs.get("commit_rows"))


class SQLiteConsentRecorder(SQLiteApplicationRecorder):
    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name)
        self.index = ConsentTables(Dialect("sqlite"), lambda: datastore.transaction(commit=True))

    def create_table(self) -> None:
        super().create_table()
        self.index.migrate()

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids = super()._insert_events(c, stored_events, **kwargs)
        self.index.write_commit_rows(c, kwargs.get("commit_rows"))
        return notification_ids
