"""Idempotency claims in ``records_idempotency``: claim, take over, complete with the events, release.

DESIGN.md, REST conventions: a repeat replays the first completed response; a repeat while the first is still
running is refused; the key and the events it produced commit in one transaction.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.records.application.app import RecordsApplication
from services.records.application.commands import IdempotentWrite, Written
from services.records.application.ports import (
    IdempotencyClaimLost,
    IdempotencyRecord,
    IdempotencyScope,
    StoredResponse,
)
from tests.support import Database
from tests.support.integration_records import ADA, TENANT, RawDatabase, hold_session, practice, records_app
from tests.support.records import records_settings

HOUR = 3600.0


@pytest.fixture
def app(database: Database, tmp_path: Path) -> Iterator[RecordsApplication]:
    with records_app(records_settings(database, tmp_path)) as app:
        yield app


def scope(path: str = "/v1/episodes/x/sessions", **changes: str) -> IdempotencyScope:
    values = {"tenant": TENANT, "actor": ADA.sub, "method": "POST", "path": path, "key": uuid4().hex}
    return IdempotencyScope(**{**values, **changes})


def render(written: Written) -> StoredResponse:
    body = json.dumps({"id": str(written.aggregate_id), "version": written.version}).encode()
    return StoredResponse(201, {"etag": f'"{written.version}"', "content-type": "application/json"}, body)


def write_with(app: RecordsApplication, episode_id: UUID, where: IdempotencyScope, token: str) -> Written:
    claim = IdempotentWrite(where, token, render=render)
    written = hold_session(app, episode_id, idempotency=claim)
    assert claim.completed
    return written


def stored_row(raw: RawDatabase, where: IdempotencyScope) -> list[tuple[Any, ...]]:
    return raw.rows(
        "SELECT state, claim_token, request_hash FROM {t}records_idempotency"
        " WHERE tenant = %s AND actor = %s AND method = %s AND path = %s AND key = %s",
        (where.tenant, where.actor, where.method, where.path, where.key),
    )


def test_the_first_claim_wins_and_later_ones_see_it_in_flight(app: RecordsApplication) -> None:
    where = scope()
    assert app.index.claim_idempotency(where, "hash-1", "token-a", HOUR) is None
    in_flight = IdempotencyRecord("hash-1", None, "token-a")
    assert app.index.claim_idempotency(where, "hash-1", "token-b", HOUR) == in_flight
    # Another body under the same key: the caller sees the first body's hash, and refuses it.
    assert app.index.claim_idempotency(where, "hash-2", "token-c", HOUR) == in_flight
    # The scope is tenant, actor, method, path and key: any other part makes another claim.
    for other in ({"tenant": "practice-b"}, {"actor": "dr-bo"}, {"method": "PUT"}, {"path": "/v1/other"}):
        assert app.index.claim_idempotency(scope(**{"key": where.key, **other}), "h", "t", HOUR) is None


def test_the_response_commits_with_the_events_and_is_replayed(
    app: RecordsApplication, database: Database
) -> None:
    client_id, episode_id = practice(app)
    where = scope(f"/v1/episodes/{episode_id}/sessions")
    assert app.index.claim_idempotency(where, "hash-1", "token-a", HOUR) is None

    written = write_with(app, episode_id, where, "token-a")

    assert written.version == 2
    found = app.index.claim_idempotency(where, "hash-1", "token-late", HOUR)
    assert found is not None and found.completed is not None
    assert (found.request_hash, found.claim_token, found.client_id) == ("hash-1", None, client_id)
    first = render(written)
    assert (found.completed.status, found.completed.headers) == (first.status, first.headers)
    assert found.completed.body != first.body  # kept sealed with the client's key, like the events
    assert app.replay(where, found) == first  # and replayed byte for byte
    assert json.loads(app.replay(where, found).body) == {"id": str(episode_id), "version": 2}
    # Completed is completed, however old its claim: "stale" is for claims still in flight.
    assert app.index.claim_idempotency(where, "hash-1", "token-later", 0.0) == found
    assert stored_row(RawDatabase(database, app), where) == [("completed", "token-a", "hash-1")]
    assert app.get_episode(ADA, episode_id).episode.version == 2


def test_a_stale_claim_is_taken_over_and_its_holder_then_commits_nothing(
    app: RecordsApplication, database: Database
) -> None:
    _, episode_id = practice(app)
    raw = RawDatabase(database, app)
    events_before = list(app.events.get(episode_id))
    as_of_before = raw.rows(
        "SELECT version FROM {t}records_as_of WHERE originator_id = %s", (raw.uuid(episode_id),)
    )
    where = scope(f"/v1/episodes/{episode_id}/sessions")
    assert app.index.claim_idempotency(where, "hash-1", "token-a", HOUR) is None
    time.sleep(0.05)

    assert app.index.claim_idempotency(where, "hash-1", "token-b", HOUR) == IdempotencyRecord(
        "hash-1", None, "token-a"
    )
    assert app.index.claim_idempotency(where, "hash-1", "token-b", 0.01) is None  # A looks dead: B takes over

    late = IdempotentWrite(where, "token-a", render=render)
    with pytest.raises(IdempotencyClaimLost):
        hold_session(app, episode_id, idempotency=late)

    assert not late.completed
    assert list(app.events.get(episode_id)) == events_before
    assert raw.rows(
        "SELECT version FROM {t}records_as_of WHERE originator_id = %s", (raw.uuid(episode_id),)
    ) == (as_of_before)
    assert app.get_episode(ADA, episode_id).episode.version == 1
    assert stored_row(raw, where) == [("in_flight", "token-b", "hash-1")]
    assert write_with(app, episode_id, where, "token-b").version == 2  # the new holder completes
    assert app.get_episode(ADA, episode_id).episode.version == 2


def test_release_deletes_only_an_in_flight_claim_of_the_same_token(
    app: RecordsApplication, database: Database
) -> None:
    _, episode_id = practice(app)
    raw = RawDatabase(database, app)
    where = scope(f"/v1/episodes/{episode_id}/sessions")
    assert app.index.claim_idempotency(where, "hash-1", "token-a", HOUR) is None

    app.index.release_idempotency(where, "token-b")  # not the holder: nothing happens
    assert stored_row(raw, where) == [("in_flight", "token-a", "hash-1")]
    app.index.release_idempotency(scope(key=where.key, actor="dr-bo"), "token-a")  # another scope
    assert stored_row(raw, where) == [("in_flight", "token-a", "hash-1")]

    app.index.release_idempotency(where, "token-a")
    assert stored_row(raw, where) == []
    assert app.index.claim_idempotency(where, "hash-2", "token-c", HOUR) is None  # free for the next one

    write_with(app, episode_id, where, "token-c")
    app.index.release_idempotency(where, "token-c")  # completed: a release must not forget the response
    assert stored_row(raw, where) == [("completed", "token-c", "hash-2")]
    found = app.index.claim_idempotency(where, "hash-2", "token-d", HOUR)
    assert found is not None and found.completed is not None and found.request_hash == "hash-2"


def test_a_released_claim_cannot_complete(app: RecordsApplication) -> None:
    _, episode_id = practice(app)
    where = scope(f"/v1/episodes/{episode_id}/sessions")
    assert app.index.claim_idempotency(where, "hash-1", "token-a", HOUR) is None
    app.index.release_idempotency(where, "token-a")

    with pytest.raises(IdempotencyClaimLost):
        hold_session(app, episode_id, idempotency=IdempotentWrite(where, "token-a", render=render))
    assert app.get_episode(ADA, episode_id).episode.version == 1
    assert app.index.claim_idempotency(where, "hash-1", "token-b", HOUR) is None


def test_a_completed_key_expires_after_a_day(app: RecordsApplication, database: Database) -> None:
    _, episode_id = practice(app)
    raw = RawDatabase(database, app)
    where = scope(f"/v1/episodes/{episode_id}/sessions")
    assert app.index.claim_idempotency(where, "hash-1", "token-a", HOUR) is None
    write_with(app, episode_id, where, "token-a")

    def age(hours: float) -> None:
        raw.execute(
            "UPDATE {t}records_idempotency SET claimed_at = %s WHERE key = %s",
            (raw.time_param(datetime.now(UTC) - timedelta(hours=hours)), where.key),
        )

    age(23)
    found = app.index.claim_idempotency(where, "hash-2", "token-b", HOUR)
    assert found is not None and found.completed is not None and found.request_hash == "hash-1"
    age(25)
    assert app.index.claim_idempotency(where, "hash-2", "token-b", HOUR) is None
    assert stored_row(raw, where) == [("in_flight", "token-b", "hash-2")]
