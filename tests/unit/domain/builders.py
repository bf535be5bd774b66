"""Givens for the domain tests: metadata at chosen instants, and aggregates in known states."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from services.records.domain import Client, EntryRef, Episode, EventMeta, HumanName, Identifier, Practitioner

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
TENANT = "practice-one"
CLINICIAN = "dr-ada"


def at(minutes: int = 0) -> datetime:
    return T0 + timedelta(minutes=minutes)


def meta(minutes: int = 0, *, actor: str = CLINICIAN, request_id: str = "req-1") -> EventMeta:
    return EventMeta(
        tenant=TENANT, actor=actor, request_id=request_id, causation_id="cause-1", recorded_at=at(minutes)
    )


def register_client(client_id: UUID | None = None) -> Client:
    return Client.register(
        meta(),
        client_id or uuid4(),
        [Identifier(system="urn:touchstone:mrn", value="MRN-1")],
        HumanName(family="Doe", given=["Jane"]),
        date(1990, 5, 17),
        "Europe/Berlin",
    )


def open_episode(client_id: UUID | None = None, labels: list[str] | None = None) -> Episode:
    return Episode.open(
        meta(),
        uuid4(),
        client_id or uuid4(),
        CLINICIAN,
        ["dr-bo"],
        "referred by GP for low mood",
        ["low mood", "sleep"],
        at(),
        labels or [],
    )


@dataclass
class Full:
    """An episode with one entry of every kind, and their ids."""

    episode: Episode
    session_id: UUID
    pattern_id: UUID
    exploration_id: UUID
    goal_id: UUID
    reflection_id: UUID
    measure_id: UUID


def full_episode() -> Full:
    episode = open_episode(labels=["MH"])
    session = episode.hold_session(meta(1), uuid4(), at(1), 50, "in_person", [CLINICIAN, "client"], ["SUD"])
    pattern = episode.identify_pattern(
        meta(2), uuid4(), "withdrawal", "pulls back when criticised", at(1), []
    )
    exploration = episode.explore_pattern(meta(3), pattern.id, uuid4(), session.id, "noticed it", at(1))
    goal = episode.set_goal(
        meta(4), uuid4(), "sleep 7 hours", ["wind-down routine"], date(2025, 6, 1), at(4), []
    )
    ref = EntryRef(entry_id=goal.id, event_version=goal.created_version)
    reflection = episode.record_reflection(meta(5), uuid4(), "goal too ambitious", [ref], at(5), ["PSY"])
    episode.revise_goal(meta(6), goal.id, "sleep 6 hours", "too ambitious", reflection.id)
    episode.record_goal_progress(meta(7), goal.id, uuid4(), "slept better", 6, at(7))
    measure = episode.record_measure(meta(8), uuid4(), "PHQ-9", 12, [2, 2, 1, 1, 2, 1, 1, 1, 1], at(8), [])
    return Full(episode, session.id, pattern.id, exploration.id, goal.id, reflection.id, measure.id)


def all_events() -> list[Any]:
    """One of every event: a client, a practitioner and an episode from opening to discharge."""
    client = register_client()
    client.correct_details(meta(1), time_zone="UTC")
    practitioner = Practitioner.register(meta(), "dr-ada", "Dr Ada", ["clinician"], None, False)
    practitioner.update(meta(1), display_name="Dr A.")
    full = full_episode()
    episode = full.episode
    episode.change_care_team(meta(30), ["dr-cy"])
    episode.cancel_session(meta(31), full.session_id, "unwell")
    episode.achieve_goal(meta(32), full.goal_id, "done", at(32))
    other = episode.set_goal(meta(33), uuid4(), "walk", [], None, at(33), [])
    episode.discontinue_goal(meta(34), other.id, "moved on", at(34))
    episode.close(meta(35), "goals met", "summary", at(35))
    return [*client.collect_events(), *practitioner.collect_events(), *episode.collect_events()]
