"""Fail closed (DESIGN.md principle 2): without a decision the records service answers 503 and no data.

Reads and writes alike; a write asked while the consent service is down saves nothing, and its
Idempotency-Key is released, so the same request succeeds once the consent service is back.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.api_checks import assert_problem, episode_as_ada, read_as_ada
from tests.support.api_seed import close_body, created, event_types, goal_body, post, session_body
from tests.support.gates import ScriptedGate
from tests.support.records import RecordsApi

REFERRAL = "OUTAGETEXT-referral"
GOAL = "OUTAGETEXT-goal"


@pytest.fixture
def gate() -> ScriptedGate:
    return ScriptedGate()


@pytest.fixture
def record(api: RecordsApi) -> dict[str, Any]:
    """dr-ada's client and episode, holding text that no 503 may carry."""
    api.practitioner("dr-ada")
    client = api.client("dr-ada", family="OUTAGETEXT-family")
    opening = {"clinician": "dr-ada", "reason_for_referral": REFERRAL, "started_at": "2026-01-05T09:00:00Z"}
    episode = created(post(api, f"/v1/clients/{client['id']}/episodes", opening))
    goal = created(post(api, f"/v1/episodes/{episode['id']}/goals", goal_body(statement=GOAL)))
    return {"client": client, "episode": episode["id"], "goal": goal["id"]}


def unavailable(response: httpx.Response) -> None:
    assert_problem(response, 503, "service-unavailable", detail="no clinical data was returned")
    assert response.headers["retry-after"] == "1"
    assert "OUTAGETEXT" not in response.text


def test_reads_answer_503_without_clinical_data(
    api: RecordsApi, gate: ScriptedGate, record: dict[str, Any]
) -> None:
    client, at = record["client"], f"/v1/episodes/{record['episode']}"
    identifier = f"{client['identifiers'][0]['system']}|{client['identifiers'][0]['value']}"
    gate.failing = True

    reads: list[tuple[str, dict[str, Any]]] = [
        (f"/v1/clients/{client['id']}", {}),
        (f"/v1/clients/{client['id']}/episodes", {}),
        ("/v1/clients", {"identifier": identifier}),
        (at, {}),
        (at, {"version": 1}),
        (f"{at}/history", {}),
        (f"{at}/goals/{record['goal']}", {}),
        (f"{at}/goals/{record['goal']}/history", {}),
        ("/v1/practitioners/dr-ada", {}),
    ]
    for path, params in reads:
        unavailable(read_as_ada(api, path, **params))

    gate.failing = False
    assert read_as_ada(api, at).status_code == 200


def test_writes_answer_503_and_save_nothing(
    api: RecordsApi, gate: ScriptedGate, record: dict[str, Any]
) -> None:
    at = f"/v1/episodes/{record['episode']}"
    before = episode_as_ada(api, record["episode"])
    gate.failing = True

    new_client = {
        "identifiers": [{"system": "urn:test:mrn", "value": "OUTAGETEXT-mrn"}],
        "name": {"family": "X"},
    }
    opening = {"clinician": "dr-ada", "reason_for_referral": REFERRAL, "started_at": "2026-01-05T09:00:00Z"}
    writes: list[tuple[str, dict[str, Any]]] = [
        ("/v1/clients", new_client),
        (f"/v1/clients/{record['client']['id']}/episodes", opening),
        (f"{at}/goals", goal_body(statement=GOAL)),
        (f"{at}/sessions", session_body()),
        (f"{at}/goals/{record['goal']}/revisions", {"statement": GOAL, "reason": "OUTAGETEXT-reason"}),
        (f"{at}/close", close_body()),
    ]
    for path, body in writes:
        unavailable(post(api, path, body))
    directory_entry = {"id": "dr-new", "display_name": "Dr New", "roles": ["clinician"]}
    unavailable(api.http.post("/v1/practitioners", json=directory_entry, headers=api.admin()))

    gate.failing = False
    assert episode_as_ada(api, record["episode"]) == before
    assert event_types(api, record["episode"]) == ["EpisodeOpened", "GoalSet"]
    episodes = read_as_ada(api, f"/v1/clients/{record['client']['id']}/episodes").json()["items"]
    assert [e["id"] for e in episodes] == [record["episode"]]
    lookup = read_as_ada(api, "/v1/clients", identifier="urn:test:mrn|OUTAGETEXT-mrn").json()
    assert lookup["items"] == []
    assert read_as_ada(api, "/v1/practitioners/dr-new").status_code == 404


def test_an_idempotent_write_refused_for_an_outage_can_be_retried_once_consent_is_back(
    api: RecordsApi, gate: ScriptedGate, record: dict[str, Any]
) -> None:
    path, body = f"/v1/episodes/{record['episode']}/goals", goal_body(statement="retry me")
    key = {"Idempotency-Key": "outage-key-1"}

    gate.failing = True
    unavailable(post(api, path, body, headers=key))
    unavailable(post(api, path, body, headers=key))  # still no decision: not "in progress", not replayed

    gate.failing = False
    first = post(api, path, body, headers=key)
    assert first.status_code == 201, first.text
    again = post(api, path, body, headers=key)
    assert (again.status_code, again.json(), again.headers["idempotent-replayed"]) == (
        201,
        first.json(),
        "true",
    )
    assert event_types(api, record["episode"]) == ["EpisodeOpened", "GoalSet", "GoalSet"]
