"""Domain errors of the records service.

Messages name fields, ids, codes and counts only: never names, statements, note text or other clinical free
text, because an error message can end up in a log or a problem document. They know nothing of HTTP; the API
maps each type to a status in one table.
"""

from __future__ import annotations

from uuid import UUID


class DomainError(Exception):
    """Base of every error the records domain raises on purpose."""


class ValidationError(DomainError):
    """A command's input breaks a rule; ``field`` names the offending input when there is one."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class UnknownReference(ValidationError):
    """An input names an entry (by id, in a body field) that this episode does not hold."""


class Conflict(DomainError):
    """The command is well formed but the aggregate's state refuses it."""


class EpisodeClosed(Conflict):
    """The episode was closed (discharged); it accepts no further commands."""

    def __init__(self, episode_id: UUID) -> None:
        super().__init__(f"episode {episode_id} is closed")
        self.episode_id = episode_id


class GoalNotActive(Conflict):
    """The goal was achieved or discontinued; it accepts no revision, progress or status change."""

    def __init__(self, goal_id: UUID, status: str) -> None:
        super().__init__(f"goal {goal_id} is {status}, not active")
        self.goal_id = goal_id
        self.status = status


class SessionAlreadyCancelled(Conflict):
    """The session was cancelled before."""

    def __init__(self, session_id: UUID) -> None:
        super().__init__(f"session {session_id} is already cancelled")
        self.session_id = session_id


class EntryAlreadyExists(Conflict):
    """An entry of this episode already has the id a command means to create."""

    def __init__(self, entry_id: UUID) -> None:
        super().__init__(f"entry {entry_id} already exists in this episode")
        self.entry_id = entry_id


class EntryNotFound(DomainError):
    """A command names (by path) an entry the episode does not hold."""

    def __init__(self, kind: str, entry_id: UUID) -> None:
        super().__init__(f"{kind} {entry_id} not found in this episode")
        self.kind = kind
        self.entry_id = entry_id


class NoteLocked(Conflict):
    """The note is signed (or awaiting co-signature): it is not changed again, only corrected by addenda."""

    def __init__(self, note_id: UUID, status: str) -> None:
        super().__init__(f"note {note_id} is {status}; corrections are addenda")
        self.note_id = note_id
        self.status = status


class NoteNotSigned(Conflict):
    """Addenda, co-signatures and returns need a signed note."""

    def __init__(self, note_id: UUID, status: str, wanted: str) -> None:
        super().__init__(f"note {note_id} is {status}; {wanted}")
        self.note_id = note_id
        self.status = status


class NotSupervisor(Conflict):
    """Only a supervisor of the note's author (practitioner directory) co-signs or returns it."""

    def __init__(self, note_id: UUID, actor: str) -> None:
        super().__init__(f"{actor} is not a supervisor of the author of note {note_id}")
        self.note_id = note_id


class NotAuthor(DomainError):
    """Only the author drafts, revises and signs a note."""

    def __init__(self, note_id: UUID, actor: str) -> None:
        super().__init__(f"{actor} is not the author of note {note_id}")
        self.note_id = note_id
