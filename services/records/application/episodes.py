"""Use cases of episodes of care and their entries: sessions, patterns, goals, reflections, measures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from services.records.application.access import EPISODES, Action, Actor, Obligations, Part, Resource
from services.records.application.commands import Command, Written
from services.records.application.core import RecordsCore
from services.records.application.episode_access import (
    EpisodeRead,
    HistoryItem,
    Touches,
    episode_itself,
    event_subject,
    existing_entry,
    history_item,
    new_entry,
    whole_episode,
)
from services.records.application.errors import InvalidReference
from services.records.application.ids import new_id
from services.records.application.ports import CommitRows, EpisodeLink
from services.records.domain.base import EventMeta
from services.records.domain.client import Client
from services.records.domain.episode import Episode
from services.records.domain.labels import sensitivity_labels


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
        part = Part(EPISODES, frozenset(labels))
        obligations = self._decide(
            cmd.actor,
            "create",
            Resource("episode", None, part.labels, frozenset({EPISODES})),
            client_id=client.id,
            care_team=frozenset(team),
            request_id=cmd.request_id,
            essential=part,
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
        written = Written(episode, episode.id, episode.version, episode, obligations)
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
        """The episode now, at a version or as of an instant, as the decision about that state allows.

        The care team deciding is today's (whoever left it reads no earlier state either); the labels and
        categories asked about are those of the state returned.
        """
        current = self._load(actor.tenant, episode_id, Episode)
        shown = current
        if version is not None or as_of is not None:
            shown = self._load_then(actor.tenant, episode_id, Episode, version, as_of)
        resource, part = whole_episode(shown)
        return EpisodeRead(shown, self._authorize_episode(actor, current, "read", request_id, resource, part))

    def episode_history(
        self, actor: Actor, episode_id: UUID, after_version: int, limit: int, request_id: str = ""
    ) -> list[HistoryItem]:
        """Up to ``limit`` events after ``after_version``, without those about entries left out.

        Only events up to the version decided about are listed: a later one could concern an entry whose
        labels the decision never saw.
        """
        read = self.get_episode(actor, episode_id, request_id=request_id)
        hidden, decided = read.hidden_entry_ids(), read.episode.version
        found: list[HistoryItem] = []
        while len(found) < limit and after_version < decided:
            events = list(self.events.get(episode_id, gt=after_version, lte=decided, limit=limit))
            if not events:
                break
            after_version = events[-1].originator_version
            found += [history_item(e) for e in events if event_subject(e) not in hidden]
        return found[:limit]

    def close_episode(
        self, cmd: Command, episode_id: UUID, reason: str, summary: str, occurred_at: datetime
    ) -> Written:
        # The answer is the whole episode, so the decision is asked about all of it.
        return self._change_episode(
            cmd, episode_id, lambda e, m: e.close(m, reason, summary, occurred_at), whole_episode
        )

    def change_care_team(
        self, cmd: Command, episode_id: UUID, care_team: list[str], clinician: str | None
    ) -> Written:
        self._require_practitioners(cmd.actor.tenant, [*care_team, *([clinician] if clinician else [])])
        return self._change_episode(
            cmd, episode_id, lambda e, m: e.change_care_team(m, care_team, clinician), episode_itself
        )

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
            new_entry("sessions", labels),
        )

    def cancel_session(self, cmd: Command, episode_id: UUID, session_id: UUID, reason: str) -> Written:
        return self._change_episode(
            cmd,
            episode_id,
            lambda e, m: e.cancel_session(m, session_id, reason),
            existing_entry("sessions", session_id),
        )

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
            new_entry("patterns", labels),
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
            existing_entry("patterns", pattern_id),
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
            new_entry("goals", labels),
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
            existing_entry("goals", goal_id),
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
            existing_entry("goals", goal_id),
        )

    def change_goal_status(
        self, cmd: Command, episode_id: UUID, goal_id: UUID, status: str, note: str, occurred_at: datetime
    ) -> Written:
        goal = existing_entry("goals", goal_id)
        if status == "achieved":
            return self._change_episode(
                cmd, episode_id, lambda e, m: e.achieve_goal(m, goal_id, note, occurred_at), goal
            )
        return self._change_episode(
            cmd, episode_id, lambda e, m: e.discontinue_goal(m, goal_id, note, occurred_at), goal
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
            new_entry("reflections", labels),
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
            new_entry("measures", labels),
        )

    # --- helpers ---------------------------------------------------------------------------------------
    def _change_episode(
        self, cmd: Command, episode_id: UUID, change: Callable[[Episode, EventMeta], Any], touches: Touches
    ) -> Written:
        def authorize(episode: Episode) -> Obligations:
            resource, part = touches(episode)
            return self._authorize_episode(cmd.actor, episode, "write", cmd.request_id, resource, part)

        return self._update(cmd, episode_id, Episode, authorize, change)

    def _authorize_episode(
        self, actor: Actor, episode: Episode, action: Action, request_id: str, resource: Resource, part: Part
    ) -> Obligations:
        """Decide with the facts of ``episode`` (its care team and their supervisors)."""
        team = frozenset(episode.care_team)
        return self._decide(
            actor,
            action,
            resource,
            client_id=episode.client_id,
            care_team=team,
            supervisors=self._supervisors_of(actor, episode.tenant, team),
            request_id=request_id,
            essential=part,
        )

    def _require_practitioners(self, tenant: str, subs: list[str]) -> None:
        missing = [sub for sub in subs if self._find_practitioner(tenant, sub) is None]
        if missing:
            raise InvalidReference(f"not in the practitioner directory: {', '.join(sorted(missing))}")
