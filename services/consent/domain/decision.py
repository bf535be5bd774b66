"""An access decision, kept as an event with all of its inputs and outputs before it is answered.

Each decision is its own one-event aggregate: decisions never contend with each other. Saved, it is also
an entry of its tenant's access log (:meth:`AccessDecision.log_entry`), in the same transaction. Decisions
hold ids, codes and reasons of the policy table: no clinical content.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from .ask import Ask, Verdict
from .base import ConsentAggregate, EventMeta, meta_fields
from .disclosure import DISCLOSING_RULES, OUTSIDE_ROLES


class AccessDecision(ConsentAggregate):
    TOPIC = "touchstone.consent.AccessDecision.v1"

    class Event(ConsentAggregate.Event):
        TOPIC = "touchstone.consent.AccessDecision.Event.v1"

    class AccessDecided(Event, ConsentAggregate.Created):
        TOPIC = "touchstone.consent.AccessDecided.v1"
        ask: dict[str, Any]
        verdict: dict[str, Any]

    Created = AccessDecided

    def __init__(
        self, *, tenant: str, actor: str, request_id: str, ask: dict[str, Any], verdict: dict[str, Any]
    ) -> None:
        self.tenant = tenant
        self.actor = actor
        self.request_id = request_id
        self.ask = ask
        self.verdict = verdict

    def log_entry(self) -> dict[str, Any]:
        """The entry of the tenant's access log (without its sequence number, which the log assigns)."""
        ask, verdict = self.ask, self.verdict
        entry: dict[str, Any] = _plain(
            {
                "tenant": self.tenant,
                "time": self.created_on,
                "service": "consent",
                "decision_id": self.id,
                "request_id": self.request_id,
                "actor": ask["actor"],
                "roles": ask["roles"],
                "actor_client_id": ask["actor_client_id"],
                "client_id": ask["client_id"],
                "action": ask["action"],
                "resource": ask["resource"],
                "facts": ask["facts"],
                "purpose_of_use": verdict["purpose_of_use"],
                "outcome": verdict["decision"],
                "reason": verdict["reason"],
                "rule": verdict["rule"],
                "obligations": {
                    "redact_labels": verdict["redact_labels"],
                    "redact_categories": verdict["redact_categories"],
                    "redisclosure_notice": verdict["redisclosure_notice"],
                },
                "consents": verdict["consents"],
                "break_glass_id": verdict["break_glass_id"],
            }
        )
        return entry

    def discloses(self) -> bool:
        """Whether it permitted a disclosure to a party outside the practice (registered with it)."""
        verdict, ask = self.verdict, self.ask
        permitted = verdict["decision"] == "permit" and verdict["rule"] in DISCLOSING_RULES
        return permitted and bool(OUTSIDE_ROLES.intersection(ask["roles"])) and ask["client_id"] is not None

    @classmethod
    def record(cls, meta: EventMeta, decision_id: UUID, ask: Ask, verdict: Verdict) -> AccessDecision:
        return cls._create(
            cls.AccessDecided,
            id=decision_id,
            ask=ask.to_event(),
            verdict=verdict.to_event(),
            **meta_fields(meta),
        )


def _plain(value: Any) -> Any:
    """JSON values only: ids as strings, times as RFC 3339 UTC with microseconds."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value
