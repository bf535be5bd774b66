"""What an episode holds, how it is read, and the guards its commands share.

:class:`EpisodeState` is the common base of the command parts (:mod:`.sessions`, :mod:`.goals`) and of
:class:`~.episode.Episode` itself, so each part can be type-checked on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from .base import EventMeta
from .entries import Discharge, Entry, EntryRef, Goal, Measure, Pattern, Reflection, Session
from .errors import EntryAlreadyExists, EntryNotFound, EpisodeClosed, UnknownReference, ValidationError
from .labels import sensitivity_labels

if TYPE_CHECKING:
    from eventsourcing.domain import Aggregate

E = TypeVar("E")

FIRST_VERSION = 1


def _get(kind: str, entries: Mapping[str, E], entry_id: UUID) -> E:
    try:
        return entries[str(entry_id)]
    except KeyError:
        raise EntryNotFound(kind, entry_id) from None


class EpisodeState:
    tenant: str
    client_id: UUID
    clinician: str
    care_team: list[str]
    reason_for_referral: str
    presenting_concerns: list[str]
    opened_at: datetime
    labels: list[str]
    sessions: dict[str, Session]
    patterns: dict[str, Pattern]
    goals: dict[str, Goal]
    reflections: dict[str, Reflection]
    measures: dict[str, Measure]
    discharge: Discharge | None

    if TYPE_CHECKING:  # provided by RecordAggregate, which Episode also derives from

        @property
        def id(self) -> UUID: ...

        @property
        def version(self) -> int: ...

        @version.setter
        def version(self, value: int) -> None: ...

        def _trigger(self, event_class: type[Aggregate.Event], meta: EventMeta, **fields: Any) -> None: ...

    @property
    def is_closed(self) -> bool:
        return self.discharge is not None

    def entry_kinds(self) -> dict[str, str]:
        """The kind (session, pattern, exploration, goal, reflection, measure) of every entry, by str(id)."""
        kinds: dict[str, str] = {}
        for kind, entries in self._collections():
            kinds.update(dict.fromkeys(entries, kind))
        for pattern in self.patterns.values():
            kinds.update({str(exploration.id): "exploration" for exploration in pattern.explorations})
        return kinds

    def find_entry(self, entry_id: UUID) -> Entry:
        """The entry with this id, of any kind; :class:`EntryNotFound` when there is none."""
        key = str(entry_id)
        for _, entries in self._collections():
            if key in entries:
                return entries[key]
        for pattern in self.patterns.values():
            for exploration in pattern.explorations:
                if exploration.id == entry_id:
                    return exploration
        raise EntryNotFound("entry", entry_id)

    def _collections(self) -> list[tuple[str, Mapping[str, Entry]]]:
        return [
            ("session", self.sessions),
            ("pattern", self.patterns),
            ("goal", self.goals),
            ("reflection", self.reflections),
            ("measure", self.measures),
        ]

    def _record(self, event_class: type[Aggregate.Event], meta: EventMeta, **fields: Any) -> None:
        self._trigger(event_class, meta, client_id=self.client_id, **fields)

    def _ensure_open(self) -> None:
        if self.is_closed:
            raise EpisodeClosed(self.id)

    def _ensure_new_entry(self, entry_id: UUID) -> None:
        """Ids are unique within the episode across entries, explorations and goal progress."""
        if not isinstance(entry_id, UUID):
            raise ValidationError("an entry id must be a UUID", field="id")
        progress_ids = {progress.id for goal in self.goals.values() for progress in goal.progress}
        if entry_id == self.id or str(entry_id) in self.entry_kinds() or entry_id in progress_ids:
            raise EntryAlreadyExists(entry_id)

    def _labels(self, labels: list[str]) -> list[str]:
        return sensitivity_labels(labels)

    def _session(self, session_id: UUID) -> Session:
        return _get("session", self.sessions, session_id)

    def _pattern(self, pattern_id: UUID) -> Pattern:
        return _get("pattern", self.patterns, pattern_id)

    def _goal(self, goal_id: UUID) -> Goal:
        return _get("goal", self.goals, goal_id)

    def _refs(self, refers_to: list[EntryRef]) -> list[EntryRef]:
        if not isinstance(refers_to, list) or not refers_to:
            raise ValidationError("refers_to must name at least one entry", field="refers_to")
        for index, ref in enumerate(refers_to):
            self._check_ref(f"refers_to[{index}]", ref)
        return list(refers_to)

    def _check_ref(self, field: str, ref: EntryRef) -> None:
        """A reference names an entry (or the episode) at a version between its creation and now."""
        if not isinstance(ref, EntryRef):
            raise ValidationError(f"{field} must be an EntryRef", field=field)
        if ref.entry_id == self.id:
            first = FIRST_VERSION
        else:
            try:
                first = self.find_entry(ref.entry_id).created_version
            except EntryNotFound:
                raise UnknownReference(f"{field} names no entry of this episode", field=field) from None
        if not isinstance(ref.event_version, int) or not first <= ref.event_version <= self.version:
            raise ValidationError(
                f"{field}.event_version must be between {first} and {self.version}",
                field=f"{field}.event_version",
            )
