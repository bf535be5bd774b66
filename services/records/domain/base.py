"""The base every records aggregate and event stands on.

Every event carries who caused it (tenant, actor), which request (request id) and what it answers
(causation id). The library's ``timestamp`` is the *recorded* time; clinical time (``occurred_at``) is a
field of the events that have one. Recorded time never goes backwards within an aggregate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import eventsourcing.domain
from eventsourcing.domain import Aggregate, Snapshot


@dataclass(frozen=True)
class EventMeta:
    """Who, when and why of one command; made by the application, passed into the aggregate."""

    tenant: str
    actor: str
    request_id: str
    causation_id: str | None
    recorded_at: datetime


class RecordAggregate(Aggregate):
    """An aggregate whose events carry :class:`EventMeta` and a monotonic recorded time."""

    TOPIC = "touchstone.records.RecordAggregate.v1"
    tenant: str

    class Event(Aggregate.Event):
        TOPIC = "touchstone.records.RecordAggregate.Event.v1"
        tenant: str
        actor: str
        request_id: str
        causation_id: str | None

    class Created(Event, Aggregate.Created):
        TOPIC = "touchstone.records.RecordAggregate.Created.v1"

    def __deepcopy__(self, memo: dict[int, Any]) -> RecordAggregate:
        """Entries are immutable values (replaced, never changed), so a copy may share them: copying the
        containers is enough, and keeps taking a private copy from the repository's cache cheap."""
        clone = object.__new__(type(self))
        clone.__dict__.update(
            {k: v.copy() if isinstance(v, dict | list) else v for k, v in self.__dict__.items()}
        )
        return clone

    def _trigger(self, event_class: type[Aggregate.Event], meta: EventMeta, **fields: Any) -> None:
        self.trigger_event(
            event_class,
            timestamp=max(meta.recorded_at, self.modified_on),
            tenant=meta.tenant,
            actor=meta.actor,
            request_id=meta.request_id,
            causation_id=meta.causation_id,
            **fields,
        )


def meta_fields(meta: EventMeta) -> dict[str, Any]:
    """The keyword arguments a ``Created`` event needs from the metadata."""
    return {
        "timestamp": meta.recorded_at,
        "tenant": meta.tenant,
        "actor": meta.actor,
        "request_id": meta.request_id,
        "causation_id": meta.causation_id,
    }


class RecordSnapshot(Snapshot):
    """Snapshots of records aggregates, under an explicit topic so they outlive refactors."""

    TOPIC = "touchstone.records.Snapshot.v1"


# The library registers aggregate and event topics itself; a snapshot class needs it done by hand.
eventsourcing.domain.register_topic(RecordSnapshot.TOPIC, RecordSnapshot)  # type: ignore[attr-defined]
