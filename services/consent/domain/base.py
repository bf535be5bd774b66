"""The base of every consent aggregate: events carry tenant, actor, request id and causation id.

The library's ``timestamp`` is the recorded time; it never goes backwards within an aggregate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate


@dataclass(frozen=True)
class EventMeta:
    """Who, when and why of one command; made by the application, passed into the aggregate."""

    tenant: str
    actor: str
    request_id: str
    causation_id: str | None
    recorded_at: datetime


class ConsentAggregate(Aggregate):
    TOPIC = "touchstone.consent.ConsentAggregate.v1"
    tenant: str

    class Event(Aggregate.Event):
        TOPIC = "touchstone.consent.ConsentAggregate.Event.v1"
        tenant: str
        actor: str
        request_id: str
        causation_id: str | None

    class Created(Event, Aggregate.Created):
        TOPIC = "touchstone.consent.ConsentAggregate.Created.v1"

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
