"""A psychotherapy note (HIPAA 164.501 "process notes"): kept apart from the rest of the record.

Its own aggregate, always labelled ``PSYTHPN``, linked to its episode by id only: the episode never holds
it, so nothing that reads an episode (the episode, its history, its entries, the client's episode list)
can reveal it. Readable by its author and, the consent service decides, by whoever a psychotherapy-notes
authorization names; break-glass never opens it.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from . import checks
from .base import EventMeta, RecordAggregate, meta_fields
from .labels import PSYCHOTHERAPY_NOTE


class PsychotherapyNote(RecordAggregate):
    TOPIC = "touchstone.records.PsychotherapyNote.v1"

    class Event(RecordAggregate.Event):
        TOPIC = "touchstone.records.PsychotherapyNote.Event.v1"
        client_id: UUID

    class PsychotherapyNoteRecorded(Event, RecordAggregate.Created):
        TOPIC = "touchstone.records.PsychotherapyNoteRecorded.v1"
        episode_id: UUID
        author: str
        text: str
        occurred_at: datetime
        labels: list[str]

    Created = PsychotherapyNoteRecorded

    def __init__(
        self,
        *,
        tenant: str,
        client_id: UUID,
        episode_id: UUID,
        author: str,
        text: str,
        occurred_at: datetime,
        labels: list[str],
    ) -> None:
        self.tenant = tenant
        self.client_id = client_id
        self.episode_id = episode_id
        self.author = author
        self.text = text
        self.occurred_at = occurred_at
        self.labels = list(labels)

    @classmethod
    def record(
        cls,
        meta: EventMeta,
        note_id: UUID,
        client_id: UUID,
        episode_id: UUID,
        text: str,
        occurred_at: datetime,
    ) -> PsychotherapyNote:
        """The author is the actor; the label is always ``PSYTHPN``."""
        return cls._create(
            cls.PsychotherapyNoteRecorded,
            id=note_id,
            client_id=client_id,
            episode_id=episode_id,
            author=meta.actor,
            text=checks.text(text, "text"),
            occurred_at=checks.aware(occurred_at, "occurred_at"),
            labels=[PSYCHOTHERAPY_NOTE],
            **meta_fields(meta),
        )
