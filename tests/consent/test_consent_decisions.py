"""Access decisions over the API: the token is the actor, every decision is stored before it is answered,
and consents are evaluated (revocation, expiry, the most recent wins) at the moment of the decision."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import httpx
import pytest
from eventsourcing.persistence import OperationalError

from contracts.consent_v1 import PART2_REDISCLOSURE_NOTICE
from services.consent.domain.decision import AccessDecision
from tests.support.api_checks import assert_problem, assert_validation
from tests.support.consent import (
    INTEGRATOR,
    OTHER_TENANT,
    TENANT,
    ConsentApi,
    MutableClock,
    disclosure_body,
    new_client,
    part2_body,
    period,
    read_episode,
    signed,
)


def stored(api: ConsentApi, decision: dict[str, Any]) -> AccessDecision:
    found: Any = api.app.repository.get(UUID(decision["decision_id"]))
    assert isinstance(found, AccessDecision)
    return found


def event_count(api: ConsentApi) -> int:
    return api.app.recorder.max_notification_id() or 0


def integrator(api: ConsentApi, sub: str = INTEGRATOR, tenant: str | None = None) -> dict[str, str]:
    return api.headers("integrator", sub, tenant)


def test_a_deny_is_200_and_the_actor_stored_is_the_tokens_sub(consent_api: ConsentApi) -> None:
    client_id = new_client()
    body = read_episode(client_id, facts={"care_team": ["dr-ada"]})

    decision = consent_api.decide(body, consent_api.headers("clinician", "dr-bob"))

    assert decision["decision"] == "deny"
    assert decision["rule"] == "care-team"
    kept = stored(consent_api, decision)
    assert (kept.tenant, kept.actor) == (TENANT, "dr-bob")
    assert kept.ask["actor"] == "dr-bob"
    assert kept.ask["roles"] == ["clinician"]
    assert kept.verdict["decision"] == "deny"


@pytest.mark.parametrize(
    "claim",
    [
        {"tenant": OTHER_TENANT},
        {"actor": "dr-ada"},
        {"roles": ["privacy_officer"]},
        {"sub": "dr-ada"},
        {"facts": {"care_team": ["dr-bob"], "tenant": OTHER_TENANT}},
        {"resource": {"type": "episode", "actor": "dr-ada"}},
    ],
)
def test_the_body_cannot_claim_who_asks(consent_api: ConsentApi, claim: dict[str, Any]) -> None:
    before = event_count(consent_api)
    body = {**read_episode(new_client(), facts={"care_team": ["dr-ada"]}), **claim}

    response = consent_api.http.post(
        "/v1/decisions", json=body, headers=consent_api.headers("clinician", "dr-bob")
    )

    problem = assert_validation(response)
    assert any(error["type"] == "extra_forbidden" for error in problem["errors"])
    assert event_count(consent_api) == before


def test_every_decision_is_stored_with_all_its_inputs_and_outputs(
    consent_api: ConsentApi, clock: MutableClock
) -> None:
    client_id, resource_id = new_client(), "episode-1"
    body = {
        "client_id": client_id,
        "action": "write",
        "resource": {"type": "episode", "id": resource_id, "labels": ["SUD", "HIV"], "categories": ["goals"]},
        "purpose_of_use": "TREAT",
        "facts": {
            "care_team": ["dr-ada", "dr-cy"],
            "care_team_supervisors": ["dr-sup"],
            "actor_display": "Dr Ada",
        },
    }
    headers = {**consent_api.headers("clinician", "dr-ada"), "X-Request-ID": "decide-1"}

    decision = consent_api.decide(body, headers)

    assert decision["decision"] == "permit"
    assert decision["decided_at"] == clock.now.isoformat().replace("+00:00", "Z")
    kept = stored(consent_api, decision)
    assert kept.created_on == clock.now
    assert kept.ask == {
        "actor": "dr-ada",
        "roles": ["clinician"],
        "actor_client_id": None,
        "action": "write",
        "client_id": UUID(client_id),
        "resource": {"type": "episode", "id": resource_id, "labels": ["HIV", "SUD"], "categories": ["goals"]},
        "purpose_of_use": "TREAT",
        "facts": {
            "care_team": ["dr-ada", "dr-cy"],
            "care_team_supervisors": ["dr-sup"],
            "author": None,
            "actor_display": "Dr Ada",
        },
        "consents": [],
        "break_glass": [],
    }
    assert kept.verdict == {
        "decision": "permit",
        "reason": decision["reason"],
        "rule": decision["rule"],
        "redact_labels": decision["obligations"]["redact_labels"],
        "redact_categories": decision["obligations"]["redact_categories"],
        "redisclosure_notice": False,
        "consents": [],
        "break_glass_id": None,
        "purpose_of_use": "TREAT",
    }
    (event,) = consent_api.app.events.get(UUID(decision["decision_id"]))
    assert isinstance(event, AccessDecision.AccessDecided)
    assert (event.request_id, event.actor, event.tenant) == ("decide-1", "dr-ada", TENANT)


def test_a_decision_that_cannot_be_stored_is_not_answered(
    consent_api: ConsentApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("the database went away")

    monkeypatch.setattr(consent_api.app.recorder, "insert_events", unavailable)
    consent_api.expect_unavailable = True
    body = read_episode(new_client(), facts={"care_team": ["dr-ada"]})

    response = consent_api.http.post(
        "/v1/decisions", json=body, headers=consent_api.headers("clinician", "dr-ada")
    )

    problem = assert_problem(response, 503, "service-unavailable")
    assert "decision" not in problem and "permit" not in response.text
    assert response.headers["retry-after"]


@pytest.mark.parametrize(
    ("changes", "loc"),
    [
        ({"action": "delete"}, ("body", "action")),
        ({"resource": {"type": "consent"}}, ("body", "resource", "type")),
        ({"resource": {"type": "access_log"}}, ("body", "resource", "type")),
        ({"resource": {"type": "episode", "labels": ["lower"]}}, ("body", "resource", "labels", 0)),
        ({"resource": {"type": "episode", "categories": ["x"]}}, ("body", "resource", "categories", 0)),
        ({"purpose_of_use": "CURIOSITY"}, ("body", "purpose_of_use")),
        ({"client_id": "not-a-uuid"}, ("body", "client_id")),
    ],
)
def test_invalid_questions_are_422_and_not_stored(
    consent_api: ConsentApi, changes: dict[str, Any], loc: tuple[str | int, ...]
) -> None:
    before = event_count(consent_api)
    body = {**read_episode(new_client()), **changes}
    response = consent_api.http.post(
        "/v1/decisions", json=body, headers=consent_api.headers("clinician", "dr-ada")
    )
    assert_validation(response, loc)
    assert event_count(consent_api) == before


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-jwt", "Basic YWRhOnB3"])
def test_a_decision_needs_a_valid_token(consent_api: ConsentApi, authorization: str | None) -> None:
    before = event_count(consent_api)
    headers = {"Authorization": authorization} if authorization else {}
    response = consent_api.http.post("/v1/decisions", json=read_episode(new_client()), headers=headers)
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert event_count(consent_api) == before


def test_an_integrator_gets_what_a_disclosure_consent_names_with_sud_redacted(
    consent_api: ConsentApi, clock: MutableClock
) -> None:
    client_id = new_client()
    consent = consent_api.grant(disclosure_body(client_id, clock, labels=["HIV"]))
    body = read_episode(client_id, resource={"labels": ["SUD", "HIV"], "categories": ["episodes", "notes"]})

    decision = consent_api.decide(body, integrator(consent_api))

    assert decision["decision"] == "permit"
    assert decision["rule"] == "consented-disclosure"
    assert decision["obligations"] == {
        "redact_labels": ["SUD"],
        "redact_categories": ["notes"],
        "redisclosure_notice": None,
    }
    assert decision["consents"] == [consent["id"]]
    assert stored(consent_api, decision).verdict["consents"] == [UUID(consent["id"])]


def test_a_part2_consent_discloses_sud_with_the_redisclosure_notice(
    consent_api: ConsentApi, clock: MutableClock
) -> None:
    client_id = new_client()
    general = consent_api.grant(disclosure_body(client_id, clock))
    part2 = consent_api.grant(part2_body(client_id, clock))
    body = read_episode(client_id, resource={"labels": ["SUD", "HIV"], "categories": ["episodes"]})

    decision = consent_api.decide(body, integrator(consent_api))

    assert decision["decision"] == "permit"
    assert decision["obligations"]["redact_labels"] == ["HIV"]
    assert decision["obligations"]["redisclosure_notice"] == PART2_REDISCLOSURE_NOTICE
    assert set(decision["consents"]) == {general["id"], part2["id"]}


def test_an_integrator_without_a_consent_naming_it_is_denied(
    consent_api: ConsentApi, clock: MutableClock
) -> None:
    client_id = new_client()
    consent_api.grant(disclosure_body(client_id, clock))

    other_grantee = consent_api.decide(read_episode(client_id), integrator(consent_api, "ehr-other"))
    other_purpose = consent_api.decide(
        read_episode(client_id, purpose_of_use="HPAYMT"), integrator(consent_api)
    )
    other_client = consent_api.decide(read_episode(new_client()), integrator(consent_api))
    other_tenant = consent_api.decide(read_episode(client_id), integrator(consent_api, tenant=OTHER_TENANT))
    uncovered = consent_api.decide(
        {**read_episode(client_id), "resource": {"type": "note"}}, integrator(consent_api)
    )
    write = consent_api.decide({**read_episode(client_id), "action": "write"}, integrator(consent_api))

    for decision in (other_grantee, other_purpose, other_client, other_tenant, uncovered, write):
        assert decision["decision"] == "deny", decision
        assert decision["consents"] == []
    assert consent_api.decide(read_episode(client_id), integrator(consent_api))["decision"] == "permit"


def test_a_revocation_takes_effect_at_the_next_decision(consent_api: ConsentApi, clock: MutableClock) -> None:
    client_id = new_client()
    consent = consent_api.grant(disclosure_body(client_id, clock))
    assert consent_api.decide(read_episode(client_id), integrator(consent_api))["decision"] == "permit"

    assert consent_api.revoke(consent["id"]).status_code == 200
    decision = consent_api.decide(read_episode(client_id), integrator(consent_api))

    assert decision["decision"] == "deny"
    assert stored(consent_api, decision).ask["consents"] == [
        {"id": UUID(consent["id"]), "kind": "disclosure", "status": "revoked"}
    ]


def test_expiry_and_the_start_are_evaluated_at_the_time_of_the_decision(
    consent_api: ConsentApi, clock: MutableClock
) -> None:
    client_id = new_client()
    consent_api.grant(disclosure_body(client_id, clock, period=period(clock, start_days=1, end_days=2)))

    def decide() -> str:
        return str(consent_api.decide(read_episode(client_id), integrator(consent_api))["decision"])

    assert decide() == "deny"  # not yet valid
    clock.advance(days=1)
    assert decide() == "permit"
    clock.advance(days=1)
    assert decide() == "deny"  # expired at the end of the period


@pytest.mark.parametrize("granted_first", ["newer_signature", "older_signature"])
def test_the_most_recent_consent_wins_when_two_conflict(
    consent_api: ConsentApi, clock: MutableClock, granted_first: str
) -> None:
    client_id = new_client()
    newer = disclosure_body(client_id, clock, categories=["demographics"], **signed(clock, days_ago=1))
    older = disclosure_body(client_id, clock, categories=["episodes"], **signed(clock, days_ago=30))
    order = [newer, older] if granted_first == "newer_signature" else [older, newer]
    granted = []
    for body in order:
        granted.append(consent_api.grant(body))
        clock.advance(seconds=1)
    newer_id = granted[order.index(newer)]["id"]

    episode = consent_api.decide(read_episode(client_id), integrator(consent_api))
    demographics = consent_api.decide(
        {**read_episode(client_id), "resource": {"type": "client"}}, integrator(consent_api)
    )

    assert episode["decision"] == "deny", "the older consent's episodes are superseded by the newer one"
    assert (demographics["decision"], demographics["consents"]) == ("permit", [newer_id])


def test_on_the_same_signature_date_the_later_grant_wins(
    consent_api: ConsentApi, clock: MutableClock
) -> None:
    client_id = new_client()
    consent_api.grant(disclosure_body(client_id, clock, labels=["HIV"]))
    clock.advance(minutes=1)
    later = consent_api.grant(disclosure_body(client_id, clock))

    decision = consent_api.decide(
        read_episode(client_id, resource={"labels": ["HIV"]}), integrator(consent_api)
    )

    assert decision["consents"] == [later["id"]]
    assert decision["obligations"]["redact_labels"] == ["HIV"]


def test_denied_operations_of_the_service_itself_are_stored_too(
    consent_api: ConsentApi, clock: MutableClock
) -> None:
    before = event_count(consent_api)
    client_id = new_client()

    response = consent_api.http.get(
        "/v1/consents", params={"client_id": client_id}, headers=consent_api.headers("clinician", "dr-eve")
    )

    assert_problem(response, 403, "forbidden")
    assert event_count(consent_api) == before + 1


def test_a_change_the_domain_refuses_keeps_the_decision_that_allowed_it(
    consent_api: ConsentApi, clock: MutableClock
) -> None:
    """A 409 or a 422 from the domain comes after a decision was made: that decision is logged."""
    client_id = new_client()
    consent = consent_api.grant(disclosure_body(client_id, clock))
    assert consent_api.revoke(consent["id"]).status_code == 200
    grant = consent_api.break_glass(client_id)
    review = {"outcome": "justified", "note": "ok"}
    review_path = f"/v1/break-glass/{grant['id']}/review"
    assert consent_api.http.post(review_path, json=review, headers=consent_api.officer()).status_code == 200
    refusals: list[Callable[[], httpx.Response]] = [
        lambda: consent_api.revoke(consent["id"]),
        lambda: consent_api.http.post(review_path, json=review, headers=consent_api.officer()),
        lambda: consent_api.http.post(
            "/v1/consents",
            json=part2_body(client_id, clock, disclosed_by=None),
            headers=consent_api.officer(),
        ),
    ]
    for refuse, (status, action) in zip(
        refusals, [(409, "write"), (409, "write"), (422, "create")], strict=True
    ):
        before = event_count(consent_api)
        assert refuse().status_code == status
        (notification,) = consent_api.app.recorder.select_notifications(before + 1, 10)
        logged: Any = consent_api.app.repository.get(UUID(str(notification.originator_id)))
        assert isinstance(logged, AccessDecision)
        assert logged.verdict["decision"] == "permit" and logged.ask["action"] == action
        assert logged.actor == "po-1"
