"""Rows that commit with the events, in the same transaction (recorders.py, tables.py).

DESIGN.md, "Storage and events": rows that must commit with events (idempotency keys, the as_of index) are
written in the same transaction; client identifiers are unique per tenant.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError

from services.records.application.app import RecordsApplication
from services.records.application.errors import AlreadyExists
from services.records.application.ids import new_id
from services.records.application.ports import AsOfRow, CommitRows, EpisodeLink, IdentifierClaim
from services.records.domain.base import EventMeta
from services.records.domain.client import HumanName, Identifier
from services.records.domain.episode import Episode
from tests.support import Database
from tests.support.integration_records import (
    ADA,
    MRN,
    OCCURRED,
    OTHER_TENANT,
    TENANT,
    RawDatabase,
    clinician,
    command,
    hold_session,
    open_episode,
    practice,
    records_app,
    register_client,
)
from tests.support.records import records_settings

REGISTERED = "touchstone.records.ClientRegistered.v1"


@pytest.fixture
def app(database: Database, tmp_path: Path) -> Iterator[RecordsApplication]:
    with records_app(records_settings(database, tmp_path)) as app:
        yield app


def as_of_rows(raw: RawDatabase, aggregate_id: UUID) -> list[tuple[int, object]]:
    rows = raw.rows(
        "SELECT version, recorded_at FROM {t}records_as_of WHERE originator_id = %s ORDER BY version",
        (raw.uuid(aggregate_id),),
    )
    return [(int(version), raw.time(recorded_at)) for version, recorded_at in rows]


def count(raw: RawDatabase, table: str, where: str = "1 = 1", params: tuple[object, ...] = ()) -> int:
    return int(raw.scalar(f"SELECT count(*) FROM {{t}}{table} WHERE {where}", params))


def test_the_as_of_index_has_one_row_per_event_at_its_recorded_time(
    app: RecordsApplication, database: Database
) -> None:
    client_id, episode_id = practice(app)
    for _ in range(3):
        hold_session(app, episode_id)
    app.set_goal(command(ADA), episode_id, "walk", [], date(2026, 6, 1), OCCURRED, [])
    app.record_measure(command(ADA), episode_id, "GAD-7", 7, [1] * 7, OCCURRED, [])
    raw = RawDatabase(database, app)

    events: list[Any] = list(app.events.get(episode_id))
    assert [e.originator_version for e in events] == list(range(1, 7))
    assert as_of_rows(raw, episode_id) == [(e.originator_version, e.timestamp) for e in events]
    assert as_of_rows(raw, client_id) == [(1, app.get_client(ADA, client_id).created_on)]
    # Every event of every stream has its row, and no row is without its event.
    streams = raw.rows(f"SELECT originator_id, originator_version FROM {{t}}{raw.events_table}")
    indexed = raw.rows("SELECT originator_id, version FROM {t}records_as_of")
    assert sorted((str(i), int(v)) for i, v in indexed) == sorted((str(i), int(v)) for i, v in streams)
    assert len(streams) == 1 + 1 + 6  # practitioner, client, episode


@pytest.mark.parametrize("with_as_of", [True, False], ids=["as-of-rows-too", "other-rows-only"])
def test_a_stale_save_commits_none_of_its_rows(
    app: RecordsApplication, database: Database, with_as_of: bool
) -> None:
    client_id, episode_id = practice(app)
    winner: Any = app.repository.get(episode_id)
    loser: Any = app.repository.get(episode_id)
    assert isinstance(winner, Episode) and isinstance(loser, Episode)
    meta = EventMeta(TENANT, ADA.sub, "req-race", None, OCCURRED)
    for episode in (winner, loser):
        episode.hold_session(meta, new_id(), OCCURRED, 50, "video", [ADA.sub], [])
    app.save(winner, commit_rows=CommitRows(as_of=[AsOfRow(episode_id, winner.modified_on, 2)]))
    raw = RawDatabase(database, app)
    index_before = as_of_rows(raw, episode_id)

    orphan_client, orphan_episode = new_id(), new_id()
    claim = IdentifierClaim(TENANT, app.identifier_digest(TENANT, MRN, "never-claimed"), orphan_client)
    rows = CommitRows(
        as_of=[AsOfRow(episode_id, loser.modified_on, 2)] if with_as_of else [],
        identifiers=[claim],
        episode_link=EpisodeLink(TENANT, orphan_client, orphan_episode),
        new_key=app.keys.new_key(TENANT, orphan_client),
    )
    with pytest.raises(IntegrityError):
        app.save(loser, commit_rows=rows)

    assert as_of_rows(raw, episode_id) == index_before
    assert index_before == [(1, index_before[0][1]), (2, winner.modified_on)]
    assert app.index.client_by_identifier(TENANT, claim.digest) is None
    assert count(raw, "records_client_identifiers", "client_id = %s", (raw.uuid(orphan_client),)) == 0
    assert count(raw, "records_client_keys", "client_id = %s", (raw.uuid(orphan_client),)) == 0
    assert count(raw, "records_client_episodes", "episode_id = %s", (raw.uuid(orphan_episode),)) == 0
    assert app.get_episode(ADA, episode_id).episode.version == 2
    assert [s.modality for s in app.get_episode(ADA, episode_id).episode.sessions.values()] == ["video"]
    assert count(raw, "records_client_episodes", "client_id = %s", (raw.uuid(client_id),)) == 1


def test_a_duplicate_identifier_is_refused_and_leaves_nothing_behind(
    app: RecordsApplication, database: Database
) -> None:
    mrn = new_id().hex
    first = register_client(app, identifier=mrn)
    raw = RawDatabase(database, app)
    before = {
        t: count(raw, t) for t in ("records_client_keys", "records_client_identifiers", "records_as_of")
    }

    with pytest.raises(AlreadyExists):
        register_client(app, identifier=mrn)
    with pytest.raises(AlreadyExists):  # one new identifier and one taken: neither is claimed
        app.register_client(
            command(ADA),
            [Identifier(system=MRN, value="fresh-" + mrn), Identifier(system=MRN, value=mrn)],
            HumanName(family="Doe", given=["Sam"]),
            None,
            "Europe/Berlin",
        )

    assert count(raw, raw.events_table, "topic = %s", (REGISTERED,)) == 1
    assert {t: count(raw, t) for t in before} == before
    assert before == {"records_client_keys": 1, "records_client_identifiers": 1, "records_as_of": 1}
    assert [c.id for c in app.find_clients(ADA, MRN, mrn)] == [first.aggregate_id]
    assert app.find_clients(ADA, MRN, "fresh-" + mrn) == []

    elsewhere = register_client(app, clinician("dr-ada", OTHER_TENANT), identifier=mrn)
    assert elsewhere.aggregate_id != first.aggregate_id
    assert [c.id for c in app.find_clients(clinician("dr-ada", OTHER_TENANT), MRN, mrn)] == [
        elsewhere.aggregate_id
    ]
    assert [c.id for c in app.find_clients(ADA, MRN, mrn)] == [first.aggregate_id]
    assert count(raw, raw.events_table, "topic = %s", (REGISTERED,)) == 2
    assert count(raw, "records_client_identifiers") == 2
    assert count(raw, "records_client_keys") == 2


def test_client_episodes_pages_through_the_episodes_in_order(app: RecordsApplication) -> None:
    client_id, first = practice(app)
    opened = [first] + [open_episode(app, client_id) for _ in range(4)]
    _, someone_elses = practice(app)

    pages: list[list[UUID]] = []
    after: UUID | None = None
    while True:
        episodes, after = app.client_episodes(ADA, client_id, after, 2)
        pages.append([e.id for e in episodes])
        if after is None:
            break

    assert [len(p) for p in pages] == [2, 2, 1]
    assert [i for p in pages for i in p] == opened == sorted(opened)
    assert someone_elses not in opened
    assert app.client_episodes(ADA, client_id, opened[-1], 2) == ([], None)
    assert [e.client_id for e in app.client_episodes(ADA, client_id, None, 500)[0]] == [client_id] * 5
