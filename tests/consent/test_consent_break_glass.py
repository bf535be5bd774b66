"""Break-glass over the API: a clinician's limited emergency access, marked on every decision it permits,
never opening psychotherapy notes, and queued for a privacy officer's review."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from services.consent.domain.decision import AccessDecision
from tests.support.api_checks import assert_problem, assert_validation
from tests.support.consent import (
    OTHER_TENANT,
    PRIVACY_OFFICER,
    ConsentApi,
    MutableClock,
    new_client,
    read_episode,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def queue(api: ConsentApi, status: str = "unreviewed", **params: Any) -> dict[str, Any]:
    response = api.http.get("/v1/break-glass", params={"status": status, **params}, headers=api.officer())
    assert response.status_code == 200, response.text
    return dict(response.json())


def review(api: ConsentApi, break_glass_id: str, outcome: str = "justified", **headers: str) -> Any:
    body = {"outcome": outcome, "note": "patient was unresponsive; attending confirmed"}
    return api.http.post(
        f"/v1/break-glass/{break_glass_id}/review", json=body, headers=headers or api.officer()
    )


def as_bob(api: ConsentApi, body: dict[str, Any]) -> dict[str, Any]:
    """A decision asked by dr-bob, who is not on the episode's care team."""
    return api.decide({**body, "facts": {"care_team": ["dr-ada"]}}, api.headers("clinician", "dr-bob"))


def test_a_clinician_invokes_break_glass_for_30_minutes_by_default(
    consent_api: ConsentApi, clock: MutableClock
) -> None:
    client_id = new_client()
    response = consent_api.http.post(
        "/v1/break-glass",
        json={"client_id": client_id, "reason": "overdose, unconscious"},
        headers=consent_api.headers("clinician", "dr-bob"),
    )

    assert response.status_code == 201, response.text
    grant = response.json()
    assert response.headers["location"] == f"/v1/break-glass/{grant['id']}"
    assert response.headers["etag"] == '"1"'
    assert (grant["actor"], grant["client_id"], grant["purpose_of_use"]) == ("dr-bob", client_id, "ETREAT")
    assert at(grant["started_at"]) == clock.now
    assert at(grant["expires_at"]) == clock.now + timedelta(minutes=30)
    assert grant["status"] == "active" and grant["review"] is None
    read = consent_api.http.get(response.headers["location"], headers=consent_api.officer())
    assert read.status_code == 200 and read.json() == grant


def test_break_glass_lasts_as_long_as_asked_up_to_60_minutes(
    consent_api: ConsentApi, clock: MutableClock
) -> None:
    grant = consent_api.break_glass(new_client(), minutes=60)
    assert at(grant["expires_at"]) - at(grant["started_at"]) == timedelta(minutes=60)


@pytest.mark.parametrize(
    ("changes", "loc"),
    [
        ({"minutes": 61}, ("body", "minutes")),
        ({"minutes": 0}, ("body", "minutes")),
        ({"minutes": -5}, ("body", "minutes")),
        ({"reason": None}, ("body", "reason")),
        ({"reason": "   "}, ("body", "reason")),
        ({"client_id": None}, ("body", "client_id")),
        ({"purpose_of_use": "TREAT"}, ("body", "purpose_of_use")),
    ],
)
def test_an_invalid_break_glass_is_422(
    consent_api: ConsentApi, changes: dict[str, Any], loc: tuple[str, ...]
) -> None:
    body = {"client_id": new_client(), "reason": "emergency", **changes}
    body = {key: value for key, value in body.items() if value is not None}
    response = consent_api.http.post(
        "/v1/break-glass", json=body, headers=consent_api.headers("clinician", "dr-bob")
    )
    assert_validation(response, loc)
    assert queue(consent_api, "all")["items"] == []


@pytest.mark.parametrize("role", ["privacy_officer", "supervisor", "integrator", "auditor", "admin"])
def test_only_clinicians_invoke_break_glass(consent_api: ConsentApi, role: str) -> None:
    body = {"client_id": new_client(), "reason": "emergency"}
    response = consent_api.http.post(
        "/v1/break-glass", json=body, headers=consent_api.headers(role, "someone")
    )
    assert_problem(response, 403, "forbidden")
    assert queue(consent_api, "all")["items"] == []


def test_a_client_cannot_invoke_break_glass_on_their_own_record(consent_api: ConsentApi) -> None:
    client_id = new_client()
    body = {"client_id": client_id, "reason": "emergency"}
    response = consent_api.http.post("/v1/break-glass", json=body, headers=consent_api.client(client_id))
    assert_problem(response, 403, "forbidden")


def test_decisions_under_break_glass_are_marked_as_emergency_treatment(
    consent_api: ConsentApi, clock: MutableClock
) -> None:
    client_id = new_client()
    assert as_bob(consent_api, read_episode(client_id))["decision"] == "deny"
    grant = consent_api.break_glass(client_id, "dr-bob")

    decision = as_bob(consent_api, read_episode(client_id))

    assert decision["decision"] == "permit"
    assert decision["rule"] == "break-glass"
    assert (decision["break_glass_id"], decision["purpose_of_use"]) == (grant["id"], "ETREAT")
    kept: Any = consent_api.app.repository.get(UUID(decision["decision_id"]))
    assert isinstance(kept, AccessDecision)
    assert kept.verdict["break_glass_id"] == UUID(grant["id"])
    assert kept.verdict["purpose_of_use"] == "ETREAT"
    assert kept.ask["break_glass"] == [{"id": UUID(grant["id"]), "active": True}]


def test_break_glass_opens_one_client_to_one_clinician(consent_api: ConsentApi) -> None:
    client_id = new_client()
    consent_api.break_glass(client_id, "dr-bob")

    another_client = as_bob(consent_api, read_episode(new_client()))
    another_clinician = consent_api.decide(
        {**read_episode(client_id), "facts": {"care_team": ["dr-ada"]}},
        consent_api.headers("clinician", "dr-cy"),
    )
    another_tenant = consent_api.decide(
        {**read_episode(client_id), "facts": {"care_team": ["dr-ada"]}},
        consent_api.headers("clinician", "dr-bob", OTHER_TENANT),
    )

    for decision in (another_client, another_clinician, another_tenant):
        assert decision["decision"] == "deny" and decision["break_glass_id"] is None


def test_break_glass_no_longer_permits_once_expired(consent_api: ConsentApi, clock: MutableClock) -> None:
    client_id = new_client()
    grant = consent_api.break_glass(client_id, "dr-bob", minutes=10)
    clock.advance(minutes=9, seconds=59)
    assert as_bob(consent_api, read_episode(client_id))["decision"] == "permit"

    clock.advance(seconds=1)
    decision = as_bob(consent_api, read_episode(client_id))

    assert decision["decision"] == "deny" and decision["break_glass_id"] is None
    read = consent_api.http.get(f"/v1/break-glass/{grant['id']}", headers=consent_api.officer())
    assert read.json()["status"] == "expired"


@pytest.mark.parametrize(
    "resource",
    [
        {"type": "psychotherapy_note", "id": "pn-1"},
        {"type": "episode", "labels": ["PSYTHPN"]},
        {"type": "note", "labels": ["PSYTHPN"]},
    ],
)
def test_break_glass_never_opens_psychotherapy_notes(
    consent_api: ConsentApi, resource: dict[str, Any]
) -> None:
    client_id = new_client()
    consent_api.break_glass(client_id, "dr-bob")

    decision = as_bob(
        consent_api, {**read_episode(client_id), "resource": resource, "purpose_of_use": "ETREAT"}
    )

    assert decision["decision"] == "deny"
    assert decision["rule"] == "psychotherapy-notes"
    assert decision["break_glass_id"] is None


def test_the_review_queue_is_for_privacy_officers(consent_api: ConsentApi) -> None:
    grant = consent_api.break_glass(new_client(), "dr-bob")

    assert [item["id"] for item in queue(consent_api)["items"]] == [grant["id"]]
    for role in ("clinician", "auditor", "supervisor"):
        response = consent_api.http.get(
            "/v1/break-glass", params={"status": "unreviewed"}, headers=consent_api.headers(role, "dr-bob")
        )
        assert_problem(response, 403, "forbidden")
        assert "items" not in response.json()
    read = consent_api.http.get(
        f"/v1/break-glass/{grant['id']}", headers=consent_api.headers("clinician", "dr-bob")
    )
    assert_problem(read, 403, "forbidden")


@pytest.mark.parametrize("outcome", ["justified", "unjustified"])
def test_a_privacy_officer_reviews_break_glass_once(
    consent_api: ConsentApi, clock: MutableClock, outcome: str
) -> None:
    reviewed, waiting = consent_api.break_glass(new_client(), "dr-bob"), consent_api.break_glass(new_client())
    clock.advance(hours=3)

    response = review(consent_api, reviewed["id"], outcome)

    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"2"'
    body = response.json()
    assert body["review"]["outcome"] == outcome
    assert body["review"]["reviewed_by"] == PRIVACY_OFFICER
    assert at(body["review"]["reviewed_at"]) == clock.now
    assert body["version"] == 2 and body["status"] == "expired"
    assert_problem(
        review(consent_api, reviewed["id"], "unjustified"), 409, "conflict", detail="already been reviewed"
    )
    assert [item["id"] for item in queue(consent_api)["items"]] == [waiting["id"]]
    assert [item["id"] for item in queue(consent_api, "all")["items"]] == [reviewed["id"], waiting["id"]]
    assert queue(consent_api, "all")["items"][0]["review"]["outcome"] == outcome


def test_only_a_privacy_officer_reviews(consent_api: ConsentApi) -> None:
    grant = consent_api.break_glass(new_client(), "dr-bob")
    for role, sub in (("clinician", "dr-bob"), ("auditor", "aud-1"), ("admin", "admin-1")):
        assert_problem(review(consent_api, grant["id"], **consent_api.headers(role, sub)), 403, "forbidden")
    assert [item["id"] for item in queue(consent_api)["items"]] == [grant["id"]]


def test_reviewing_an_unknown_or_foreign_break_glass_is_404(consent_api: ConsentApi) -> None:
    grant = consent_api.break_glass(new_client(), "dr-bob")
    assert_problem(review(consent_api, str(new_client())), 404, "not-found")
    assert_problem(review(consent_api, grant["id"], **consent_api.officer(OTHER_TENANT)), 404, "not-found")
    foreign_queue = consent_api.http.get("/v1/break-glass", headers=consent_api.officer(OTHER_TENANT))
    assert foreign_queue.json()["items"] == []


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"outcome": "fine", "note": "x"}, ("body", "outcome")),
        ({"outcome": "justified"}, ("body", "note")),
        ({"outcome": "justified", "note": "x", "reviewed_by": "po-2"}, ("body", "reviewed_by")),
    ],
)
def test_an_invalid_review_is_422(
    consent_api: ConsentApi, body: dict[str, Any], loc: tuple[str, ...]
) -> None:
    grant = consent_api.break_glass(new_client(), "dr-bob")
    response = consent_api.http.post(
        f"/v1/break-glass/{grant['id']}/review", json=body, headers=consent_api.officer()
    )
    assert_validation(response, loc)
    assert [item["id"] for item in queue(consent_api)["items"]] == [grant["id"]]


def test_the_queue_refuses_an_unknown_status_and_pages(consent_api: ConsentApi) -> None:
    assert_validation(
        consent_api.http.get("/v1/break-glass", params={"status": "reviewed"}, headers=consent_api.officer()),
        ("query", "status"),
    )
    ids = [consent_api.break_glass(new_client())["id"] for _ in range(3)]
    first = queue(consent_api, limit=2)
    second = queue(consent_api, limit=2, cursor=first["next_cursor"])
    assert [item["id"] for item in first["items"] + second["items"]] == ids
    assert second["next_cursor"] is None
    assert_validation(
        consent_api.http.get("/v1/break-glass", params={"cursor": "bogus"}, headers=consent_api.officer())
    )
