"""Application recorders that write the consent index rows in the transaction that inserts the events.

Selected through the library's ``APPLICATION_RECORDER_TOPIC``; ``Application.save(..., commit_rows=...)``
passes :class:`~services.consent.application.ports.CommitRows` down to ``_insert_events``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore

from services.consent.application.ports import CommitRows
from services.consent.persistence.tables import ConsentTables
from services.storekit.dialect import Dialect
from services.storekit.pg_recorder import GroupCommitPostgresRecorder


class PostgresConsentRecorder(GroupCommitPostgresRecorder):
    """Decisions and their log entries are committed in groups, so the log is not the bottleneck."""

    service = "consent"

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.index = ConsentTables(
            Dialect("postgres", datastore.schema), lambda: datastore.transaction(commit=True)
        )

    def create_table(self) -> None:
        super().create_table()
        self.index.migrate()

    def before_rows(self, curs: Any, rows: list[Any]) -> None:
        self.index.log.lock_heads(curs, {entry.tenant for r in rows for entry in r.log})

    def write_rows(self, curs: Any, rows: Any) -> None:
        self.index.write_commit_rows(curs, rows)

    # Index and log rows never conflict (upserts; numbers given under the sequencer's lock), so a
    # batch's rows go together: one sequencer update per tenant and one insert of all its entries.
    rows_may_fail = False

    def write_batch_rows(self, curs: Any, rows: list[Any]) -> None:
        self.index.write_commit_rows(curs, CommitRows.merged(rows))


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
