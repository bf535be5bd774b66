"""Goals: set, revised (with a reason, perhaps a reflection), progressed, achieved or discontinued."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.support.api_checks import assert_problem, assert_validation, no_server_errors  # noqa: F401
from tests.support.api_seed import (
    created,
    goal_body,
    hold_session,
    post,
    progress_body,
    reflection_body,
    revision_body,
    set_goal,
    status_body,
)
from tests.support.records import RecordsApi


@pytest.fixture
def goal(api: RecordsApi, eid: str) -> dict[str, Any]:
    return set_goal(api, eid)


def _path(eid: str, goal: dict[str, Any], tail: str = "") -> str:
    return f"/v1/episodes/{eid}/goals/{goal['id']}{tail}"


def _get(api: RecordsApi, path: str, **params: Any) -> httpx.Response:
    response: httpx.Response = api.http.get(path, params=params, headers=api.headers("clinician", "dr-ada"))
    return response


def test_a_goal_is_set_at_a_readable_location(api: RecordsApi, eid: str) -> None:
    response = post(api, f"/v1/episodes/{eid}/goals", goal_body())
    goal = created(response)
    assert response.headers["location"] == f"/v1/episodes/{eid}/goals/{goal['id']}"
    assert response.headers["etag"] == '"2"'
    assert (goal["statement"], goal["objectives"], goal["target_date"]) == (
        "Walk every morning",
        ["Walk 20 minutes"],
        "2026-03-01",
    )
    assert (goal["status"], goal["progress"], goal["version"], goal["recorded_by"]) == (
        "active",
        [],
        2,
        "dr-ada",
    )
    assert _get(api, response.headers["location"]).json() == goal


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"statement": ""}, ("body", "statement")),
        ({"target_date": "soon"}, ("body", "target_date")),
        ({"occurred_at": "2026-01-12T09:00"}, ("body", "occurred_at")),
        ({"status": "achieved"}, ("body", "status")),
    ],
)
def test_invalid_goals_are_422(
    api: RecordsApi, eid: str, change: dict[str, Any], loc: tuple[str, ...]
) -> None:
    assert_validation(post(api, f"/v1/episodes/{eid}/goals", goal_body(**change)), loc)


def test_a_revision_with_a_reason_and_a_reflection_of_the_episode(
    api: RecordsApi, eid: str, goal: dict[str, Any]
) -> None:
    reflection = created(post(api, f"/v1/episodes/{eid}/reflections", reflection_body(goal["id"], 2)))
    body = revision_body(
        reflection_id=reflection["id"], objectives=["Walk 3 times"], target_date="2026-04-01"
    )
    response = post(api, _path(eid, goal, "/revisions"), body)
    revised = created(response)
    assert response.headers["location"] == _path(eid, goal)
    assert response.headers["etag"] == '"4"'
    assert (revised["id"], revised["statement"], revised["status"]) == (
        goal["id"],
        body["statement"],
        "active",
    )
    assert (revised["objectives"], revised["target_date"]) == (["Walk 3 times"], "2026-04-01")
    step = _get(api, _path(eid, goal, "/history")).json()["items"][-1]
    assert (step["type"], step["reflection_id"], step["reason"]) == (
        "GoalRevised",
        reflection["id"],
        "every morning was too much",
    )


def test_a_revision_keeps_objectives_and_target_date_it_does_not_name(
    api: RecordsApi, eid: str, goal: dict[str, Any]
) -> None:
    revised = created(post(api, _path(eid, goal, "/revisions"), revision_body()))
    assert (revised["objectives"], revised["target_date"]) == (goal["objectives"], goal["target_date"])


def test_a_revision_naming_an_unknown_reflection_is_422(
    api: RecordsApi, eid: str, goal: dict[str, Any]
) -> None:
    session = hold_session(api, eid)  # an entry of the episode, but not a reflection
    for reflection_id in (str(uuid.uuid4()), session["id"]):
        response = post(api, _path(eid, goal, "/revisions"), revision_body(reflection_id=reflection_id))
        assert_validation(response, detail=f"reflection {reflection_id} not found in this episode")
    assert _get(api, _path(eid, goal)).json()["statement"] == "Walk every morning"


def test_a_revision_naming_a_reflection_of_another_episode_is_422(
    api: RecordsApi, eid: str, goal: dict[str, Any]
) -> None:
    client_id = _get(api, f"/v1/episodes/{eid}").json()["client_id"]
    other = api.episode("dr-ada", client_id)["id"]
    reflection = created(post(api, f"/v1/episodes/{other}/reflections", reflection_body(other, 1)))
    response = post(api, _path(eid, goal, "/revisions"), revision_body(reflection_id=reflection["id"]))
    assert_validation(response, detail="not found in this episode")


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"statement": "s"}, ("body", "reason")),
        ({"statement": "s", "reason": ""}, ("body", "reason")),
        ({"reason": "r"}, ("body", "statement")),
        (revision_body(reflection_id="r-1"), ("body", "reflection_id")),
    ],
)
def test_a_revision_without_a_statement_or_reason_is_422(
    api: RecordsApi, eid: str, goal: dict[str, Any], body: dict[str, Any], loc: tuple[str, ...]
) -> None:
    assert_validation(post(api, _path(eid, goal, "/revisions"), body), loc)


def test_progress_is_recorded_with_a_rating(api: RecordsApi, eid: str, goal: dict[str, Any]) -> None:
    response = post(api, _path(eid, goal, "/progress"), progress_body(rating=10))
    body = created(response)
    assert response.headers["location"] == _path(eid, goal)
    [progress] = body["progress"]
    assert (progress["summary"], progress["rating"], progress["recorded_by"]) == (
        "Walked twice",
        10,
        "dr-ada",
    )
    unrated = created(post(api, _path(eid, goal, "/progress"), progress_body(rating=None)))
    assert [p["rating"] for p in unrated["progress"]] == [10, None]


@pytest.mark.parametrize("rating", [11, -1, 2.5, "high"])
def test_a_rating_outside_0_to_10_is_422(
    api: RecordsApi, eid: str, goal: dict[str, Any], rating: Any
) -> None:
    assert_validation(
        post(api, _path(eid, goal, "/progress"), progress_body(rating=rating)), ("body", "rating")
    )
    assert _get(api, _path(eid, goal)).json()["progress"] == []


def test_an_achieved_goal_can_no_longer_change(api: RecordsApi, eid: str, goal: dict[str, Any]) -> None:
    response = post(api, _path(eid, goal, "/status"), status_body("achieved"))
    assert response.status_code == 200
    assert "location" not in response.headers
    assert response.headers["etag"] == '"3"'
    assert response.json()["status"] == "achieved"
    for tail, body in (
        ("/revisions", revision_body()),
        ("/progress", progress_body()),
        ("/status", status_body("discontinued")),
        ("/status", status_body("achieved")),
    ):
        response = post(api, _path(eid, goal, tail), body)
        assert_problem(response, 409, "conflict", title="Conflict", detail=f"goal {goal['id']} is achieved")
    assert _get(api, _path(eid, goal)).json()["statement"] == "Walk every morning"


def test_a_goal_is_discontinued(api: RecordsApi, eid: str, goal: dict[str, Any]) -> None:
    response = post(api, _path(eid, goal, "/status"), status_body("discontinued", note="no longer relevant"))
    assert response.status_code == 200
    assert response.json()["status"] == "discontinued"
    assert_problem(
        post(api, _path(eid, goal, "/revisions"), revision_body()),
        409,
        "conflict",
        detail="is discontinued, not active",
    )
    step = _get(api, _path(eid, goal, "/history")).json()["items"][-1]
    assert (step["type"], step["reason"]) == ("GoalDiscontinued", "no longer relevant")


@pytest.mark.parametrize(
    "body",
    [
        status_body("paused"),
        status_body("active"),
        {"status": "achieved", "occurred_at": "2026-01-12T09:00:00Z"},
    ],
)
def test_an_invalid_status_change_is_422(
    api: RecordsApi, eid: str, goal: dict[str, Any], body: dict[str, Any]
) -> None:
    assert_validation(post(api, _path(eid, goal, "/status"), body))
    assert _get(api, _path(eid, goal)).json()["status"] == "active"


def test_an_unknown_goal_is_404_everywhere(api: RecordsApi, eid: str, goal: dict[str, Any]) -> None:
    unknown = {"id": str(uuid.uuid4())}
    for tail in ("", "/history"):
        assert_problem(_get(api, _path(eid, unknown, tail)), 404, "not-found")
    for tail, body in (
        ("/revisions", revision_body()),
        ("/progress", progress_body()),
        ("/status", status_body()),
    ):
        assert_problem(post(api, _path(eid, unknown, tail), body), 404, "not-found", detail="goal")
    assert_validation(_get(api, f"/v1/episodes/{eid}/goals/not-a-uuid"), ("path", "goal_id"))


def test_goal_history_tells_who_when_why_and_what_changed(api: RecordsApi, eid: str) -> None:
    api.practitioner("dr-bo")
    client_id = _get(api, f"/v1/episodes/{eid}").json()["client_id"]
    eid = api.episode("dr-ada", client_id, care_team=["dr-bo"])["id"]
    goal = set_goal(api, eid)
    created(post(api, _path(eid, goal, "/revisions"), revision_body(), sub="dr-bo"))
    created(post(api, _path(eid, goal, "/progress"), progress_body(rating=6)))
    assert post(api, _path(eid, goal, "/status"), status_body("achieved"), sub="dr-bo").status_code == 200

    response = _get(api, _path(eid, goal, "/history"))
    assert response.status_code == 200
    body = response.json()
    assert body["goal_id"] == goal["id"]
    steps = body["items"]
    assert [(s["type"], s["version"], s["actor"]) for s in steps] == [
        ("GoalSet", 2, "dr-ada"),
        ("GoalRevised", 3, "dr-bo"),
        ("GoalProgressRecorded", 4, "dr-ada"),
        ("GoalAchieved", 5, "dr-bo"),
    ]
    assert [(s["old_statement"], s["new_statement"]) for s in steps] == [
        (None, "Walk every morning"),
        ("Walk every morning", "Walk three mornings a week"),
        (None, None),
        (None, None),
    ]
    assert [s["reason"] for s in steps] == [
        None,
        "every morning was too much",
        "Walked twice",
        "walks most mornings now",
    ]
    assert steps[2]["rating"] == 6
    recorded = [datetime.fromisoformat(s["recorded_at"]) for s in steps]
    assert recorded == sorted(recorded) and all(t.tzinfo is not None for t in recorded)


def test_a_goal_read_at_an_earlier_version_shows_the_old_statement(
    api: RecordsApi, eid: str, goal: dict[str, Any]
) -> None:
    created(post(api, _path(eid, goal, "/revisions"), revision_body()))
    assert _get(api, _path(eid, goal), version=2).json()["statement"] == "Walk every morning"
    assert _get(api, _path(eid, goal), version=3).json()["statement"] == "Walk three mornings a week"
    assert [s["type"] for s in _get(api, _path(eid, goal, "/history"), version=2).json()["items"]] == [
        "GoalSet"
    ]
    assert_problem(_get(api, _path(eid, goal), version=1), 404, "not-found")
