"""Idempotency-Key: a repeat replays the first completed response; failures do not use the key up."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.support.api_checks import assert_problem, assert_validation, no_server_errors  # noqa: F401
from tests.support.api_seed import close_body, event_types, measure_body, post, session_body
from tests.support.records import OTHER_TENANT, RecordsApi

REPLAYED = "idempotent-replayed"


@pytest.fixture
def eid(api: RecordsApi) -> str:
    _, episode = api.practice("dr-ada")
    api.practitioner("dr-bo")
    return str(episode["id"])


def _sessions(eid: str) -> str:
    return f"/v1/episodes/{eid}/sessions"


def _keyed(key: str, **more: str) -> dict[str, str]:
    return {"Idempotency-Key": key, **more}


def _raw(api: RecordsApi, path: str, content: str, key: str, sub: str = "dr-ada") -> httpx.Response:
    headers = {**api.headers("clinician", sub), "content-type": "application/json", "Idempotency-Key": key}
    response: httpx.Response = api.http.post(path, content=content.encode(), headers=headers)
    return response


def _assert_replay_of(first: httpx.Response, again: httpx.Response) -> None:
    assert again.status_code == first.status_code
    assert again.content == first.content
    for header in ("location", "etag", "content-type"):
        assert again.headers.get(header) == first.headers.get(header), header
    assert again.headers[REPLAYED] == "true"
    assert REPLAYED not in first.headers


def test_a_repeat_replays_the_first_response_and_writes_once(api: RecordsApi, eid: str) -> None:
    first = post(api, _sessions(eid), session_body(), headers=_keyed("k-1"))
    assert first.status_code == 201
    again = post(api, _sessions(eid), session_body(), headers=_keyed("k-1"))
    _assert_replay_of(first, again)
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    assert event_types(api, eid) == ["EpisodeOpened", "SessionHeld"]


def test_a_repeat_after_later_writes_still_replays_the_first_response(api: RecordsApi, eid: str) -> None:
    first = post(api, _sessions(eid), session_body(), headers=_keyed("k-1"))
    post(api, _sessions(eid), session_body(modality="video"))
    again = post(api, _sessions(eid), session_body(), headers=_keyed("k-1"))
    _assert_replay_of(first, again)
    assert again.headers["etag"] == '"2"'
    assert event_types(api, eid).count("SessionHeld") == 2


def test_a_repeated_registration_replays_instead_of_conflicting(api: RecordsApi, eid: str) -> None:
    body = {"identifiers": [{"system": "urn:test:mrn", "value": "mrn-9"}], "name": {"family": "Roe"}}
    first = post(api, "/v1/clients", body, headers=_keyed("register-roe"))
    assert first.status_code == 201
    _assert_replay_of(first, post(api, "/v1/clients", body, headers=_keyed("register-roe")))
    assert (
        api.http.get(first.headers["location"], headers=api.headers("clinician", "dr-ada")).status_code == 200
    )


def test_the_same_key_with_another_body_is_422_and_writes_nothing(api: RecordsApi, eid: str) -> None:
    first = post(api, _sessions(eid), session_body(), headers=_keyed("k-1"))
    response = post(api, _sessions(eid), session_body(duration_minutes=30), headers=_keyed("k-1"))
    assert_problem(response, 422, "validation", title="Idempotency-Key reused", detail="another request body")
    assert REPLAYED not in response.headers
    assert event_types(api, eid) == ["EpisodeOpened", "SessionHeld"]
    _assert_replay_of(first, post(api, _sessions(eid), session_body(), headers=_keyed("k-1")))


def test_bodies_are_compared_as_json_not_as_bytes(api: RecordsApi, eid: str) -> None:
    body = session_body()
    first = _raw(api, _sessions(eid), json.dumps(body), "k-json")
    assert first.status_code == 201
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=4, separators=(" ,  ", " :  "))
    _assert_replay_of(first, _raw(api, _sessions(eid), f"\n  {reordered}\n", "k-json"))
    assert event_types(api, eid).count("SessionHeld") == 1


def test_a_key_belongs_to_its_actor(api: RecordsApi, eid: str) -> None:
    client_id = api.http.get(f"/v1/episodes/{eid}", headers=api.headers("clinician", "dr-ada")).json()[
        "client_id"
    ]
    shared = api.episode("dr-ada", client_id, care_team=["dr-bo"])["id"]
    first = post(api, _sessions(shared), session_body(), headers=_keyed("k-1"))
    other = post(api, _sessions(shared), session_body(), sub="dr-bo", headers=_keyed("k-1"))
    assert (first.status_code, other.status_code) == (201, 201)
    assert REPLAYED not in other.headers
    assert other.json()["id"] != first.json()["id"]
    assert event_types(api, shared).count("SessionHeld") == 2


def test_a_key_belongs_to_its_path(api: RecordsApi, eid: str) -> None:
    client_id = api.http.get(f"/v1/episodes/{eid}", headers=api.headers("clinician", "dr-ada")).json()[
        "client_id"
    ]
    other_episode = api.episode("dr-ada", client_id)["id"]
    first = post(api, _sessions(eid), session_body(), headers=_keyed("k-1"))
    elsewhere = post(api, _sessions(other_episode), session_body(), headers=_keyed("k-1"))
    measure = post(api, f"/v1/episodes/{eid}/measures", measure_body(), headers=_keyed("k-1"))
    assert (first.status_code, elsewhere.status_code, measure.status_code) == (201, 201, 201)
    assert REPLAYED not in elsewhere.headers and REPLAYED not in measure.headers
    assert event_types(api, eid) == ["EpisodeOpened", "SessionHeld", "MeasureRecorded"]
    assert event_types(api, other_episode) == ["EpisodeOpened", "SessionHeld"]


def test_a_key_belongs_to_its_tenant(api: RecordsApi, eid: str) -> None:
    body: dict[str, Any] = {
        "identifiers": [{"system": "urn:test:mrn", "value": "mrn-9"}],
        "name": {"family": "Roe"},
    }
    here = post(api, "/v1/clients", body, headers=_keyed("k-1"))
    api.practitioner("dr-ada", tenant=OTHER_TENANT)
    there = api.http.post(
        "/v1/clients",
        json=body,
        headers={**api.headers("clinician", "dr-ada", tenant=OTHER_TENANT), "Idempotency-Key": "k-1"},
    )
    assert (here.status_code, there.status_code) == (201, 201)
    assert REPLAYED not in there.headers
    assert there.json()["id"] != here.json()["id"]


def test_a_failed_request_does_not_use_up_its_key(api: RecordsApi, eid: str) -> None:
    assert post(api, f"/v1/episodes/{eid}/close", close_body()).status_code == 200
    first = post(api, _sessions(eid), session_body(), headers=_keyed("k-closed"))
    assert_problem(first, 409, "conflict", title="Conflict", detail="is closed")
    again = post(api, _sessions(eid), session_body(), headers=_keyed("k-closed"))
    assert_problem(again, 409, "conflict", title="Conflict", detail="is closed")
    assert REPLAYED not in again.headers
    assert event_types(api, eid) == ["EpisodeOpened", "EpisodeClosed"]


@pytest.mark.parametrize(
    ("path", "bad", "good"),
    [
        ("sessions", session_body(modality="carrier-pigeon"), session_body()),
        ("measures", measure_body(score=1), measure_body()),
    ],
    ids=["request validation", "domain validation"],
)
def test_a_key_refused_with_422_can_be_used_with_the_corrected_body(
    api: RecordsApi, eid: str, path: str, bad: dict[str, Any], good: dict[str, Any]
) -> None:
    assert_validation(post(api, f"/v1/episodes/{eid}/{path}", bad, headers=_keyed("k-fix")))
    fixed = post(api, f"/v1/episodes/{eid}/{path}", good, headers=_keyed("k-fix"))
    assert fixed.status_code == 201, fixed.text
    assert REPLAYED not in fixed.headers
    _assert_replay_of(fixed, post(api, f"/v1/episodes/{eid}/{path}", good, headers=_keyed("k-fix")))


def test_a_key_refused_with_412_can_be_used_again(api: RecordsApi, eid: str) -> None:
    stale = post(api, _sessions(eid), session_body(), headers=_keyed("k-412", **{"If-Match": '"9"'}))
    assert_problem(stale, 412, "precondition-failed")
    assert post(api, _sessions(eid), session_body(), headers=_keyed("k-412")).status_code == 201


@pytest.mark.parametrize(
    "key",
    ["has space", "tab\there", "x" * 256, "", "bell\x07"],
    ids=["space", "tab", "256 chars", "empty", "control char"],
)
def test_an_invalid_key_is_422_and_writes_nothing(api: RecordsApi, eid: str, key: str) -> None:
    response = post(api, _sessions(eid), session_body(), headers=_keyed(key))
    assert_validation(response, detail="Idempotency-Key must be 1-255 visible ASCII characters")
    assert event_types(api, eid) == ["EpisodeOpened"]


def test_a_key_of_255_visible_characters_is_accepted(api: RecordsApi, eid: str) -> None:
    key = ("!~" * 128)[:255]
    first = post(api, _sessions(eid), session_body(), headers=_keyed(key))
    assert first.status_code == 201
    _assert_replay_of(first, post(api, _sessions(eid), session_body(), headers=_keyed(key)))


def test_a_repeated_action_replays_its_200_instead_of_conflicting(api: RecordsApi, eid: str) -> None:
    first = post(api, f"/v1/episodes/{eid}/close", close_body(), headers=_keyed("close-1"))
    assert first.status_code == 200
    assert first.json()["status"] == "closed"
    _assert_replay_of(first, post(api, f"/v1/episodes/{eid}/close", close_body(), headers=_keyed("close-1")))
    assert_problem(post(api, f"/v1/episodes/{eid}/close", close_body()), 409, "conflict")
    assert event_types(api, eid) == ["EpisodeOpened", "EpisodeClosed"]
