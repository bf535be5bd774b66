"""An access decision, kept as an event with all of its inputs and outputs before it is answered.

Each decision is its own one-event aggregate: decisions never contend with each other, and the access log
(tamper-evident, per tenant) is built from these events. Decisions hold ids, codes and reasons of the policy
table: no clinical content.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from .base import ConsentAggregate, EventMeta, meta_fields
from .policy import Ask, Verdict


class AccessDecision(ConsentAggregate):
    TOPIC = "touchstone.consent.AccessDecision.v1"

    class Event(ConsentAggregate.Event):
        TOPIC = "touchstone.consent.AccessDecision.Event.v1"

    class AccessDecided(Event, ConsentAggregate.Created):
        TOPIC = "touchstone.consent.AccessDecided.v1"
        ask: dict[str, Any]
        verdict: dict[str, Any]

    Created = AccessDecided

    def __init__(self, *, tenant: str, actor: str, ask: dict[str, Any], verdict: dict[str, Any]) -> None:
        self.tenant = tenant
        self.actor = actor
        self.ask = ask
        self.verdict = verdict

    @classmethod
    def record(cls, meta: EventMeta, decision_id: UUID, ask: Ask, verdict: Verdict) -> AccessDecision:
        return cls._create(
            cls.AccessDecided,
            id=decision_id,
            ask=ask.to_event(),
            verdict=verdict.to_event(),
            **meta_fields(meta),
        )
