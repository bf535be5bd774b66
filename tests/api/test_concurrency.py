"""Concurrent writers on one episode, through one running app on PostgreSQL, with real threads.

DESIGN.md, principle 6: concurrent writers without If-Match never lose an event; If-Match turns a stale
write into 412; an Idempotency-Key makes a retried POST produce its events once.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx

from contracts.problem import PROBLEM_JSON
from tests.support.records import RecordsApi

T = TypeVar("T")
SESSION = {
    "occurred_at": "2026-01-12T09:00:00+01:00",
    "duration_minutes": 50,
    "modality": "in_person",
    "attendees": ["dr-ada"],
}


def together(threads: int, work: Callable[[int], T]) -> list[T]:
    """Run ``work(0..threads-1)`` on that many threads, released at the same instant by a barrier."""
    barrier = threading.Barrier(threads, timeout=30)

    def run(index: int) -> T:
        barrier.wait()
        return work(index)

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(run, range(threads)))


def history_versions(api: RecordsApi, episode_id: str, headers: dict[str, str]) -> list[tuple[int, str]]:
    """Every (version, type) of the episode's history, following next_cursor page by page."""
    found: list[tuple[int, str]] = []
    params: dict[str, Any] = {"limit": 500}
    while True:
        page = api.http.get(f"/v1/episodes/{episode_id}/history", params=params, headers=headers)
        assert page.status_code == 200, page.text
        body = page.json()
        found += [(item["version"], item["type"]) for item in body["items"]]
        if body["next_cursor"] is None:
            return found
        params = {"limit": 500, "cursor": body["next_cursor"]}


def current_etag(api: RecordsApi, episode_id: str, headers: dict[str, str]) -> str:
    response = api.http.get(f"/v1/episodes/{episode_id}", headers=headers)
    assert response.status_code == 200, response.text
    return str(response.headers["etag"])


def test_writers_without_if_match_never_lose_an_event(api: RecordsApi) -> None:
    _, episode = api.practice("dr-ada")
    ada = api.headers("clinician", "dr-ada")
    path = f"/v1/episodes/{episode['id']}/sessions"
    threads, per_thread = 16, 50

    def write_many(_: int) -> list[httpx.Response]:
        return [api.http.post(path, json=SESSION, headers=ada) for _ in range(per_thread)]

    responses = [r for batch in together(threads, write_many) for r in batch]

    created = [r for r in responses if r.status_code == 201]
    # Each acknowledged write has a version of its own: none was overwritten, none reused another's...
    assert sorted(int(r.headers["etag"].strip('"')) for r in created) == list(range(2, len(created) + 2))
    history = history_versions(api, episode["id"], ada)
    assert [version for version, _ in history] == list(range(1, len(created) + 2))
    assert [kind for _, kind in history] == ["EpisodeOpened"] + ["SessionHeld"] * len(created)
    read = api.http.get(f"/v1/episodes/{episode['id']}", headers=ada).json()
    assert {s["id"] for s in read["sessions"]} == {r.json()["id"] for r in created}
    # ...and every write was acknowledged: contention is retried, never answered with an error.
    assert Counter(r.status_code for r in responses) == {201: threads * per_thread}
    assert read["version"] == 801 and len(read["sessions"]) == 800


def test_writers_with_the_same_if_match_one_wins_the_rest_get_412(api: RecordsApi) -> None:
    _, episode = api.practice("dr-ada")
    ada = api.headers("clinician", "dr-ada")
    etag = current_etag(api, episode["id"], ada)
    path = f"/v1/episodes/{episode['id']}/sessions"

    responses = together(16, lambda _: api.http.post(path, json=SESSION, headers={**ada, "If-Match": etag}))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [412] * 15
    for refused in (r for r in responses if r.status_code == 412):
        assert refused.headers["content-type"].startswith(PROBLEM_JSON)
        problem = refused.json()
        assert problem["status"] == 412
        assert problem["type"].endswith("precondition-failed")
        assert problem["detail"]
    winner = next(r for r in responses if r.status_code == 201)
    assert winner.headers["etag"] == f'"{int(etag.strip(chr(34))) + 1}"'
    assert current_etag(api, episode["id"], ada) == winner.headers["etag"]


def test_one_idempotency_key_fifty_at_once_makes_one_event(api: RecordsApi) -> None:
    _, episode = api.practice("dr-ada")
    ada = api.headers("clinician", "dr-ada")
    before = int(current_etag(api, episode["id"], ada).strip('"'))
    path = f"/v1/episodes/{episode['id']}/sessions"
    keyed = {**ada, "Idempotency-Key": "concurrency-test-key-1"}

    responses = together(50, lambda _: api.http.post(path, json=SESSION, headers=keyed))

    assert {r.status_code for r in responses} <= {201, 409}, [r.status_code for r in responses]
    created = [r for r in responses if r.status_code == 201]
    originals = [r for r in created if "idempotent-replayed" not in r.headers]
    assert len(originals) == 1, "exactly one request ran the use case"
    original = originals[0]
    for replay in created:
        assert replay.content == original.content
        assert replay.headers["etag"] == original.headers["etag"]
        assert replay.headers["location"] == original.headers["location"]
    for in_flight in (r for r in responses if r.status_code == 409):
        assert in_flight.headers["content-type"].startswith(PROBLEM_JSON)
        assert in_flight.json()["title"] == "Request in progress"
        assert in_flight.headers["retry-after"] == "1"
    assert current_etag(api, episode["id"], ada) == f'"{before + 1}"'
    assert [kind for _, kind in history_versions(api, episode["id"], ada)] == ["EpisodeOpened", "SessionHeld"]

    again = api.http.post(path, json=SESSION, headers=keyed)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == original.content
    assert current_etag(api, episode["id"], ada) == f'"{before + 1}"'
