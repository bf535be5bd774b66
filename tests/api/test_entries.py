"""Entries of an episode: sessions, patterns and explorations, reflections, and reading them as they were.

Measures and sensitivity labels are in ``test_entries_measures.py``.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.support.api_checks import (  # noqa: F401
    assert_problem,
    assert_validation,
    episode_as_ada,
    no_server_errors,
    read_as_ada,
)
from tests.support.api_seed import (
    created,
    exploration_body,
    history,
    hold_session,
    measure_body,
    pattern_body,
    post,
    reflection_body,
    session_body,
)
from tests.support.records import RecordsApi


# --- sessions --------------------------------------------------------------------------------------------
def test_a_session_is_created_at_a_readable_location(api: RecordsApi, eid: str) -> None:
    response = post(api, f"/v1/episodes/{eid}/sessions", session_body(labels=["SUD"], attendees=["dr-ada"]))
    body = created(response)
    assert response.headers["location"] == f"/v1/episodes/{eid}/sessions/{body['id']}"
    assert response.headers["etag"] == '"2"'
    assert (body["duration_minutes"], body["modality"], body["attendees"]) == (50, "in_person", ["dr-ada"])
    assert (body["status"], body["labels"], body["version"], body["recorded_by"]) == (
        "held",
        ["SUD"],
        2,
        "dr-ada",
    )
    assert datetime.fromisoformat(body["occurred_at"]) == datetime.fromisoformat("2026-01-12T09:00:00+01:00")
    read = read_as_ada(api, response.headers["location"])
    assert read.status_code == 200
    assert read.headers["etag"] == '"2"'
    assert read.json() == body
    assert episode_as_ada(api, eid)["sessions"] == [body]


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"modality": "carrier-pigeon"}, ("body", "modality")),
        ({"duration_minutes": 0}, ("body", "duration_minutes")),
        ({"duration_minutes": 601}, ("body", "duration_minutes")),
        ({"attendees": []}, ("body", "attendees")),
        ({"occurred_at": "2026-01-12T09:00:00"}, ("body", "occurred_at")),
        ({"occurred_at": "last tuesday"}, ("body", "occurred_at")),
        ({"notes": "free text"}, ("body", "notes")),
    ],
)
def test_invalid_sessions_are_422_and_write_nothing(
    api: RecordsApi, eid: str, change: dict[str, Any], loc: tuple[str, ...]
) -> None:
    assert_validation(post(api, f"/v1/episodes/{eid}/sessions", session_body(**change)), loc)
    assert [i["type"] for i in history(api, eid)] == ["EpisodeOpened"]


def test_unknown_or_malformed_session_ids(api: RecordsApi, eid: str) -> None:
    hold_session(api, eid)
    assert_problem(read_as_ada(api, f"/v1/episodes/{eid}/sessions/{uuid.uuid4()}"), 404, "not-found")
    assert_problem(read_as_ada(api, f"/v1/episodes/{uuid.uuid4()}/sessions/{uuid.uuid4()}"), 404, "not-found")
    assert_validation(read_as_ada(api, f"/v1/episodes/{eid}/sessions/42"), ("path", "session_id"))


# --- patterns and explorations ---------------------------------------------------------------------------
def test_a_pattern_is_identified_then_explored_in_a_session(api: RecordsApi, eid: str) -> None:
    response = post(api, f"/v1/episodes/{eid}/patterns", pattern_body())
    pattern = created(response)
    assert response.headers["location"] == f"/v1/episodes/{eid}/patterns/{pattern['id']}"
    assert (pattern["name"], pattern["explorations"]) == ("Avoidance", [])
    session = hold_session(api, eid)

    explored = post(
        api,
        f"/v1/episodes/{eid}/patterns/{pattern['id']}/explorations",
        exploration_body(session_id=session["id"]),
    )
    exploration = created(explored)
    assert explored.headers["location"] == f"/v1/episodes/{eid}/patterns/{pattern['id']}"
    assert explored.headers["etag"] == '"4"'
    assert (exploration["session_id"], exploration["observations"]) == (
        session["id"],
        "Noticed the urge to cancel",
    )
    read = read_as_ada(api, explored.headers["location"]).json()
    assert read["explorations"] == [exploration]


def test_an_exploration_outside_a_session_is_allowed(api: RecordsApi, eid: str) -> None:
    pattern = created(post(api, f"/v1/episodes/{eid}/patterns", pattern_body()))
    explored = created(
        post(api, f"/v1/episodes/{eid}/patterns/{pattern['id']}/explorations", exploration_body())
    )
    assert explored["session_id"] is None


def test_an_exploration_in_an_unknown_session_is_422(api: RecordsApi, eid: str) -> None:
    pattern = created(post(api, f"/v1/episodes/{eid}/patterns", pattern_body()))
    response = post(
        api,
        f"/v1/episodes/{eid}/patterns/{pattern['id']}/explorations",
        exploration_body(session_id=str(uuid.uuid4())),
    )
    assert_validation(response, detail="not found in this episode")
    assert_validation(
        post(
            api,
            f"/v1/episodes/{eid}/patterns/{pattern['id']}/explorations",
            exploration_body(session_id="first"),
        ),
        ("body", "session_id"),
    )


def test_an_exploration_of_an_unknown_pattern_is_404(api: RecordsApi, eid: str) -> None:
    response = post(api, f"/v1/episodes/{eid}/patterns/{uuid.uuid4()}/explorations", exploration_body())
    assert_problem(response, 404, "not-found", detail="pattern")


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"name": ""}, ("body", "name")),
        ({"description": None}, ("body", "description")),
        ({"occurred_at": "2026-01-12"}, ("body", "occurred_at")),
    ],
)
def test_invalid_patterns_are_422(
    api: RecordsApi, eid: str, change: dict[str, Any], loc: tuple[str, ...]
) -> None:
    assert_validation(post(api, f"/v1/episodes/{eid}/patterns", pattern_body(**change)), loc)


# --- reflections -----------------------------------------------------------------------------------------
def test_a_reflection_refers_to_an_entry_as_it_was(api: RecordsApi, eid: str) -> None:
    session = hold_session(api, eid)
    response = post(
        api, f"/v1/episodes/{eid}/reflections", reflection_body(session["id"], session["version"])
    )
    reflection = created(response)
    assert response.headers["location"] == f"/v1/episodes/{eid}/reflections/{reflection['id']}"
    assert reflection["refers_to"] == [{"entry_id": session["id"], "event_version": 2}]
    assert read_as_ada(api, response.headers["location"]).json() == reflection


def test_a_reflection_may_refer_to_the_episode_itself(api: RecordsApi, eid: str) -> None:
    created(post(api, f"/v1/episodes/{eid}/reflections", reflection_body(eid, 1)))


def test_a_reflection_on_an_unknown_entry_is_422(api: RecordsApi, eid: str) -> None:
    response = post(api, f"/v1/episodes/{eid}/reflections", reflection_body(str(uuid.uuid4()), 1))
    assert_validation(response, detail="refers_to[0] names no entry of this episode")


def test_a_reflection_on_a_version_in_the_future_is_422(api: RecordsApi, eid: str) -> None:
    session = hold_session(api, eid)
    response = post(api, f"/v1/episodes/{eid}/reflections", reflection_body(session["id"], 3))
    assert_validation(response, detail="event_version must be between 2 and 2")


def test_a_reflection_on_a_version_before_the_entry_existed_is_422(api: RecordsApi, eid: str) -> None:
    hold_session(api, eid)
    session = hold_session(api, eid)
    response = post(api, f"/v1/episodes/{eid}/reflections", reflection_body(session["id"], 2))
    assert_validation(response, detail="event_version must be between 3 and 3")


@pytest.mark.parametrize(
    ("refers_to", "loc"),
    [
        ([], ("body", "refers_to")),
        (None, ("body", "refers_to")),
        ([{"entry_id": "x", "event_version": 1}], ("body", "refers_to", 0, "entry_id")),
        ([{"entry_id": str(uuid.uuid4()), "event_version": 0}], ("body", "refers_to", 0, "event_version")),
    ],
)
def test_a_malformed_refers_to_is_422(
    api: RecordsApi, eid: str, refers_to: Any, loc: tuple[Any, ...]
) -> None:
    body = {**reflection_body(eid, 1), "refers_to": refers_to}
    assert_validation(post(api, f"/v1/episodes/{eid}/reflections", body), loc)


# --- reading entries as they were ------------------------------------------------------------------------
def test_entries_read_at_a_version_or_as_of_an_instant(api: RecordsApi, eid: str) -> None:
    session = hold_session(api, eid)
    measure = created(post(api, f"/v1/episodes/{eid}/measures", measure_body("GAD-7")))
    s_path, m_path = (
        f"/v1/episodes/{eid}/sessions/{session['id']}",
        f"/v1/episodes/{eid}/measures/{measure['id']}",
    )
    recorded = [datetime.fromisoformat(i["recorded_at"]) for i in history(api, eid)]

    assert read_as_ada(api, s_path, version=2).json() == session
    assert_problem(read_as_ada(api, s_path, version=1), 404, "not-found")
    assert_problem(read_as_ada(api, m_path, version=2), 404, "not-found")
    assert read_as_ada(api, m_path, version=3).json() == measure
    assert_problem(read_as_ada(api, s_path, version=4), 404, "not-found")

    assert read_as_ada(api, s_path, as_of=recorded[1].isoformat()).json() == session
    assert_problem(read_as_ada(api, s_path, as_of=recorded[0].isoformat()), 404, "not-found")
    assert_problem(read_as_ada(api, m_path, as_of=recorded[1].isoformat()), 404, "not-found")
    assert_problem(
        read_as_ada(api, s_path, as_of=(recorded[0] - timedelta(seconds=1)).isoformat()), 404, "not-found"
    )
    assert_validation(read_as_ada(api, s_path, as_of="2026-01-12T09:00:00"), ("query", "as_of"))
    assert_validation(read_as_ada(api, s_path, version=2, as_of=recorded[1].isoformat()), detail="not both")


def test_as_of_after_time_has_passed_shows_the_earlier_state(api: RecordsApi, eid: str) -> None:
    session = hold_session(api, eid)
    between = datetime.now().astimezone()
    second = hold_session(api, eid)
    then = read_as_ada(api, f"/v1/episodes/{eid}", as_of=between.isoformat()).json()
    assert [s["id"] for s in then["sessions"]] == [session["id"]]
    path = f"/v1/episodes/{eid}/sessions/{second['id']}"
    assert_problem(read_as_ada(api, path, as_of=between.isoformat()), 404, "not-found")
    assert read_as_ada(api, path).status_code == 200
