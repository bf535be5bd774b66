"""Episode of care: opening, care team, sessions, patterns, closing; given / when / then."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import uuid4

import pytest

from services.records.domain import (
    EntryAlreadyExists,
    EntryNotFound,
    Episode,
    SessionAlreadyCancelled,
    UnknownReference,
    ValidationError,
)

from .builders import CLINICIAN, TENANT, at, full_episode, meta, open_episode


def test_open_records_the_episode_with_the_clinician_in_the_care_team() -> None:
    client_id = uuid4()

    episode = open_episode(client_id, labels=["MH", "ETH", "MH"])

    assert episode.tenant == TENANT
    assert episode.client_id == client_id
    assert episode.clinician == CLINICIAN
    assert episode.care_team == sorted([CLINICIAN, "dr-bo"])
    assert episode.presenting_concerns == ["low mood", "sleep"]
    assert episode.labels == ["ETH", "MH"]
    assert episode.opened_at == at()
    assert not episode.is_closed
    [opened] = episode.collect_events()
    assert isinstance(opened, Episode.EpisodeOpened)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"clinician": ""}, "clinician"),
        ({"reason_for_referral": " "}, "reason_for_referral"),
        ({"occurred_at": datetime(2025, 1, 1)}, "occurred_at"),
        ({"labels": ["PSYTHPN"]}, "labels"),
        ({"care_team": [""]}, "care_team[0]"),
    ],
)
def test_open_refuses_invalid_input(changes: dict[str, Any], field: str) -> None:
    given: dict[str, Any] = {
        "clinician": CLINICIAN,
        "care_team": [],
        "reason_for_referral": "referral",
        "presenting_concerns": [],
        "occurred_at": at(),
        "labels": [],
    }
    given.update(changes)

    with pytest.raises(ValidationError) as raised:
        Episode.open(meta(), uuid4(), uuid4(), **given)

    assert raised.value.field == field


def test_change_care_team_keeps_the_clinician_of_record_in_it() -> None:
    episode = open_episode()
    episode.collect_events()

    team = episode.change_care_team(meta(1), ["dr-cy"])

    assert team == [CLINICIAN, "dr-cy"]
    [changed] = episode.collect_events()
    assert isinstance(changed, Episode.CareTeamChanged)
    assert (changed.added, changed.removed) == (["dr-cy"], ["dr-bo"])


def test_change_care_team_can_hand_over_the_clinician_of_record() -> None:
    episode = open_episode()

    team = episode.change_care_team(meta(1), ["dr-bo"], clinician="dr-cy")

    assert episode.clinician == "dr-cy"
    assert team == ["dr-bo", "dr-cy"]


def test_change_care_team_without_a_change_records_nothing() -> None:
    episode = open_episode()
    episode.collect_events()

    episode.change_care_team(meta(1), ["dr-bo"])

    assert episode.collect_events() == []


def test_hold_session_records_the_session() -> None:
    episode = open_episode()
    session_id = uuid4()

    session = episode.hold_session(meta(5), session_id, at(1), 50, "video", [CLINICIAN, "client"], ["SUD"])

    assert episode.sessions[str(session_id)] is session
    assert session.id == session_id
    assert session.created_version == 2 == episode.version
    assert (session.recorded_at, session.recorded_by, session.occurred_at) == (at(5), CLINICIAN, at(1))
    assert (session.duration_minutes, session.modality, session.labels) == (50, "video", ["SUD"])
    assert session.attendees == [CLINICIAN, "client"]
    assert not session.is_cancelled


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"duration_minutes": 601}, "duration_minutes"),
        ({"modality": "carrier_pigeon"}, "modality"),
        ({"attendees": []}, "attendees"),
        ({"occurred_at": datetime(2025, 3, 3, 9)}, "occurred_at"),
        ({"labels": ["NOPE"]}, "labels"),
        ({"labels": ["PSYTHPN"]}, "labels"),
    ],
)
def test_hold_session_refuses_invalid_input(changes: dict[str, Any], field: str) -> None:
    given: dict[str, Any] = {
        "occurred_at": at(),
        "duration_minutes": 50,
        "modality": "in_person",
        "attendees": [CLINICIAN],
        "labels": [],
    }
    given.update(changes)

    with pytest.raises(ValidationError) as raised:
        open_episode().hold_session(meta(), uuid4(), **given)

    assert raised.value.field == field


@pytest.mark.parametrize("minutes", [1, 600])
def test_hold_session_accepts_the_duration_bounds(minutes: int) -> None:
    session = open_episode().hold_session(meta(), uuid4(), at(), minutes, "telephone", ["client"], [])

    assert session.duration_minutes == minutes


def test_cancel_session_marks_it_cancelled() -> None:
    full = full_episode()

    session = full.episode.cancel_session(meta(20), full.session_id, "client unwell")

    assert session.is_cancelled
    assert session.cancelled_reason == "client unwell"
    assert session.cancelled_version == full.episode.version
    assert (session.cancelled_at, session.cancelled_by) == (at(20), CLINICIAN)


def test_cancelling_twice_is_a_conflict() -> None:
    full = full_episode()
    full.episode.cancel_session(meta(20), full.session_id, "client unwell")

    with pytest.raises(SessionAlreadyCancelled):
        full.episode.cancel_session(meta(21), full.session_id, "again")


def test_cancelling_an_unknown_session_is_not_found() -> None:
    with pytest.raises(EntryNotFound) as raised:
        open_episode().cancel_session(meta(), uuid4(), "why")

    assert raised.value.kind == "session"


def test_identify_and_explore_a_pattern_in_a_session() -> None:
    full = full_episode()

    exploration = full.episode.explore_pattern(
        meta(20), full.pattern_id, uuid4(), full.session_id, "again in session 2", at(20), ["PSY"]
    )

    pattern = full.episode.patterns[str(full.pattern_id)]
    assert pattern.explorations[-1] == exploration
    assert len(pattern.explorations) == 2
    assert (exploration.session_id, exploration.pattern_id) == (full.session_id, full.pattern_id)
    assert exploration.created_version == full.episode.version
    assert exploration.labels == ["PSY"]


def test_a_pattern_can_be_explored_outside_a_session() -> None:
    full = full_episode()

    exploration = full.episode.explore_pattern(
        meta(20), full.pattern_id, uuid4(), None, "between sessions", at(20)
    )

    assert exploration.session_id is None


def test_exploring_refuses_an_unknown_pattern_or_session() -> None:
    full = full_episode()

    with pytest.raises(EntryNotFound):
        full.episode.explore_pattern(meta(20), uuid4(), uuid4(), None, "obs", at(20))
    with pytest.raises(UnknownReference) as raised:
        full.episode.explore_pattern(meta(20), full.pattern_id, uuid4(), uuid4(), "obs", at(20))
    assert raised.value.field == "session_id"


def test_exploring_refuses_a_cancelled_session() -> None:
    full = full_episode()
    full.episode.cancel_session(meta(20), full.session_id, "client unwell")

    with pytest.raises(ValidationError):
        full.episode.explore_pattern(meta(21), full.pattern_id, uuid4(), full.session_id, "obs", at(21))


def test_an_id_is_used_once_per_episode() -> None:
    full = full_episode()

    for used in (full.session_id, full.goal_id, full.exploration_id, full.episode.id):
        with pytest.raises(EntryAlreadyExists):
            full.episode.identify_pattern(meta(20), used, "name", "description", at(20), [])


def test_find_entry_and_entry_kinds() -> None:
    full = full_episode()

    kinds = full.episode.entry_kinds()

    assert kinds == {
        str(full.session_id): "session",
        str(full.pattern_id): "pattern",
        str(full.exploration_id): "exploration",
        str(full.goal_id): "goal",
        str(full.reflection_id): "reflection",
        str(full.measure_id): "measure",
    }
    assert full.episode.find_entry(full.exploration_id).id == full.exploration_id
    assert full.episode.find_entry(full.measure_id) is full.episode.measures[str(full.measure_id)]
    with pytest.raises(EntryNotFound):
        full.episode.find_entry(uuid4())


def test_close_discharges_the_episode() -> None:
    full = full_episode()

    discharge = full.episode.close(meta(30), "goals met", "six sessions; PHQ-9 from 18 to 6", at(29))

    assert full.episode.is_closed
    assert full.episode.discharge == discharge
    assert (discharge.reason, discharge.occurred_at, discharge.version) == (
        "goals met",
        at(29),
        full.episode.version,
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"reason": ""}, "reason"),
        ({"summary": " "}, "summary"),
        ({"occurred_at": datetime(2025, 1, 1)}, "occurred_at"),
    ],
)
def test_close_refuses_invalid_input(changes: dict[str, Any], field: str) -> None:
    given: dict[str, Any] = {"reason": "done", "summary": "summary", "occurred_at": at()}
    given.update(changes)

    with pytest.raises(ValidationError) as raised:
        open_episode().close(meta(), **given)

    assert raised.value.field == field
