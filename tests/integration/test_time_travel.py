"""Time travel: an episode read as of an instant of recorded time is the replay of its events up to then.

DESIGN.md: clinical time is kept apart from recorded time; an episode can be read as of a version or an
instant of recorded time; before the resource existed, or a version above the current one, is not found.
The clock is injectable, and recorded time never goes backwards within an aggregate.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import project_aggregate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.records.application.app import RecordsApplication
from services.records.application.errors import VersionNotFound
from services.records.domain.entries import EntryRef
from tests.support import Database
from tests.support.integration_records import (
    ADA,
    OCCURRED,
    command,
    open_episode,
    records_app,
    register_client,
    register_practitioner,
    state_of,
)
from tests.support.records import records_settings

KINDS = [
    "session",
    "cancel",
    "pattern",
    "explore",
    "goal",
    "revise",
    "progress",
    "achieve",
    "reflect",
    "measure",
]
MICROS_PER_DAY = 86_400_000_000
ZONES = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]


@dataclass
class ManualClock:
    now: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    handed_out: list[datetime] = field(default_factory=list)

    def __call__(self) -> datetime:
        self.handed_out.append(self.now)
        return self.now


@dataclass
class Practice:
    app: RecordsApplication
    clock: ManualClock
    client_id: UUID


@pytest.fixture
def practice(database: Database, tmp_path: Path) -> Iterator[Practice]:
    clock = ManualClock()
    with records_app(records_settings(database, tmp_path), clock=clock) as app:
        register_practitioner(app)
        client_id = UUID(str(register_client(app).aggregate_id))
        yield Practice(app, clock, client_id)


@dataclass
class Entries:
    sessions: list[UUID] = field(default_factory=list)
    patterns: list[UUID] = field(default_factory=list)
    goals: list[UUID] = field(default_factory=list)  # the active ones


def apply(app: RecordsApplication, episode_id: UUID, kind: str, made: Entries) -> None:
    """One command of ``kind``; a kind whose precondition does not hold yet makes what it needs instead."""
    cmd = command(ADA)
    if kind == "cancel" and made.sessions:
        app.cancel_session(cmd, episode_id, made.sessions.pop(), "client unwell")
    elif kind in ("session", "cancel"):
        made.sessions.append(app.hold_session(cmd, episode_id, OCCURRED, 50, "video", [ADA.sub], []).value.id)
    elif kind == "explore" and made.patterns:
        app.explore_pattern(cmd, episode_id, made.patterns[-1], None, "noticed it again", OCCURRED)
    elif kind in ("pattern", "explore"):
        made.patterns.append(
            app.identify_pattern(cmd, episode_id, "withdrawal", "pulls back", OCCURRED, []).value.id
        )
    elif kind == "revise" and made.goals:
        app.revise_goal(cmd, episode_id, made.goals[-1], "walk more", "too easy", None, None, None)
    elif kind == "progress" and made.goals:
        app.record_goal_progress(cmd, episode_id, made.goals[-1], "walked twice", 6, OCCURRED)
    elif kind == "achieve" and made.goals:
        app.change_goal_status(cmd, episode_id, made.goals.pop(), "achieved", "done", OCCURRED)
    elif kind in ("goal", "revise", "progress", "achieve"):
        made.goals.append(
            app.set_goal(cmd, episode_id, "walk", ["daily"], date(2026, 6, 1), OCCURRED, []).value.id
        )
    elif kind == "reflect":
        app.record_reflection(
            cmd, episode_id, "looking back", [EntryRef(entry_id=episode_id, event_version=1)], OCCURRED, []
        )
    else:
        assert kind == "measure"
        app.record_measure(cmd, episode_id, "PHQ-9", 9, [1] * 9, OCCURRED, [])


def replay(events: list[Any]) -> Any:
    aggregate = project_aggregate(None, events)
    assert aggregate is not None
    return aggregate


steps = st.lists(
    st.tuples(st.sampled_from(KINDS), st.integers(-MICROS_PER_DAY // 4, 3 * MICROS_PER_DAY)),
    min_size=1,
    max_size=18,
)
starts = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC))
probes = st.lists(st.tuples(st.floats(-0.25, 1.25), st.sampled_from(ZONES)), min_size=1, max_size=8)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=starts, commands=steps, instants=probes)
def test_an_episode_as_of_any_instant_is_its_events_replayed_up_to_then(
    practice: Practice, start: datetime, commands: list[tuple[str, int]], instants: list[tuple[float, Any]]
) -> None:
    app, clock = practice.app, practice.clock
    clock.now = start
    clock.handed_out.clear()
    episode_id = open_episode(app, practice.client_id)
    made = Entries()
    for kind, micros in commands:
        clock.now += timedelta(microseconds=micros)
        apply(app, episode_id, kind, made)

    events: list[Any] = list(app.events.get(episode_id))
    times = [e.timestamp for e in events]
    assert len(events) == len(commands) + 1
    # Recorded time is the clock's, except that it never goes backwards within the episode.
    expected_times = [max(clock.handed_out[: i + 1]) for i in range(len(clock.handed_out))]
    assert times == expected_times
    assert state_of(app.get_episode(ADA, episode_id).episode) == state_of(replay(events))

    first, last = times[0], times[-1]
    span = last - first
    # Random instants within (and a little around) the span, and each side of the first, middle and last
    # event; each one written in some UTC offset (the same instant, however it is written).
    candidates = [(first + span * fraction).astimezone(zone) for fraction, zone in instants]
    candidates += [
        (t + delta).astimezone(zone)
        for t in (first, last, times[len(times) // 2])
        for delta in (timedelta(0), -timedelta(microseconds=1))
        for zone in ZONES
    ]
    for instant in candidates:
        seen = [e for e in events if e.timestamp <= instant]
        if not seen:
            with pytest.raises(VersionNotFound):
                app.get_episode(ADA, episode_id, as_of=instant)
            continue
        then = app.get_episode(ADA, episode_id, as_of=instant).episode
        assert then.version == seen[-1].originator_version
        assert state_of(then) == state_of(replay(seen))

    for version in range(1, len(events) + 1):
        assert state_of(app.get_episode(ADA, episode_id, version=version).episode) == state_of(
            replay(events[:version])
        )
    for too_far in (len(events) + 1, len(events) + 50):
        with pytest.raises(VersionNotFound):
            app.get_episode(ADA, episode_id, version=too_far)


def test_recorded_time_holds_still_when_the_clock_goes_back(practice: Practice) -> None:
    app, clock = practice.app, practice.clock
    opened = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    clock.now = opened
    episode_id = open_episode(app, practice.client_id)
    clock.now = opened - timedelta(hours=2)  # e.g. a host's clock stepped back by NTP
    apply(app, episode_id, "session", Entries())
    clock.now = opened + timedelta(minutes=5)
    apply(app, episode_id, "measure", Entries())

    recorded: list[Any] = [e.timestamp for e in app.events.get(episode_id)]  # type: ignore[attr-defined]
    assert recorded == [
        opened,
        opened,
        opened + timedelta(minutes=5),
    ]
    with pytest.raises(VersionNotFound):
        app.get_episode(ADA, episode_id, as_of=opened - timedelta(hours=1))
    assert app.get_episode(ADA, episode_id, as_of=opened).episode.version == 2
    assert app.get_episode(ADA, episode_id, as_of=opened + timedelta(minutes=4)).episode.version == 2
    assert app.get_episode(ADA, episode_id, as_of=opened + timedelta(minutes=5)).episode.version == 3
    session = next(iter(app.get_episode(ADA, episode_id, version=2).episode.sessions.values()))
    assert session.recorded_at == opened
