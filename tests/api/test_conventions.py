"""REST conventions: If-Match, body limits, content types, malformed JSON, unknown routes, request ids.

Idempotency-Key is in ``test_conventions_idempotency.py``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from tests.support.api_checks import assert_problem, assert_validation, no_server_errors  # noqa: F401
from tests.support.api_seed import close_body, event_types, post, session_body, set_goal
from tests.support.records import RecordsApi

ONE_MIB = 1_048_576


def _sessions(eid: str) -> str:
    return f"/v1/episodes/{eid}/sessions"


# --- If-Match ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("if_match", ['"1"', 'W/"1"', ' "1" ', "*"])
def test_if_match_with_the_current_etag_or_a_star_writes(api: RecordsApi, eid: str, if_match: str) -> None:
    response = post(api, _sessions(eid), session_body(), headers={"If-Match": if_match})
    assert response.status_code == 201, response.text
    assert response.headers["etag"] == '"2"'


def test_the_etag_of_one_write_is_the_if_match_of_the_next(api: RecordsApi, eid: str) -> None:
    etag = api.http.get(f"/v1/episodes/{eid}", headers=api.headers("clinician", "dr-ada")).headers["etag"]
    for expected in ('"2"', '"3"', '"4"'):
        response = post(api, _sessions(eid), session_body(), headers={"If-Match": etag})
        assert response.headers["etag"] == expected
        etag = response.headers["etag"]


def test_a_stale_if_match_is_412_and_writes_nothing(api: RecordsApi, eid: str) -> None:
    post(api, _sessions(eid), session_body())
    response = post(api, _sessions(eid), session_body(), headers={"If-Match": '"1"'})
    assert_problem(
        response, 412, "precondition-failed", title="Stale version", detail="the current version is 2"
    )
    assert event_types(api, eid) == ["EpisodeOpened", "SessionHeld"]


@pytest.mark.parametrize("if_match", ["garbage", "1", '"one"', '"1", "2"', '""', "W/1"])
def test_an_if_match_that_is_no_etag_of_ours_is_412(api: RecordsApi, eid: str, if_match: str) -> None:
    response = post(api, _sessions(eid), session_body(), headers={"If-Match": if_match})
    assert_problem(response, 412, "precondition-failed", detail="If-Match")
    assert event_types(api, eid) == ["EpisodeOpened"]


def test_entry_writes_check_the_episodes_version(api: RecordsApi, eid: str) -> None:
    goal = set_goal(api, eid)
    post(api, _sessions(eid), session_body())  # the episode moves on to version 3
    revision = {"statement": "s", "reason": "r"}
    response = post(
        api, f"/v1/episodes/{eid}/goals/{goal['id']}/revisions", revision, headers={"If-Match": '"2"'}
    )
    assert_problem(response, 412, "precondition-failed", detail="the current version is 3")
    ok = post(api, f"/v1/episodes/{eid}/goals/{goal['id']}/revisions", revision, headers={"If-Match": '"3"'})
    assert ok.status_code == 201


def test_a_stale_close_is_412_and_the_episode_stays_open(api: RecordsApi, eid: str) -> None:
    post(api, _sessions(eid), session_body())
    response = post(api, f"/v1/episodes/{eid}/close", close_body(), headers={"If-Match": '"1"'})
    assert_problem(response, 412, "precondition-failed")
    episode = api.http.get(f"/v1/episodes/{eid}", headers=api.headers("clinician", "dr-ada")).json()
    assert episode["status"] == "open"


# --- bodies: size, content type, JSON ----------------------------------------------------------------------
def _big_body() -> bytes:
    body = json.dumps(session_body(labels=[])).encode()
    return body[:-1] + b', "padding": "' + b"x" * ONE_MIB + b'"}'


def test_a_body_over_1_mib_is_413(api: RecordsApi, eid: str) -> None:
    headers = {**api.headers("clinician", "dr-ada"), "content-type": "application/json"}
    response = api.http.post(_sessions(eid), content=_big_body(), headers=headers)
    assert_problem(response, 413, "payload-too-large", detail=str(ONE_MIB))
    assert event_types(api, eid) == ["EpisodeOpened"]


def test_a_streamed_body_over_1_mib_is_413(api: RecordsApi, eid: str) -> None:
    body = _big_body()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    headers = {**api.headers("clinician", "dr-ada"), "content-type": "application/json"}
    response = api.http.post(_sessions(eid), content=chunks(), headers=headers)
    assert_problem(response, 413, "payload-too-large")
    assert event_types(api, eid) == ["EpisodeOpened"]


def test_a_body_of_almost_1_mib_is_read(api: RecordsApi, eid: str) -> None:
    body = json.dumps(session_body(attendees=["dr-ada"] * 20, padding="x" * (ONE_MIB - 2000))).encode()
    assert len(body) < ONE_MIB
    headers = {**api.headers("clinician", "dr-ada"), "content-type": "application/json"}
    response = api.http.post(_sessions(eid), content=body, headers=headers)
    assert_validation(response, ("body", "padding"))  # read and validated, not refused for its size


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        None,
    ],
)
def test_a_body_that_is_not_json_is_415(api: RecordsApi, eid: str, content_type: str | None) -> None:
    headers = api.headers("clinician", "dr-ada")
    if content_type is not None:
        headers["content-type"] = content_type
    response = api.http.post(_sessions(eid), content=json.dumps(session_body()).encode(), headers=headers)
    assert_problem(response, 415, "unsupported-media-type", detail="application/json")
    assert event_types(api, eid) == ["EpisodeOpened"]


def test_a_form_post_is_415(api: RecordsApi, eid: str) -> None:
    response = api.http.post(
        _sessions(eid), data={"modality": "video"}, headers=api.headers("clinician", "dr-ada")
    )
    assert_problem(response, 415, "unsupported-media-type")


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/merge-patch+json"])
def test_json_media_types_with_parameters_or_suffix_are_accepted(
    api: RecordsApi, eid: str, content_type: str
) -> None:
    headers = {**api.headers("clinician", "dr-ada"), "content-type": content_type}
    response = api.http.post(_sessions(eid), content=json.dumps(session_body()).encode(), headers=headers)
    assert response.status_code == 201


@pytest.mark.parametrize("content", [b'{"occurred_at": ', b"{'single': 'quotes'}", b"\xff\xfe", b"[1, 2"])
def test_malformed_json_is_a_422_problem(api: RecordsApi, eid: str, content: bytes) -> None:
    headers = {**api.headers("clinician", "dr-ada"), "content-type": "application/json"}
    body = assert_validation(api.http.post(_sessions(eid), content=content, headers=headers))
    assert [e["type"] for e in body["errors"]] == ["json_invalid"]
    assert body["errors"][0]["loc"][0] == "body"


@pytest.mark.parametrize("content", [b"[]", b'"text"', b"null", b""])
def test_json_that_is_not_an_object_is_422(api: RecordsApi, eid: str, content: bytes) -> None:
    headers = {**api.headers("clinician", "dr-ada"), "content-type": "application/json"}
    assert_validation(api.http.post(_sessions(eid), content=content, headers=headers), ("body",))


# --- routes and request ids --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    ["/v1/nothing", "/v2/clients", "/v1/episodes/0192f6a0-0000-7000-8000-00000000abcd/notes-of-others"],
)
def test_an_unknown_route_is_a_404_problem(api: RecordsApi, path: str) -> None:
    response = api.http.get(path, headers=api.headers("clinician", "dr-ada"))
    assert_problem(response, 404, "not-found", detail="No resource exists at this path.")


def test_an_unsupported_method_is_a_405_problem(api: RecordsApi, eid: str) -> None:
    response = api.http.delete(f"/v1/episodes/{eid}", headers=api.headers("clinician", "dr-ada"))
    assert_problem(response, 405, "method-not-allowed")
    assert "GET" in response.headers["allow"]


def test_the_callers_request_id_is_echoed_and_recorded(api: RecordsApi, eid: str) -> None:
    ada = api.headers("clinician", "dr-ada")
    created = api.http.post(
        _sessions(eid), json=session_body(), headers={**ada, "X-Request-ID": "it-7.a:b_c"}
    )
    assert created.headers["x-request-id"] == "it-7.a:b_c"
    problem = api.http.post(
        _sessions(eid), json=session_body(modality="x"), headers={**ada, "X-Request-ID": "r-2"}
    )
    body = assert_validation(problem)
    assert (problem.headers["x-request-id"], body["instance"]) == ("r-2", "urn:touchstone:request:r-2")
    history = api.http.get(f"/v1/episodes/{eid}/history", headers=ada).json()["items"]
    assert history[-1]["request_id"] == "it-7.a:b_c"


@pytest.mark.parametrize("supplied", ["has space", "x" * 129, "<script>"])
def test_an_unsafe_request_id_is_replaced_by_a_fresh_one(api: RecordsApi, eid: str, supplied: str) -> None:
    response = api.http.get(
        f"/v1/episodes/{eid}", headers={**api.headers("clinician", "dr-ada"), "X-Request-ID": supplied}
    )
    assert response.status_code == 200
    assert response.headers["x-request-id"] != supplied
    assert uuid.UUID(response.headers["x-request-id"]).version == 7


def test_each_request_gets_its_own_id(api: RecordsApi, eid: str) -> None:
    ids = {
        api.http.get(f"/v1/episodes/{eid}", headers=api.headers("clinician", "dr-ada")).headers[
            "x-request-id"
        ]
        for _ in range(3)
    }
    assert len(ids) == 3


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/openapi.json"])
def test_health_and_the_openapi_document_need_no_token(api: RecordsApi, path: str) -> None:
    assert api.http.get(path).status_code == 200
