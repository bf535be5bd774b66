"""Goal events of an episode of care. Every one of them adds a step to the goal's history."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from .entries import Goal, GoalHistoryItem, GoalProgress
from .episode_events import EpisodeEvent

if TYPE_CHECKING:
    from .episode_state import EpisodeState


class GoalEvent(EpisodeEvent):
    """A base for the goal events (never triggered itself)."""

    TOPIC = "touchstone.records.Episode.GoalEvent.v1"
    goal_id: UUID

    def history_item(self, event_type: str, **details: Any) -> GoalHistoryItem:
        return GoalHistoryItem(
            version=self.originator_version,
            event_type=event_type,
            actor=self.actor,
            recorded_at=self.timestamp,
            **details,
        )

    def update_goal(
        self, aggregate: EpisodeState, event_type: str, changes: dict[str, Any], **details: Any
    ) -> None:
        """Replace the goal with ``changes`` applied and this event appended to its history."""
        key = str(self.goal_id)
        goal = aggregate.goals[key]
        item = self.history_item(event_type, **details)
        aggregate.goals[key] = replace(goal, **changes, history=[*goal.history, item])


class GoalSet(GoalEvent):
    TOPIC = "touchstone.records.GoalSet.v1"
    statement: str
    objectives: list[str]
    target_date: date | None
    occurred_at: datetime
    labels: list[str]

    def apply(self, aggregate: EpisodeState) -> None:
        item = self.history_item(
            "GoalSet",
            occurred_at=self.occurred_at,
            new_statement=self.statement,
            objectives=list(self.objectives),
            target_date=self.target_date,
        )
        aggregate.goals[str(self.goal_id)] = Goal(
            **self.entry_facts(self.goal_id, self.occurred_at, self.labels),
            statement=self.statement,
            objectives=list(self.objectives),
            target_date=self.target_date,
            history=[item],
        )


class GoalRevised(GoalEvent):
    """A new statement (and optionally objectives and target date) with the reason, perhaps a reflection."""

    TOPIC = "touchstone.records.GoalRevised.v1"
    old_statement: str
    statement: str
    reason: str
    reflection_id: UUID | None
    objectives: list[str] | None
    target_date: date | None

    def apply(self, aggregate: EpisodeState) -> None:
        changes: dict[str, Any] = {"statement": self.statement}
        if self.objectives is not None:
            changes["objectives"] = list(self.objectives)
        if self.target_date is not None:
            changes["target_date"] = self.target_date
        self.update_goal(
            aggregate,
            "GoalRevised",
            changes,
            reason=self.reason,
            old_statement=self.old_statement,
            new_statement=self.statement,
            objectives=None if self.objectives is None else list(self.objectives),
            target_date=self.target_date,
            reflection_id=self.reflection_id,
        )


class GoalProgressRecorded(GoalEvent):
    TOPIC = "touchstone.records.GoalProgressRecorded.v1"
    progress_id: UUID
    summary: str
    rating: int | None
    occurred_at: datetime

    def apply(self, aggregate: EpisodeState) -> None:
        progress = GoalProgress(
            id=self.progress_id,
            version=self.originator_version,
            recorded_at=self.timestamp,
            recorded_by=self.actor,
            occurred_at=self.occurred_at,
            summary=self.summary,
            rating=self.rating,
        )
        goal = aggregate.goals[str(self.goal_id)]
        self.update_goal(
            aggregate,
            "GoalProgressRecorded",
            {"progress": [*goal.progress, progress]},
            occurred_at=self.occurred_at,
            summary=self.summary,
            rating=self.rating,
        )


class GoalAchieved(GoalEvent):
    TOPIC = "touchstone.records.GoalAchieved.v1"
    note: str
    occurred_at: datetime

    def apply(self, aggregate: EpisodeState) -> None:
        self.update_goal(
            aggregate, "GoalAchieved", {"status": "achieved"}, occurred_at=self.occurred_at, note=self.note
        )


class GoalDiscontinued(GoalEvent):
    TOPIC = "touchstone.records.GoalDiscontinued.v1"
    reason: str
    occurred_at: datetime

    def apply(self, aggregate: EpisodeState) -> None:
        self.update_goal(
            aggregate,
            "GoalDiscontinued",
            {"status": "discontinued"},
            occurred_at=self.occurred_at,
            reason=self.reason,
        )
