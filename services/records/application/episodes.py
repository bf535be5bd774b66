"""Use cases of episodes of care and their entries: sessions, patterns, goals, reflections, measures."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from services.records.application.access import Action, Actor, Resource
from services.records.application.commands import Command, Written
from services.records.application.core import RecordsCore
from services.records.application.errors import InvalidReference
from services.records.application.ids import new_id
from services.records.application.ports import CommitRows, EpisodeLink
from services.records.domain.base import EventMeta
from services.records.domain.client import Client
from services.records.domain.episode import Episode
from services.records.domain.labels import sensitivity_labels


@dataclass(frozen=True)
class EpisodeRead:
    """An episode as the caller may see it: entries carrying a redacted label are left out."""

    episode: Episode
    redacted_labels: frozenset[str]

    def visible(self, entries: Sequence[Any]) -> list[Any]:
        return [e for e in entries if not self.redacted_labels.intersection(e.labels)]


@dataclass(frozen=True)
class HistoryItem:
    version: int
    type: str
    recorded_at: datetime
    actor: str
    request_id: str


class EpisodeUseCases(RecordsCore):
    # --- opening, reading, closing -------------------------------------------------------------------
    def open_episode(
        self,
        cmd: Command,
        client_id: UUID,
        clinician: str,
        care_team: list[str],
        reason_for_referral: str,
        presenting_concerns: list[str],
        occurred_at: datetime,
        labels: list[str],
    ) -> Written:
        tenant = cmd.actor.tenant
        client = self._load(tenant, client_id, Client)
        labels = sensitivity_labels(labels)  # invalid input is a 422 before any decision is asked
        team = list(dict.fromkeys([clinician, *care_team]))
        self._require_practitioners(tenant, team)
        self._decide(
            cmd.actor,
            "create",
            Resource("episode", None, frozenset(labels)),
            client_id=client.id,
            care_team=frozenset(team),
            request_id=cmd.request_id,
        )
        episode = Episode.open(
            self._meta(cmd),
            new_id(),
            client.id,
            clinician,
            team,
            reason_for_referral,
            presenting_concerns,
            occurred_at,
            labels,
        )
        written = Written(episode, episode.id, episode.version, episode)
        self._save(
            cmd, written, episode, rows=CommitRows(episode_link=EpisodeLink(tenant, client.id, episode.id))
        )
        return written

    def get_episode(
        self,
        actor: Actor,
        episode_id: UUID,
        version: int | None = None,
        as_of: datetime | None = None,
        request_id: str = "",
    ) -> EpisodeRead:
        current = self._load(actor.tenant, episode_id, Episode)
        redacted = self._authorize_episode(actor, current, "read", request_id)
        if version is None and as_of is None:
            return EpisodeRead(current, redacted)
        return EpisodeRead(self._load_then(actor.tenant, episode_id, Episode, version, as_of), redacted)

    def episode_history(
        self, actor: Actor, episode_id: UUID, after_version: int, limit: int, request_id: str = ""
    ) -> list[HistoryItem]:
        self.get_episode(actor, episode_id, request_id=request_id)
        events = self.events.get(episode_id, gt=after_version, limit=limit)
        return [
            HistoryItem(e.originator_version, _event_type(e), e.timestamp, e.actor, e.request_id)  # type: ignore[attr-defined]
            for e in events
        ]

    def close_episode(
        self, cmd: Command, episode_id: UUID, reason: str, summary: str, occurred_at: datetime
    ) -> Written:
        return self._change_episode(cmd, episode_id, lambda e, m: e.close(m, reason, summary, occurred_at))

    def change_care_team(
        self, cmd: Command, episode_id: UUID, care_team: list[str], clinician: str | None
    ) -> Written:
        self._require_practitioners(cmd.actor.tenant, [*care_team, *([clinician] if clinician else [])])
        return self._change_episode(cmd, episode_id, lambda e, m: e.change_care_team(m, care_team, clinician))

    # --- entries ---------------------------------------------------------------------------------------
    def hold_session(
        self,
        cmd: Command,
        episode_id: UUID,
        occurred_at: datetime,
        duration_minutes: int,
        modality: str,
        attendees: list[str],
        labels: list[str],
    ) -> Written:
        return self._change_episode(
            cmd,
            episode_id,
            lambda e, m: e.hold_session(
                m, new_id(), occurred_at, duration_minutes, modality, attendees, labels
            ),
            labels,
        )

    def cancel_session(self, cmd: Command, episode_id: UUID, session_id: UUID, reason: str) -> Written:
        return self._change_episode(cmd, episode_id, lambda e, m: e.cancel_session(m, session_id, reason))

    def identify_pattern(
        self,
        cmd: Command,
        episode_id: UUID,
        name: str,
        description: str,
        occurred_at: datetime,
        labels: list[str],
    ) -> Written:
        return self._change_episode(
            cmd,
            episode_id,
            lambda e, m: e.identify_pattern(m, new_id(), name, description, occurred_at, labels),
            labels,
        )

    def explore_pattern(
        self,
        cmd: Command,
        episode_id: UUID,
        pattern_id: UUID,
        session_id: UUID | None,
        observations: str,
        occurred_at: datetime,
    ) -> Written:
        return self._change_episode(
            cmd,
            episode_id,
            lambda e, m: e.explore_pattern(m, pattern_id, new_id(), session_id, observations, occurred_at),
        )

    def set_goal(
        self,
        cmd: Command,
        episode_id: UUID,
        statement: str,
        objectives: list[str],
        target_date: Any,
        occurred_at: datetime,
        labels: list[str],
    ) -> Written:
        return self._change_episode(
            cmd,
            episode_id,
            lambda e, m: e.set_goal(m, new_id(), statement, objectives, target_date, occurred_at, labels),
            labels,
        )

    def revise_goal(
        self,
        cmd: Command,
        episode_id: UUID,
        goal_id: UUID,
        statement: str,
        reason: str,
        reflection_id: UUID | None,
        objectives: list[str] | None,
        target_date: Any,
    ) -> Written:
        return self._change_episode(
            cmd,
            episode_id,
            lambda e, m: e.revise_goal(
                m, goal_id, statement, reason, reflection_id, objectives=objectives, target_date=target_date
            ),
        )

    def record_goal_progress(
        self,
        cmd: Command,
        episode_id: UUID,
        goal_id: UUID,
        summary: str,
        rating: int | None,
        occurred_at: datetime,
    ) -> Written:
        return self._change_episode(
            cmd,
            episode_id,
            lambda e, m: e.record_goal_progress(m, goal_id, new_id(), summary, rating, occurred_at),
        )

    def change_goal_status(
        self, cmd: Command, episode_id: UUID, goal_id: UUID, status: str, note: str, occurred_at: datetime
    ) -> Written:
        if status == "achieved":
            return self._change_episode(
                cmd, episode_id, lambda e, m: e.achieve_goal(m, goal_id, note, occurred_at)
            )
        return self._change_episode(
            cmd, episode_id, lambda e, m: e.discontinue_goal(m, goal_id, note, occurred_at)
        )

    def record_reflection(
        self,
        cmd: Command,
        episode_id: UUID,
        text: str,
        refers_to: list[Any],
        occurred_at: datetime,
        labels: list[str],
    ) -> Written:
        return self._change_episode(
            cmd,
            episode_id,
            lambda e, m: e.record_reflection(m, new_id(), text, refers_to, occurred_at, labels),
            labels,
        )

    def record_measure(
        self,
        cmd: Command,
        episode_id: UUID,
        instrument: str,
        score: int,
        items: list[int],
        occurred_at: datetime,
        labels: list[str],
    ) -> Written:
        return self._change_episode(
            cmd,
            episode_id,
            lambda e, m: e.record_measure(m, new_id(), instrument, score, items, occurred_at, labels),
            labels,
        )

    # --- helpers ---------------------------------------------------------------------------------------
    def _change_episode(
        self,
        cmd: Command,
        episode_id: UUID,
        change: Callable[[Episode, EventMeta], Any],
        labels: list[str] | None = None,
    ) -> Written:
        if labels is not None:
            labels = sensitivity_labels(labels)  # invalid input is a 422 before any decision is asked

        def authorize(episode: Episode) -> frozenset[str]:
            return self._authorize_episode(cmd.actor, episode, "write", cmd.request_id, labels)

        return self._update(cmd, episode_id, Episode, authorize, change)

    def _authorize_episode(
        self, actor: Actor, episode: Episode, action: Action, request_id: str, labels: list[str] | None = None
    ) -> frozenset[str]:
        team = frozenset(episode.care_team)
        supervisors = self._supervisors_of(actor, episode.tenant, team)
        return self._decide(
            actor,
            action,
            Resource("episode", episode.id, frozenset(labels or ())),
            client_id=episode.client_id,
            care_team=team,
            supervisors=supervisors,
            request_id=request_id,
        )

    def _require_practitioners(self, tenant: str, subs: list[str]) -> None:
        missing = [sub for sub in subs if self._find_practitioner(tenant, sub) is None]
        if missing:
            raise InvalidReference(f"not in the practitioner directory: {', '.join(sorted(missing))}")


def _event_type(event: object) -> str:
    """The public name of an event: its topic without namespace and version."""
    topic = getattr(type(event), "TOPIC", type(event).__name__)
    return str(topic).split(".")[-2] if "." in str(topic) else str(topic)
