"""Amendment requests, given/when/then: requested, accepted or denied, disputed, rebutted; due in 60 days."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import project_aggregate
from eventsourcing.domain import Snapshot
from eventsourcing.utils import get_topic, resolve_topic

from services.records.domain import AmendmentRequest, EventRef
from services.records.domain.amendment import AmendmentClosed
from services.records.domain.errors import ValidationError

from .builders import at, meta

TARGET = EventRef(aggregate_id=UUID(int=7), event_version=3)
EVENTS = {
    "AmendmentRequested",
    "AmendmentAccepted",
    "AmendmentDenied",
    "DisagreementFiled",
    "RebuttalRecorded",
}


def requested() -> AmendmentRequest:
    return AmendmentRequest.request(
        meta(actor="client-1"), uuid4(), uuid4(), TARGET, "note", uuid4(), "wrong"
    )


def test_a_request_is_due_in_60_days_and_overdue_after() -> None:
    request = requested()
    assert (request.status, request.requested_by, request.due_at) == (
        "requested",
        "client-1",
        at() + timedelta(days=60),
    )
    assert not request.is_overdue(at() + timedelta(days=60))
    assert request.is_overdue(at() + timedelta(days=60, seconds=1))
    request.deny(meta(1), "accurate_and_complete", "as said")
    assert not request.is_overdue(at() + timedelta(days=90))


def test_acceptance_links_a_later_event_of_the_same_record() -> None:
    request = requested()
    for bad in (
        EventRef(aggregate_id=uuid4(), event_version=4),
        EventRef(aggregate_id=TARGET.aggregate_id, event_version=3),
    ):
        with pytest.raises(ValidationError):
            request.accept(meta(1), bad, None)
    correction = EventRef(aggregate_id=TARGET.aggregate_id, event_version=4)
    request.accept(meta(1), correction, "agreed")
    assert request.acceptance is not None and request.acceptance.correction == correction
    with pytest.raises(AmendmentClosed):
        request.deny(meta(2), "accurate_and_complete", "x")
    with pytest.raises(AmendmentClosed):
        request.file_disagreement(meta(2), "x")


def test_denial_needs_a_basis_of_the_rule_then_disagreement_then_rebuttal() -> None:
    request = requested()
    with pytest.raises(ValidationError):
        request.deny(meta(1), "we disagree", "x")
    with pytest.raises(AmendmentClosed):
        request.rebut(meta(1), "x")
    request.deny(meta(1), "not_created_here", "made elsewhere")
    request.file_disagreement(meta(2, actor="client-1"), "it is wrong")
    with pytest.raises(AmendmentClosed):
        request.file_disagreement(meta(3), "again")
    request.rebut(meta(3), "it is right")
    with pytest.raises(AmendmentClosed):
        request.rebut(meta(4), "again")
    assert (request.status, request.denial and request.denial.basis, request.version) == (
        "denied",
        "not_created_here",
        4,
    )


def test_events_have_topics_carry_the_client_and_replay() -> None:
    accepted = requested()
    accepted.accept(meta(1), EventRef(aggregate_id=TARGET.aggregate_id, event_version=5), None)
    denied = requested()
    denied.deny(meta(1), "not_designated_record_set", "x")
    denied.file_disagreement(meta(2), "s")
    denied.rebut(meta(3), "r")
    events = [*accepted.collect_events(), *denied.collect_events()]
    assert {type(e).__name__ for e in events} == EVENTS
    for event in events:
        assert get_topic(type(event)) == f"touchstone.records.{type(event).__name__}.v1"
        assert resolve_topic(get_topic(type(event))) is type(event)
    assert resolve_topic(AmendmentRequest.TOPIC) is AmendmentRequest
    for request in (accepted, denied):
        replayed = project_aggregate(None, [e for e in events if e.originator_id == request.id])
        assert replayed == request
        assert Snapshot.take(request).mutate(None) == request
        assert all(vars(e)["client_id"] == request.client_id for e in events if e.originator_id == request.id)
