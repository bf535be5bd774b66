"""The rows behind the overdue lists commit with the events, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from services.records.application.access import Actor
from services.records.application.app import RecordsApplication
from services.records.bootstrap import build_records
from services.records.domain.amendment import EventRef
from tests.support import Database
from tests.support.integration_records import ADA, TENANT, command, hold_session, practice
from tests.support.policy_gate import PolicyGate
from tests.support.records import records_settings

PO = Actor("po-1", TENANT, frozenset({"privacy_officer"}), None, "HOPERAT")


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(database: Database, tmp_path: Path, clock: Clock) -> Iterator[RecordsApplication]:
    app = build_records(records_settings(database, tmp_path), gate=PolicyGate(), clock=clock)
    try:
        yield app
    finally:
        app.close()


def test_unsigned_notes_are_found_until_signed(app: RecordsApplication, clock: Clock) -> None:
    _, episode_id = practice(app)
    session_id = hold_session(app, episode_id).value.id
    notes = [
        app.draft_note(command(ADA), episode_id, session_id, "free", {"text": "t"}, []).aggregate_id
        for _ in range(2)
    ]
    clock.now += timedelta(days=4)
    found, next_after = app.overdue_notes(ADA, None, None, 1)
    assert ([item.note.id for item in found], next_after) == ([notes[0]], notes[0])
    app.sign_note(command(ADA), (episode_id, session_id, notes[0]))
    found, _ = app.overdue_notes(ADA, "dr-ada", None, 10)
    assert [item.note.id for item in found] == [notes[1]]
    assert app.overdue_notes(ADA, "dr-bo", None, 10)[0] == []


def test_open_amendment_requests_are_found_when_past_due(app: RecordsApplication, clock: Clock) -> None:
    client_id, episode_id = practice(app)
    target = EventRef(aggregate_id=episode_id, event_version=1)
    ids: list[UUID] = [app.request_amendment(command(PO), target, "wrong").aggregate_id for _ in range(2)]
    assert app.overdue_amendments(PO, None, 10)[0] == []
    clock.now += timedelta(days=61)
    app.deny_amendment(command(ADA), ids[0], "accurate_and_complete", "as referred")
    found, _ = app.overdue_amendments(PO, None, 10)
    assert [r.id for r in found] == [ids[1]] and found[0].client_id == client_id
