"""Amendment requests (HIPAA 164.526): asked by the client or a privacy officer for them, accepted with a
linked correction or denied on a basis, disputed and rebutted, due 60 days after they are made.

Decided by the consent service's policy table in-process (its ``amendment-request`` row).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.api_checks import assert_problem, assert_validation, no_server_errors  # noqa: F401
from tests.support.api_seed import created, hold_session, post, set_goal
from tests.support.policy_gate import PolicyGate
from tests.support.records import RecordsApi

PATH = "/v1/amendment-requests"


@pytest.fixture
def gate() -> PolicyGate:
    return PolicyGate()


@dataclass
class Record:
    client_id: str
    episode: str
    note_path: str
    note: dict[str, Any]  # signed, version 2

    def client(self, api: RecordsApi) -> dict[str, str]:
        return api.headers("client", "c-1", client_id=self.client_id)


@pytest.fixture
def record(api: RecordsApi, eid: str) -> Record:
    client_id = api.http.get(f"/v1/episodes/{eid}", headers=api.headers("clinician", "dr-ada")).json()[
        "client_id"
    ]
    session = hold_session(api, eid)
    notes = f"/v1/episodes/{eid}/sessions/{session['id']}/notes"
    note = created(post(api, notes, {"format": "free", "content": {"text": "client drinks daily"}}))
    path = f"{notes}/{note['id']}"
    signed = post(api, f"{path}/sign", {}).json()
    return Record(client_id, eid, path, signed)


def ask(
    api: RecordsApi, headers: dict[str, str], aggregate_id: str, version: int, **changes: Any
) -> httpx.Response:
    body = {
        "target": {"aggregate_id": aggregate_id, "event_version": version},
        "reason": "I do not drink daily",
    }
    response: httpx.Response = api.http.post(PATH, json={**body, **changes}, headers=headers)
    return response


def act(
    api: RecordsApi, headers: dict[str, str], aid: str, step: str, body: dict[str, Any]
) -> httpx.Response:
    response: httpx.Response = api.http.post(f"{PATH}/{aid}/{step}", json=body, headers=headers)
    return response


def ada(api: RecordsApi) -> dict[str, str]:
    return api.headers("clinician", "dr-ada")


DENIAL = {"basis": "accurate_and_complete", "explanation": "recorded as reported in session"}


def test_the_client_asks_and_the_clinician_accepts_with_an_addendum(api: RecordsApi, record: Record) -> None:
    response = ask(api, record.client(api), record.note["id"], 2)
    request = created(response)
    assert response.headers["location"] == f"{PATH}/{request['id']}" and response.headers["etag"] == '"1"'
    assert (request["client_id"], request["target"], request["target_kind"]) == (
        record.client_id,
        {"aggregate_id": record.note["id"], "event_version": 2},
        "note",
    )
    assert (request["status"], request["overdue"], request["requested_by"]) == ("requested", False, "c-1")
    requested_at = datetime.fromisoformat(request["requested_at"])
    assert datetime.fromisoformat(request["due_at"]) == requested_at + timedelta(days=60)

    addendum = created(
        post(api, f"{record.note_path}/addenda", {"text": "drinks at weekends", "reason": "amendment"})
    )
    correction = {"aggregate_id": record.note["id"], "event_version": addendum["version"]}
    accepted = act(
        api, ada(api), request["id"], "acceptance", {"correction": correction, "comment": "agreed"}
    )
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert (body["status"], body["acceptance"]["correction"], body["acceptance"]["by"]) == (
        "accepted",
        correction,
        "dr-ada",
    )
    assert_problem(
        act(api, ada(api), request["id"], "denial", DENIAL), 409, "conflict", detail="decided already"
    )
    assert_problem(
        act(api, ada(api), request["id"], "acceptance", {"correction": correction}), 409, "conflict"
    )
    disagree = act(api, record.client(api), request["id"], "disagreement", {"statement": "x"})
    assert_problem(disagree, 409, "conflict", detail="follows a denial")
    mine = api.http.get(f"{PATH}/{request['id']}", headers=record.client(api))
    assert mine.json() == body and mine.headers["etag"] == '"2"'


def test_a_denial_a_statement_of_disagreement_and_a_rebuttal(api: RecordsApi, record: Record) -> None:
    request = created(ask(api, record.client(api), record.note["id"], 2))
    aid = request["id"]
    assert_problem(
        act(api, ada(api), aid, "rebuttal", {"text": "no"}), 409, "conflict", detail="answers a statement"
    )
    denied = act(api, ada(api), aid, "denial", DENIAL).json()
    assert (denied["status"], denied["denial"]["basis"], denied["denial"]["explanation"]) == (
        "denied",
        "accurate_and_complete",
        "recorded as reported in session",
    )
    disputed = act(api, record.client(api), aid, "disagreement", {"statement": "I never said daily"}).json()
    assert (disputed["disagreement"]["text"], disputed["disagreement"]["by"]) == ("I never said daily", "c-1")
    again = act(api, record.client(api), aid, "disagreement", {"statement": "again"})
    assert_problem(again, 409, "conflict")
    rebutted = act(api, ada(api), aid, "rebuttal", {"text": "the session notes are verbatim"}).json()
    assert (rebutted["rebuttal"]["text"], rebutted["version"], rebutted["status"]) == (
        "the session notes are verbatim",
        4,
        "denied",
    )
    assert_problem(act(api, ada(api), aid, "rebuttal", {"text": "more"}), 409, "conflict")
    # every step stays readable as it was
    first = api.http.get(f"{PATH}/{aid}", params={"version": 1}, headers=ada(api)).json()
    assert (first["status"], first["denial"], first["version"]) == ("requested", None, 1)
    as_of = api.http.get(f"{PATH}/{aid}", params={"as_of": denied["recorded_at"]}, headers=ada(api)).json()
    assert (as_of["status"], as_of["disagreement"]) == ("denied", None)
    assert_problem(api.http.get(f"{PATH}/{aid}", params={"version": 5}, headers=ada(api)), 404, "not-found")


def test_each_step_is_taken_by_its_party(api: RecordsApi, record: Record) -> None:
    request = created(ask(api, record.client(api), record.note["id"], 2))
    aid = request["id"]
    assert_problem(act(api, record.client(api), aid, "denial", DENIAL), 403, "forbidden", detail="clinician")
    api.practitioner("dr-cy")
    assert_problem(act(api, api.headers("clinician", "dr-cy"), aid, "denial", DENIAL), 403, "forbidden")
    assert act(api, ada(api), aid, "denial", DENIAL).status_code == 200
    assert_problem(act(api, ada(api), aid, "disagreement", {"statement": "s"}), 403, "forbidden")
    po = api.headers("privacy_officer", "po-1")
    assert act(api, po, aid, "disagreement", {"statement": "filed for the client"}).status_code == 200
    assert_problem(act(api, po, aid, "rebuttal", {"text": "t"}), 403, "forbidden")
    for role in ("auditor", "admin", "integrator"):
        assert_problem(
            api.http.get(f"{PATH}/{aid}", headers=api.headers(role, f"{role}-1")), 403, "forbidden"
        )
    other = api.headers("client", "c-2", client_id=str(uuid.uuid4()))
    assert_problem(api.http.get(f"{PATH}/{aid}", headers=other), 403, "forbidden")
    assert_problem(ask(api, other, record.note["id"], 2), 403, "forbidden")


def test_a_privacy_officer_asks_for_the_client_about_episode_entries_and_details(
    api: RecordsApi, record: Record
) -> None:
    po = api.headers("privacy_officer", "po-1")
    goal = set_goal(api, record.episode)
    on_goal = created(ask(api, po, record.episode, goal["version"]))
    assert (on_goal["target_kind"], on_goal["requested_by"], on_goal["client_id"]) == (
        "episode",
        "po-1",
        record.client_id,
    )
    on_details = created(ask(api, po, record.client_id, 1))
    assert on_details["target_kind"] == "client"
    assert api.http.get(f"{PATH}/{on_details['id']}", headers=ada(api)).status_code == 200


@pytest.mark.parametrize(
    ("changes", "loc"),
    [
        ({"reason": ""}, ("body", "reason")),
        ({"target": {"aggregate_id": "x", "event_version": 1}}, ("body", "target", "aggregate_id")),
        ({"target": {"event_version": 1}}, ("body", "target", "aggregate_id")),
        ({"color": "red"}, ("body", "color")),
    ],
)
def test_bad_requests_are_422(
    api: RecordsApi, record: Record, changes: dict[str, Any], loc: tuple[str, ...]
) -> None:
    assert_validation(ask(api, record.client(api), record.note["id"], 2, **changes), loc)


def test_an_unknown_entry_or_version_is_422(api: RecordsApi, record: Record) -> None:
    headers = record.client(api)
    assert_validation(
        ask(api, headers, record.note["id"], 3), ("body", "target", "event_version"), detail="between 1 and 2"
    )
    assert_validation(ask(api, headers, record.note["id"], 0), ("body", "target", "event_version"))
    assert_validation(ask(api, headers, str(uuid.uuid4()), 1), ("body", "target", "aggregate_id"))
    pn = created(
        post(
            api,
            f"/v1/episodes/{record.episode}/psychotherapy-notes",
            {"text": "p", "occurred_at": "2026-01-12T09:00:00+01:00"},
        )
    )
    assert_validation(ask(api, headers, pn["id"], 1), ("body", "target", "aggregate_id"))
    assert_validation(
        ask(api, api.headers("privacy_officer", "po-1"), "dr-ada", 1), ("body", "target", "aggregate_id")
    )


def test_bad_decisions_are_422(api: RecordsApi, record: Record) -> None:
    aid = created(ask(api, record.client(api), record.note["id"], 2))["id"]
    assert_validation(act(api, ada(api), aid, "denial", {"explanation": "no"}), ("body", "basis"))
    assert_validation(
        act(api, ada(api), aid, "denial", {**DENIAL, "basis": "we disagree"}), ("body", "basis")
    )
    assert_validation(
        act(api, ada(api), aid, "denial", {**DENIAL, "explanation": ""}), ("body", "explanation")
    )
    same = {"aggregate_id": record.note["id"], "event_version": 2}
    assert_validation(
        act(api, ada(api), aid, "acceptance", {"correction": same}), ("body", "correction", "event_version")
    )
    beyond = {"aggregate_id": record.note["id"], "event_version": 9}
    assert_validation(
        act(api, ada(api), aid, "acceptance", {"correction": beyond}), ("body", "correction", "event_version")
    )
    elsewhere = {"aggregate_id": record.episode, "event_version": 2}
    assert_validation(
        act(api, ada(api), aid, "acceptance", {"correction": elsewhere}), ("body", "correction")
    )
    assert_problem(act(api, ada(api), str(uuid.uuid4()), "denial", DENIAL), 404, "not-found")
    assert api.http.get(f"{PATH}/{aid}", headers=ada(api)).json()["status"] == "requested"


@pytest.fixture
def later(api: RecordsApi) -> Iterator[Any]:
    """Moves the application's clock; put back afterwards."""
    records: Any = api.http.app.state.records  # type: ignore[attr-defined]
    real = records.clock

    def move(days: int) -> None:
        records.clock = lambda: real() + timedelta(days=days)

    yield move
    records.clock = real


def test_open_requests_past_due_are_listed(api: RecordsApi, record: Record, later: Any) -> None:
    requests = [created(ask(api, record.client(api), record.note["id"], 2))["id"] for _ in range(3)]
    assert act(api, ada(api), requests[1], "denial", DENIAL).status_code == 200
    overdue = api.http.get(PATH, params={"status": "overdue"}, headers=ada(api))
    assert overdue.status_code == 200 and overdue.json() == {"items": [], "next_cursor": None}

    later(61)
    po = api.headers("privacy_officer", "po-1")
    listed = api.http.get(PATH, params={"status": "overdue", "limit": 1}, headers=po).json()
    assert [item["id"] for item in listed["items"]] == [requests[0]] and listed["items"][0]["overdue"]
    rest = api.http.get(
        PATH, params={"status": "overdue", "cursor": listed["next_cursor"]}, headers=po
    ).json()
    assert [item["id"] for item in rest["items"]] == [requests[2]] and rest["next_cursor"] is None
    assert api.http.get(f"{PATH}/{requests[2]}", headers=ada(api)).json()["overdue"] is True
    api.practitioner("dr-cy")
    assert (
        api.http.get(PATH, params={"status": "overdue"}, headers=api.headers("clinician", "dr-cy")).json()[
            "items"
        ]
        == []
    )
    other = api.http.get(
        PATH,
        params={"status": "overdue"},
        headers=api.headers("privacy_officer", "po-1", tenant="practice-b"),
    )
    assert other.json()["items"] == []
    assert_validation(api.http.get(PATH, params={"status": "open"}, headers=po), ("query", "status"))
    assert_validation(api.http.get(PATH, headers=po), detail="either status=overdue or target")
    both = {"status": "overdue", "target": record.note["id"]}
    assert_validation(api.http.get(PATH, params=both, headers=po), detail="not both")


def test_the_requests_about_an_entry_are_listed_with_it(api: RecordsApi, record: Record) -> None:
    on_note = [created(ask(api, record.client(api), record.note["id"], v))["id"] for v in (1, 2)]
    created(ask(api, record.client(api), record.episode, 1))
    aid = on_note[1]
    assert act(api, ada(api), aid, "denial", DENIAL).status_code == 200
    for headers in (ada(api), record.client(api), api.headers("privacy_officer", "po-1")):
        listed = api.http.get(PATH, params={"target": record.note["id"]}, headers=headers).json()
        assert [(i["id"], i["target"]["event_version"], i["status"]) for i in listed["items"]] == [
            (on_note[0], 1, "requested"),
            (aid, 2, "denied"),
        ]
    api.practitioner("dr-cy")
    cy = api.http.get(PATH, params={"target": record.note["id"]}, headers=api.headers("clinician", "dr-cy"))
    assert cy.json()["items"] == []
    assert api.http.get(PATH, params={"target": str(uuid.uuid4())}, headers=ada(api)).json()["items"] == []
