"""Application recorders that also write our own rows in the transaction that inserts the events.

Selected through the library's ``APPLICATION_RECORDER_TOPIC``. ``Application.save(..., commit_rows=...)``
passes :class:`CommitRows` down to ``insert_events`` (the library's searchable-timestamps example uses the
same technique): on SQLite they are written after the events in the same transaction, on PostgreSQL by the
group committer (``group_commit``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore
from eventsourcing.utils import retry

from services.records.application.ports import IdempotencyClaimLost, IdentifierTaken
from services.records.persistence.group_commit import GroupCommitter, PendingWrite
from services.records.persistence.migrations import migrate
from services.records.persistence.tables import RecordTables
from services.storekit.dialect import Dialect


class PostgresRecordsRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.tables = RecordTables(
            Dialect("postgres", datastore.schema), lambda: datastore.transaction(commit=True)
        )
        self.committer = GroupCommitter(self._write_batch, lambda: datastore.pool.closed)

    def create_table(self) -> None:
        super().create_table()
        migrate(self.tables.dialect, self.tables.transaction)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """Written by the group committer, together with the saves of concurrent requests."""
        return self.committer.submit(stored_events, kwargs.get("commit_rows"))

    def _write_batch(self, batch: list[PendingWrite]) -> None:
        try:
            self._write_together(batch)
        except IntegrityError:
            if len(batch) == 1:
                raise
            # An event conflicted that no row of ours caught: give each save its own transaction and
            # so its own outcome, rather than failing the saves that shared the batch.
            for write in batch:
                write.error, write.notification_ids = None, []
                try:
                    self._write_together([write])
                except IntegrityError as conflict:
                    write.error = conflict

    def _write_together(self, batch: list[PendingWrite]) -> None:
        """One transaction: each save's rows under a savepoint, then all their events under one lock.

        Our rows come first and outside the table lock, so a lost race (the as_of row of a version
        already taken) fails as that save's own IntegrityError; the events table is then locked for two
        round trips per batch (lock, notify and insert pipelined; the commit), however large the batch.
        """
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            accepted = [write for write in batch if self._write_rows(conn, curs, write)]
            events = [event for write in accepted for event in write.stored_events]
            if not events:
                return
            with conn.pipeline() as pipeline, conn.cursor() as insert:
                self._lock_table(curs)
                self._notify_channel(curs)
                PostgresAggregateRecorder._insert_stored_events(self, insert, events)
                pipeline.sync()
                ids = list(self._fetch_ids_after_insert_events(insert, events) or [])
            for write in accepted:
                write.notification_ids, ids = ids[: len(write.stored_events)], ids[len(write.stored_events) :]

    def _write_rows(self, conn: Any, curs: Any, write: PendingWrite) -> bool:
        try:
            with conn.transaction():  # a savepoint
                self.tables.write_commit_rows(curs, write.rows)
        except psycopg.IntegrityError as conflict:
            write.error = IntegrityError(type(conflict).__name__)
            return False
        except (IdentifierTaken, IdempotencyClaimLost) as refused:
            write.error = refused
            return False
        return True


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
