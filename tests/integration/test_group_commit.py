"""Group commit on PostgreSQL: concurrent saves share one transaction, and each keeps its own outcome.

A batch holds saves of different requests; one that lost a race (a stale aggregate) must fail alone,
with an IntegrityError, while the others in the same transaction commit with all their rows.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError

from services.records.application.ports import CommitRows
from services.records.domain.base import EventMeta
from services.storekit.group_commit import PendingWrite
from tests.support import PgDatabase
from tests.support.integration_records import OCCURRED, hold_session, practice, records_app
from tests.support.records import records_settings


def test_a_stale_save_fails_alone_in_a_batch_that_commits_the_others(
    pg_schema: PgDatabase, tmp_path: Path
) -> None:
    with records_app(records_settings(pg_schema, tmp_path)) as app:
        episodes = [practice(app)[1] for _ in range(6)]
        stale = app.repository.get(episodes[0])
        hold_session(app, episodes[0])  # the stale copy now names a version that is taken
        batches: list[int] = []
        recorder: Any = app.recorder
        write_batch = recorder._write_batch

        def spying_write(batch: list[PendingWrite]) -> None:
            batches.append(len(batch))
            write_batch(batch)

        recorder.committer._write_batch = spying_write
        barrier = threading.Barrier(len(episodes))
        outcomes: dict[int, Any] = {}

        def save(index: int) -> None:
            episode = stale if index == 0 else app.repository.get(episodes[index])
            meta = EventMeta("practice-a", "dr-ada", f"req-{index}", None, OCCURRED)
            episode.hold_session(meta, uuid4(), OCCURRED, 50, "video", ["dr-ada"], [])
            barrier.wait()
            try:
                app.save(episode, commit_rows=CommitRows())
                outcomes[index] = "saved"
            except IntegrityError as conflict:
                outcomes[index] = conflict

        threads = [threading.Thread(target=save, args=(i,)) for i in range(len(episodes))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

        assert isinstance(outcomes[0], IntegrityError)
        assert all(outcomes[i] == "saved" for i in range(1, len(episodes))), outcomes
        assert max(batches) > 1, f"the saves were never written together: {batches}"
        for episode_id in episodes[1:]:
            assert app.repository.get(episode_id).version == 2
        assert app.repository.get(episodes[0]).version == 2  # the winner's session only
        with pg_schema.connect() as conn:
            versions = conn.execute(
                "SELECT version FROM records_as_of WHERE originator_id = %s ORDER BY version", (episodes[0],)
            ).fetchall()
        assert [v for (v,) in versions] == [1, 2]


@pytest.mark.parametrize("size", [1, 5])
def test_every_write_of_a_failed_batch_gets_the_failure(
    size: int, pg_schema: PgDatabase, tmp_path: Path
) -> None:
    with records_app(records_settings(pg_schema, tmp_path)) as app:
        committer: Any = app.recorder.committer  # type: ignore[attr-defined]

        def broken(batch: list[PendingWrite]) -> None:
            raise RuntimeError("the database went away")

        committer._write_batch = broken
        errors: list[BaseException] = []

        def submit() -> None:
            try:
                committer.submit([], None)
            except RuntimeError as failure:
                errors.append(failure)

        threads = [threading.Thread(target=submit) for _ in range(size)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert len(errors) == size
