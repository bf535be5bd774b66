"""Who may call: bad tokens are 401, other tenants see 404, the default policy answers 403 with a reason."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.support.api_checks import assert_no_leak, assert_problem, no_server_errors  # noqa: F401
from tests.support.api_seed import event_types, goal_body, hold_session, session_body, set_goal
from tests.support.api_tokens import bearer, claims, foreign_key, signed, unsigned
from tests.support.records import OTHER_TENANT, RecordsApi

RECORD_TEXT = ("low mood", "Doe", "Walk every morning")
INVALID = 'Bearer error="invalid_token"'

BadToken = Callable[[RecordsApi], dict[str, str]]
BAD_TOKENS: dict[str, tuple[BadToken, str, str]] = {
    # kind: (headers, reason in the detail, WWW-Authenticate)
    "missing header": (lambda api: {}, "(missing)", "Bearer"),
    "empty header": (lambda api: {"Authorization": ""}, "(missing)", "Bearer"),
    "not a JWT": (lambda api: bearer("not-a-jwt"), "(malformed)", INVALID),
    "wrong scheme": (lambda api: {"Authorization": "Basic ZHItYWRhOnNlY3JldA=="}, "(malformed)", INVALID),
    "alg none": (lambda api: bearer(unsigned(api, claims())), "(unsigned)", INVALID),
    "another key, same kid": (
        lambda api: bearer(signed(api, claims(), key=foreign_key())),
        "(bad_signature)",
        INVALID,
    ),
    "expired": (
        lambda api: bearer(
            signed(
                api,
                claims(iat=int(time.time()) - 900, nbf=int(time.time()) - 900, exp=int(time.time()) - 120),
            )
        ),
        "(expired)",
        INVALID,
    ),
    "wrong issuer": (
        lambda api: bearer(signed(api, claims(iss="https://evil.example"))),
        "(wrong_issuer)",
        INVALID,
    ),
    "wrong audience": (
        lambda api: bearer(signed(api, claims(aud="someone-else"))),
        "(wrong_audience)",
        INVALID,
    ),
    "not yet valid": (
        lambda api: bearer(signed(api, claims(nbf=int(time.time()) + 600))),
        "(not_yet_valid)",
        INVALID,
    ),
    "unknown kid": (lambda api: bearer(signed(api, claims(), kid="dev-unknown")), "(unknown_key)", INVALID),
    "no known role": (lambda api: bearer(signed(api, claims(role="wizard"))), "(bad_claims)", INVALID),
    "no tenant": (
        lambda api: bearer(signed(api, {k: v for k, v in claims().items() if k != "tenant"})),
        "(missing_claim)",
        INVALID,
    ),
}


@pytest.fixture
def seeded(api: RecordsApi) -> dict[str, Any]:
    client, episode = api.practice("dr-ada")
    goal = set_goal(api, episode["id"])
    session = hold_session(api, episode["id"])
    return {"client": client["id"], "episode": episode["id"], "goal": goal["id"], "session": session["id"]}


def _call(api: RecordsApi, route: str, ids: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    response: httpx.Response
    if route == "read":
        response = api.http.get(f"/v1/episodes/{ids['episode']}", headers=headers)
    elif route == "client":
        response = api.http.get(f"/v1/clients/{ids['client']}", headers=headers)
    else:
        response = api.http.post(
            f"/v1/episodes/{ids['episode']}/sessions", json=session_body(), headers=headers
        )
    return response


@pytest.mark.parametrize("route", ["read", "client", "write"])
@pytest.mark.parametrize("kind", list(BAD_TOKENS))
def test_a_bad_token_is_401_with_a_challenge_and_no_data(
    api: RecordsApi, seeded: dict[str, Any], kind: str, route: str
) -> None:
    make_headers, reason, challenge = BAD_TOKENS[kind]
    response = _call(api, route, seeded, make_headers(api))
    body = assert_problem(response, 401, "unauthorized", title="Unauthorized", detail=reason)
    assert response.headers["www-authenticate"] == challenge
    assert_no_leak(response, *RECORD_TEXT, seeded["episode"])
    assert "errors" not in body
    assert event_types(api, seeded["episode"]).count("SessionHeld") == 1


@pytest.mark.parametrize(
    "content",
    [b'{"occurred_at": ', b'{"unknown": 1}', b"[]"],
    ids=["malformed JSON", "unknown field", "not an object"],
)
def test_a_request_without_a_token_is_401_whatever_its_body(
    api: RecordsApi, seeded: dict[str, Any], content: bytes
) -> None:
    """Authentication comes first: an anonymous caller learns nothing from validation."""
    response = api.http.post(
        f"/v1/episodes/{seeded['episode']}/sessions",
        content=content,
        headers={"content-type": "application/json"},
    )
    assert_problem(response, 401, "unauthorized", detail="(missing)")
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_token_expired_within_the_leeway_is_still_accepted(api: RecordsApi, seeded: dict[str, Any]) -> None:
    now = int(time.time())
    token = signed(api, claims(iat=now - 600, nbf=now - 600, exp=now - 20))
    assert api.http.get(f"/v1/episodes/{seeded['episode']}", headers=bearer(token)).status_code == 200


def test_a_client_token_without_a_uuid_client_id_is_401(api: RecordsApi, seeded: dict[str, Any]) -> None:
    token = signed(api, claims("client-1", "client", client_id="not-a-uuid"))
    response = api.http.get(f"/v1/clients/{seeded['client']}", headers=bearer(token))
    assert_problem(response, 401, "unauthorized", detail="(bad_claims)")


# --- tenants are walls -------------------------------------------------------------------------------------
def _tenant_reads(ids: dict[str, Any]) -> list[str]:
    e = f"/v1/episodes/{ids['episode']}"
    return [
        f"/v1/clients/{ids['client']}",
        f"/v1/clients/{ids['client']}/episodes",
        e,
        f"{e}/history",
        f"{e}?version=1",
        f"{e}/sessions/{ids['session']}",
        f"{e}/goals/{ids['goal']}",
        f"{e}/goals/{ids['goal']}/history",
    ]


def test_another_tenant_gets_404_for_every_read(api: RecordsApi, seeded: dict[str, Any]) -> None:
    api.practitioner("dr-ada", tenant=OTHER_TENANT)  # the same sub, registered in the other practice
    outsider = api.headers("clinician", "dr-ada", tenant=OTHER_TENANT)
    for path in _tenant_reads(seeded):
        response = api.http.get(path, headers=outsider)
        assert_problem(response, 404, "not-found", title="Not found")
        assert_no_leak(response, *RECORD_TEXT)


def test_another_tenant_gets_404_for_every_write_and_nothing_is_written(
    api: RecordsApi, seeded: dict[str, Any]
) -> None:
    api.practitioner("dr-ada", tenant=OTHER_TENANT)
    outsider = api.headers("clinician", "dr-ada", tenant=OTHER_TENANT)
    e, g = f"/v1/episodes/{seeded['episode']}", seeded["goal"]
    writes: list[tuple[str, dict[str, Any]]] = [
        (f"{e}/sessions", session_body()),
        (f"{e}/goals", goal_body()),
        (f"{e}/goals/{g}/revisions", {"statement": "x", "reason": "y"}),
        (f"{e}/close", {"reason": "r", "summary": "s", "occurred_at": "2026-02-01T10:00:00Z"}),
        (
            f"/v1/clients/{seeded['client']}/episodes",
            {"clinician": "dr-ada", "reason_for_referral": "x", "started_at": "2026-02-01T10:00:00Z"},
        ),
    ]
    before = event_types(api, seeded["episode"])
    for path, body in writes:
        assert_problem(api.http.post(path, json=body, headers=outsider), 404, "not-found")
    assert event_types(api, seeded["episode"]) == before


def test_another_tenant_finds_no_client_by_identifier(api: RecordsApi) -> None:
    api.practitioner("dr-ada")
    api.client("dr-ada", identifier="mrn-42")
    outsider = api.headers("clinician", "dr-ada", tenant=OTHER_TENANT)
    response = api.http.get("/v1/clients", params={"identifier": "urn:test:mrn|mrn-42"}, headers=outsider)
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}


# --- the default policy ------------------------------------------------------------------------------------
def _assert_denied(response: httpx.Response, detail: str | None = None) -> None:
    """403 with the deciding row's reason (``detail``, when given, must be part of it) and no record text."""
    body = assert_problem(response, 403, "forbidden", title="Access denied", detail=detail)
    assert set(body) == {"type", "title", "status", "detail", "instance"}
    assert_no_leak(response, *RECORD_TEXT)


@pytest.mark.parametrize("role", ["auditor", "integrator", "privacy_officer", "admin"])
def test_roles_without_clinical_access_are_refused_with_a_reason(
    api: RecordsApi, seeded: dict[str, Any], role: str
) -> None:
    caller = api.headers(role, f"{role}-1")
    e = f"/v1/episodes/{seeded['episode']}"
    for path in (e, f"{e}/history", f"{e}/goals/{seeded['goal']}", f"/v1/clients/{seeded['client']}"):
        _assert_denied(api.http.get(path, headers=caller))
    _assert_denied(api.http.post(f"{e}/sessions", json=session_body(), headers=caller))


def test_a_client_reads_their_own_record_but_not_another_clients(
    api: RecordsApi, seeded: dict[str, Any]
) -> None:
    other = api.client("dr-ada", family="Roe")
    other_episode = api.episode("dr-ada", other["id"])
    me = api.headers("client", "client-1", client_id=seeded["client"])
    own = api.http.get(f"/v1/episodes/{seeded['episode']}", headers=me)
    assert own.status_code == 200
    assert own.json()["reason_for_referral"] == "low mood"
    assert api.http.get(f"/v1/clients/{seeded['client']}", headers=me).json()["name"]["family"] == "Doe"
    for path in (f"/v1/clients/{other['id']}", f"/v1/episodes/{other_episode['id']}"):
        response = api.http.get(path, headers=me)
        _assert_denied(response)
        assert "Roe" not in response.text


def test_a_client_cannot_write_to_their_own_episode(api: RecordsApi, seeded: dict[str, Any]) -> None:
    me = api.headers("client", "client-1", client_id=seeded["client"])
    _assert_denied(
        api.http.post(f"/v1/episodes/{seeded['episode']}/sessions", json=session_body(), headers=me)
    )
    assert event_types(api, seeded["episode"]).count("SessionHeld") == 1


def test_a_clinician_not_on_the_care_team_may_neither_read_nor_write(
    api: RecordsApi, seeded: dict[str, Any]
) -> None:
    api.practitioner("dr-bo")
    bo = api.headers("clinician", "dr-bo")
    e = f"/v1/episodes/{seeded['episode']}"
    for path in (e, f"{e}/history", f"{e}/sessions/{seeded['session']}", f"/v1/clients/{seeded['client']}"):
        _assert_denied(api.http.get(path, headers=bo), "care team they are on")
    _assert_denied(api.http.post(f"{e}/sessions", json=session_body(attendees=["dr-bo"]), headers=bo))
    assert event_types(api, seeded["episode"]).count("SessionHeld") == 1


def test_a_care_team_clinician_reading_for_another_purpose_is_refused(
    api: RecordsApi, seeded: dict[str, Any]
) -> None:
    token = api.keys.mint("clinician", api.tenant, "dr-ada", purpose_of_use="HPAYMT")
    response = api.http.get(f"/v1/episodes/{seeded['episode']}", headers=bearer(token))
    _assert_denied(response, "(TREAT or ETREAT)")


def test_a_supervisor_of_a_care_team_clinician_reads_but_does_not_write(api: RecordsApi) -> None:
    api.practitioner("dr-sup", roles=["supervisor"])
    api.practitioner("dr-bo", supervisor="dr-sup")
    client = api.client("dr-bo")
    episode = api.episode("dr-bo", client["id"])
    goal = set_goal(api, episode["id"], sub="dr-bo")
    sup = api.headers("supervisor", "dr-sup")
    e = f"/v1/episodes/{episode['id']}"
    for path in (e, f"{e}/history", f"{e}/goals/{goal['id']}", f"{e}/goals/{goal['id']}/history"):
        assert api.http.get(path, headers=sup).status_code == 200, path
    writes = [
        (f"{e}/sessions", session_body(attendees=["dr-bo"])),
        (f"{e}/goals/{goal['id']}/progress", {"summary": "ok", "occurred_at": "2026-02-01T10:00:00Z"}),
        (f"{e}/close", {"reason": "r", "summary": "s", "occurred_at": "2026-02-01T10:00:00Z"}),
    ]
    for path, body in writes:
        _assert_denied(api.http.post(path, json=body, headers=sup))
    assert event_types(api, episode["id"], sub="dr-bo") == ["EpisodeOpened", "GoalSet"]


def test_a_supervisor_of_nobody_on_the_team_is_refused(api: RecordsApi, seeded: dict[str, Any]) -> None:
    api.practitioner("dr-sup", roles=["supervisor"])
    api.practitioner("dr-bo", supervisor="dr-sup")  # supervised, but not on this episode's care team
    response = api.http.get(f"/v1/episodes/{seeded['episode']}", headers=api.headers("supervisor", "dr-sup"))
    _assert_denied(response)


def test_a_supervisor_of_a_care_team_clinician_reads_the_clients_record(api: RecordsApi) -> None:
    api.practitioner("dr-sup", roles=["supervisor"])
    api.practitioner("dr-bo", supervisor="dr-sup")
    client = api.client("dr-bo")
    episode = api.episode("dr-bo", client["id"])
    sup = api.headers("supervisor", "dr-sup")
    assert api.http.get(f"/v1/episodes/{episode['id']}", headers=sup).status_code == 200
    read = api.http.get(f"/v1/clients/{client['id']}", headers=sup)
    assert read.status_code == 200, read.text
    assert read.json()["id"] == client["id"]
    listed = api.http.get(f"/v1/clients/{client['id']}/episodes", headers=sup)
    assert listed.status_code == 200, listed.text
    assert [e["id"] for e in listed.json()["items"]] == [episode["id"]]
