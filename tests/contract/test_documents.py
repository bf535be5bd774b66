"""The response documents the service renders by hand are exactly the contract's response models.

render.py builds plain dicts for speed; these tests hold them to contracts/records_v1.py: every field the
model declares is present with a valid value, and no undeclared field slips out.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from contracts import records_v1 as wire
from contracts.consent_v1 import PART2_REDISCLOSURE_NOTICE
from tests.support.gates import ScriptedGate
from tests.support.records import RecordsApi


@pytest.fixture
def gate() -> ScriptedGate:
    """The default policy, with obligations where a test adds them."""
    return ScriptedGate()


def conforms(model: type[BaseModel], document: Any) -> None:
    """Validates, and also refuses fields the model does not declare (responses otherwise ignore them)."""
    strict = type(
        f"Strict{model.__name__}", (model,), {"model_config": {**model.model_config, "extra": "forbid"}}
    )
    strict.model_validate(document)


def test_every_read_and_write_document_conforms(api: RecordsApi) -> None:
    client, episode = api.practice("dr-ada")
    ada = api.headers("clinician", "dr-ada")
    eid = episode["id"]
    conforms(wire.Client, client)
    conforms(wire.Episode, episode)

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = api.http.post(f"/v1/episodes/{eid}{path}", json=body, headers=ada)
        assert response.status_code in (200, 201), response.text
        return dict(response.json())

    when = "2026-02-02T10:00:00+01:00"
    session = post(
        "/sessions",
        {
            "occurred_at": when,
            "duration_minutes": 50,
            "modality": "video",
            "attendees": ["dr-ada"],
            "labels": ["SUD"],
        },
    )
    conforms(wire.Session, session)
    pattern = post("/patterns", {"name": "withdrawal", "description": "pulls back", "occurred_at": when})
    conforms(
        wire.Exploration,
        post(
            f"/patterns/{pattern['id']}/explorations",
            {"session_id": session["id"], "observations": "noticed", "occurred_at": when},
        ),
    )
    goal = post(
        "/goals",
        {"statement": "walk", "objectives": ["shoes"], "target_date": "2026-06-01", "occurred_at": when},
    )
    conforms(
        wire.Goal,
        post(f"/goals/{goal['id']}/progress", {"summary": "twice", "rating": 4, "occurred_at": when}),
    )
    reflection = post(
        "/reflections",
        {
            "text": "back to it",
            "occurred_at": when,
            "refers_to": [{"entry_id": goal["id"], "event_version": goal["version"]}],
        },
    )
    conforms(wire.Reflection, reflection)
    conforms(
        wire.Goal,
        post(
            f"/goals/{goal['id']}/revisions",
            {"statement": "walk 3x", "reason": "too much", "reflection_id": reflection["id"]},
        ),
    )
    conforms(
        wire.Measure,
        post(
            "/measures",
            {"instrument": "GAD-7", "score": 3, "items": [1, 1, 1, 0, 0, 0, 0], "occurred_at": when},
        ),
    )
    conforms(
        wire.Goal,
        post(f"/goals/{goal['id']}/status", {"status": "achieved", "note": "done", "occurred_at": when}),
    )
    conforms(wire.Episode, post("/close", {"reason": "goals met", "summary": "better", "occurred_at": when}))

    def get(path: str, params: dict[str, Any] | None = None) -> Any:
        response = api.http.get(path, params=params, headers=ada)
        assert response.status_code == 200, response.text
        return response.json()

    whole = get(f"/v1/episodes/{eid}")
    conforms(wire.Episode, whole)
    assert all(whole[kind] for kind in ("sessions", "patterns", "goals", "reflections", "measures"))
    assert whole["discharge"] is not None
    conforms(wire.Pattern, get(f"/v1/episodes/{eid}/patterns/{pattern['id']}"))
    conforms(wire.GoalHistory, get(f"/v1/episodes/{eid}/goals/{goal['id']}/history"))
    conforms(wire.Page[wire.HistoryEvent], get(f"/v1/episodes/{eid}/history"))
    conforms(wire.Page[wire.EpisodeSummary], get(f"/v1/clients/{client['id']}/episodes"))
    conforms(
        wire.Page[wire.Client],
        get(
            "/v1/clients",
            {"identifier": f"{client['identifiers'][0]['system']}|{client['identifiers'][0]['value']}"},
        ),
    )
    conforms(wire.Client, get(f"/v1/clients/{client['id']}"))
    conforms(wire.Practitioner, get("/v1/practitioners/dr-ada"))


def test_an_episode_under_obligations_conforms(api: RecordsApi, gate: ScriptedGate) -> None:
    _, episode = api.practice("dr-ada")
    ada = api.headers("clinician", "dr-ada")
    when = "2026-02-02T10:00:00+01:00"
    goal = {"statement": "cut down", "occurred_at": when, "labels": ["SUD"]}
    assert api.http.post(f"/v1/episodes/{episode['id']}/goals", json=goal, headers=ada).status_code == 201
    gate.oblige("dr-ada", labels={"SUD"}, categories={"measures"}, notice=PART2_REDISCLOSURE_NOTICE)

    read = api.http.get(f"/v1/episodes/{episode['id']}", headers=ada).json()
    closing = {"reason": "goals met", "summary": "better", "occurred_at": when}
    closed = api.http.post(f"/v1/episodes/{episode['id']}/close", json=closing, headers=ada).json()

    for document in (read, closed):
        conforms(wire.Episode, document)
        assert (document["goals"], document["redacted_labels"], document["redacted_categories"]) == (
            [],
            ["SUD"],
            ["measures"],
        )
        assert document["redisclosure_notice"] == PART2_REDISCLOSURE_NOTICE
