"""The HTTP consent gate against a real HTTP server: what it sends, what it makes of the answers, and that it
fails closed (ConsentUnavailable) on a refused connection, an error status, a body that is not a decision
and a consent service that does not answer in time.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from pydantic import ValidationError

from contracts.consent_v1 import PART2_REDISCLOSURE_NOTICE
from services.records.adapters.consent_gate import HttpConsentGate
from services.records.application.access import (
    AccessDenied,
    AccessRequest,
    Actor,
    ConsentUnavailable,
    Resource,
)
from services.records.bootstrap import access_gate, build_records
from services.records.settings import RecordsSettings
from services.restkit.logging import configure_logging
from tests.support import SqliteDatabase
from tests.support.fake_consent import FakeConsent, decision, fake_consent, free_port
from tests.support.policy_gate import PolicyGate
from tests.support.records import records_settings

TIMEOUT = 0.5
TOKEN = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJkci1hZGEifQ.c2lnbmF0dXJl"  # forwarded as is, never read
CLIENT = UUID("0190f0a0-0000-7000-8000-000000000001")
EPISODE = UUID("0190f0a0-0000-7000-8000-000000000002")
ADA = Actor("dr-ada", "practice-a", frozenset({"clinician"}), None, "TREAT", TOKEN)


def episode_read(actor: Actor = ADA, request_id: str = "req-42") -> AccessRequest:
    resource = Resource("episode", EPISODE, frozenset({"SUD", "ETH"}), frozenset({"episodes", "goals"}))
    return AccessRequest(
        actor=actor,
        action="read",
        client_id=CLIENT,
        resource=resource,
        purpose_of_use=actor.purpose_of_use,
        care_team=frozenset({"dr-bob", "dr-ada"}),
        care_team_supervisors=frozenset({"dr-sup"}),
        request_id=request_id,
        actor_display="Dr Ada Lovelace",
    )


@pytest.fixture
def consent() -> Iterator[FakeConsent]:
    with fake_consent() as fake:
        yield fake


@pytest.fixture
def gate(consent: FakeConsent) -> Iterator[HttpConsentGate]:
    gate = HttpConsentGate(consent.base_url + "/", TIMEOUT)  # a trailing slash is fine
    yield gate
    gate.close()


def test_it_forwards_the_callers_token_and_request_id_and_sends_the_contracts_body(
    consent: FakeConsent, gate: HttpConsentGate
) -> None:
    gate.decide(episode_read())

    [received] = consent.received
    assert received.path == "/v1/decisions"
    assert received.headers["authorization"] == f"Bearer {TOKEN}"
    assert received.headers["x-request-id"] == "req-42"
    assert received.headers["content-type"] == "application/json"
    assert received.body == {
        "client_id": str(CLIENT),
        "action": "read",
        "resource": {
            "type": "episode",
            "id": str(EPISODE),
            "labels": ["ETH", "SUD"],
            "categories": ["episodes", "goals"],
        },
        "purpose_of_use": "TREAT",
        "facts": {
            "care_team": ["dr-ada", "dr-bob"],
            "care_team_supervisors": ["dr-sup"],
            "author": None,
            "actor_display": "Dr Ada Lovelace",
        },
    }


def test_a_permit_carries_its_obligations_consents_and_break_glass(
    consent: FakeConsent, gate: HttpConsentGate
) -> None:
    consent_id, glass_id = str(uuid4()), str(uuid4())
    consent.answer = decision(
        labels=["SUD"],
        categories=["measures"],
        notice=PART2_REDISCLOSURE_NOTICE,
        consents=[consent_id],
        break_glass_id=glass_id,
    )

    decided = gate.decide(episode_read())

    assert (decided.permit, decided.rule, decided.decision_id) == (
        True,
        "test-rule",
        consent.answer["decision_id"],
    )
    assert (set(decided.redact_labels), set(decided.redact_categories)) == ({"SUD"}, {"measures"})
    assert decided.redisclosure_notice == PART2_REDISCLOSURE_NOTICE
    assert (decided.consents, decided.break_glass_id) == ((consent_id,), glass_id)


def test_a_deny_is_a_decision_with_its_reason(consent: FakeConsent, gate: HttpConsentGate) -> None:
    consent.answer = decision("deny")

    decided = gate.decide(episode_read())

    assert (decided.permit, decided.reason) == (False, "no consent names this grantee")
    assert decided.obligations.redact_labels == frozenset()


def test_decisions_share_one_pooled_connection(consent: FakeConsent, gate: HttpConsentGate) -> None:
    for request_id in ("req-1", "req-2", "req-3"):
        gate.decide(episode_read(request_id=request_id))

    assert [r.headers["x-request-id"] for r in consent.received] == ["req-1", "req-2", "req-3"]
    assert len({r.client_port for r in consent.received}) == 1


@pytest.mark.parametrize("status", [500, 503, 401, 403, 404, 422, 201])
def test_any_status_but_200_is_unavailable(consent: FakeConsent, gate: HttpConsentGate, status: int) -> None:
    consent.status = status  # the body is a valid permit, which must not be believed

    with pytest.raises(ConsentUnavailable) as failed:
        gate.decide(episode_read())
    assert failed.value.kind == "status"


@pytest.mark.parametrize(
    "raw", [b"{not json", b"", b"[]", b'{"decision": "permit"}', b'{"decision": "maybe"}', b"x" * 70_000]
)
def test_a_body_that_is_not_a_decision_is_unavailable(
    consent: FakeConsent, gate: HttpConsentGate, raw: bytes
) -> None:
    consent.raw = raw

    with pytest.raises(ConsentUnavailable) as failed:
        gate.decide(episode_read())
    assert failed.value.kind == "bad_body"


def test_a_refused_connection_is_unavailable() -> None:
    gate = HttpConsentGate(f"http://127.0.0.1:{free_port()}", TIMEOUT)
    try:
        with pytest.raises(ConsentUnavailable) as failed:
            gate.decide(episode_read())
        assert failed.value.kind == "unreachable"
    finally:
        gate.close()


def test_a_consent_service_that_does_not_answer_is_unavailable_within_the_timeout(
    consent: FakeConsent, gate: HttpConsentGate
) -> None:
    consent.hang_seconds = 5.0

    started = time.monotonic()
    with pytest.raises(ConsentUnavailable) as failed:
        gate.decide(episode_read())
    assert time.monotonic() - started < TIMEOUT + 1.0
    assert failed.value.kind == "timeout"
    assert len(consent.received) == 1


def test_without_a_token_or_with_a_purpose_the_contract_lacks_nothing_is_asked(
    consent: FakeConsent, gate: HttpConsentGate
) -> None:
    with pytest.raises(ConsentUnavailable):
        gate.decide(episode_read(Actor("dr-ada", "practice-a", frozenset({"clinician"}), None, "TREAT")))
    odd_purpose = Actor("dr-ada", "practice-a", frozenset({"clinician"}), None, "RESEARCHING", TOKEN)
    with pytest.raises(AccessDenied):
        gate.decide(episode_read(odd_purpose))
    assert consent.received == []


def test_failures_are_logged_by_kind_status_and_request_id_without_the_body(
    consent: FakeConsent, gate: HttpConsentGate
) -> None:
    consent.status, consent.raw = 500, b'{"detail": "SECRET-BODY-TEXT"}'
    stream = io.StringIO()
    configure_logging("production", "DEBUG", stream=stream)
    try:
        with pytest.raises(ConsentUnavailable):
            gate.decide(episode_read(request_id="req-logged"))
    finally:
        configure_logging("development", "INFO")
    logged = stream.getvalue()
    assert '"event": "consent.unavailable"' in logged
    assert all(fact in logged for fact in ('"kind": "status"', '"status": 500', '"request_id": "req-logged"'))
    assert "SECRET-BODY-TEXT" not in logged and TOKEN not in logged


# --- choosing the gate -----------------------------------------------------------------------------------
def test_the_consent_url_chooses_the_http_gate(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="TOUCHSTONE_CONSENT_URL"):
        access_gate(RecordsSettings(var_dir=tmp_path))
    chosen = access_gate(RecordsSettings(var_dir=tmp_path, consent_url="http://consent:8001"))
    assert isinstance(chosen, HttpConsentGate)
    chosen.close()


def test_an_explicit_gate_wins(sqlite_db: SqliteDatabase, tmp_path: Path) -> None:
    explicit = PolicyGate()
    settings = records_settings(sqlite_db, tmp_path, consent_url="http://consent:8001")
    app = build_records(settings, gate=explicit)
    try:
        assert app.gate is explicit
    finally:
        app.close()


def test_the_timeout_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        RecordsSettings(var_dir=tmp_path, consent_timeout_seconds=0)
    with pytest.raises(ValueError):
        HttpConsentGate("http://consent:8001", 0)
    assert RecordsSettings(var_dir=tmp_path).consent_timeout_seconds == 2.0


def test_production_refuses_to_start_without_the_consent_service() -> None:
    production: dict[str, Any] = {
        "env": "production",
        "jwks": "https://idp/jwks",
        "jwt_issuer": "https://idp",
        "master_key": "k",
    }
    with pytest.raises(ValidationError, match="TOUCHSTONE_CONSENT_URL"):
        RecordsSettings(**production)
    assert (
        RecordsSettings(**production, consent_url="http://consent:8001").consent_url == "http://consent:8001"
    )
