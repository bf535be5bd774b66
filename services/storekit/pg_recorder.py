"""A PostgreSQL application recorder whose saves are group-committed with the service's own rows.

Each save's rows are written under a savepoint (so a lost race, or a refusal such as a taken identifier,
fails that save alone), then the events of every accepted save are inserted under one table lock, and the
batch commits once. Subclasses write their rows in :meth:`write_rows` and may lock what a whole batch
needs, in a fixed order, in :meth:`before_rows` (so two processes never deadlock).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import psycopg
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry

from services.storekit.group_commit import GroupCommitter, PendingWrite


class GroupCommitPostgresRecorder(PostgresApplicationRecorder):
    service: ClassVar[str] = "service"
    # Exceptions write_rows raises to refuse one save (they reach that save's caller as they are).
    refusals: ClassVar[tuple[type[Exception], ...]] = ()
    # Whether one save's rows can fail (a lost race, a refusal) while the others' succeed. When they
    # cannot, a batch's rows are written together, without a savepoint per save: write_batch_rows.
    rows_may_fail: ClassVar[bool] = True

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.committer = GroupCommitter(self._write_batch, lambda: datastore.pool.closed, self.service)

    def write_rows(self, curs: Any, rows: Any) -> None:
        """Write one save's rows (``commit_rows`` of ``Application.save``) in the batch's transaction."""

    def before_rows(self, curs: Any, rows: list[Any]) -> None:
        """Lock, in a fixed order, what the batch's rows will need (called once per batch)."""

    def write_batch_rows(self, curs: Any, rows: list[Any]) -> None:
        """Write the rows of every save of a batch (used when ``rows_may_fail`` is False)."""
        for one in rows:
            self.write_rows(curs, one)

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

        The rows come first and outside the table lock, so a lost race fails as that save's own
        IntegrityError; the events table is then locked for two round trips per batch (lock, notify and
        insert pipelined; the commit), however large the batch.
        """
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            rows = [write.rows for write in batch if write.rows is not None]
            self.before_rows(curs, rows)
            if self.rows_may_fail:
                accepted = [write for write in batch if self._write_rows(conn, curs, write)]
            else:
                self.write_batch_rows(curs, rows)
                accepted = batch
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
                self.write_rows(curs, write.rows)
        except psycopg.IntegrityError as conflict:
            write.error = IntegrityError(type(conflict).__name__)
            return False
        except self.refusals as refused:
            write.error = refused
            return False
        return True
