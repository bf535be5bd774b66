"""Consent directives over the API: grant, read, list by client (status at the time asked), revoke."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest

from tests.support.api_checks import assert_problem, assert_validation
from tests.support.consent import (
    OTHER_TENANT,
    PRIVACY_OFFICER,
    ConsentApi,
    MutableClock,
    disclosure_body,
    new_client,
    part2_body,
    period,
    psychotherapy_notes_body,
    treatment_body,
)

Body = Callable[..., dict[str, Any]]
KINDS: dict[str, Body] = {
    "treatment": treatment_body,
    "disclosure": disclosure_body,
    "psychotherapy_notes": psychotherapy_notes_body,
    "part2": part2_body,
}


def listed(api: ConsentApi, client_id: str, **params: Any) -> dict[str, Any]:
    response = api.http.get("/v1/consents", params={"client_id": client_id, **params}, headers=api.officer())
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.mark.parametrize("kind", KINDS)
def test_grant_each_kind_is_201_with_a_readable_location_and_etag(
    consent_api: ConsentApi, clock: MutableClock, kind: str
) -> None:
    client_id = new_client()
    body = KINDS[kind](client_id, clock)
    response = consent_api.http.post("/v1/consents", json=body, headers=consent_api.officer())

    assert response.status_code == 201, response.text
    granted = response.json()
    assert response.headers["etag"] == '"1"'
    assert response.headers["location"] == f"/v1/consents/{granted['id']}"
    assert granted["kind"] == kind
    assert granted["client_id"] == client_id
    assert granted["status"] == "active"
    assert granted["granted_by"] == PRIVACY_OFFICER
    assert granted["revocation"] is None
    assert granted["purposes"] == body["purposes"]
    read = consent_api.http.get(response.headers["location"], headers=consent_api.officer())
    assert read.status_code == 200, read.text
    assert read.headers["etag"] == '"1"'
    assert read.json() == granted


def test_listing_shows_each_status_as_it_stands_at_the_time_asked(
    consent_api: ConsentApi, clock: MutableClock
) -> None:
    client_id = new_client()
    expiring = consent_api.grant(disclosure_body(client_id, clock, period=period(clock, end_days=1 / 24)))
    lasting = consent_api.grant(treatment_body(client_id, clock))
    later = consent_api.grant(treatment_body(client_id, clock, period=period(clock, start_days=30)))
    revoked = consent_api.grant(disclosure_body(client_id, clock))
    assert consent_api.revoke(revoked["id"]).status_code == 200
    consent_api.grant(treatment_body(new_client(), clock))  # another client's: not listed

    def statuses() -> dict[str, str]:
        return {item["id"]: item["status"] for item in listed(consent_api, client_id)["items"]}

    assert statuses() == {
        expiring["id"]: "active",
        lasting["id"]: "active",
        later["id"]: "not_yet_valid",
        revoked["id"]: "revoked",
    }
    clock.advance(hours=2)
    assert statuses()[expiring["id"]] == "expired"
    clock.advance(days=31)
    assert statuses() == {
        expiring["id"]: "expired",
        lasting["id"]: "active",
        later["id"]: "active",
        revoked["id"]: "revoked",
    }


def test_listing_pages_with_limit_and_cursor(consent_api: ConsentApi, clock: MutableClock) -> None:
    client_id = new_client()
    ids = [consent_api.grant(treatment_body(client_id, clock))["id"] for _ in range(5)]

    first = listed(consent_api, client_id, limit=2)
    second = listed(consent_api, client_id, limit=2, cursor=first["next_cursor"])
    third = listed(consent_api, client_id, limit=2, cursor=second["next_cursor"])

    pages = [first, second, third]
    assert [len(page["items"]) for page in pages] == [2, 2, 1]
    assert [item["id"] for page in pages for item in page["items"]] == ids
    assert third["next_cursor"] is None
    assert listed(consent_api, client_id)["next_cursor"] is None


@pytest.mark.parametrize("cursor", ["not-a-cursor", "eyJrIjoiYnJlYWstZ2xhc3MiLCJhZnRlciI6IngifQ"])
def test_a_cursor_the_service_did_not_issue_for_this_list_is_422(
    consent_api: ConsentApi, cursor: str
) -> None:
    response = consent_api.http.get(
        "/v1/consents", params={"client_id": new_client(), "cursor": cursor}, headers=consent_api.officer()
    )
    assert_validation(response, detail="cursor")


@pytest.mark.parametrize("limit", [0, 501])
def test_a_limit_out_of_range_is_422(consent_api: ConsentApi, limit: int) -> None:
    response = consent_api.http.get(
        "/v1/consents", params={"client_id": new_client(), "limit": limit}, headers=consent_api.officer()
    )
    assert_validation(response, ("query", "limit"))


def test_revoke_is_200_with_the_consent_revoked_and_a_second_revocation_is_409(
    consent_api: ConsentApi, clock: MutableClock
) -> None:
    granted = consent_api.grant(disclosure_body(new_client(), clock))
    clock.advance(minutes=5)

    response = consent_api.revoke(granted["id"], reason="moving to another practice")

    assert response.status_code == 200, response.text
    revoked = response.json()
    assert response.headers["etag"] == '"2"'
    assert revoked["status"] == "revoked"
    assert revoked["version"] == 2
    assert revoked["revocation"]["revoked_by"] == PRIVACY_OFFICER
    assert revoked["revocation"]["reason"] == "moving to another practice"
    assert revoked["revocation"]["revoked_at"] == clock.now.isoformat().replace("+00:00", "Z")
    assert_problem(consent_api.revoke(granted["id"]), 409, "conflict", detail="already revoked")
    read = consent_api.http.get(f"/v1/consents/{granted['id']}", headers=consent_api.officer())
    assert read.json()["version"] == 2


def test_unknown_consent_is_404(consent_api: ConsentApi) -> None:
    unknown = new_client()
    assert_problem(
        consent_api.http.get(f"/v1/consents/{unknown}", headers=consent_api.officer()), 404, "not-found"
    )
    assert_problem(consent_api.revoke(unknown), 404, "not-found")


def test_another_tenants_consent_is_404(consent_api: ConsentApi, clock: MutableClock) -> None:
    client_id = new_client()
    granted = consent_api.grant(disclosure_body(client_id, clock))
    foreign = consent_api.officer(OTHER_TENANT)

    read = consent_api.http.get(f"/v1/consents/{granted['id']}", headers=foreign)
    revoke = consent_api.http.post(
        f"/v1/consents/{granted['id']}/revocations", json={"reason": "x"}, headers=foreign
    )
    listing = consent_api.http.get("/v1/consents", params={"client_id": client_id}, headers=foreign)

    assert_problem(read, 404, "not-found")
    assert_problem(revoke, 404, "not-found")
    assert listing.status_code == 200 and listing.json()["items"] == []
    still = consent_api.http.get(f"/v1/consents/{granted['id']}", headers=consent_api.officer())
    assert still.json()["status"] == "active"


def test_a_client_grants_lists_and_revokes_their_own_consents(
    consent_api: ConsentApi, clock: MutableClock
) -> None:
    client_id = new_client()
    own = consent_api.client(client_id)

    granted = consent_api.grant(disclosure_body(client_id, clock), headers=own)
    listing = consent_api.http.get("/v1/consents", params={"client_id": client_id}, headers=own)
    read = consent_api.http.get(f"/v1/consents/{granted['id']}", headers=own)
    revoked = consent_api.http.post(
        f"/v1/consents/{granted['id']}/revocations", json={"reason": "no longer"}, headers=own
    )

    assert granted["granted_by"] == f"client-{client_id}"
    assert [item["id"] for item in listing.json()["items"]] == [granted["id"]]
    assert read.status_code == 200
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revocation"]["revoked_by"] == f"client-{client_id}"


def test_a_client_cannot_touch_another_clients_consents(consent_api: ConsentApi, clock: MutableClock) -> None:
    client_id, other_id = new_client(), new_client()
    others = consent_api.grant(disclosure_body(other_id, clock))
    own = consent_api.client(client_id)

    grant = consent_api.http.post("/v1/consents", json=disclosure_body(other_id, clock), headers=own)
    listing = consent_api.http.get("/v1/consents", params={"client_id": other_id}, headers=own)
    read = consent_api.http.get(f"/v1/consents/{others['id']}", headers=own)
    revoke = consent_api.http.post(
        f"/v1/consents/{others['id']}/revocations", json={"reason": "x"}, headers=own
    )

    for response in (grant, listing, read, revoke):
        assert_problem(response, 403, "forbidden", detail="client or a privacy officer")
        assert "items" not in response.json()
    assert [item["id"] for item in listed(consent_api, other_id)["items"]] == [others["id"]]
    assert listed(consent_api, other_id)["items"][0]["status"] == "active"


@pytest.mark.parametrize("role", ["clinician", "integrator", "auditor", "admin", "supervisor"])
def test_other_roles_neither_list_nor_grant_consents(
    consent_api: ConsentApi, clock: MutableClock, role: str
) -> None:
    client_id = new_client()
    consent_api.grant(treatment_body(client_id, clock))
    caller = consent_api.headers(role, f"{role}-1")

    listing = consent_api.http.get("/v1/consents", params={"client_id": client_id}, headers=caller)
    grant = consent_api.http.post("/v1/consents", json=treatment_body(client_id, clock), headers=caller)

    assert_problem(listing, 403, "forbidden")
    assert_problem(grant, 403, "forbidden")
    assert len(listed(consent_api, client_id)["items"]) == 1


def test_consents_need_a_token(consent_api: ConsentApi, clock: MutableClock) -> None:
    response = consent_api.http.post("/v1/consents", json=treatment_body(new_client(), clock))
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_revocation_that_loses_a_race_is_409_not_500(
    consent_api: ConsentApi, clock: MutableClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two revocations of one consent at once: the one that loads first and saves second conflicts."""
    granted = consent_api.grant(disclosure_body(new_client(), clock))
    stale: Any = consent_api.app.repository.get(UUID(granted["id"]))  # as the slower request loaded it
    assert consent_api.revoke(granted["id"]).status_code == 200
    monkeypatch.setattr(consent_api.app.repository, "get", lambda *args, **kwargs: stale)

    response = consent_api.revoke(granted["id"], reason="the slower request")

    problem = assert_problem(response, 409, "conflict")
    assert "originator" not in problem["detail"] and "duplicate" not in problem["detail"]
    monkeypatch.undo()
    read = consent_api.http.get(f"/v1/consents/{granted['id']}", headers=consent_api.officer())
    assert read.json()["version"] == 2
    assert read.json()["revocation"]["reason"] == "changed my mind"


def test_a_client_token_whose_client_id_is_not_a_uuid_is_401(consent_api: ConsentApi) -> None:
    headers = consent_api.headers("client", "client-x", client_id="mrn-12345")
    response = consent_api.http.get("/v1/consents", params={"client_id": new_client()}, headers=headers)
    assert_problem(response, 401, "unauthorized")
