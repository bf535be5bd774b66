"""Sessions held and the patterns explored in them: a part of :class:`~.episode.Episode`."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from . import checks
from .base import EventMeta
from .entries import MODALITIES, Exploration, Pattern, Session
from .episode_events import PatternExplored, PatternIdentified, SessionCancelled, SessionHeld
from .episode_state import EpisodeState
from .errors import SessionAlreadyCancelled, UnknownReference, ValidationError

MAX_SESSION_MINUTES = 600


def _modality(modality: str) -> str:
    if modality not in MODALITIES:
        raise ValidationError(f"modality must be one of {MODALITIES}", field="modality")
    return modality


class SessionCommands(EpisodeState):
    """Commands on sessions and patterns; mixed into :class:`Episode`, whose state they use."""

    def hold_session(
        self,
        meta: EventMeta,
        session_id: UUID,
        occurred_at: datetime,
        duration_minutes: int,
        modality: str,
        attendees: list[str],
        labels: list[str],
    ) -> Session:
        self._ensure_open()
        self._ensure_new_entry(session_id)
        self._record(
            SessionHeld,
            meta,
            session_id=session_id,
            occurred_at=checks.aware(occurred_at, "occurred_at"),
            duration_minutes=checks.integer(duration_minutes, "duration_minutes", 1, MAX_SESSION_MINUTES),
            modality=_modality(modality),
            attendees=checks.texts(attendees, "attendees", required=True),
            labels=self._labels(labels),
        )
        return self.sessions[str(session_id)]

    def cancel_session(self, meta: EventMeta, session_id: UUID, reason: str) -> Session:
        self._ensure_open()
        if self._session(session_id).is_cancelled:
            raise SessionAlreadyCancelled(session_id)
        self._record(SessionCancelled, meta, session_id=session_id, reason=checks.text(reason, "reason"))
        return self.sessions[str(session_id)]

    def identify_pattern(
        self,
        meta: EventMeta,
        pattern_id: UUID,
        name: str,
        description: str,
        occurred_at: datetime,
        labels: list[str],
    ) -> Pattern:
        self._ensure_open()
        self._ensure_new_entry(pattern_id)
        self._record(
            PatternIdentified,
            meta,
            pattern_id=pattern_id,
            name=checks.text(name, "name"),
            description=checks.text(description, "description"),
            occurred_at=checks.aware(occurred_at, "occurred_at"),
            labels=self._labels(labels),
        )
        return self.patterns[str(pattern_id)]

    def explore_pattern(
        self,
        meta: EventMeta,
        pattern_id: UUID,
        exploration_id: UUID,
        session_id: UUID | None,
        observations: str,
        occurred_at: datetime,
        labels: list[str] | None = None,
    ) -> Exploration:
        """Record what was observed of a pattern; in one of this episode's sessions when one is named."""
        self._ensure_open()
        self._pattern(pattern_id)
        self._ensure_new_entry(exploration_id)
        self._record(
            PatternExplored,
            meta,
            pattern_id=pattern_id,
            exploration_id=exploration_id,
            session_id=self._held_session(session_id),
            observations=checks.text(observations, "observations"),
            occurred_at=checks.aware(occurred_at, "occurred_at"),
            labels=self._labels(labels or []),
        )
        return self.patterns[str(pattern_id)].explorations[-1]

    def _held_session(self, session_id: UUID | None) -> UUID | None:
        """A session named in a command's body must be one of this episode's, and not cancelled."""
        if session_id is None:
            return None
        session = self.sessions.get(str(session_id))
        if session is None:
            raise UnknownReference(f"session {session_id} not found in this episode", field="session_id")
        if session.is_cancelled:
            raise ValidationError(f"session {session_id} was cancelled", field="session_id")
        return session_id
