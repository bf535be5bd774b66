"""A closed (discharged) episode refuses every command."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest

from services.records.domain import Episode, EpisodeClosed

from .builders import at, full_episode, meta

COMMANDS: dict[str, Callable[[Any], object]] = {
    "change_care_team": lambda f: f.episode.change_care_team(meta(40), ["dr-new"]),
    "hold_session": lambda f: f.episode.hold_session(meta(40), uuid4(), at(40), 50, "video", ["client"], []),
    "cancel_session": lambda f: f.episode.cancel_session(meta(40), f.session_id, "reason"),
    "identify_pattern": lambda f: f.episode.identify_pattern(meta(40), uuid4(), "n", "d", at(40), []),
    "explore_pattern": lambda f: f.episode.explore_pattern(
        meta(40), f.pattern_id, uuid4(), None, "o", at(40)
    ),
    "set_goal": lambda f: f.episode.set_goal(meta(40), uuid4(), "s", [], None, at(40), []),
    "revise_goal": lambda f: f.episode.revise_goal(meta(40), f.goal_id, "s", "r", None),
    "record_goal_progress": lambda f: f.episode.record_goal_progress(
        meta(40), f.goal_id, uuid4(), "s", 5, at(40)
    ),
    "achieve_goal": lambda f: f.episode.achieve_goal(meta(40), f.goal_id, "note", at(40)),
    "discontinue_goal": lambda f: f.episode.discontinue_goal(meta(40), f.goal_id, "reason", at(40)),
    "record_reflection": lambda f: f.episode.record_reflection(meta(40), uuid4(), "t", [], at(40), []),
    "record_measure": lambda f: f.episode.record_measure(meta(40), uuid4(), "GAD-7", 0, [0] * 7, at(40), []),
    "close": lambda f: f.episode.close(meta(40), "again", "again", at(40)),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_closed_episode_refuses_every_command(command: str) -> None:
    full = full_episode()
    full.episode.close(meta(30), "goals met", "summary", at(30))
    full.episode.collect_events()

    with pytest.raises(EpisodeClosed) as raised:
        COMMANDS[command](full)

    assert raised.value.episode_id == full.episode.id
    assert full.episode.collect_events() == []


def test_every_command_is_covered_by_the_closed_episode_test() -> None:
    public = {
        name
        for name in dir(Episode)
        if not name.startswith("_") and callable(getattr(Episode, name)) and name[0].islower()
    }
    reads_and_library = {
        "open",
        "entry_kinds",
        "find_entry",
        "collect_events",
        "trigger_event",
        "create_id",
    }

    assert public - reads_and_library == set(COMMANDS)
