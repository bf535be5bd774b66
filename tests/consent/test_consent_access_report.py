"""The client's own access report: who accessed their record (by name from the practitioner directory, or
role and organization), when, what kind of information and why; their own reads included, denials and
psychotherapy notes not. Only the client and privacy officers read it; every read is a logged decision."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api_checks import assert_problem, assert_validation
from tests.support.consent import (
    INTEGRATOR,
    OTHER_TENANT,
    ConsentApi,
    disclosure_body,
    new_client,
    read_episode,
)

NAMES = {"dr-ada": "Ada Lovelace, LCSW", "dr-bob": "Bob Ross, PhD"}  # as records' directory has them


def report(
    api: ConsentApi, client: str, headers: dict[str, str] | None = None, **params: Any
) -> dict[str, Any]:
    path = f"/v1/clients/{client}/access-report"
    response = api.http.get(path, params=params, headers=headers or api.client(client))
    assert response.status_code == 200, response.text
    return dict(response.json())


def clinician_reads(api: ConsentApi, client: str, sub: str = "dr-ada", **resource: Any) -> dict[str, Any]:
    body = read_episode(
        client,
        resource={"categories": ["episodes", "goals"], **resource},
        facts={"care_team": ["dr-ada"], "actor_display": NAMES[sub]},
    )
    return api.decide(body, api.headers("clinician", sub))


def test_who_when_what_and_why(consent_api: ConsentApi) -> None:
    client = new_client()
    consent_api.grant(disclosure_body(client, consent_api.clock))
    ada = clinician_reads(consent_api, client)
    consent_api.clock.advance(minutes=5)
    ehr = consent_api.decide(
        read_episode(
            client, resource={"categories": ["episodes", "goals"]}, facts={"actor_display": "Dr Fake"}
        ),
        consent_api.headers("integrator", INTEGRATOR),
    )
    clinician_reads(consent_api, client, "dr-bob")  # not on the care team: denied, so not reported
    own = consent_api.decide(read_episode(client), consent_api.client(client))

    items = report(consent_api, client)["items"]

    by_decision = {item["decision_id"]: item for item in items}
    assert by_decision[ada["decision_id"]]["who"] == {
        "actor": "dr-ada", "name": "Ada Lovelace, LCSW", "roles": ["clinician"], "organization": None,
    }  # fmt: skip
    what = by_decision[ada["decision_id"]]["what"]
    assert (what["action"], what["resource_type"], what["categories"]) == (
        "read",
        "episode",
        ["episodes", "goals"],
    )
    assert by_decision[ada["decision_id"]]["why"] == {"purpose_of_use": "TREAT", "purpose": "treatment"}
    integrator = by_decision[ehr["decision_id"]]
    assert integrator["who"] == {"actor": INTEGRATOR, "name": None, "roles": ["integrator"],
                                 "organization": "Acme Health"}  # fmt: skip
    assert integrator["what"]["categories"] == ["episodes"]  # goals were redacted
    assert integrator["time"] > by_decision[ada["decision_id"]]["time"]
    assert by_decision[own["decision_id"]]["who"]["roles"] == ["client"]  # the client's own reads count
    assert all(item["who"]["actor"] != "dr-bob" for item in items)
    assert [item["seq"] for item in items] == sorted(item["seq"] for item in items)
    assert items[0]["what"]["resource_type"] == "consent"  # the officer granting the consent
    assert items[-1]["what"]["resource_type"] == "access_report"  # and this read of the report


def test_break_glass_access_is_marked(consent_api: ConsentApi) -> None:
    client = new_client()
    glass = consent_api.break_glass(client, "dr-bob")
    consent_api.decide(read_episode(client), consent_api.headers("clinician", "dr-bob"))
    emergency = [i for i in report(consent_api, client)["items"] if i["break_glass_id"]]
    assert [(i["break_glass_id"], i["why"]["purpose_of_use"]) for i in emergency] == [(glass["id"], "ETREAT")]


def test_psychotherapy_notes_are_not_part_of_the_report(consent_api: ConsentApi) -> None:
    client = new_client()
    note = {"client_id": client, "action": "read", "resource": {"type": "psychotherapy_note", "id": "pn-1"},
            "facts": {"author": "dr-ada"}}  # fmt: skip
    assert consent_api.decide(note, consent_api.headers("clinician", "dr-ada"))["decision"] == "permit"
    labelled = read_episode(client, resource={"labels": ["PSYTHPN"]}, facts={"author": "dr-ada"})
    assert consent_api.decide(labelled, consent_api.headers("clinician", "dr-ada"))["decision"] == "permit"
    items = report(consent_api, client)["items"]
    assert [i["what"]["resource_type"] for i in items] == ["access_report"]


def test_the_report_pages_and_keeps_to_its_window(consent_api: ConsentApi) -> None:
    client, clock = new_client(), consent_api.clock
    early = [clinician_reads(consent_api, client)["decision_id"] for _ in range(3)]
    note = read_episode(client, resource={"type": "psychotherapy_note"}, facts={"author": "dr-ada"})
    for _ in range(3):  # left out of the report: the pages skip them and still fill up
        consent_api.decide(note, consent_api.headers("clinician", "dr-ada"))
    first_day = clock.now.date().isoformat()
    clock.advance(days=3)
    late = clinician_reads(consent_api, client)["decision_id"]

    first = report(consent_api, client, limit=2)
    rest = report(consent_api, client, limit=2, cursor=first["next_cursor"])

    assert [i["decision_id"] for i in first["items"]] == early[:2]
    assert [i["decision_id"] for i in rest["items"]] == [early[2], late]
    assert rest["next_cursor"]  # the two reads of the report follow
    window = report(consent_api, client, consent_api.officer(), **{"from": first_day, "to": first_day})
    assert window["period"] == {"start": first_day, "end": first_day}
    assert [i["decision_id"] for i in window["items"]] == early


def test_who_may_read_a_report(consent_api: ConsentApi) -> None:
    client = new_client()
    clinician_reads(consent_api, client)
    assert report(consent_api, client)["items"]
    assert report(consent_api, client, consent_api.officer())["items"]
    path = f"/v1/clients/{client}/access-report"
    for headers in (
        consent_api.client(new_client()),  # another client's report
        consent_api.auditor(),
        consent_api.headers("clinician", "dr-ada"),
        consent_api.headers("integrator", INTEGRATOR),
        consent_api.headers("admin", "admin-1"),
    ):
        assert_problem(consent_api.http.get(path, headers=headers), 403, "forbidden")
    theirs = report(consent_api, client, consent_api.officer(OTHER_TENANT))
    assert theirs["items"] == [i for i in theirs["items"] if i["who"]["actor"] == "po-1"]


def test_every_read_of_a_report_is_a_logged_decision(consent_api: ConsentApi) -> None:
    client = new_client()
    report(consent_api, client)
    consent_api.http.get(f"/v1/clients/{client}/access-report", headers=consent_api.auditor())
    log = consent_api.http.get("/v1/access-log", params={"client_id": client}, headers=consent_api.auditor())
    assert [(e["rule"], e["outcome"], e["actor"]) for e in log.json()["items"]] == [
        ("access-report", "permit", f"client-{client}"),
        ("access-report", "deny", "aud-1"),
    ]


@pytest.mark.parametrize(
    ("path", "params", "loc"),
    [
        ("/v1/clients/nope/access-report", {}, ("path", "client_id")),
        (None, {"from": "2026-13-01"}, ("query", "from")),
        (None, {"to": "soon"}, ("query", "to")),
        (None, {"from": "2025-06-02", "to": "2025-06-01"}, ("query", "from")),
        (None, {"limit": 0}, ("query", "limit")),
        (None, {"cursor": "not-ours"}, None),
    ],
)
def test_bad_requests_are_validation_problems(
    consent_api: ConsentApi, path: str | None, params: dict[str, Any], loc: tuple[str, ...] | None
) -> None:
    path = path or f"/v1/clients/{new_client()}/access-report"
    response = consent_api.http.get(path, params=params, headers=consent_api.officer())
    assert_validation(response, *([loc] if loc else []))
