"""The walk-through of the README, end to end through the API on PostgreSQL."""

from __future__ import annotations

from tests.support.records import RecordsApi


def test_practitioner_client_episode_session_goal_revision_history(api: RecordsApi) -> None:
    client, episode = api.practice("dr-ada")
    ada = api.headers("clinician", "dr-ada")
    eid = episode["id"]

    session = api.http.post(
        f"/v1/episodes/{eid}/sessions",
        headers=ada,
        json={
            "occurred_at": "2026-01-12T09:00:00+01:00",
            "duration_minutes": 50,
            "modality": "in_person",
            "attendees": ["dr-ada"],
        },
    )
    assert session.status_code == 201
    assert session.headers["location"] == f"/v1/episodes/{eid}/sessions/{session.json()['id']}"
    assert session.headers["etag"] == '"2"'

    goal = api.http.post(
        f"/v1/episodes/{eid}/goals",
        headers=ada,
        json={"statement": "Walk every morning", "occurred_at": "2026-01-12T09:30:00+01:00"},
    ).json()
    revised = api.http.post(
        f"/v1/episodes/{eid}/goals/{goal['id']}/revisions",
        headers=ada,
        json={"statement": "Walk three mornings a week", "reason": "every morning was too much"},
    )
    assert revised.status_code == 201
    assert revised.json()["statement"] == "Walk three mornings a week"

    history = api.http.get(f"/v1/episodes/{eid}/goals/{goal['id']}/history", headers=ada).json()
    revision = history["items"][-1]
    assert (revision["type"], revision["actor"], revision["reason"]) == (
        "GoalRevised",
        "dr-ada",
        "every morning was too much",
    )
    assert (revision["old_statement"], revision["new_statement"]) == (
        "Walk every morning",
        "Walk three mornings a week",
    )

    events = api.http.get(f"/v1/episodes/{eid}/history", headers=ada).json()["items"]
    assert [e["type"] for e in events] == ["EpisodeOpened", "SessionHeld", "GoalSet", "GoalRevised"]
    as_of = events[2]["recorded_at"]
    then = api.http.get(f"/v1/episodes/{eid}", params={"as_of": as_of}, headers=ada).json()
    assert then["version"] == 3
    assert then["goals"][0]["statement"] == "Walk every morning"
    assert client["id"] == then["client_id"]
