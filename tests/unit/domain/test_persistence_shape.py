"""Event and aggregate state survive JSON: the types the persistence layer must handle are all declared.

The transcodings here are the simplest that could work (a dataclass as a dict of its fields); the
persistence layer has its own, but needs exactly the types listed in ``VALUE_TYPES`` plus ``date``.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Snapshot
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    Transcoding,
    UUIDAsHex,
)

from services.records.domain import VALUE_TYPES, AmendmentRequest, EventRef, Note

from .builders import all_events, at, full_episode, meta, register_client


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class DataclassAsDict(Transcoding):
    def __init__(self, cls: type[Any]) -> None:
        self.type = cls
        self.name = cls.__name__

    def encode(self, obj: Any) -> dict[str, Any]:
        return {field.name: getattr(obj, field.name) for field in dataclasses.fields(obj)}

    def decode(self, data: dict[str, Any]) -> Any:
        return self.type(**data)


def mapper() -> Mapper[UUID]:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), DateAsISO()):
        transcoder.register(transcoding)
    for cls in VALUE_TYPES:
        transcoder.register(DataclassAsDict(cls))
    return Mapper(transcoder=transcoder)


def test_every_event_survives_a_json_round_trip() -> None:
    json = mapper()

    for event in all_events():
        assert json.to_domain_event(json.to_stored_event(event)) == event


def test_a_snapshot_survives_a_json_round_trip() -> None:
    full = full_episode()
    full.episode.cancel_session(meta(20), full.session_id, "unwell")
    full.episode.close(meta(21), "goals met", "summary", at(21))
    client = register_client()
    json = mapper()

    for aggregate in (full.episode, client):
        aggregate.collect_events()
        stored = json.to_stored_event(Snapshot.take(aggregate))
        restored = json.to_domain_event(stored).mutate(None)  # type: ignore[attr-defined]
        assert restored == aggregate


def value_types_in(value: Any) -> set[type[Any]]:
    """Every dataclass type inside ``value``; fails on tuples, which JSON would bring back as lists."""
    assert not isinstance(value, tuple), "use lists, not tuples"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = [getattr(value, field.name) for field in dataclasses.fields(value)]
        return {type(value)}.union(*(value_types_in(field) for field in fields))
    if isinstance(value, dict):
        assert all(isinstance(key, str) for key in value), "dict keys must be str"
        return set().union(*(value_types_in(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(value_types_in(item) for item in value))
    return set()


def signed_note() -> Note:
    """A note with every value a note holds: signature, return, co-signature, addendum."""
    note = Note.draft(meta(), uuid4(), uuid4(), uuid4(), uuid4(), "free", {"text": "t"}, [])
    note.sign(meta(1), requires_cosign=True)
    note.return_for_revision(meta(2, actor="dr-sup"), "dr-sup", "again")
    note.sign(meta(3), requires_cosign=True)
    note.cosign(meta(4, actor="dr-sup"), "dr-sup", None)
    note.append_addendum(meta(5), uuid4(), "t", "r")
    return note


def amendments() -> list[AmendmentRequest]:
    target = EventRef(aggregate_id=uuid4(), event_version=1)
    accepted = AmendmentRequest.request(meta(), uuid4(), uuid4(), target, "note", None, "wrong")
    accepted.accept(meta(1), EventRef(aggregate_id=target.aggregate_id, event_version=2), None)
    denied = AmendmentRequest.request(meta(), uuid4(), uuid4(), target, "note", None, "wrong")
    denied.deny(meta(1), "accurate_and_complete", "x")
    return [accepted, denied]


def test_value_types_lists_every_dataclass_in_state_and_events() -> None:
    full = full_episode()
    full.episode.close(meta(20), "goals met", "summary", at(20))
    found: set[type[Any]] = set()
    for aggregate in (full.episode, register_client(), signed_note(), *amendments()):
        found |= value_types_in(
            {key: value for key, value in vars(aggregate).items() if key != "_pending_events"}
        )
    for event in all_events():
        found |= value_types_in(dict(vars(event)))

    assert found == set(VALUE_TYPES)
