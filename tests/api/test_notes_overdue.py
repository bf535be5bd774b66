"""Unsigned progress notes past the practice's allowance of days, counted in its time zone, per clinician."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.support.api_checks import assert_problem, assert_validation, no_server_errors  # noqa: F401
from tests.support.api_seed import created, hold_session, post
from tests.support.records import RecordsApi

OVERDUE = "/v1/notes/overdue"
FREE = {"format": "free", "content": {"text": "progress"}}


@pytest.fixture
def records(api: RecordsApi) -> Iterator[Any]:
    """The running application, whose clock and settings a test may change; put back afterwards."""
    app: Any = api.http.app.state.records  # type: ignore[attr-defined]
    saved = (app.clock, app.overdue_after_days, app.practice_time_zone)
    yield app
    app.clock, app.overdue_after_days, app.practice_time_zone = saved


def at(records: Any, instant: datetime) -> None:
    records.clock = lambda: instant


def listed(api: RecordsApi, sub: str = "dr-ada", role: str = "clinician", **params: Any) -> list[str]:
    response = api.http.get(OVERDUE, params=params, headers=api.headers(role, sub))
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def notes_path(api: RecordsApi, episode: str, sub: str = "dr-ada") -> str:
    session = hold_session(api, episode, sub=sub)
    return f"/v1/episodes/{episode}/sessions/{session['id']}/notes"


def test_unsigned_notes_are_listed_after_the_allowance(api: RecordsApi, eid: str, records: Any) -> None:
    api.practitioner("dr-bo")
    api.practitioner("dr-cy")
    client_id = api.http.get(f"/v1/episodes/{eid}", headers=api.headers("clinician", "dr-ada")).json()[
        "client_id"
    ]
    shared = api.episode("dr-ada", client_id, care_team=["dr-bo"])["id"]
    draft = created(post(api, notes_path(api, eid), FREE))
    signed = created(post(api, notes_path(api, eid), FREE))
    path = f"/v1/episodes/{eid}/sessions/{signed['session_id']}/notes/{signed['id']}"
    assert post(api, f"{path}/sign", {}).status_code == 200
    bos = created(post(api, notes_path(api, shared), FREE, sub="dr-bo"))
    assert listed(api) == []

    records.overdue_after_days = 3
    at(records, datetime.now(ZoneInfo("UTC")) + timedelta(days=5))
    assert listed(api) == sorted([draft["id"], bos["id"]])
    assert listed(api, clinician="dr-ada") == [draft["id"]]
    assert listed(api, "dr-bo", clinician="dr-bo") == [bos["id"]]
    assert listed(api, "dr-bo") == [bos["id"]]  # dr-bo is not on dr-ada's first episode
    assert listed(api, "dr-cy") == []
    for role in ("admin", "auditor", "privacy_officer"):
        assert listed(api, f"{role}-1", role) == []
    page = api.http.get(OVERDUE, params={"limit": 1}, headers=api.headers("clinician", "dr-ada")).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = api.http.get(
        OVERDUE, params={"cursor": page["next_cursor"]}, headers=api.headers("clinician", "dr-ada")
    )
    assert [page["items"][0]["id"], *[i["id"] for i in rest.json()["items"]]] == sorted(
        [draft["id"], bos["id"]]
    )
    item = page["items"][0]
    assert set(item) == {
        "id",
        "episode_id",
        "session_id",
        "client_id",
        "author",
        "status",
        "drafted_at",
        "due_on",
        "location",
    }
    assert "progress" not in str(page)  # no note text in the list


def test_the_allowance_is_counted_in_the_practices_time_zone(api: RecordsApi, eid: str, records: Any) -> None:
    note = created(post(api, notes_path(api, eid), FREE))
    drafted = datetime.fromisoformat(note["drafted_at"])
    records.overdue_after_days = 2
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):  # UTC+14 and UTC-11
        records.practice_time_zone = zone
        tz = ZoneInfo(zone)
        due_on = drafted.astimezone(tz).date() + timedelta(days=2)
        first_late_instant = datetime.combine(due_on + timedelta(days=1), time(0), tzinfo=tz)
        at(records, first_late_instant - timedelta(minutes=1))
        assert listed(api) == [], zone
        at(records, first_late_instant + timedelta(minutes=1))
        response = api.http.get(OVERDUE, headers=api.headers("clinician", "dr-ada")).json()
        assert [(i["id"], date.fromisoformat(i["due_on"])) for i in response["items"]] == [
            (note["id"], due_on)
        ]


def test_a_returned_note_is_unsigned_again(api: RecordsApi, records: Any) -> None:
    for sub, roles, supervisor in (("dr-sup", ["supervisor"], None), ("dr-kim", ["clinician"], "dr-sup")):
        body: dict[str, Any] = {"id": sub, "display_name": sub, "roles": roles, "requires_supervision": True}
        if supervisor:
            body["supervisor"] = supervisor
        assert api.http.post("/v1/practitioners", json=body, headers=api.admin()).status_code == 201
    episode = api.episode("dr-kim", api.client("dr-kim")["id"])["id"]
    notes = notes_path(api, episode, sub="dr-kim")
    note = created(post(api, notes, FREE, sub="dr-kim"))
    path = f"{notes}/{note['id']}"
    assert post(api, f"{path}/sign", {}, sub="dr-kim").json()["status"] == "awaiting_cosign"
    at(records, datetime.now(ZoneInfo("UTC")) + timedelta(days=30))
    assert listed(api, "dr-kim") == []
    sup = api.headers("supervisor", "dr-sup")
    returned = api.http.post(f"{path}/return", json={"comment": "redo"}, headers=sup)
    assert returned.status_code == 200, returned.text
    assert listed(api, "dr-kim") == [note["id"]]


def test_bad_list_parameters_are_422(api: RecordsApi) -> None:
    headers = api.headers("clinician", "dr-ada")
    assert_validation(api.http.get(OVERDUE, params={"limit": 0}, headers=headers), ("query", "limit"))
    assert_validation(api.http.get(OVERDUE, params={"cursor": "nonsense"}, headers=headers))
    assert_validation(
        api.http.get(OVERDUE, params={"clinician": ""}, headers=headers), ("query", "clinician")
    )
    assert_problem(api.http.get(OVERDUE), 401, "unauthorized")
