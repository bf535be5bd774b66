"""Reflections return to earlier entries as they were at a version; given / when / then."""

from __future__ import annotations

from uuid import uuid4

import pytest

from services.records.domain import EntryRef, UnknownReference, ValidationError

from .builders import at, full_episode, meta


def test_a_reflection_refers_to_entries_and_the_episode_at_versions() -> None:
    full = full_episode()
    episode = full.episode
    refs = [
        EntryRef(entry_id=episode.id, event_version=1),
        EntryRef(entry_id=full.session_id, event_version=episode.version),
        EntryRef(
            entry_id=full.exploration_id,
            event_version=episode.find_entry(full.exploration_id).created_version,
        ),
    ]

    reflection = episode.record_reflection(meta(20), uuid4(), "looking back", refs, at(20), ["PSY"])

    assert reflection.refers_to == refs
    assert reflection.created_version == episode.version
    assert episode.reflections[str(reflection.id)] is reflection


def test_a_reflection_must_refer_to_something() -> None:
    with pytest.raises(ValidationError) as raised:
        full_episode().episode.record_reflection(meta(20), uuid4(), "t", [], at(20), [])

    assert raised.value.field == "refers_to"


def test_a_reference_to_an_unknown_entry_is_refused() -> None:
    full = full_episode()

    with pytest.raises(UnknownReference) as raised:
        full.episode.record_reflection(
            meta(20), uuid4(), "t", [EntryRef(entry_id=uuid4(), event_version=1)], at(20), []
        )

    assert raised.value.field == "refers_to[0]"


@pytest.mark.parametrize("offset", [1, 100])
def test_a_reference_to_a_future_version_is_refused(offset: int) -> None:
    full = full_episode()
    ref = EntryRef(entry_id=full.goal_id, event_version=full.episode.version + offset)

    with pytest.raises(ValidationError) as raised:
        full.episode.record_reflection(meta(20), uuid4(), "t", [ref], at(20), [])

    assert raised.value.field == "refers_to[0].event_version"


def test_a_reference_to_a_version_before_the_entry_existed_is_refused() -> None:
    full = full_episode()
    created = full.episode.goals[str(full.goal_id)].created_version
    ok = EntryRef(entry_id=full.session_id, event_version=created)
    too_early = EntryRef(entry_id=full.goal_id, event_version=created - 1)

    with pytest.raises(ValidationError) as raised:
        full.episode.record_reflection(meta(20), uuid4(), "t", [ok, too_early], at(20), [])

    assert raised.value.field == "refers_to[1].event_version"


def test_a_reflection_needs_text() -> None:
    full = full_episode()
    ref = EntryRef(entry_id=full.episode.id, event_version=1)

    with pytest.raises(ValidationError) as raised:
        full.episode.record_reflection(meta(20), uuid4(), "  ", [ref], at(20), [])

    assert raised.value.field == "text"
