"""What the records service asks the gate for each operation (DESIGN.md: no access without a decision).

Every read and write asks once, with the caller (and their own token), the request id the caller sees in
``X-Request-ID``, and a resource naming the labels present and the categories of data the answer holds.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.records.application.access import AccessRequest
from tests.support.api_checks import no_server_errors  # noqa: F401
from tests.support.api_seed import (
    close_body,
    created,
    exploration_body,
    goal_body,
    measure_body,
    pattern_body,
    post,
    progress_body,
    reflection_body,
    revision_body,
    session_body,
    status_body,
)
from tests.support.gates import ScriptedGate
from tests.support.records import RecordsApi

EVERY_ENTRY = {"episodes", "sessions", "patterns", "goals", "reflections", "measures"}


@pytest.fixture
def gate() -> ScriptedGate:
    return ScriptedGate()


def asked(gate: ScriptedGate, api: RecordsApi, response: httpx.Response) -> AccessRequest:
    """The one request the gate was asked for this response, checked for the caller's token and request id."""
    assert response.status_code < 300, response.text
    matching = [r for r in gate.requests if r.request_id == response.headers["x-request-id"]]
    assert len(matching) == 1, matching
    request = matching[0]
    assert f"Bearer {request.actor.token}" == response.request.headers["authorization"]
    return request


def shape(request: AccessRequest) -> tuple[Any, ...]:
    r = request.resource
    return request.action, r.type, set(r.labels), set(r.categories)


def test_clients_are_asked_about_as_demographics(api: RecordsApi, gate: ScriptedGate) -> None:
    api.practitioner("dr-ada")
    body = {"identifiers": [{"system": "urn:test:mrn", "value": "mrn-7"}], "name": {"family": "Doe"}}
    ada = api.headers("clinician", "dr-ada")
    registered = api.http.post("/v1/clients", json=body, headers=ada)
    client_id = registered.json()["id"]

    create = asked(gate, api, registered)
    assert (shape(create), create.resource.id, create.client_id) == (
        ("create", "client", set(), {"demographics"}),
        None,
        None,
    )
    reads = [
        api.http.get(f"/v1/clients/{client_id}", headers=ada),
        api.http.get(f"/v1/clients/{client_id}/episodes", headers=ada),
        api.http.get("/v1/clients", params={"identifier": "urn:test:mrn|mrn-7"}, headers=ada),
    ]
    for response, categories in zip(
        reads, [{"demographics"}, {"demographics", "episodes"}, {"demographics"}], strict=True
    ):
        read = asked(gate, api, response)
        assert shape(read) == ("read", "client", set(), categories)
        assert (str(read.resource.id), str(read.client_id), set(read.care_team)) == (
            client_id,
            client_id,
            {"dr-ada"},
        )


def test_the_directory_is_asked_about_without_a_client(api: RecordsApi, gate: ScriptedGate) -> None:
    api.practitioner("dr-ada")
    read = asked(
        gate, api, api.http.get("/v1/practitioners/dr-ada", headers=api.headers("clinician", "dr-x"))
    )
    assert (shape(read), read.resource.id, read.client_id) == (
        ("read", "practitioner", set(), set()),
        "dr-ada",
        None,
    )


def test_writes_are_asked_about_as_the_entry_they_touch(api: RecordsApi, gate: ScriptedGate) -> None:
    api.practitioner("dr-ada")
    client = api.client("dr-ada")
    opening = {"clinician": "dr-ada", "reason_for_referral": "x", "started_at": "2026-01-05T09:00:00Z"}
    opened = post(api, f"/v1/clients/{client['id']}/episodes", {**opening, "labels": ["MH"]})
    eid = opened.json()["id"]
    create = asked(gate, api, opened)
    assert (shape(create), create.resource.id) == (("create", "episode", {"MH"}, {"episodes"}), None)
    assert (str(create.client_id), set(create.care_team)) == (client["id"], {"dr-ada"})

    at = f"/v1/episodes/{eid}"
    session = post(api, f"{at}/sessions", session_body())
    goal = post(api, f"{at}/goals", goal_body(labels=["SUD"]))
    goal_at = f"{at}/goals/{goal.json()['id']}"
    pattern = post(api, f"{at}/patterns", pattern_body(labels=["ETH"]))
    writes = {
        "session": (session, set(), "sessions"),
        "goal": (goal, {"SUD"}, "goals"),
        "revision": (post(api, f"{goal_at}/revisions", revision_body()), {"SUD"}, "goals"),
        "progress": (post(api, f"{goal_at}/progress", progress_body()), {"SUD"}, "goals"),
        "pattern": (pattern, {"ETH"}, "patterns"),
        "exploration": (
            post(api, f"{at}/patterns/{pattern.json()['id']}/explorations", exploration_body()),
            {"ETH"},
            "patterns",
        ),
        "reflection": (
            post(api, f"{at}/reflections", reflection_body(goal.json()["id"], 3, labels=["HIV"])),
            {"HIV"},
            "reflections",
        ),
        "measure": (post(api, f"{at}/measures", measure_body()), set(), "measures"),
        "status": (post(api, f"{goal_at}/status", status_body()), {"SUD"}, "goals"),
    }
    for name, (response, labels, category) in writes.items():
        write = asked(gate, api, response)
        assert (name, shape(write), str(write.resource.id)) == (
            name,
            ("write", "episode", labels, {category}),
            eid,
        )
        assert (str(write.client_id), set(write.care_team)) == (client["id"], {"dr-ada"})

    # Closing answers with the whole episode, so it is asked about all of it.
    closed = asked(gate, api, post(api, f"{at}/close", close_body()))
    assert shape(closed) == ("write", "episode", {"MH", "SUD", "ETH", "HIV"}, EVERY_ENTRY)


def test_reads_are_asked_about_everything_in_the_state_returned(
    api: RecordsApi, gate: ScriptedGate, eid: str
) -> None:
    at = f"/v1/episodes/{eid}"
    created(post(api, f"{at}/sessions", session_body(labels=["HIV"])))
    goal = created(post(api, f"{at}/goals", goal_body(labels=["SUD"])))
    ada = api.headers("clinician", "dr-ada")
    everything = ("read", "episode", {"HIV", "SUD"}, {"episodes", "sessions", "goals"})

    paths = [at, f"{at}/history", f"{at}/goals/{goal['id']}", f"{at}/goals/{goal['id']}/history"]
    for path in paths:
        read = asked(gate, api, api.http.get(path, headers=ada))
        assert (path, shape(read), str(read.resource.id)) == (path, everything, eid)

    # An earlier state is asked about as it was: at version 1 the episode held no entries.
    then = asked(gate, api, api.http.get(at, params={"version": 1}, headers=ada))
    assert shape(then) == ("read", "episode", set(), {"episodes"})
    between = asked(gate, api, api.http.get(at, params={"version": 2}, headers=ada))
    assert shape(between) == ("read", "episode", {"HIV"}, {"episodes", "sessions"})


def test_a_refused_write_asks_nothing_before_its_input_is_valid(
    api: RecordsApi, gate: ScriptedGate, eid: str
) -> None:
    before = len(gate.requests)
    response = post(api, f"/v1/episodes/{eid}/goals", goal_body(labels=["NOT-A-LABEL"]))
    assert response.status_code == 422
    assert gate.since(before) == []
