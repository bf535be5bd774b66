"""An amendment request (HIPAA 164.526): the client asks to amend one entry of their record.

The entry is named by its aggregate (a client, an episode or a progress note) and the version of the event
that made it as it is. The clinician accepts it, linking the correcting event (an addendum, a corrected or
new entry: a later event of the same aggregate), or denies it on one of the rule's bases with an
explanation. After a denial the client may file a statement of disagreement, and the clinician a rebuttal.
The request is due 60 days after it is made (164.526(b)(2)).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from . import checks
from .base import EventMeta, RecordAggregate, meta_fields
from .errors import Conflict, ValidationError

RESPONSE_DAYS = 60
# 164.526(a)(2): the grounds on which a covered entity may deny an amendment.
DENIAL_BASES: dict[str, str] = {
    "not_created_here": "not created by the covered entity",
    "not_designated_record_set": "not part of the designated record set",
    "not_available_for_inspection": "not available for inspection under 164.524",
    "accurate_and_complete": "accurate and complete",
}
AMENDMENT_TARGETS = ("client", "episode", "note")


@dataclass(frozen=True, kw_only=True)
class EventRef:
    """An event of one aggregate of the record: the aggregate's id and the event's version."""

    aggregate_id: UUID
    event_version: int


@dataclass(frozen=True, kw_only=True)
class AmendmentStep:
    """Who did what when: an acceptance, denial, statement of disagreement or rebuttal."""

    by: str
    at: datetime
    version: int
    text: str | None = None
    basis: str | None = None
    correction: EventRef | None = None


class AmendmentClosed(Conflict):
    """The request was accepted or denied already, or the step asked for does not follow the last one."""

    def __init__(self, request_id: UUID, status: str, wanted: str) -> None:
        super().__init__(f"amendment request {request_id} is {status}; {wanted}")
        self.request_id = request_id


class AmendmentRequest(RecordAggregate):
    TOPIC = "touchstone.records.AmendmentRequest.v1"

    class Event(RecordAggregate.Event):
        TOPIC = "touchstone.records.AmendmentRequest.Event.v1"
        client_id: UUID

    class AmendmentRequested(Event, RecordAggregate.Created):
        TOPIC = "touchstone.records.AmendmentRequested.v1"
        target: EventRef
        target_kind: str
        episode_id: UUID | None
        reason: str
        due_at: datetime

    Created = AmendmentRequested

    class AmendmentAccepted(Event):
        TOPIC = "touchstone.records.AmendmentAccepted.v1"
        correction: EventRef
        comment: str | None

        def apply(self, aggregate: AmendmentRequest) -> None:
            aggregate.status = "accepted"
            aggregate.acceptance = AmendmentStep(
                by=self.actor,
                at=self.timestamp,
                version=self.originator_version,
                text=self.comment,
                correction=self.correction,
            )

    class AmendmentDenied(Event):
        TOPIC = "touchstone.records.AmendmentDenied.v1"
        basis: str
        explanation: str

        def apply(self, aggregate: AmendmentRequest) -> None:
            aggregate.status = "denied"
            aggregate.denial = AmendmentStep(
                by=self.actor,
                at=self.timestamp,
                version=self.originator_version,
                text=self.explanation,
                basis=self.basis,
            )

    class DisagreementFiled(Event):
        TOPIC = "touchstone.records.DisagreementFiled.v1"
        statement: str

        def apply(self, aggregate: AmendmentRequest) -> None:
            aggregate.disagreement = AmendmentStep(
                by=self.actor, at=self.timestamp, version=self.originator_version, text=self.statement
            )

    class RebuttalRecorded(Event):
        TOPIC = "touchstone.records.RebuttalRecorded.v1"
        text: str

        def apply(self, aggregate: AmendmentRequest) -> None:
            aggregate.rebuttal = AmendmentStep(
                by=self.actor, at=self.timestamp, version=self.originator_version, text=self.text
            )

    def __init__(
        self,
        *,
        tenant: str,
        client_id: UUID,
        target: EventRef,
        target_kind: str,
        episode_id: UUID | None,
        reason: str,
        due_at: datetime,
        actor: str,
    ) -> None:
        self.tenant = tenant
        self.requested_by = actor
        self.client_id = client_id
        self.target = target
        self.target_kind = target_kind
        self.episode_id = episode_id
        self.reason = reason
        self.due_at = due_at
        self.status = "requested"
        self.acceptance: AmendmentStep | None = None
        self.denial: AmendmentStep | None = None
        self.disagreement: AmendmentStep | None = None
        self.rebuttal: AmendmentStep | None = None

    @classmethod
    def request(
        cls,
        meta: EventMeta,
        request_id: UUID,
        client_id: UUID,
        target: EventRef,
        target_kind: str,
        episode_id: UUID | None,
        reason: str,
    ) -> AmendmentRequest:
        """The application has checked that the target event exists in this client's record."""
        if target_kind not in AMENDMENT_TARGETS:
            raise ValidationError(f"an amendment names one of {list(AMENDMENT_TARGETS)}", field="target")
        return cls._create(
            cls.AmendmentRequested,
            id=request_id,
            client_id=client_id,
            target=target,
            target_kind=target_kind,
            episode_id=episode_id,
            reason=checks.text(reason, "reason"),
            due_at=meta.recorded_at + timedelta(days=RESPONSE_DAYS),
            **meta_fields(meta),
        )

    @property
    def is_open(self) -> bool:
        return self.status == "requested"

    def is_overdue(self, now: datetime) -> bool:
        return self.is_open and now > self.due_at

    def accept(self, meta: EventMeta, correction: EventRef, comment: str | None) -> AmendmentRequest:
        """``correction``: a later event of the target's aggregate (checked by the application to exist)."""
        self._open()
        if correction.aggregate_id != self.target.aggregate_id:
            raise ValidationError(
                "the correction must be an event of the amended entry's record", field="correction"
            )
        if correction.event_version <= self.target.event_version:
            raise ValidationError(
                f"the correction must come after version {self.target.event_version}",
                field="correction.event_version",
            )
        self._record(
            self.AmendmentAccepted,
            meta,
            correction=correction,
            comment=checks.optional_text(comment, "comment"),
        )
        return self

    def deny(self, meta: EventMeta, basis: str, explanation: str) -> AmendmentRequest:
        if basis not in DENIAL_BASES:
            raise ValidationError(
                f"basis {checks.shown_code(basis)} is not one of {sorted(DENIAL_BASES)}", field="basis"
            )
        self._open()
        self._record(
            self.AmendmentDenied, meta, basis=basis, explanation=checks.text(explanation, "explanation")
        )
        return self

    def file_disagreement(self, meta: EventMeta, statement: str) -> AmendmentRequest:
        if self.status != "denied" or self.disagreement is not None:
            raise AmendmentClosed(
                self.id, self._stage(), "a statement of disagreement follows a denial, once"
            )
        self._record(self.DisagreementFiled, meta, statement=checks.text(statement, "statement"))
        return self

    def rebut(self, meta: EventMeta, text: str) -> AmendmentRequest:
        if self.disagreement is None or self.rebuttal is not None:
            raise AmendmentClosed(
                self.id, self._stage(), "a rebuttal answers a statement of disagreement, once"
            )
        self._record(self.RebuttalRecorded, meta, text=checks.text(text, "text"))
        return self

    def _stage(self) -> str:
        if self.rebuttal is not None:
            return "rebutted"
        return "disputed" if self.disagreement is not None else self.status

    def _open(self) -> None:
        if not self.is_open:
            raise AmendmentClosed(self.id, self.status, "it was decided already")

    def _record(self, event_class: type[RecordAggregate.Event], meta: EventMeta, **fields: Any) -> None:
        self._trigger(event_class, meta, client_id=self.client_id, **fields)
