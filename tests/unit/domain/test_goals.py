"""Goals: set, revised, progress, achieved, discontinued; given / when / then."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from uuid import uuid4

import pytest

from services.records.domain import (
    EntryNotFound,
    Episode,
    GoalNotActive,
    UnknownReference,
    ValidationError,
)

from .builders import CLINICIAN, Full, at, full_episode, meta, open_episode


def test_set_goal_records_the_goal_and_its_first_history_step() -> None:
    episode = open_episode()
    goal_id = uuid4()

    goal = episode.set_goal(meta(1), goal_id, "sleep 7 hours", ["routine"], date(2025, 6, 1), at(1), ["MH"])

    assert episode.goals[str(goal_id)] is goal
    assert (goal.statement, goal.objectives, goal.target_date) == (
        "sleep 7 hours",
        ["routine"],
        date(2025, 6, 1),
    )
    assert goal.status == "active"
    assert goal.labels == ["MH"]
    [step] = goal.history
    assert (step.event_type, step.version, step.actor, step.new_statement) == (
        "GoalSet",
        2,
        CLINICIAN,
        "sleep 7 hours",
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"statement": " "}, "statement"),
        ({"objectives": [""]}, "objectives[0]"),
        ({"target_date": datetime(2025, 6, 1)}, "target_date"),
        ({"occurred_at": datetime(2025, 6, 1)}, "occurred_at"),
    ],
)
def test_set_goal_refuses_invalid_input(changes: dict[str, Any], field: str) -> None:
    given: dict[str, Any] = {
        "statement": "s",
        "objectives": [],
        "target_date": None,
        "occurred_at": at(),
        "labels": [],
    }
    given.update(changes)

    with pytest.raises(ValidationError) as raised:
        open_episode().set_goal(meta(), uuid4(), **given)

    assert raised.value.field == field


def test_revise_goal_keeps_the_old_and_new_statement_and_the_reason() -> None:
    full = full_episode()

    goal = full.episode.revise_goal(
        meta(20), full.goal_id, "sleep 6.5 hours", "still too ambitious", None, objectives=["no screens"]
    )

    assert goal.statement == "sleep 6.5 hours"
    assert goal.objectives == ["no screens"]
    assert goal.target_date == date(2025, 6, 1)
    step = goal.history[-1]
    assert step.event_type == "GoalRevised"
    assert (step.old_statement, step.new_statement) == ("sleep 6 hours", "sleep 6.5 hours")
    assert step.reason == "still too ambitious"
    [revised] = [e for e in full.episode.collect_events() if isinstance(e, Episode.GoalRevised)][-1:]
    assert (revised.old_statement, revised.statement) == ("sleep 6 hours", "sleep 6.5 hours")


def test_a_revision_can_name_the_reflection_that_prompted_it() -> None:
    full = full_episode()

    goal = full.episode.revise_goal(meta(20), full.goal_id, "s", "r", full.reflection_id)

    assert goal.history[-1].reflection_id == full.reflection_id


def test_a_revision_refuses_an_unknown_reflection() -> None:
    full = full_episode()

    with pytest.raises(UnknownReference) as raised:
        full.episode.revise_goal(meta(20), full.goal_id, "s", "r", full.session_id)

    assert raised.value.field == "reflection_id"


def test_the_history_tells_the_whole_story() -> None:
    full = full_episode()
    full.episode.achieve_goal(meta(20), full.goal_id, "sleeping well", at(19))

    history = full.episode.goals[str(full.goal_id)].history

    assert [step.event_type for step in history] == [
        "GoalSet",
        "GoalRevised",
        "GoalProgressRecorded",
        "GoalAchieved",
    ]
    assert [step.version for step in history] == sorted(step.version for step in history)


def test_record_goal_progress() -> None:
    full = full_episode()
    progress_id = uuid4()

    goal = full.episode.record_goal_progress(meta(20), full.goal_id, progress_id, "7 nights of 7", 9, at(20))

    assert goal.progress[-1].id == progress_id
    assert (goal.progress[-1].summary, goal.progress[-1].rating) == ("7 nights of 7", 9)
    assert goal.history[-1].rating == 9


@pytest.mark.parametrize("rating", [None, 0, 10])
def test_progress_ratings_within_bounds_are_accepted(rating: int | None) -> None:
    full = full_episode()

    goal = full.episode.record_goal_progress(meta(20), full.goal_id, uuid4(), "ok", rating, at(20))

    assert goal.progress[-1].rating == rating


@pytest.mark.parametrize("rating", [-1, 11, True])
def test_progress_ratings_out_of_bounds_are_refused(rating: int) -> None:
    full = full_episode()

    with pytest.raises(ValidationError) as raised:
        full.episode.record_goal_progress(meta(20), full.goal_id, uuid4(), "ok", rating, at(20))

    assert raised.value.field == "rating"


def test_achieve_and_discontinue_set_the_status() -> None:
    full = full_episode()
    other = full.episode.set_goal(meta(20), uuid4(), "walk daily", [], None, at(20), [])

    achieved = full.episode.achieve_goal(meta(21), full.goal_id, "sleeping well", at(21))
    discontinued = full.episode.discontinue_goal(meta(22), other.id, "no longer relevant", at(22))

    assert achieved.status == "achieved"
    assert achieved.history[-1].note == "sleeping well"
    assert discontinued.status == "discontinued"
    assert discontinued.history[-1].reason == "no longer relevant"


def test_a_goal_command_on_an_unknown_goal_is_not_found() -> None:
    with pytest.raises(EntryNotFound) as raised:
        open_episode().achieve_goal(meta(), uuid4(), "note", at())

    assert raised.value.kind == "goal"


GOAL_COMMANDS: dict[str, Callable[[Full], object]] = {
    "revise_goal": lambda f: f.episode.revise_goal(meta(30), f.goal_id, "s", "r", None),
    "record_goal_progress": lambda f: f.episode.record_goal_progress(
        meta(30), f.goal_id, uuid4(), "s", 1, at(30)
    ),
    "achieve_goal": lambda f: f.episode.achieve_goal(meta(30), f.goal_id, "n", at(30)),
    "discontinue_goal": lambda f: f.episode.discontinue_goal(meta(30), f.goal_id, "r", at(30)),
}


@pytest.mark.parametrize("ended_by", ["achieve_goal", "discontinue_goal"])
@pytest.mark.parametrize("command", sorted(GOAL_COMMANDS))
def test_a_goal_that_is_not_active_refuses_change(ended_by: str, command: str) -> None:
    full = full_episode()
    GOAL_COMMANDS[ended_by](full)
    full.episode.collect_events()

    with pytest.raises(GoalNotActive) as raised:
        GOAL_COMMANDS[command](full)

    assert raised.value.goal_id == full.goal_id
    assert full.episode.collect_events() == []
