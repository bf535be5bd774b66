"""Goals set, revised, progressed, achieved or discontinued: a part of :class:`~.episode.Episode`."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from . import checks
from .base import EventMeta
from .entries import Goal
from .episode_state import EpisodeState
from .errors import GoalNotActive, UnknownReference, ValidationError
from .goal_events import GoalAchieved, GoalDiscontinued, GoalProgressRecorded, GoalRevised, GoalSet

MAX_RATING = 10


def _target_date(target_date: date | None) -> date | None:
    if target_date is not None and (not isinstance(target_date, date) or isinstance(target_date, datetime)):
        raise ValidationError("target_date must be a date", field="target_date")
    return target_date


def _rating(rating: int | None) -> int | None:
    return None if rating is None else checks.integer(rating, "rating", 0, MAX_RATING)


class GoalCommands(EpisodeState):
    """Commands on goals; mixed into :class:`Episode`, whose state they use."""

    def set_goal(
        self,
        meta: EventMeta,
        goal_id: UUID,
        statement: str,
        objectives: list[str],
        target_date: date | None,
        occurred_at: datetime,
        labels: list[str],
    ) -> Goal:
        self._ensure_open()
        self._ensure_new_entry(goal_id)
        self._record(
            GoalSet,
            meta,
            goal_id=goal_id,
            statement=checks.text(statement, "statement"),
            objectives=checks.texts(objectives, "objectives"),
            target_date=_target_date(target_date),
            occurred_at=checks.aware(occurred_at, "occurred_at"),
            labels=self._labels(labels),
        )
        return self.goals[str(goal_id)]

    def revise_goal(
        self,
        meta: EventMeta,
        goal_id: UUID,
        statement: str,
        reason: str,
        reflection_id: UUID | None,
        objectives: list[str] | None = None,
        target_date: date | None = None,
    ) -> Goal:
        """A new statement with its reason; ``objectives`` and ``target_date`` left ``None`` stay."""
        goal = self._active_goal(goal_id)
        if reflection_id is not None and str(reflection_id) not in self.reflections:
            raise UnknownReference(
                f"reflection {reflection_id} not found in this episode", field="reflection_id"
            )
        self._record(
            GoalRevised,
            meta,
            goal_id=goal_id,
            old_statement=goal.statement,
            statement=checks.text(statement, "statement"),
            reason=checks.text(reason, "reason"),
            reflection_id=reflection_id,
            objectives=None if objectives is None else checks.texts(objectives, "objectives"),
            target_date=_target_date(target_date),
        )
        return self.goals[str(goal_id)]

    def record_goal_progress(
        self,
        meta: EventMeta,
        goal_id: UUID,
        progress_id: UUID,
        summary: str,
        rating: int | None,
        occurred_at: datetime,
    ) -> Goal:
        self._active_goal(goal_id)
        self._ensure_new_entry(progress_id)
        self._record(
            GoalProgressRecorded,
            meta,
            goal_id=goal_id,
            progress_id=progress_id,
            summary=checks.text(summary, "summary"),
            rating=_rating(rating),
            occurred_at=checks.aware(occurred_at, "occurred_at"),
        )
        return self.goals[str(goal_id)]

    def achieve_goal(self, meta: EventMeta, goal_id: UUID, note: str, occurred_at: datetime) -> Goal:
        self._active_goal(goal_id)
        self._record(
            GoalAchieved,
            meta,
            goal_id=goal_id,
            note=checks.text(note, "note"),
            occurred_at=checks.aware(occurred_at, "occurred_at"),
        )
        return self.goals[str(goal_id)]

    def discontinue_goal(self, meta: EventMeta, goal_id: UUID, reason: str, occurred_at: datetime) -> Goal:
        self._active_goal(goal_id)
        self._record(
            GoalDiscontinued,
            meta,
            goal_id=goal_id,
            reason=checks.text(reason, "reason"),
            occurred_at=checks.aware(occurred_at, "occurred_at"),
        )
        return self.goals[str(goal_id)]

    def _active_goal(self, goal_id: UUID) -> Goal:
        self._ensure_open()
        goal = self._goal(goal_id)
        if not goal.is_active:
            raise GoalNotActive(goal_id, goal.status)
        return goal
