"""An episode of care (a course of therapy) and every entry made in it.

The episode is the consistency boundary: sessions, patterns, goals, reflections and measures are parts of it,
so a write to any of them checks the episode's version. Commands on sessions and patterns live in
:mod:`.sessions`, on goals in :mod:`.goals`; the events in :mod:`.episode_events` and :mod:`.goal_events`.
A closed episode refuses every command.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast
from uuid import UUID

from . import checks, goal_events
from . import episode_events as events
from .base import EventMeta, RecordAggregate, meta_fields
from .entries import Discharge, EntryRef, Measure, Reflection
from .errors import ValidationError
from .goals import GoalCommands
from .labels import sensitivity_labels
from .measures import validate_measure
from .sessions import SessionCommands


def _care_team(care_team: list[str], clinician: str) -> list[str]:
    """The care team, sorted and without duplicates; the clinician of record is always in it."""
    return sorted({*checks.texts(care_team, "care_team"), checks.text(clinician, "clinician")})


class Episode(SessionCommands, GoalCommands, RecordAggregate):
    """The aggregate; its state, reads and guards are declared in :class:`EpisodeState`."""

    TOPIC = "touchstone.records.Episode.v1"

    Event = events.EpisodeEvent
    EpisodeOpened = events.EpisodeOpened
    # Without it the library would re-define the inherited ``Created`` here under the base's topic.
    Created = events.EpisodeOpened
    CareTeamChanged = events.CareTeamChanged
    SessionHeld = events.SessionHeld
    SessionCancelled = events.SessionCancelled
    PatternIdentified = events.PatternIdentified
    PatternExplored = events.PatternExplored
    GoalSet = goal_events.GoalSet
    GoalRevised = goal_events.GoalRevised
    GoalProgressRecorded = goal_events.GoalProgressRecorded
    GoalAchieved = goal_events.GoalAchieved
    GoalDiscontinued = goal_events.GoalDiscontinued
    ReflectionRecorded = events.ReflectionRecorded
    MeasureRecorded = events.MeasureRecorded
    EpisodeClosed = events.EpisodeClosed

    def __init__(
        self,
        *,
        tenant: str,
        client_id: UUID,
        clinician: str,
        care_team: list[str],
        reason_for_referral: str,
        presenting_concerns: list[str],
        occurred_at: datetime,
        labels: list[str],
    ) -> None:
        self.tenant = tenant
        self.client_id = client_id
        self.clinician = clinician
        self.care_team = list(care_team)
        self.reason_for_referral = reason_for_referral
        self.presenting_concerns = list(presenting_concerns)
        self.opened_at = occurred_at
        self.labels = list(labels)
        self.sessions = {}
        self.patterns = {}
        self.goals = {}
        self.reflections = {}
        self.measures = {}
        self.discharge = None

    @classmethod
    def open(
        cls,
        meta: EventMeta,
        episode_id: UUID,
        client_id: UUID,
        clinician: str,
        care_team: list[str],
        reason_for_referral: str,
        presenting_concerns: list[str],
        occurred_at: datetime,
        labels: list[str],
    ) -> Episode:
        if not isinstance(client_id, UUID):
            raise ValidationError("client_id must be a UUID", field="client_id")
        return cls._create(
            events.EpisodeOpened,
            id=episode_id,
            client_id=client_id,
            clinician=checks.text(clinician, "clinician"),
            care_team=_care_team(care_team, clinician),
            reason_for_referral=checks.text(reason_for_referral, "reason_for_referral"),
            presenting_concerns=checks.texts(presenting_concerns, "presenting_concerns"),
            occurred_at=checks.aware(occurred_at, "occurred_at"),
            labels=sensitivity_labels(labels),
            **meta_fields(meta),
        )

    def change_care_team(
        self, meta: EventMeta, care_team: list[str], clinician: str | None = None
    ) -> list[str]:
        """Set the care team (and perhaps a new clinician of record); returns the care team now in force."""
        self._ensure_open()
        new_clinician = self.clinician if clinician is None else checks.text(clinician, "clinician")
        new_team = _care_team(care_team, new_clinician)
        if new_team != self.care_team or new_clinician != self.clinician:
            self._record(
                events.CareTeamChanged,
                meta,
                clinician=new_clinician,
                care_team=new_team,
                added=sorted(set(new_team) - set(self.care_team)),
                removed=sorted(set(self.care_team) - set(new_team)),
            )
        return list(self.care_team)

    def record_reflection(
        self,
        meta: EventMeta,
        reflection_id: UUID,
        text: str,
        refers_to: list[EntryRef],
        occurred_at: datetime,
        labels: list[str],
    ) -> Reflection:
        """Return to earlier entries (or the episode itself) as they were at the versions named."""
        self._ensure_open()
        self._ensure_new_entry(reflection_id)
        self._record(
            events.ReflectionRecorded,
            meta,
            reflection_id=reflection_id,
            text=checks.text(text, "text"),
            refers_to=self._refs(refers_to),
            occurred_at=checks.aware(occurred_at, "occurred_at"),
            labels=self._labels(labels),
        )
        return self.reflections[str(reflection_id)]

    def record_measure(
        self,
        meta: EventMeta,
        measure_id: UUID,
        instrument: str,
        score: int,
        items: list[int],
        occurred_at: datetime,
        labels: list[str],
    ) -> Measure:
        self._ensure_open()
        self._ensure_new_entry(measure_id)
        scale = validate_measure(instrument, score, items)
        self._record(
            events.MeasureRecorded,
            meta,
            measure_id=measure_id,
            instrument=scale.name,
            loinc=scale.loinc,
            score=score,
            items=list(items),
            occurred_at=checks.aware(occurred_at, "occurred_at"),
            labels=self._labels(labels),
        )
        return self.measures[str(measure_id)]

    def close(self, meta: EventMeta, reason: str, summary: str, occurred_at: datetime) -> Discharge:
        """Discharge: the episode accepts no further commands."""
        self._ensure_open()
        self._record(
            events.EpisodeClosed,
            meta,
            reason=checks.text(reason, "reason"),
            summary=checks.text(summary, "summary"),
            occurred_at=checks.aware(occurred_at, "occurred_at"),
        )
        return cast(Discharge, self.discharge)
