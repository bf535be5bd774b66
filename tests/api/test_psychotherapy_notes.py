"""Psychotherapy notes (HIPAA 164.501): kept apart from the record, open to their author and to whoever a
psychotherapy-notes authorization names, never under break-glass, never part of any other read.

The central test writes a note whose text carries a unique marker, then calls every GET route of the records
service as every role, and finds the marker only in the author's and the authorized reader's own reads.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.consent.domain.directive import Terms
from services.consent.domain.policy import BreakGlassFact, ConsentFact
from tests.api.test_privacy import raw_hits
from tests.support import PgDatabase
from tests.support.api_checks import assert_problem, assert_validation, no_server_errors  # noqa: F401
from tests.support.api_seed import (
    OCCURRED,
    created,
    goal_body,
    hold_session,
    measure_body,
    pattern_body,
    post,
    reflection_body,
)
from tests.support.policy_gate import PolicyGate
from tests.support.records import RecordsApi


@pytest.fixture
def gate() -> PolicyGate:
    return PolicyGate()


@pytest.fixture
def marker() -> str:
    return "PSYMARK" + secrets.token_hex(8)


def pn_body(text: str = "process note", **changes: Any) -> dict[str, Any]:
    return {"text": text, "occurred_at": OCCURRED, **changes}


def authorize(gate: PolicyGate, client_id: str, grantee: str) -> None:
    """A psychotherapy-notes authorization naming ``grantee``, active now, as consent holds it."""
    now = datetime.now(UTC)
    terms = Terms(
        client_id=uuid.UUID(client_id),
        kind="psychotherapy_notes",
        grantee_kind="practitioner",
        grantee_id=grantee,
        purposes=("TREAT",),
        labels=("PSYTHPN",),
        start=now - timedelta(days=1),
    )
    gate.consents = (ConsentFact(uuid.uuid4(), terms, "active", now),)


def break_glass(gate: PolicyGate, client_id: str, actor: str) -> None:
    expires = datetime.now(UTC) + timedelta(minutes=30)
    gate.break_glass = (BreakGlassFact(uuid.uuid4(), actor, uuid.UUID(client_id), expires, True),)


@dataclass
class Practice:
    client: dict[str, Any]
    episode: str
    paths: dict[str, list[str]]  # every GET route template -> concrete paths to call
    note_id: str


READERS = [
    ("clinician", "dr-ada"),  # the author
    ("clinician", "dr-bo"),  # on the care team
    ("clinician", "dr-cy"),  # off the care team, under break-glass
    ("clinician", "dr-auth"),  # named by a psychotherapy-notes authorization
    ("supervisor", "dr-sup"),  # supervises the author
    ("client", "c-1"),  # the client, reading their own record
    ("integrator", "ehr-1"),
    ("privacy_officer", "po-1"),
    ("auditor", "au-1"),
    ("admin", "admin-1"),
]


def seed(api: RecordsApi, gate: PolicyGate, marker: str) -> Practice:
    api.practitioner("dr-sup", roles=["supervisor"])
    api.practitioner("dr-ada", supervisor="dr-sup")
    for sub in ("dr-bo", "dr-cy", "dr-auth"):
        api.practitioner(sub)
    client = api.client("dr-ada")
    eid = api.episode("dr-ada", client["id"], care_team=["dr-bo"])["id"]
    base = f"/v1/episodes/{eid}"
    session = hold_session(api, eid)
    pattern = created(post(api, f"{base}/patterns", pattern_body()))
    goal = created(post(api, f"{base}/goals", goal_body()))
    reflection = created(post(api, f"{base}/reflections", reflection_body(goal["id"], goal["version"])))
    measure = created(post(api, f"{base}/measures", measure_body()))
    notes = f"{base}/sessions/{session['id']}/notes"
    note = created(post(api, notes, {"format": "free", "content": {"text": "progress"}}))
    version_before = note_free_episode_version(api, eid)
    response = post(api, f"{base}/psychotherapy-notes", pn_body(f"process {marker}"))
    pn = created(response)
    assert response.headers["location"] == f"/v1/psychotherapy-notes/{pn['id']}"
    assert note_free_episode_version(api, eid) == version_before  # the episode never holds it
    client_headers = api.headers("client", "c-1", client_id=client["id"])
    amendment_body = {"target": {"aggregate_id": note["id"], "event_version": 1}, "reason": "not so"}
    amendment = created(api.http.post("/v1/amendment-requests", json=amendment_body, headers=client_headers))
    later = datetime.now(UTC) + timedelta(days=61)  # the note and the amendment request are overdue then
    records: Any = api.http.app.state.records  # type: ignore[attr-defined]
    records.clock = lambda: later
    authorize(gate, client["id"], "dr-auth")
    break_glass(gate, client["id"], "dr-cy")
    identifier = client["identifiers"][0]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    paths = {
        "/v1/clients": [f"/v1/clients?identifier={identifier['system']}|{identifier['value']}"],
        "/v1/clients/{client_id}": [f"/v1/clients/{client['id']}"],
        "/v1/clients/{client_id}/episodes": [f"/v1/clients/{client['id']}/episodes"],
        "/v1/practitioners/{practitioner_id}": ["/v1/practitioners/dr-ada"],
        "/v1/episodes/{episode_id}": [base, f"{base}?version={version_before}", f"{base}?as_of={now}"],
        "/v1/episodes/{episode_id}/history": [f"{base}/history?limit=500"],
        "/v1/episodes/{episode_id}/sessions/{session_id}": [f"{base}/sessions/{session['id']}"],
        "/v1/episodes/{episode_id}/patterns/{pattern_id}": [f"{base}/patterns/{pattern['id']}"],
        "/v1/episodes/{episode_id}/goals/{goal_id}": [f"{base}/goals/{goal['id']}"],
        "/v1/episodes/{episode_id}/goals/{goal_id}/history": [f"{base}/goals/{goal['id']}/history"],
        "/v1/episodes/{episode_id}/reflections/{reflection_id}": [f"{base}/reflections/{reflection['id']}"],
        "/v1/episodes/{episode_id}/measures/{measure_id}": [f"{base}/measures/{measure['id']}"],
        "/v1/episodes/{episode_id}/sessions/{session_id}/notes/{note_id}": [f"{notes}/{note['id']}"],
        "/v1/psychotherapy-notes/{note_id}": [f"/v1/psychotherapy-notes/{pn['id']}"],
        "/v1/notes/overdue": ["/v1/notes/overdue"],
        "/v1/amendment-requests": [
            "/v1/amendment-requests?status=overdue",
            f"/v1/amendment-requests?target={note['id']}",
            f"/v1/amendment-requests?target={pn['id']}",
        ],
        "/v1/amendment-requests/{amendment_id}": [f"/v1/amendment-requests/{amendment['id']}"],
    }
    return Practice(client, eid, paths, pn["id"])


def note_free_episode_version(api: RecordsApi, eid: str) -> int:
    version: int = api.http.get(f"/v1/episodes/{eid}", headers=api.headers("clinician", "dr-ada")).json()[
        "version"
    ]
    return version


UNDOCUMENTED_GETS = {"/healthz", "/readyz", "/metrics", "/openapi.json"}


def get_routes(api: RecordsApi) -> set[str]:
    """Every GET route: those the OpenAPI document names, and the operational ones it leaves out."""
    document = api.http.get("/openapi.json").json()
    return {path for path, item in document["paths"].items() if "get" in item} | UNDOCUMENTED_GETS


def headers_of(api: RecordsApi, role: str, sub: str, practice: Practice) -> dict[str, str]:
    client_id = practice.client["id"] if role == "client" else None
    return api.headers(role, sub, client_id=client_id)


def test_the_marker_is_in_no_read_but_the_authors_and_the_authorized_readers(
    api: RecordsApi, gate: PolicyGate, marker: str
) -> None:
    practice = seed(api, gate, marker)
    v1_routes = {path for path in get_routes(api) if path.startswith("/v1/")}
    assert set(practice.paths) == v1_routes, "a new GET route: add it to this test"
    other = sorted(get_routes(api) - v1_routes)  # health, metrics, the OpenAPI document and its pages
    pn_route = "/v1/psychotherapy-notes/{note_id}"
    seen: dict[tuple[str, str], int] = {}
    for role, sub in READERS:
        headers = headers_of(api, role, sub, practice)
        for template, paths in [*practice.paths.items(), *((path, [path]) for path in other)]:
            for path in paths:
                response = api.http.get(path, headers=headers)
                shown = marker in response.text or practice.note_id in response.text
                if template == pn_route and sub in ("dr-ada", "dr-auth"):
                    assert response.status_code == 200 and marker in response.text, (sub, response.text)
                else:
                    assert not shown, (role, sub, path, response.status_code)
                    assert all(marker not in value for value in response.headers.values())
                seen[(sub, template)] = response.status_code
    # the reads were real: the care team, the supervisor and break-glass read the episode itself
    for sub in ("dr-ada", "dr-bo", "dr-cy", "dr-sup", "c-1"):
        assert seen[(sub, "/v1/episodes/{episode_id}")] == 200, sub
    lists = {sub: api.http.get(path, headers=headers_of(api, role, sub, practice)).json()["items"]
             for role, sub in READERS for path in ("/v1/notes/overdue",)}  # fmt: skip
    assert len(lists["dr-ada"]) == 1 and lists["admin-1"] == []
    for sub in ("dr-bo", "dr-cy", "dr-sup", "c-1", "ehr-1", "po-1", "au-1", "admin-1"):
        assert seen[(sub, pn_route)] == 403, sub


def test_break_glass_and_the_clients_own_view_never_open_it(
    api: RecordsApi, gate: PolicyGate, marker: str
) -> None:
    practice = seed(api, gate, marker)
    path = practice.paths["/v1/psychotherapy-notes/{note_id}"][0]
    assert (
        api.http.get(
            practice.paths["/v1/episodes/{episode_id}"][0], headers=api.headers("clinician", "dr-cy")
        ).status_code
        == 200
    )
    assert_problem(
        api.http.get(path, headers=api.headers("clinician", "dr-cy")),
        403,
        "forbidden",
        detail="never under break-glass",
    )
    mine = api.http.get(path, headers=headers_of(api, "client", "c-1", practice))
    assert_problem(mine, 403, "forbidden", detail="not part of the client's record")
    gate.consents = ()
    assert_problem(api.http.get(path, headers=api.headers("clinician", "dr-auth")), 403, "forbidden")
    read = api.http.get(path, headers=api.headers("clinician", "dr-ada"))
    body = read.json()
    assert (body["author"], body["labels"], body["episode_id"], read.headers["etag"]) == (
        "dr-ada",
        ["PSYTHPN"],
        practice.episode,
        '"1"',
    )


def test_who_may_record_one(api: RecordsApi, eid: str) -> None:
    api.practitioner("dr-bo")
    api.practitioner("dr-cy")
    client_id = api.http.get(f"/v1/episodes/{eid}", headers=api.headers("clinician", "dr-ada")).json()[
        "client_id"
    ]
    shared = api.episode("dr-ada", client_id, care_team=["dr-bo"])["id"]
    path = f"/v1/episodes/{shared}/psychotherapy-notes"
    bos = created(post(api, path, pn_body(), sub="dr-bo"))
    assert (bos["author"], bos["labels"]) == ("dr-bo", ["PSYTHPN"])
    assert_problem(
        api.http.get(f"/v1/psychotherapy-notes/{bos['id']}", headers=api.headers("clinician", "dr-ada")),
        403,
        "forbidden",
    )
    assert_problem(post(api, path, pn_body(), sub="dr-cy"), 403, "forbidden", detail="care team")
    client = api.http.post(path, json=pn_body(), headers=api.headers("client", "c-1", client_id=client_id))
    assert_problem(client, 403, "forbidden")
    assert_problem(api.http.post(path, json=pn_body(), headers=api.admin()), 403, "forbidden")


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (pn_body(""), ("body", "text")),
        (pn_body(occurred_at="2026-01-12T09:00:00"), ("body", "occurred_at")),
        (pn_body(labels=["PSYTHPN"]), ("body", "labels")),
        ({"occurred_at": OCCURRED}, ("body", "text")),
    ],
)
def test_bad_psychotherapy_notes_are_422(
    api: RecordsApi, eid: str, body: dict[str, Any], loc: tuple[str, ...]
) -> None:
    assert_validation(post(api, f"/v1/episodes/{eid}/psychotherapy-notes", body), loc)


def test_unknown_ids_are_404(api: RecordsApi, eid: str) -> None:
    assert_problem(post(api, f"/v1/episodes/{uuid.uuid4()}/psychotherapy-notes", pn_body()), 404, "not-found")
    unknown: httpx.Response = api.http.get(
        f"/v1/psychotherapy-notes/{uuid.uuid4()}", headers=api.headers("clinician", "dr-ada")
    )
    assert_problem(unknown, 404, "not-found")
    # a progress note's path does not open a psychotherapy note, nor the other way round
    pn = created(post(api, f"/v1/episodes/{eid}/psychotherapy-notes", pn_body()))
    session = hold_session(api, eid)
    elsewhere = f"/v1/episodes/{eid}/sessions/{session['id']}/notes/{pn['id']}"
    assert_problem(api.http.get(elsewhere, headers=api.headers("clinician", "dr-ada")), 404, "not-found")


def test_notes_and_amendments_are_sealed_in_every_raw_row(
    api: RecordsApi, gate: PolicyGate, pg_schema: PgDatabase, marker: str
) -> None:
    """The text of psychotherapy notes, progress notes, addenda and amendment steps is stored sealed."""
    practice = seed(api, gate, marker)
    session = hold_session(api, practice.episode)
    notes = f"/v1/episodes/{practice.episode}/sessions/{session['id']}/notes"
    note = created(post(api, notes, {"format": "free", "content": {"text": f"note {marker}"}}))
    assert post(api, f"{notes}/{note['id']}/sign", {}).status_code == 200
    created(post(api, f"{notes}/{note['id']}/addenda", {"text": f"a {marker}", "reason": f"r {marker}"}))
    client = headers_of(api, "client", "c-1", practice)
    body = {"target": {"aggregate_id": note["id"], "event_version": 2}, "reason": f"amend {marker}"}
    amendment = created(api.http.post("/v1/amendment-requests", json=body, headers=client))
    denial = {"basis": "accurate_and_complete", "explanation": f"no {marker}"}
    assert post(api, f"/v1/amendment-requests/{amendment['id']}/denial", denial).status_code == 200
    assert raw_hits(pg_schema, marker) == set()
