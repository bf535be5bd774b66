"""Use cases of psychotherapy notes: recorded by a clinician of the episode's care team, read by the author
or under a psychotherapy-notes authorization (the consent service decides; break-glass never opens them).

Decided as resource type ``psychotherapy_note`` with the label ``PSYTHPN`` and the ``author`` fact. No other
use case loads them: episode reads, history, entries and client views cannot reveal them.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from services.records.application.access import (
    AccessDenied,
    Action,
    Actor,
    Decision,
    Obligations,
    Part,
    Resource,
)
from services.records.application.commands import Command, Written
from services.records.application.core import RecordsCore
from services.records.application.ids import new_id
from services.records.application.ports import CommitRows
from services.records.domain import checks
from services.records.domain.episode import Episode
from services.records.domain.labels import PSYCHOTHERAPY_NOTE
from services.records.domain.psychotherapy_note import PsychotherapyNote

PSYCHOTHERAPY_NOTES = "psychotherapy_note"
_LABELS = frozenset({PSYCHOTHERAPY_NOTE})
NOT_ON_CARE_TEAM = "psychotherapy notes are recorded by a clinician of the episode's care team"


class PsychotherapyNoteUseCases(RecordsCore):
    def record_psychotherapy_note(
        self, cmd: Command, episode_id: UUID, text: str, occurred_at: datetime
    ) -> Written:
        episode = self._load(cmd.actor.tenant, episode_id, Episode)
        checks.text(text, "text")
        checks.aware(occurred_at, "occurred_at")  # invalid input is a 422 before any decision is asked
        obligations = self._authorize_psychotherapy_note(
            cmd.actor, episode, "create", None, cmd.actor.sub, cmd.request_id
        )
        if cmd.actor.sub not in episode.care_team:
            raise AccessDenied(Decision(False, NOT_ON_CARE_TEAM, "care-team"))
        note = PsychotherapyNote.record(
            self._meta(cmd), new_id(), episode.client_id, episode.id, text, occurred_at
        )
        written = Written(note, note.id, note.version, note, obligations)
        self._save(cmd, written, note, rows=CommitRows())
        return written

    def get_psychotherapy_note(self, actor: Actor, note_id: UUID, request_id: str = "") -> PsychotherapyNote:
        note = self._load(actor.tenant, note_id, PsychotherapyNote)
        episode = self._load(actor.tenant, note.episode_id, Episode)
        self._authorize_psychotherapy_note(actor, episode, "read", note.id, note.author, request_id)
        return note

    def _authorize_psychotherapy_note(
        self,
        actor: Actor,
        episode: Episode,
        action: Action,
        note_id: UUID | None,
        author: str,
        request_id: str,
    ) -> Obligations:
        return self._decide(
            actor,
            action,
            Resource(PSYCHOTHERAPY_NOTES, note_id, _LABELS),
            client_id=episode.client_id,
            care_team=frozenset(episode.care_team),
            request_id=request_id,
            essential=Part(PSYCHOTHERAPY_NOTES, _LABELS),
            author=author,
        )
