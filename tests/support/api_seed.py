"""Request bodies and small write shortcuts for the records API tests (valid unless a test changes them)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.records import RecordsApi

OCCURRED = "2026-01-12T09:00:00+01:00"


def session_body(**changes: Any) -> dict[str, Any]:
    return {
        "occurred_at": OCCURRED,
        "duration_minutes": 50,
        "modality": "in_person",
        "attendees": ["dr-ada"],
        **changes,
    }


def pattern_body(**changes: Any) -> dict[str, Any]:
    return {
        "name": "Avoidance",
        "description": "Cancels plans when anxious",
        "occurred_at": OCCURRED,
        **changes,
    }


def exploration_body(**changes: Any) -> dict[str, Any]:
    return {"observations": "Noticed the urge to cancel", "occurred_at": OCCURRED, **changes}


def goal_body(**changes: Any) -> dict[str, Any]:
    return {
        "statement": "Walk every morning",
        "objectives": ["Walk 20 minutes"],
        "target_date": "2026-03-01",
        "occurred_at": OCCURRED,
        **changes,
    }


def revision_body(**changes: Any) -> dict[str, Any]:
    return {"statement": "Walk three mornings a week", "reason": "every morning was too much", **changes}


def progress_body(**changes: Any) -> dict[str, Any]:
    return {"summary": "Walked twice", "rating": 4, "occurred_at": OCCURRED, **changes}


def status_body(status: str = "achieved", **changes: Any) -> dict[str, Any]:
    return {"status": status, "note": "walks most mornings now", "occurred_at": OCCURRED, **changes}


def reflection_body(entry_id: str, version: int, **changes: Any) -> dict[str, Any]:
    return {
        "text": "Looking back at the first session",
        "occurred_at": OCCURRED,
        "refers_to": [{"entry_id": entry_id, "event_version": version}],
        **changes,
    }


def measure_body(instrument: str = "PHQ-9", **changes: Any) -> dict[str, Any]:
    items = [1, 2, 0, 1, 1, 0, 2, 1, 0] if instrument == "PHQ-9" else [1, 2, 0, 1, 1, 0, 2]
    return {"instrument": instrument, "score": sum(items), "items": items, "occurred_at": OCCURRED, **changes}


def close_body(**changes: Any) -> dict[str, Any]:
    return {
        "reason": "goals met",
        "summary": "Mood improved; walking regularly",
        "occurred_at": OCCURRED,
        **changes,
    }


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def post(
    api: RecordsApi,
    path: str,
    body: dict[str, Any],
    sub: str = "dr-ada",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST as a clinician, with extra headers (Idempotency-Key, If-Match...)."""
    response: httpx.Response = api.http.post(
        path, json=body, headers={**api.headers("clinician", sub), **(headers or {})}
    )
    return response


def hold_session(api: RecordsApi, episode_id: str, sub: str = "dr-ada", **changes: Any) -> dict[str, Any]:
    return created(post(api, f"/v1/episodes/{episode_id}/sessions", session_body(**changes), sub))


def set_goal(api: RecordsApi, episode_id: str, sub: str = "dr-ada", **changes: Any) -> dict[str, Any]:
    return created(post(api, f"/v1/episodes/{episode_id}/goals", goal_body(**changes), sub))


def history(api: RecordsApi, episode_id: str, sub: str = "dr-ada") -> list[dict[str, Any]]:
    response = api.http.get(
        f"/v1/episodes/{episode_id}/history", params={"limit": 500}, headers=api.headers("clinician", sub)
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def event_types(api: RecordsApi, episode_id: str, sub: str = "dr-ada") -> list[str]:
    return [item["type"] for item in history(api, episode_id, sub)]
