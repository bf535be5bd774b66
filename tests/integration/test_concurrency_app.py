"""Concurrent writers on one episode through one application instance, with real threads, on PostgreSQL.

DESIGN.md, principle 6: concurrent writers without If-Match never lose an event; If-Match turns a stale
write into a refusal. EVENTSOURCING.md: one Application per process, shared by all threads, is safe.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar
from uuid import uuid4

import pytest

from services.records.application.app import RecordsApplication
from services.records.application.commands import Written
from services.records.application.errors import AlreadyExists, StaleVersion
from tests.support import PgDatabase
from tests.support.integration_records import (
    ADA,
    MRN,
    RawDatabase,
    hold_session,
    practice,
    records_app,
    register_client,
    register_practitioner,
)
from tests.support.records import records_settings

T = TypeVar("T")


@pytest.fixture
def app(pg_schema: PgDatabase, tmp_path: Path) -> Iterator[RecordsApplication]:
    with records_app(records_settings(pg_schema, tmp_path)) as app:
        yield app


def together(threads: int, work: Callable[[int], T]) -> list[T | BaseException]:
    """``work(i)`` on ``threads`` threads released at once; each one's result, or what it raised."""
    barrier = threading.Barrier(threads, timeout=30)

    def run(index: int) -> T | BaseException:
        barrier.wait()
        try:
            return work(index)
        except Exception as error:  # reported, not swallowed: the tests assert on it
            return error

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(run, range(threads)))


def test_writers_without_if_match_lose_no_event(app: RecordsApplication, pg_schema: PgDatabase) -> None:
    _, episode_id = practice(app)
    threads, per_thread = 8, 25

    outcomes = together(threads, lambda _: [hold_session(app, episode_id) for _ in range(per_thread)])

    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert failures == [], repr(failures[0])
    written: list[Written] = [w for batch in outcomes if isinstance(batch, list) for w in batch]
    assert len(written) == threads * per_thread == 200
    assert sorted(w.version for w in written) == list(range(2, 202))  # each write answered its own version
    events = list(app.events.get(episode_id))
    assert [e.originator_version for e in events] == list(range(1, 202))
    episode = app.get_episode(ADA, episode_id).episode
    assert episode.version == 201
    assert set(episode.sessions) == {str(w.value.id) for w in written}
    raw = RawDatabase(pg_schema, app)
    indexed = raw.rows(
        "SELECT version FROM {t}records_as_of WHERE originator_id = %s ORDER BY 1", (episode_id,)
    )
    assert [v for (v,) in indexed] == list(range(1, 202))


def test_writers_with_the_same_if_match_one_wins_the_other_is_stale(app: RecordsApplication) -> None:
    _, episode_id = practice(app)
    rounds = 40  # the race goes one way or the other, and a lost race must leave its connection usable
    for round_ in range(rounds):
        seen = app.get_episode(ADA, episode_id).episode.version
        assert seen == 1 + round_

        def write(_: int, seen: int = seen) -> Written:
            return hold_session(app, episode_id, if_match=seen)

        outcomes = together(2, write)

        won = [o for o in outcomes if isinstance(o, Written)]
        lost = [o for o in outcomes if not isinstance(o, Written)]
        assert len(won) == 1 and won[0].version == seen + 1, outcomes
        assert len(lost) == 1 and isinstance(lost[0], StaleVersion), outcomes
        assert app.get_episode(ADA, episode_id).episode.version == seen + 1
    assert len(list(app.events.get(episode_id))) == 1 + rounds


def test_writers_on_different_episodes_do_not_block_each_other(app: RecordsApplication) -> None:
    episodes = [practice(app)[1] for _ in range(4)]

    outcomes = together(8, lambda i: [hold_session(app, episodes[i % 4]).version for _ in range(10)])

    assert all(isinstance(o, list) for o in outcomes), outcomes
    for episode_id in episodes:
        assert app.get_episode(ADA, episode_id).episode.version == 1 + 2 * 10


def test_one_of_many_concurrent_registrations_of_an_identifier_wins(app: RecordsApplication) -> None:
    register_practitioner(app)
    mrn = uuid4().hex

    outcomes = together(6, lambda _: register_client(app, identifier=mrn))

    won = [o for o in outcomes if isinstance(o, Written)]
    assert len(won) == 1, outcomes
    assert all(isinstance(o, AlreadyExists) for o in outcomes if o not in won), outcomes
    assert [c.id for c in app.find_clients(ADA, MRN, mrn)] == [won[0].aggregate_id]
    assert app.get_client(ADA, won[0].aggregate_id).identifiers[0].value == mrn
