"""Snapshots of long episodes, and the aggregate cache, against the events they stand for.

DESIGN.md, "Storage and events": snapshots for long streams. A snapshot, and a cached aggregate, are only
shortcuts: whatever is read through them must equal the replay of the stored events.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import project_aggregate

from services.records.application.app import SNAPSHOT_INTERVAL, RecordsApplication
from services.records.application.errors import StaleVersion
from services.records.settings import RecordsSettings
from tests.support import Database
from tests.support.integration_records import ADA, RawDatabase, hold_session, practice, records_app, state_of

LONG = 260


def replay(events: list[Any]) -> Any:
    """The aggregate from its events alone: no snapshot, no cache."""
    aggregate = project_aggregate(None, events)
    assert aggregate is not None
    return aggregate


def long_episode(app: RecordsApplication, length: int) -> UUID:
    _, episode_id = practice(app)
    for _ in range(length - 1):
        hold_session(app, episode_id)
    return episode_id


def test_a_long_episode_has_snapshots_that_equal_its_replay(
    app: RecordsApplication, settings: RecordsSettings, database: Database
) -> None:
    episode_id = long_episode(app, LONG)
    events: list[Any] = list(app.events.get(episode_id))
    assert [e.originator_version for e in events] == list(range(1, LONG + 1))

    snapshots: list[Any] = list(app.snapshots.get(episode_id)) if app.snapshots is not None else []
    expected = list(range(SNAPSHOT_INTERVAL, LONG + 1, SNAPSHOT_INTERVAL))
    assert [s.originator_version for s in snapshots] == expected == [50, 100, 150, 200, 250]
    raw = RawDatabase(database, app)
    stored = raw.rows(
        f"SELECT originator_version FROM {{t}}{raw.snapshots_table} WHERE originator_id = %s ORDER BY 1",
        (raw.uuid(episode_id),),
    )
    assert [int(v) for (v,) in stored] == expected
    for snapshot in snapshots:
        restored = snapshot.mutate(None)
        assert state_of(restored) == state_of(replay(events[: snapshot.originator_version]))

    with records_app(settings) as fresh:  # nothing cached: snapshot 250 and the ten events after it
        current = fresh.get_episode(ADA, episode_id).episode
    assert current.version == LONG
    assert len(current.sessions) == LONG - 1
    assert state_of(current) == state_of(replay(events))
    assert state_of(app.get_episode(ADA, episode_id).episode) == state_of(replay(events))


def test_earlier_versions_of_a_long_episode_equal_their_replay(app: RecordsApplication) -> None:
    episode_id = long_episode(app, LONG)
    events = list(app.events.get(episode_id))

    # Around the snapshots (at, just before, just after) and between them; 1 has no snapshot below it.
    for version in (1, 2, 49, 50, 51, 137, 199, 200, 201, 249, 250, 251, 259, 260):
        then = app.get_episode(ADA, episode_id, version=version).episode
        assert then.version == version
        assert state_of(then) == state_of(replay(events[:version])), version
        if version > 1:
            assert state_of(then) != state_of(replay(events[: version - 1])), version


def test_the_cache_catches_up_with_events_another_process_appended(
    app: RecordsApplication, settings: RecordsSettings
) -> None:
    _, episode_id = practice(app)
    seen = app.get_episode(ADA, episode_id).episode  # now cached here
    assert seen.version == 1

    with records_app(settings) as other:
        for _ in range(3):
            hold_session(other, episode_id)
        assert other.get_episode(ADA, episode_id).episode.version == 4

        current = app.get_episode(ADA, episode_id).episode
        assert current.version == 4
        assert state_of(current) == state_of(replay(list(app.events.get(episode_id))))

        with pytest.raises(StaleVersion):  # what this process saw first is stale now
            hold_session(app, episode_id, if_match=seen.version)
        assert hold_session(app, episode_id, if_match=4).version == 5
        assert other.get_episode(ADA, episode_id).episode.version == 5
        assert hold_session(other, episode_id).version == 6
    assert app.get_episode(ADA, episode_id).episode.version == 6
