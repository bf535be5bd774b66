"""Progress notes: drafted and revised by the author, locked by signing, corrected by addenda, and co-signed
or returned by a supervisor of an author who requires supervision."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.records.application.access import Actor
from services.records.application.commands import Command
from tests.support.api_checks import assert_problem, assert_validation, no_server_errors  # noqa: F401
from tests.support.api_seed import created, hold_session, post
from tests.support.records import RecordsApi

SOAP = {"subjective": "slept badly", "objective": "flat affect", "assessment": "low mood", "plan": "walk"}


def note_body(**changes: Any) -> dict[str, Any]:
    return {"format": "SOAP", "content": dict(SOAP), **changes}


def _get(
    api: RecordsApi, path: str, sub: str = "dr-ada", role: str = "clinician", **params: Any
) -> httpx.Response:
    response: httpx.Response = api.http.get(path, params=params, headers=api.headers(role, sub))
    return response


def _as(
    api: RecordsApi, role: str, sub: str, path: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    response: httpx.Response = api.http.post(path, json=body, headers=api.headers(role, sub))
    return response


@pytest.fixture
def sid(api: RecordsApi, eid: str) -> str:
    return str(hold_session(api, eid)["id"])


@pytest.fixture
def notes(eid: str, sid: str) -> str:
    return f"/v1/episodes/{eid}/sessions/{sid}/notes"


@pytest.fixture
def note(api: RecordsApi, notes: str) -> dict[str, Any]:
    return created(post(api, notes, note_body()))


def _path(notes: str, note: dict[str, Any], tail: str = "") -> str:
    return f"{notes}/{note['id']}{tail}"


def _hash(format_: str, content: dict[str, str]) -> str:
    canonical = json.dumps({"format": format_, "content": content}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def test_a_note_is_drafted_at_a_readable_location(api: RecordsApi, eid: str, sid: str, notes: str) -> None:
    response = post(api, notes, note_body(labels=["MH"]))
    note = created(response)
    assert response.headers["location"] == _path(notes, note)
    assert response.headers["etag"] == '"1"'
    assert (note["episode_id"], note["session_id"], note["author"], note["format"]) == (
        eid,
        sid,
        "dr-ada",
        "SOAP",
    )
    assert (note["content"], note["labels"], note["status"], note["final"]) == (SOAP, ["MH"], "draft", False)
    assert (note["signature"], note["cosignature"], note["returns"], note["addenda"]) == (None, None, [], [])
    assert note["content_hash"] == _hash("SOAP", SOAP)
    read = _get(api, response.headers["location"])
    assert read.headers["etag"] == '"1"'
    assert read.json() == note


@pytest.mark.parametrize(
    ("format_", "content"),
    [
        ("DAP", {"data": "d", "assessment": "a", "plan": "p"}),
        ("BIRP", {"behavior": "b", "intervention": "i", "response": "r", "plan": "p"}),
        ("free", {"text": "all in one"}),
        ("SOAP", {"plan": "only a plan so far"}),
    ],
)
def test_every_format_is_drafted(api: RecordsApi, notes: str, format_: str, content: dict[str, str]) -> None:
    note = created(post(api, notes, note_body(format=format_, content=content)))
    assert (note["format"], note["content"]) == (format_, content)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (note_body(content={}), ("body", "content")),
        (note_body(format="narrative"), ("body", "format")),
        (note_body(content={"subjective": ""}), ("body", "content", "subjective")),
        (note_body(content={"mood": "low"}), ("body", "content", "mood")),
        (note_body(color="red"), ("body", "color")),
        ({"content": SOAP}, ("body", "format")),
    ],
)
def test_bad_notes_are_422(api: RecordsApi, notes: str, body: dict[str, Any], loc: tuple[str, ...]) -> None:
    assert_validation(post(api, notes, body), loc)


def test_sections_of_another_format_and_blank_text_are_422(api: RecordsApi, notes: str) -> None:
    assert_validation(
        post(api, notes, note_body(format="DAP")), ("body", "content"), detail="not a section of DAP"
    )
    assert_validation(post(api, notes, note_body(content={"plan": "   "})), ("body", "content", "plan"))


def test_a_note_needs_a_held_session_of_the_episode(api: RecordsApi, eid: str, sid: str) -> None:
    unknown = post(api, f"/v1/episodes/{eid}/sessions/{uuid.uuid4()}/notes", note_body())
    assert_problem(unknown, 404, "not-found", detail="session")
    assert_problem(
        post(api, f"/v1/episodes/{uuid.uuid4()}/sessions/{sid}/notes", note_body()), 404, "not-found"
    )
    cancelled = hold_session(api, eid)["id"]
    # sessions have no public cancel route yet: cancel through the application
    records = api.http.app.state.records  # type: ignore[attr-defined]
    actor = Actor("dr-ada", api.tenant, frozenset({"clinician"}), None, "TREAT")
    records.cancel_session(Command(actor, "req-cancel"), uuid.UUID(eid), uuid.UUID(cancelled), "ill")
    assert_validation(
        post(api, f"/v1/episodes/{eid}/sessions/{cancelled}/notes", note_body()), detail="cancelled"
    )


def test_a_draft_is_revised_then_signed_and_locked(api: RecordsApi, notes: str, note: dict[str, Any]) -> None:
    revised_content = {**SOAP, "plan": "walk and call a friend"}
    response = post(api, _path(notes, note, "/revisions"), {"content": revised_content})
    revised = created(response)
    assert response.headers["location"] == _path(notes, note)
    assert (revised["content"], revised["version"], revised["status"]) == (revised_content, 2, "draft")

    before = datetime.now(UTC) - timedelta(seconds=5)
    response = post(api, _path(notes, note, "/sign"), {})
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"3"' and "location" not in response.headers
    signed = response.json()
    assert (signed["status"], signed["final"], signed["requires_cosign"]) == ("signed", True, False)
    signature = signed["signature"]
    assert (signature["signer"], signature["version"]) == ("dr-ada", 3)
    assert signature["content_hash"] == _hash("SOAP", revised_content) == signed["content_hash"]
    assert datetime.fromisoformat(signature["signed_at"]) >= before

    revise = post(api, _path(notes, note, "/revisions"), {"content": SOAP})
    assert_problem(revise, 409, "conflict", detail="is signed; corrections are addenda")
    assert_problem(post(api, _path(notes, note, "/sign"), {}), 409, "conflict", detail="is signed")
    assert _get(api, _path(notes, note)).json() == signed


def test_addenda_correct_a_signed_note_in_order(
    api: RecordsApi, eid: str, notes: str, note: dict[str, Any]
) -> None:
    on_draft = post(api, _path(notes, note, "/addenda"), {"text": "later", "reason": "typo"})
    assert_problem(on_draft, 409, "conflict", detail="is draft; addenda correct signed notes")
    assert post(api, _path(notes, note, "/sign"), {}).status_code == 200
    first = created(post(api, _path(notes, note, "/addenda"), {"text": "slept 4 hours", "reason": "detail"}))
    api.practitioner("dr-bo")
    assert_validation(
        post(api, _path(notes, note, "/addenda"), {"text": "x", "reason": ""}), ("body", "reason")
    )
    assert_validation(post(api, _path(notes, note, "/addenda"), {"text": "x"}), ("body", "reason"))
    second = created(post(api, _path(notes, note, "/addenda"), {"text": "plan: walk", "reason": "clarity"}))
    assert first["content"] == second["content"] == SOAP
    addenda = second["addenda"]
    assert [(a["text"], a["reason"], a["signer"], a["version"]) for a in addenda] == [
        ("slept 4 hours", "detail", "dr-ada", 3),
        ("plan: walk", "clarity", "dr-ada", 4),
    ]
    assert all(len(a["content_hash"]) == 64 for a in addenda)
    assert [a["id"] for a in _get(api, _path(notes, note)).json()["addenda"]] == [a["id"] for a in addenda]


def test_only_the_author_revises_and_signs(api: RecordsApi, eid: str, sid: str) -> None:
    api.practitioner("dr-bo")
    client_id = _get(api, f"/v1/episodes/{eid}").json()["client_id"]
    shared = api.episode("dr-ada", client_id, care_team=["dr-bo"])["id"]
    session = hold_session(api, shared)["id"]
    notes = f"/v1/episodes/{shared}/sessions/{session}/notes"
    note = created(post(api, notes, note_body()))
    assert_problem(
        post(api, _path(notes, note, "/revisions"), {"content": SOAP}, sub="dr-bo"), 403, "forbidden"
    )
    assert_problem(post(api, _path(notes, note, "/sign"), {}, sub="dr-bo"), 403, "forbidden")
    assert _get(api, _path(notes, note), sub="dr-bo").status_code == 200
    api.practitioner("dr-cy")
    assert_problem(_get(api, _path(notes, note), sub="dr-cy"), 403, "forbidden")
    assert_problem(post(api, notes, note_body(), sub="dr-cy"), 403, "forbidden")


def test_a_note_is_read_at_a_version_or_as_of_an_instant(
    api: RecordsApi, notes: str, note: dict[str, Any]
) -> None:
    created(post(api, _path(notes, note, "/revisions"), {"content": {"plan": "new plan"}}))
    path = _path(notes, note)
    first = _get(api, path, version=1)
    assert first.status_code == 200 and first.headers["etag"] == '"1"'
    assert first.json()["content"] == SOAP
    assert _get(api, path, as_of=note["recorded_at"]).json()["content"] == SOAP
    assert _get(api, path, as_of=datetime.now(UTC).isoformat()).json()["content"] == {"plan": "new plan"}
    assert_problem(_get(api, path, version=3), 404, "not-found")
    assert_problem(_get(api, path, as_of="2000-01-01T00:00:00Z"), 404, "not-found")
    assert_validation(_get(api, path, version=1, as_of=note["recorded_at"]))
    assert_validation(_get(api, path, as_of="2026-01-01T00:00:00"))


def test_a_note_is_found_only_under_its_own_session(
    api: RecordsApi, eid: str, notes: str, note: dict[str, Any]
) -> None:
    other = hold_session(api, eid)["id"]
    elsewhere = f"/v1/episodes/{eid}/sessions/{other}/notes/{note['id']}"
    assert_problem(_get(api, elsewhere), 404, "not-found")
    assert_problem(post(api, f"{elsewhere}/sign", {}), 404, "not-found")
    assert_problem(_get(api, f"{notes}/{uuid.uuid4()}"), 404, "not-found")


def test_note_writes_honour_if_match_and_idempotency_keys(
    api: RecordsApi, notes: str, note: dict[str, Any]
) -> None:
    stale = post(api, _path(notes, note, "/revisions"), {"content": SOAP}, headers={"If-Match": '"7"'})
    assert_problem(stale, 412, "precondition-failed")
    first = post(
        api, _path(notes, note, "/sign"), {}, headers={"If-Match": '"1"', "Idempotency-Key": "sign-1"}
    )
    assert first.status_code == 200
    again = post(api, _path(notes, note, "/sign"), {}, headers={"Idempotency-Key": "sign-1"})
    assert (again.status_code, again.content) == (200, first.content)
    assert again.headers["idempotent-replayed"] == "true"


def test_the_client_reads_their_own_note_and_others_see_none(
    api: RecordsApi, eid: str, notes: str, note: dict[str, Any]
) -> None:
    client_id = _get(api, f"/v1/episodes/{eid}").json()["client_id"]
    mine = api.http.get(_path(notes, note), headers=api.headers("client", "c-1", client_id=client_id))
    assert mine.status_code == 200
    for role in ("privacy_officer", "auditor", "admin", "integrator"):
        assert_problem(_get(api, _path(notes, note), sub=f"{role}-1", role=role), 403, "forbidden")
    stranger = api.http.get(
        _path(notes, note), headers=api.headers("client", "c-2", client_id=str(uuid.uuid4()))
    )
    assert_problem(stranger, 403, "forbidden")


# --- supervision ----------------------------------------------------------------------------------------
def _supervised_practice(api: RecordsApi) -> tuple[str, str]:
    """dr-sup supervises dr-kim (who requires supervision); dr-sup2 supervises dr-bo. A note path prefix."""
    for sub, roles, supervisor, required in (
        ("dr-sup", ["supervisor"], None, False),
        ("dr-sup2", ["supervisor"], None, False),
        ("dr-kim", ["clinician"], "dr-sup", True),
        ("dr-bo", ["clinician"], "dr-sup2", False),
    ):
        body: dict[str, Any] = {
            "id": sub,
            "display_name": sub,
            "roles": roles,
            "requires_supervision": required,
        }
        if supervisor:
            body["supervisor"] = supervisor
        assert api.http.post("/v1/practitioners", json=body, headers=api.admin()).status_code == 201
    client = api.client("dr-kim")
    episode = api.episode("dr-kim", client["id"], care_team=["dr-bo"])["id"]
    session = hold_session(api, episode, sub="dr-kim")["id"]
    return f"/v1/episodes/{episode}/sessions/{session}/notes", episode


def test_a_supervised_note_is_final_once_cosigned(api: RecordsApi) -> None:
    notes, _ = _supervised_practice(api)
    note = created(post(api, notes, note_body(), sub="dr-kim"))
    signed = post(api, _path(notes, note, "/sign"), {}, sub="dr-kim").json()
    assert (signed["status"], signed["final"], signed["requires_cosign"]) == ("awaiting_cosign", False, True)
    assert_problem(
        post(api, _path(notes, note, "/revisions"), {"content": SOAP}, sub="dr-kim"), 409, "conflict"
    )

    response = _as(api, "supervisor", "dr-sup", _path(notes, note, "/cosign"), {"comment": "agreed"})
    assert response.status_code == 200, response.text
    cosigned = response.json()
    assert (cosigned["status"], cosigned["final"]) == ("cosigned", True)
    assert (cosigned["cosignature"]["supervisor"], cosigned["cosignature"]["comment"]) == ("dr-sup", "agreed")
    again = _as(api, "supervisor", "dr-sup", _path(notes, note, "/cosign"), {})
    assert_problem(again, 409, "conflict", detail="is cosigned")
    created(post(api, _path(notes, note, "/addenda"), {"text": "more", "reason": "detail"}, sub="dr-kim"))


def test_a_returned_note_is_revised_and_signed_again(api: RecordsApi) -> None:
    notes, _ = _supervised_practice(api)
    note = created(post(api, notes, note_body(), sub="dr-kim"))
    assert post(api, _path(notes, note, "/sign"), {}, sub="dr-kim").status_code == 200
    assert_validation(
        _as(api, "supervisor", "dr-sup", _path(notes, note, "/return"), {}), ("body", "comment")
    )
    response = _as(
        api, "supervisor", "dr-sup", _path(notes, note, "/return"), {"comment": "add risk assessment"}
    )
    assert response.status_code == 200, response.text
    returned = response.json()
    assert returned["status"] == "returned" and not returned["final"]
    assert [(r["supervisor"], r["comment"], r["version"]) for r in returned["returns"]] == [
        ("dr-sup", "add risk assessment", 3)
    ]
    assert_problem(_as(api, "supervisor", "dr-sup", _path(notes, note, "/cosign"), {}), 409, "conflict")
    content = {**SOAP, "assessment": "low mood; no risk"}
    assert (
        created(post(api, _path(notes, note, "/revisions"), {"content": content}, sub="dr-kim"))["version"]
        == 4
    )
    resigned = post(api, _path(notes, note, "/sign"), {}, sub="dr-kim").json()
    assert (resigned["status"], resigned["signature"]["version"]) == ("awaiting_cosign", 5)
    assert resigned["signature"]["content_hash"] == _hash("SOAP", content)
    final = _as(api, "supervisor", "dr-sup", _path(notes, note, "/cosign"), {}).json()
    assert (final["status"], final["final"], final["version"]) == ("cosigned", True, 6)


def test_only_a_supervisor_of_the_author_cosigns_or_returns(api: RecordsApi) -> None:
    notes, _ = _supervised_practice(api)
    note = created(post(api, notes, note_body(), sub="dr-kim"))
    assert post(api, _path(notes, note, "/sign"), {}, sub="dr-kim").status_code == 200
    for tail, body in (("/cosign", {}), ("/return", {"comment": "redo"})):
        # dr-sup2 supervises dr-bo, who is on the care team, but not dr-kim, the author
        wrong = _as(api, "supervisor", "dr-sup2", _path(notes, note, tail), body)
        assert_problem(wrong, 409, "conflict", detail="is not a supervisor of the author")
        assert_problem(post(api, _path(notes, note, tail), body, sub="dr-bo"), 403, "forbidden")
        assert_problem(post(api, _path(notes, note, tail), body, sub="dr-kim"), 403, "forbidden")
    assert _get(api, _path(notes, note), sub="dr-kim").json()["status"] == "awaiting_cosign"


def test_a_note_of_an_author_without_supervision_is_not_cosigned(api: RecordsApi) -> None:
    notes, _ = _supervised_practice(api)
    note = created(post(api, notes, note_body(), sub="dr-bo"))
    assert post(api, _path(notes, note, "/sign"), {}, sub="dr-bo").json()["status"] == "signed"
    assert_problem(_as(api, "supervisor", "dr-sup2", _path(notes, note, "/cosign"), {}), 409, "conflict")


def test_a_closed_episode_takes_no_new_note_but_its_drafts_are_signed(
    api: RecordsApi, eid: str, notes: str, note: dict[str, Any]
) -> None:
    closing = {"reason": "goals met", "summary": "better", "occurred_at": "2026-02-01T09:00:00+01:00"}
    assert post(api, f"/v1/episodes/{eid}/close", closing).status_code == 200
    assert_problem(post(api, notes, note_body()), 409, "conflict", detail="is closed")
    assert post(api, _path(notes, note, "/sign"), {}).json()["status"] == "signed"
