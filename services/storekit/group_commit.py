"""Group commit: the saves of concurrent requests written in one transaction, by one thread.

Every insert into the events table takes the library's table lock (it keeps notification ids in commit
order for the followers that will read them). With one transaction per request, the requests queue on
that lock, one commit each. Here a writer thread takes whatever saves are waiting, writes each one's
rows under a savepoint (so one lost race fails alone), then inserts all their events under one lock and
commits once. A request waits for its own outcome, exactly as if it had written alone.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import OperationalError, StoredEvent

MAX_BATCH = 64
IDLE_SECONDS = 1.0
WAIT_SECONDS = 60.0  # far beyond any batch: only a writer lost at shutdown gets here


class ClosedError(OperationalError):
    """The database was closed (the service is shutting down) before the save could be written."""


class SaveOutcomeUnknown(RuntimeError):
    """Never retried: the save may have committed, and a retry could record it twice."""


@dataclass
class PendingWrite:
    stored_events: Sequence[StoredEvent]
    rows: Any  # the service's own rows, written in the same transaction
    notification_ids: list[int] = field(default_factory=list)
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


WriteBatch = Callable[[list[PendingWrite]], None]


class GroupCommitter:
    """``write_batch`` sets each write's ``notification_ids`` or ``error``; anything it raises fails
    every write of the batch that has no error of its own."""

    def __init__(self, write_batch: WriteBatch, is_closed: Callable[[], bool], name: str) -> None:
        self._write_batch = write_batch
        self._is_closed = is_closed
        self._name = name
        self._queue: queue.SimpleQueue[PendingWrite] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, stored_events: Sequence[StoredEvent], rows: Any) -> list[int]:
        if self._is_closed():
            raise ClosedError(f"the {self._name} database is closed")
        write = PendingWrite(stored_events, rows)
        self._queue.put(write)
        self._ensure_writer()
        if not write.done.wait(timeout=WAIT_SECONDS):
            raise SaveOutcomeUnknown("the save was not written in time; it may or may not have committed")
        if write.error is not None:
            raise write.error
        return write.notification_ids

    def _ensure_writer(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name=f"{self._name}-group-commit", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while not self._is_closed():
            try:
                batch = [self._queue.get(timeout=IDLE_SECONDS)]
            except queue.Empty:
                with self._lock:  # exit when idle; a later submit starts a new writer
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._write(batch)
        self._fail_waiting(ClosedError(f"the {self._name} database was closed"))

    def _fail_waiting(self, failure: BaseException) -> None:
        """Closed with saves still queued: none of them was written; tell their requests so."""
        while True:
            try:
                write = self._queue.get_nowait()
            except queue.Empty:
                return
            write.error = failure
            write.done.set()

    def _write(self, batch: list[PendingWrite]) -> None:
        try:
            self._write_batch(batch)
        except BaseException as failure:
            for write in batch:
                if write.error is None:
                    write.error = failure
        finally:
            for write in batch:
                write.done.set()
