"""The response documents the service renders by hand are exactly the contract's response models.

render.py builds plain dicts for speed; these tests hold them to contracts/records_v1.py: every field the
model declares is present with a valid value, and no undeclared field slips out.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from contracts import records_v1 as wire
from contracts.consent_v1 import PART2_REDISCLOSURE_NOTICE
from tests.support.gates import ScriptedGate
from tests.support.policy_gate import PolicyGate
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


def test_note_documents_conform(api: RecordsApi) -> None:
    for sub, roles, supervisor in (("dr-sup", ["supervisor"], None), ("dr-kim", ["clinician"], "dr-sup")):
        body: dict[str, Any] = {"id": sub, "display_name": sub, "roles": roles, "requires_supervision": True}
        if supervisor:
            body["supervisor"] = supervisor
        assert api.http.post("/v1/practitioners", json=body, headers=api.admin()).status_code == 201
    kim, sup = api.headers("clinician", "dr-kim"), api.headers("supervisor", "dr-sup")
    episode = api.episode("dr-kim", api.client("dr-kim")["id"])["id"]
    session_body = {"occurred_at": "2026-02-02T10:00:00+01:00", "duration_minutes": 50, "modality": "video",
                    "attendees": ["dr-kim"]}  # fmt: skip
    session = api.http.post(f"/v1/episodes/{episode}/sessions", json=session_body, headers=kim).json()
    notes = f"/v1/episodes/{episode}/sessions/{session['id']}/notes"
    note = api.http.post(notes, json={"format": "DAP", "content": {"data": "d"}}, headers=kim).json()
    path = f"{notes}/{note['id']}"
    steps = [
        (f"{path}/sign", {}, kim),
        (f"{path}/return", {"comment": "more"}, sup),
        (f"{path}/revisions", {"content": {"data": "d", "plan": "p"}}, kim),
        (f"{path}/sign", {}, kim),
        (f"{path}/cosign", {"comment": "ok"}, sup),
        (f"{path}/addenda", {"text": "t", "reason": "r"}, kim),
    ]
    documents = [note]
    for step, body, headers in steps:
        response = api.http.post(step, json=body, headers=headers)
        assert response.status_code in (200, 201), response.text
        documents.append(response.json())
    documents.append(api.http.get(path, headers=kim).json())
    for document in documents:
        conforms(wire.Note, document)
    assert documents[-1]["signature"] and documents[-1]["cosignature"] and documents[-1]["returns"]
    assert (
        api.http.post(notes, json={"format": "free", "content": {"text": "t"}}, headers=kim).status_code
        == 201
    )
    records: Any = api.http.app.state.records  # type: ignore[attr-defined]
    later = records.clock() + timedelta(days=30)
    records.clock = lambda: later
    overdue = api.http.get("/v1/notes/overdue", headers=kim).json()
    assert len(overdue["items"]) == 1
    conforms(wire.Page[wire.OverdueNote], overdue)


def test_psychotherapy_note_documents_conform(api: RecordsApi) -> None:
    _, episode = api.practice("dr-ada")
    ada = api.headers("clinician", "dr-ada")
    body = {"text": "process", "occurred_at": "2026-02-02T10:00:00+01:00"}
    written = api.http.post(f"/v1/episodes/{episode['id']}/psychotherapy-notes", json=body, headers=ada)
    assert written.status_code == 201, written.text
    read = api.http.get(written.headers["location"], headers=ada)
    for document in (written.json(), read.json()):
        conforms(wire.PsychotherapyNote, document)


def test_amendment_request_documents_conform(api: RecordsApi, gate: ScriptedGate) -> None:
    gate.policy = PolicyGate()
    client, episode = api.practice("dr-ada")
    ada, po = api.headers("clinician", "dr-ada"), api.headers("privacy_officer", "po-1")
    target = {"aggregate_id": episode["id"], "event_version": 1}
    documents = []
    for step, body, headers in (
        ("", {"target": target, "reason": "wrong referral"}, po),
        ("/denial", {"basis": "accurate_and_complete", "explanation": "as referred"}, ada),
        ("/disagreement", {"statement": "it was not"}, po),
        ("/rebuttal", {"text": "it was"}, ada),
    ):
        path = f"/v1/amendment-requests{'/' + documents[0]['id'] if step else ''}{step}"
        response = api.http.post(path, json=body, headers=headers)
        assert response.status_code in (200, 201), response.text
        documents.append(response.json())
    accepted = api.http.post(
        "/v1/amendment-requests", json={"target": target, "reason": "r"}, headers=po
    ).json()
    correction = {"correction": {"aggregate_id": episode["id"], "event_version": 1}}
    assert (
        api.http.post(
            f"/v1/amendment-requests/{accepted['id']}/acceptance", json=correction, headers=ada
        ).status_code
        == 422
    )
    documents.append(api.http.get(f"/v1/amendment-requests/{documents[0]['id']}", headers=ada).json())
    for document in documents:
        conforms(wire.AmendmentRequest, document)
    conforms(
        wire.Page[wire.AmendmentRequest],
        api.http.get("/v1/amendment-requests?status=overdue", headers=po).json(),
    )
    assert client["id"] == documents[-1]["client_id"]
