"""Episodes of care: open, read now / at a version / as of an instant, history, close."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.support.api_checks import assert_problem, assert_validation, no_server_errors  # noqa: F401
from tests.support.api_seed import close_body, history, hold_session, post, set_goal
from tests.support.records import RecordsApi


def open_body(**changes: Any) -> dict[str, Any]:
    return {
        "clinician": "dr-ada",
        "care_team": ["dr-bo"],
        "reason_for_referral": "low mood",
        "presenting_concerns": ["sleep", "withdrawal"],
        "started_at": "2026-01-05T09:00:00+01:00",
        "labels": ["MH"],
        **changes,
    }


@pytest.fixture
def client_id(api: RecordsApi) -> str:
    api.practitioner("dr-ada")
    api.practitioner("dr-bo")
    return str(api.client("dr-ada")["id"])


@pytest.fixture
def episode_id(api: RecordsApi) -> str:
    _, episode = api.practice("dr-ada")
    return str(episode["id"])


def _get(api: RecordsApi, path: str, **params: Any) -> Any:
    return api.http.get(path, params=params, headers=api.headers("clinician", "dr-ada"))


# --- open ----------------------------------------------------------------------------------------------
def test_open_answers_201_with_location_etag_and_the_episode(api: RecordsApi, client_id: str) -> None:
    response = post(api, f"/v1/clients/{client_id}/episodes", open_body())
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"/v1/episodes/{body['id']}"
    assert response.headers["etag"] == '"1"'
    assert (body["client_id"], body["status"], body["clinician"], body["version"]) == (
        client_id,
        "open",
        "dr-ada",
        1,
    )
    assert sorted(body["care_team"]) == ["dr-ada", "dr-bo"]
    assert (body["reason_for_referral"], body["presenting_concerns"]) == ("low mood", ["sleep", "withdrawal"])
    assert datetime.fromisoformat(body["started_at"]) == datetime.fromisoformat("2026-01-05T09:00:00+01:00")
    assert (body["labels"], body["discharge"], body["redacted_labels"]) == (["MH"], None, [])
    assert all(body[kind] == [] for kind in ("sessions", "patterns", "goals", "reflections", "measures"))

    read = _get(api, response.headers["location"])
    assert read.status_code == 200
    assert read.headers["etag"] == '"1"'
    assert read.json() == body
    listed = _get(api, f"/v1/clients/{client_id}/episodes").json()["items"]
    assert [e["id"] for e in listed] == [body["id"]]


def test_a_care_team_member_not_in_the_directory_is_422(api: RecordsApi, client_id: str) -> None:
    response = post(api, f"/v1/clients/{client_id}/episodes", open_body(care_team=["dr-bo", "dr-ghost"]))
    assert_problem(response, 422, "validation", title="Invalid reference", detail="dr-ghost")
    assert _get(api, f"/v1/clients/{client_id}/episodes").json()["items"] == []


def test_a_clinician_of_record_not_in_the_directory_is_422(api: RecordsApi, client_id: str) -> None:
    body = open_body(clinician="dr-ghost", care_team=["dr-ada"])
    assert_problem(post(api, f"/v1/clients/{client_id}/episodes", body), 422, "validation", detail="dr-ghost")


def test_opening_for_an_unknown_client_is_404(api: RecordsApi, client_id: str) -> None:
    response = post(api, f"/v1/clients/{uuid.uuid4()}/episodes", open_body())
    assert_problem(response, 404, "not-found", title="Not found")


def test_opening_an_episode_one_is_not_on_the_care_team_of_is_403(api: RecordsApi, client_id: str) -> None:
    response = post(api, f"/v1/clients/{client_id}/episodes", open_body(clinician="dr-bo", care_team=[]))
    assert_problem(response, 403, "forbidden")


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"started_at": "2026-01-05T09:00:00"}, ("body", "started_at")),
        ({"reason_for_referral": ""}, ("body", "reason_for_referral")),
        ({"clinician": "dr ada"}, ("body", "clinician")),
        ({"labels": ["sud"]}, ("body", "labels", 0)),
        ({"status": "open"}, ("body", "status")),
    ],
)
def test_invalid_open_bodies_are_422(
    api: RecordsApi, client_id: str, change: dict[str, Any], loc: tuple[str, ...]
) -> None:
    assert_validation(post(api, f"/v1/clients/{client_id}/episodes", open_body(**change)), loc)


def test_an_unknown_label_on_the_episode_is_422(api: RecordsApi, client_id: str) -> None:
    response = post(api, f"/v1/clients/{client_id}/episodes", open_body(labels=["XYZ"]))
    assert_validation(response, detail="unknown sensitivity label")


# --- read: now, at a version, as of an instant -------------------------------------------------------------
def test_unknown_and_malformed_episode_ids(api: RecordsApi, episode_id: str) -> None:
    for path in (f"/v1/episodes/{uuid.uuid4()}", f"/v1/episodes/{uuid.uuid4()}/history"):
        assert_problem(_get(api, path), 404, "not-found")
    assert_validation(_get(api, "/v1/episodes/nope"), ("path", "episode_id"))
    client_id = _get(api, f"/v1/episodes/{episode_id}").json()["client_id"]
    assert_problem(_get(api, f"/v1/episodes/{client_id}"), 404, "not-found")  # an id of another kind


def test_a_version_shows_the_state_then(api: RecordsApi, episode_id: str) -> None:
    first = set_goal(api, episode_id)
    hold_session(api, episode_id)
    then = _get(api, f"/v1/episodes/{episode_id}", version=2)
    assert then.status_code == 200
    body = then.json()
    assert (body["version"], [g["id"] for g in body["goals"]], body["sessions"]) == (2, [first["id"]], [])
    assert _get(api, f"/v1/episodes/{episode_id}", version=1).json()["goals"] == []
    assert len(_get(api, f"/v1/episodes/{episode_id}", version=3).json()["sessions"]) == 1


@pytest.mark.parametrize("version", [4, 1000])
def test_a_version_above_the_current_one_is_404(api: RecordsApi, episode_id: str, version: int) -> None:
    hold_session(api, episode_id)
    hold_session(api, episode_id)
    response = _get(api, f"/v1/episodes/{episode_id}", version=version)
    assert_problem(response, 404, "not-found", detail="version")


@pytest.mark.parametrize("version", ["0", "-1", "two"])
def test_a_version_that_is_not_a_positive_integer_is_422(
    api: RecordsApi, episode_id: str, version: str
) -> None:
    assert_validation(_get(api, f"/v1/episodes/{episode_id}", version=version), ("query", "version"))


def test_as_of_shows_the_state_recorded_at_that_instant(api: RecordsApi, episode_id: str) -> None:
    hold_session(api, episode_id)
    set_goal(api, episode_id)
    recorded = [item["recorded_at"] for item in history(api, episode_id)]
    for version, instant in enumerate(recorded, start=1):
        body = _get(api, f"/v1/episodes/{episode_id}", as_of=instant).json()
        assert body["version"] == version
        assert datetime.fromisoformat(body["recorded_at"]) == datetime.fromisoformat(instant)
    between = (
        datetime.fromisoformat(recorded[1])
        + (datetime.fromisoformat(recorded[2]) - datetime.fromisoformat(recorded[1])) / 2
    )
    body = _get(api, f"/v1/episodes/{episode_id}", as_of=between.isoformat()).json()
    assert (body["version"], len(body["sessions"]), body["goals"]) == (2, 1, [])


def test_as_of_in_another_offset_means_the_same_instant(api: RecordsApi, episode_id: str) -> None:
    hold_session(api, episode_id)
    instant = datetime.fromisoformat(history(api, episode_id)[0]["recorded_at"])
    in_tokyo = instant.astimezone(datetime.fromisoformat("2026-01-01T00:00:00+09:00").tzinfo)
    assert _get(api, f"/v1/episodes/{episode_id}", as_of=in_tokyo.isoformat()).json()["version"] == 1


def test_as_of_now_is_the_current_state(api: RecordsApi, episode_id: str) -> None:
    hold_session(api, episode_id)
    later = datetime.fromisoformat(history(api, episode_id)[-1]["recorded_at"]) + timedelta(days=1)
    assert _get(api, f"/v1/episodes/{episode_id}", as_of=later.isoformat()).json()["version"] == 2


def test_as_of_before_the_episode_existed_is_404(api: RecordsApi, episode_id: str) -> None:
    opened = datetime.fromisoformat(history(api, episode_id)[0]["recorded_at"])
    for before in (opened - timedelta(microseconds=1), opened - timedelta(days=365)):
        response = _get(api, f"/v1/episodes/{episode_id}", as_of=before.isoformat())
        assert_problem(response, 404, "not-found", detail="did not exist then")


@pytest.mark.parametrize("as_of", ["2026-01-05T09:00:00", "2026-01-05", "yesterday"])
def test_as_of_without_an_offset_or_not_a_time_is_422(api: RecordsApi, episode_id: str, as_of: str) -> None:
    assert_validation(_get(api, f"/v1/episodes/{episode_id}", as_of=as_of), ("query", "as_of"))


def test_as_of_together_with_version_is_422(api: RecordsApi, episode_id: str) -> None:
    instant = history(api, episode_id)[0]["recorded_at"]
    response = _get(api, f"/v1/episodes/{episode_id}", version=1, as_of=instant)
    assert_validation(response, detail="either version or as_of")


# --- history ---------------------------------------------------------------------------------------------
def test_history_pages_through_every_event(api: RecordsApi, episode_id: str) -> None:
    ada = api.headers("clinician", "dr-ada", **{"X-Request-ID": "req-session-1"})
    assert (
        api.http.post(
            f"/v1/episodes/{episode_id}/sessions",
            headers=ada,
            json={
                "occurred_at": "2026-01-12T09:00:00Z",
                "duration_minutes": 50,
                "modality": "video",
                "attendees": ["dr-ada"],
            },
        ).status_code
        == 201
    )
    set_goal(api, episode_id)
    post(api, f"/v1/episodes/{episode_id}/close", close_body())
    path = f"/v1/episodes/{episode_id}/history"

    first = _get(api, path, limit=2)
    assert first.status_code == 200
    page = first.json()
    assert [(i["version"], i["type"]) for i in page["items"]] == [(1, "EpisodeOpened"), (2, "SessionHeld")]
    assert page["next_cursor"]
    item = page["items"][1]
    assert set(item) >= {"type", "version", "recorded_at", "actor", "request_id"}
    assert (item["actor"], item["request_id"]) == ("dr-ada", "req-session-1")
    assert datetime.fromisoformat(item["recorded_at"]).tzinfo is not None

    rest = _get(api, path, limit=2, cursor=page["next_cursor"]).json()
    assert [(i["version"], i["type"]) for i in rest["items"]] == [(3, "GoalSet"), (4, "EpisodeClosed")]
    assert rest["next_cursor"] is None
    assert [i["version"] for i in _get(api, path).json()["items"]] == [1, 2, 3, 4]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 501},
        {"cursor": "!!"},
        {"cursor": "eyJrIjoiZXBpc29kZXMiLCJhZnRlciI6IjEifQ"},
        {"cursor": "eyJrIjoiaGlzdG9yeSIsImFmdGVyIjoib25lIn0"},
    ],
    ids=["limit 0", "limit 501", "not base64", "episodes cursor", "tampered position"],
)
def test_history_refuses_bad_paging(api: RecordsApi, episode_id: str, params: dict[str, Any]) -> None:
    assert_validation(_get(api, f"/v1/episodes/{episode_id}/history", **params))


# --- close -----------------------------------------------------------------------------------------------
def test_close_answers_200_with_the_closed_episode_and_its_discharge(
    api: RecordsApi, episode_id: str
) -> None:
    response = post(api, f"/v1/episodes/{episode_id}/close", close_body())
    assert response.status_code == 200
    assert "location" not in response.headers
    assert response.headers["etag"] == '"2"'
    body = response.json()
    assert (body["status"], body["version"]) == ("closed", 2)
    discharge = body["discharge"]
    assert (discharge["reason"], discharge["summary"], discharge["recorded_by"]) == (
        "goals met",
        "Mood improved; walking regularly",
        "dr-ada",
    )
    assert datetime.fromisoformat(discharge["occurred_at"]) == datetime.fromisoformat(
        "2026-01-12T09:00:00+01:00"
    )
    assert _get(api, f"/v1/episodes/{episode_id}").json() == body
    assert _get(api, f"/v1/episodes/{episode_id}", version=1).json()["status"] == "open"


def test_a_close_without_offset_or_reason_is_422(api: RecordsApi, episode_id: str) -> None:
    path = f"/v1/episodes/{episode_id}/close"
    assert_validation(post(api, path, close_body(occurred_at="2026-01-12T09:00:00")), ("body", "occurred_at"))
    assert_validation(
        post(api, path, {"summary": "s", "occurred_at": "2026-01-12T09:00:00Z"}), ("body", "reason")
    )
    assert _get(api, f"/v1/episodes/{episode_id}").json()["status"] == "open"


def test_every_write_to_a_closed_episode_is_409(api: RecordsApi, episode_id: str) -> None:
    e = f"/v1/episodes/{episode_id}"
    goal = set_goal(api, episode_id)["id"]
    pattern = post(
        api, f"{e}/patterns", {"name": "Avoidance", "description": "d", "occurred_at": "2026-01-12T09:00:00Z"}
    ).json()["id"]
    assert post(api, f"{e}/close", close_body()).status_code == 200
    at = "2026-02-01T10:00:00Z"
    writes: list[tuple[str, dict[str, Any]]] = [
        (
            "sessions",
            {"occurred_at": at, "duration_minutes": 50, "modality": "video", "attendees": ["dr-ada"]},
        ),
        ("patterns", {"name": "n", "description": "d", "occurred_at": at}),
        (f"patterns/{pattern}/explorations", {"observations": "o", "occurred_at": at}),
        ("goals", {"statement": "s", "occurred_at": at}),
        (f"goals/{goal}/revisions", {"statement": "s2", "reason": "r"}),
        (f"goals/{goal}/progress", {"summary": "p", "occurred_at": at}),
        (f"goals/{goal}/status", {"status": "achieved", "note": "n", "occurred_at": at}),
        (
            "reflections",
            {"text": "t", "occurred_at": at, "refers_to": [{"entry_id": episode_id, "event_version": 1}]},
        ),
        ("measures", {"instrument": "GAD-7", "score": 0, "items": [0] * 7, "occurred_at": at}),
        ("close", close_body()),
    ]
    for path, body in writes:
        response = post(api, f"{e}/{path}", body)
        assert_problem(response, 409, "conflict", title="Conflict", detail=f"episode {episode_id} is closed")
    assert [i["type"] for i in history(api, episode_id)][-1] == "EpisodeClosed"
    assert len(history(api, episode_id)) == 4
