"""Use cases of progress notes: draft, revise, sign, addenda, co-sign or return, read then or now.

A note is decided about as resource type ``note`` (category ``notes``, the note's labels) with the facts of
its episode (care team, the care team's supervisors) and its author. The consent policy decides who may
write and who may co-sign or return; the note itself keeps the rules of its life (only the author revises
and signs, only a supervisor of the author co-signs or returns, nothing changes a signed note but addenda).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from services.records.application.access import (
    NOTES,
    AccessDenied,
    Action,
    Actor,
    Obligations,
    Part,
    Resource,
)
from services.records.application.commands import Command, Written
from services.records.application.core import RecordsCore
from services.records.application.errors import NotFound
from services.records.application.ids import new_id
from services.records.application.ports import CommitRows, NoteRow
from services.records.domain.base import EventMeta
from services.records.domain.episode import Episode
from services.records.domain.errors import EntryNotFound, EpisodeClosed, ValidationError
from services.records.domain.labels import sensitivity_labels
from services.records.domain.note import EDITABLE, Note
from services.records.domain.note_values import note_content


@dataclass(frozen=True)
class OverdueNote:
    note: Note
    due_on: date  # the last day, in the practice's time zone, on which signing it was on time


class NoteUseCases(RecordsCore):
    # Set from the settings by the composition root: unsigned notes are overdue after this many whole days,
    # counted in the practice's time zone.
    overdue_after_days: int = 3
    practice_time_zone: str = "UTC"

    def draft_note(
        self,
        cmd: Command,
        episode_id: UUID,
        session_id: UUID,
        format_: str,
        content: dict[str, str],
        labels: list[str],
    ) -> Written:
        episode = self._load(cmd.actor.tenant, episode_id, Episode)
        self._held_session(episode, session_id)
        labels = sensitivity_labels(labels)
        note_content(format_, content)  # invalid input is a 422 before any decision is asked
        obligations = self._authorize_note(
            cmd.actor, episode, "create", None, labels, cmd.actor.sub, cmd.request_id
        )
        note = Note.draft(
            self._meta(cmd), new_id(), episode.client_id, episode.id, session_id, format_, content, labels
        )
        written = Written(note, note.id, note.version, note, obligations)
        self._save(cmd, written, note, rows=_rows(note))
        return written

    def get_note(
        self,
        actor: Actor,
        path: tuple[UUID, UUID, UUID],
        version: int | None = None,
        as_of: datetime | None = None,
        request_id: str = "",
    ) -> Note:
        """The note (episode, session, note ids) now, at a version or as of an instant."""
        episode_id, _, note_id = path
        current = self._note_at(actor.tenant, path)
        shown = current
        if version is not None or as_of is not None:
            shown = self._load_then(actor.tenant, note_id, Note, version, as_of)
        episode = self._load(actor.tenant, episode_id, Episode)
        self._authorize_note(actor, episode, "read", shown.id, shown.labels, current.author, request_id)
        return shown

    def revise_note(self, cmd: Command, path: tuple[UUID, UUID, UUID], content: dict[str, str]) -> Written:
        return self._change_note(cmd, path, "write", lambda n, m: n.revise(m, content))

    def sign_note(self, cmd: Command, path: tuple[UUID, UUID, UUID]) -> Written:
        return self._change_note(
            cmd, path, "write", lambda n, m: n.sign(m, self._requires_supervision(n.tenant, n.author))
        )

    def append_addendum(self, cmd: Command, path: tuple[UUID, UUID, UUID], text: str, reason: str) -> Written:
        return self._change_note(
            cmd, path, "write", lambda n, m: n.append_addendum(m, new_id(), text, reason)
        )

    def cosign_note(self, cmd: Command, path: tuple[UUID, UUID, UUID], comment: str | None) -> Written:
        return self._change_note(
            cmd, path, "cosign", lambda n, m: n.cosign(m, self._supervisor_of(n.tenant, n.author), comment)
        )

    def return_note(self, cmd: Command, path: tuple[UUID, UUID, UUID], comment: str) -> Written:
        return self._change_note(
            cmd,
            path,
            "return",
            lambda n, m: n.return_for_revision(m, self._supervisor_of(n.tenant, n.author), comment),
        )

    def overdue_notes(
        self, actor: Actor, clinician: str | None, after: UUID | None, limit: int, request_id: str = ""
    ) -> tuple[list[OverdueNote], UUID | None]:
        """A page of notes unsigned past their due day that the actor may read (of one clinician, when
        named), and where the next page starts."""
        zone = ZoneInfo(self.practice_time_zone)
        today = self.clock().astimezone(zone).date()
        cutoff = datetime.combine(today - timedelta(days=self.overdue_after_days), time(0), tzinfo=zone)
        ids = self.index.unsigned_notes(actor.tenant, cutoff, clinician, after, limit + 1)
        found = []
        for note_id in ids[:limit]:
            note = self._load(actor.tenant, note_id, Note)
            episode = self._load(actor.tenant, note.episode_id, Episode)
            try:
                self._authorize_note(actor, episode, "read", note.id, note.labels, note.author, request_id)
            except AccessDenied:
                continue  # a list does not reveal notes the caller may not see
            drafted_on = note.created_on.astimezone(zone).date()
            found.append(OverdueNote(note, drafted_on + timedelta(days=self.overdue_after_days)))
        return found, ids[limit - 1] if len(ids) > limit else None

    # --- helpers ---------------------------------------------------------------------------------------
    def _change_note(
        self,
        cmd: Command,
        path: tuple[UUID, UUID, UUID],
        action: Action,
        change: Callable[[Note, EventMeta], Any],
    ) -> Written:
        episode_id, _, note_id = path

        def authorize(note: Note) -> Obligations:
            _check_path(note, path)
            episode = self._load(cmd.actor.tenant, episode_id, Episode)
            return self._authorize_note(
                cmd.actor, episode, action, note.id, note.labels, note.author, cmd.request_id
            )

        return self._update(cmd, note_id, Note, authorize, change, rows=_rows)

    def _note_at(self, tenant: str, path: tuple[UUID, UUID, UUID]) -> Note:
        note = self._load(tenant, path[2], Note)
        _check_path(note, path)
        return note

    def _authorize_note(
        self,
        actor: Actor,
        episode: Episode,
        action: Action,
        note_id: UUID | None,
        labels: list[str],
        author: str,
        request_id: str,
    ) -> Obligations:
        team = frozenset(episode.care_team)
        part = Part(NOTES, frozenset(labels))
        return self._decide(
            actor,
            action,
            Resource("note", note_id, part.labels, frozenset({NOTES})),
            client_id=episode.client_id,
            care_team=team,
            supervisors=self._supervisors_of(actor, episode.tenant, team),
            request_id=request_id,
            essential=part,
            author=author,
        )

    @staticmethod
    def _held_session(episode: Episode, session_id: UUID) -> None:
        session = episode.sessions.get(str(session_id))
        if session is None:
            raise EntryNotFound("session", session_id)
        if session.is_cancelled:
            raise ValidationError(f"session {session_id} was cancelled; notes are of sessions held")
        if episode.is_closed:
            raise EpisodeClosed(episode.id)

    def _requires_supervision(self, tenant: str, sub: str) -> bool:
        practitioner = self._find_practitioner(tenant, sub)
        return practitioner is not None and practitioner.requires_supervision

    def _supervisor_of(self, tenant: str, sub: str) -> str | None:
        practitioner = self._find_practitioner(tenant, sub)
        return None if practitioner is None else practitioner.supervisor


def _rows(note: Note) -> CommitRows:
    """The note's row in the overdue index: unsigned while a draft or returned."""
    signed = None if note.status in EDITABLE or note.signature is None else note.signature.signed_at
    return CommitRows(note=NoteRow(note.tenant, note.id, note.author, note.created_on, signed))


def _check_path(note: Note, path: tuple[UUID, UUID, UUID]) -> None:
    """A note is found only under its own episode and session."""
    if (note.episode_id, note.session_id) != path[:2]:
        raise NotFound(f"no note {note.id} in session {path[1]}")
