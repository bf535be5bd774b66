"""What every aggregate and event promises: explicit topics, metadata, monotonic time, faithful replay."""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.application import project_aggregate
from eventsourcing.domain import Aggregate, Snapshot
from eventsourcing.utils import get_topic, resolve_topic

import services.records.domain  # noqa: F401  (imports every aggregate, so the walk below sees all events)
from services.records.domain import Client, Episode, HumanName, Practitioner, RecordAggregate

from .builders import CLINICIAN, TENANT, all_events, at, full_episode, meta, register_client

AGGREGATES: list[type[RecordAggregate]] = [Client, Practitioner, Episode]

EVENT_NAMES = {
    "ClientRegistered",
    "ClientDetailsCorrected",
    "PractitionerRegistered",
    "PractitionerUpdated",
    "EpisodeOpened",
    "CareTeamChanged",
    "SessionHeld",
    "SessionCancelled",
    "PatternIdentified",
    "PatternExplored",
    "GoalSet",
    "GoalRevised",
    "GoalProgressRecorded",
    "GoalAchieved",
    "GoalDiscontinued",
    "ReflectionRecorded",
    "MeasureRecorded",
    "EpisodeClosed",
}
TOPIC = re.compile(r"touchstone\.records\.[A-Za-z][A-Za-z.]*\.v[1-9][0-9]*")


def domain_event_classes() -> set[type[Any]]:
    found: set[type[Any]] = set()
    pending: list[type[Any]] = [RecordAggregate.Event]
    while pending:
        cls = pending.pop()
        if cls not in found and cls.__module__.startswith("services.records.domain"):
            found.add(cls)
        pending.extend(cls.__subclasses__())
    return found


def triggered_event_classes() -> set[type[Any]]:
    """The events the aggregates raise: bound to an aggregate, neither a base ``Event`` nor an alias."""
    return {
        value
        for aggregate in AGGREGATES
        for name, value in vars(aggregate).items()
        if isinstance(value, type)
        and issubclass(value, Aggregate.Event)
        and name == value.__name__
        and name != "Event"
    }


def test_every_aggregate_and_event_class_has_its_own_versioned_topic() -> None:
    classes = [*AGGREGATES, *domain_event_classes()]

    for cls in classes:
        topic = cls.__dict__.get("TOPIC")
        assert isinstance(topic, str), f"{cls.__qualname__} has no TOPIC of its own"
        assert TOPIC.fullmatch(topic), topic
    topics = [cls.__dict__["TOPIC"] for cls in classes]
    assert len(topics) == len(set(topics))


def test_aggregate_topics_name_the_aggregate() -> None:
    for aggregate in AGGREGATES:
        assert f"touchstone.records.{aggregate.__name__}.v1" == aggregate.TOPIC
        assert resolve_topic(aggregate.TOPIC) is aggregate


def test_the_events_are_the_designed_past_tense_ones_under_their_own_names() -> None:
    events = triggered_event_classes()

    assert {cls.__name__ for cls in events} == EVENT_NAMES
    for cls in events:
        assert f"touchstone.records.{cls.__name__}.v1" == cls.TOPIC
        assert get_topic(cls) == cls.TOPIC
        assert resolve_topic(cls.TOPIC) is cls


def test_the_scenario_raises_every_event() -> None:
    assert {type(event).__name__ for event in all_events()} == EVENT_NAMES


def test_every_event_carries_tenant_actor_request_and_causation() -> None:
    for event in all_events():
        assert (event.tenant, event.actor) == (TENANT, CLINICIAN)
        assert (event.request_id, event.causation_id) == ("req-1", "cause-1")


def test_every_client_and_episode_event_carries_the_client_id() -> None:
    client = register_client()
    client.correct_details(meta(1), time_zone="UTC")
    episode = full_episode().episode

    for event in client.collect_events():
        assert vars(event)["client_id"] == client.id
    for event in episode.collect_events():
        assert vars(event)["client_id"] == episode.client_id


def test_recorded_time_never_goes_backwards() -> None:
    full = full_episode()
    last = full.episode.modified_on

    session = full.episode.hold_session(meta(-60), uuid4(), at(0), 50, "video", ["client"], [])

    assert session.recorded_at == last == full.episode.modified_on
    events = full.episode.collect_events()
    stamps = [event.timestamp for event in events]
    assert stamps == sorted(stamps)


def test_a_client_correction_recorded_with_an_earlier_clock_keeps_time_monotonic() -> None:
    client = Client.register(
        meta(10), uuid4(), [], HumanName(family="Doe", given=[]), date(1990, 1, 1), "UTC"
    )

    client.correct_details(meta(0), time_zone="Europe/Paris")

    assert client.modified_on == at(10)


@pytest.mark.parametrize("closed", [False, True])
def test_replaying_the_events_reproduces_the_episode(closed: bool) -> None:
    full = full_episode()
    full.episode.cancel_session(meta(20), full.session_id, "unwell")
    full.episode.achieve_goal(meta(21), full.goal_id, "done", at(21))
    if closed:
        full.episode.close(meta(22), "goals met", "summary", at(22))

    replayed = project_aggregate(None, full.episode.collect_events())

    assert replayed == full.episode
    assert replayed is not full.episode


def test_replaying_reproduces_clients_and_practitioners() -> None:
    client = register_client()
    client.correct_details(meta(1), remove_birth_date=True, time_zone="UTC")
    practitioner = Practitioner.register(meta(), "dr-ada", "Dr Ada", ["clinician"], "dr-sup", True)
    practitioner.update(meta(1), remove_supervisor=True, roles=["clinician", "supervisor"])

    assert project_aggregate(None, client.collect_events()) == client
    assert project_aggregate(None, practitioner.collect_events()) == practitioner


def test_replaying_up_to_a_version_shows_the_episode_as_it_was() -> None:
    full = full_episode()
    events = list(full.episode.collect_events())

    earlier = project_aggregate(None, events[:4])

    assert earlier is not None
    assert earlier.version == 4
    assert set(earlier.entry_kinds().values()) == {"session", "pattern", "exploration"}


def test_a_snapshot_reproduces_the_aggregate() -> None:
    full = full_episode()
    full.episode.close(meta(20), "goals met", "summary", at(20))
    client = register_client()
    for aggregate in (full.episode, client):
        aggregate.collect_events()
        restored = Snapshot.take(aggregate).mutate(None)
        assert restored == aggregate
        assert type(restored) is type(aggregate)
