"""Break-glass: a clinician's emergency access to one client, limited in time, always reviewed.

It permits emergency treatment (ETREAT) by that clinician for that client until it expires; it never opens
psychotherapy notes (the policy table says so). A privacy officer reviews each one once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

from .base import ConsentAggregate, EventMeta, meta_fields
from .errors import Conflict, InvalidConsent

DEFAULT_MINUTES = 30
MAX_MINUTES = 60
Outcome = Literal["justified", "unjustified"]


class BreakGlass(ConsentAggregate):
    TOPIC = "touchstone.consent.BreakGlass.v1"

    class Event(ConsentAggregate.Event):
        TOPIC = "touchstone.consent.BreakGlass.Event.v1"

    class BreakGlassInvoked(Event, ConsentAggregate.Created):
        TOPIC = "touchstone.consent.BreakGlassInvoked.v1"
        client_id: UUID
        reason: str
        expires_at: datetime

    Created = BreakGlassInvoked

    class BreakGlassReviewed(Event):
        TOPIC = "touchstone.consent.BreakGlassReviewed.v1"
        outcome: str
        note: str

        def apply(self, aggregate: BreakGlass) -> None:
            aggregate.review = (self.outcome, self.note, self.actor, self.timestamp)

    def __init__(
        self, *, tenant: str, actor: str, client_id: UUID, reason: str, expires_at: datetime
    ) -> None:
        self.tenant = tenant
        self.actor = actor
        self.client_id = client_id
        self.reason = reason
        self.expires_at = expires_at
        self.review: tuple[str, str, str, datetime] | None = None

    @classmethod
    def invoke(
        cls, meta: EventMeta, break_glass_id: UUID, client_id: UUID, reason: str, minutes: int
    ) -> BreakGlass:
        if not 1 <= minutes <= MAX_MINUTES:
            raise InvalidConsent([("minutes", f"break-glass lasts 1 to {MAX_MINUTES} minutes")])
        if not reason.strip():
            raise InvalidConsent([("reason", "break-glass needs a reason")])
        return cls._create(
            cls.BreakGlassInvoked,
            id=break_glass_id,
            client_id=client_id,
            reason=reason,
            expires_at=meta.recorded_at + timedelta(minutes=minutes),
            **meta_fields(meta),
        )

    @property
    def started_at(self) -> datetime:
        return self.created_on

    def active(self, now: datetime) -> bool:
        return self.started_at <= now < self.expires_at

    def record_review(self, meta: EventMeta, outcome: Outcome, note: str) -> None:
        if self.review is not None:
            raise Conflict("this break-glass has already been reviewed")
        self._trigger(self.BreakGlassReviewed, meta, outcome=outcome, note=note)
