"""Events of an episode of care, except the goal events (see ``goal_events``).

Each event carries ``client_id`` (the persistence layer encrypts PHI per client with it) and builds or
replaces entries in ``apply``; nothing but ``apply`` changes an episode, so replaying the events rebuilds
it exactly.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from .base import RecordAggregate
from .entries import Discharge, EntryRef, Exploration, Measure, Pattern, Reflection, Session

if TYPE_CHECKING:
    from .episode_state import EpisodeState


class EpisodeEvent(RecordAggregate.Event):
    TOPIC = "touchstone.records.Episode.Event.v1"
    client_id: UUID

    def entry_facts(self, entry_id: UUID, occurred_at: datetime, labels: list[str]) -> dict[str, Any]:
        """The fields every entry takes from the event that created it."""
        return {
            "id": entry_id,
            "created_version": self.originator_version,
            "recorded_at": self.timestamp,
            "recorded_by": self.actor,
            "occurred_at": occurred_at,
            "labels": list(labels),
        }


class EpisodeOpened(EpisodeEvent, RecordAggregate.Created):
    TOPIC = "touchstone.records.EpisodeOpened.v1"
    clinician: str
    care_team: list[str]
    reason_for_referral: str
    presenting_concerns: list[str]
    occurred_at: datetime
    labels: list[str]


class CareTeamChanged(EpisodeEvent):
    TOPIC = "touchstone.records.CareTeamChanged.v1"
    clinician: str
    care_team: list[str]
    added: list[str]
    removed: list[str]

    def apply(self, aggregate: EpisodeState) -> None:
        aggregate.clinician = self.clinician
        aggregate.care_team = list(self.care_team)


class SessionHeld(EpisodeEvent):
    TOPIC = "touchstone.records.SessionHeld.v1"
    session_id: UUID
    occurred_at: datetime
    duration_minutes: int
    modality: str
    attendees: list[str]
    labels: list[str]

    def apply(self, aggregate: EpisodeState) -> None:
        aggregate.sessions[str(self.session_id)] = Session(
            **self.entry_facts(self.session_id, self.occurred_at, self.labels),
            duration_minutes=self.duration_minutes,
            modality=self.modality,
            attendees=list(self.attendees),
        )


class SessionCancelled(EpisodeEvent):
    TOPIC = "touchstone.records.SessionCancelled.v1"
    session_id: UUID
    reason: str

    def apply(self, aggregate: EpisodeState) -> None:
        key = str(self.session_id)
        aggregate.sessions[key] = replace(
            aggregate.sessions[key],
            cancelled_reason=self.reason,
            cancelled_version=self.originator_version,
            cancelled_at=self.timestamp,
            cancelled_by=self.actor,
        )


class PatternIdentified(EpisodeEvent):
    TOPIC = "touchstone.records.PatternIdentified.v1"
    pattern_id: UUID
    name: str
    description: str
    occurred_at: datetime
    labels: list[str]

    def apply(self, aggregate: EpisodeState) -> None:
        aggregate.patterns[str(self.pattern_id)] = Pattern(
            **self.entry_facts(self.pattern_id, self.occurred_at, self.labels),
            name=self.name,
            description=self.description,
        )


class PatternExplored(EpisodeEvent):
    TOPIC = "touchstone.records.PatternExplored.v1"
    pattern_id: UUID
    exploration_id: UUID
    session_id: UUID | None
    observations: str
    occurred_at: datetime
    labels: list[str]

    def apply(self, aggregate: EpisodeState) -> None:
        key = str(self.pattern_id)
        pattern = aggregate.patterns[key]
        exploration = Exploration(
            **self.entry_facts(self.exploration_id, self.occurred_at, self.labels),
            pattern_id=self.pattern_id,
            session_id=self.session_id,
            observations=self.observations,
        )
        aggregate.patterns[key] = replace(pattern, explorations=[*pattern.explorations, exploration])


class ReflectionRecorded(EpisodeEvent):
    TOPIC = "touchstone.records.ReflectionRecorded.v1"
    reflection_id: UUID
    text: str
    refers_to: list[EntryRef]
    occurred_at: datetime
    labels: list[str]

    def apply(self, aggregate: EpisodeState) -> None:
        aggregate.reflections[str(self.reflection_id)] = Reflection(
            **self.entry_facts(self.reflection_id, self.occurred_at, self.labels),
            text=self.text,
            refers_to=list(self.refers_to),
        )


class MeasureRecorded(EpisodeEvent):
    TOPIC = "touchstone.records.MeasureRecorded.v1"
    measure_id: UUID
    instrument: str
    loinc: str
    score: int
    items: list[int]
    occurred_at: datetime
    labels: list[str]

    def apply(self, aggregate: EpisodeState) -> None:
        aggregate.measures[str(self.measure_id)] = Measure(
            **self.entry_facts(self.measure_id, self.occurred_at, self.labels),
            instrument=self.instrument,
            loinc=self.loinc,
            score=self.score,
            items=list(self.items),
        )


class EpisodeClosed(EpisodeEvent):
    """Discharge. (Not to be confused with the error ``errors.EpisodeClosed`` it leads to.)"""

    TOPIC = "touchstone.records.EpisodeClosed.v1"
    reason: str
    summary: str
    occurred_at: datetime

    def apply(self, aggregate: EpisodeState) -> None:
        aggregate.discharge = Discharge(
            reason=self.reason,
            summary=self.summary,
            occurred_at=self.occurred_at,
            recorded_at=self.timestamp,
            recorded_by=self.actor,
            version=self.originator_version,
        )
