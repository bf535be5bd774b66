"""The disclosure register and the accounting of disclosures (45 CFR 164.528): disclosures registered
with the decisions that made them, disclosures entered by hand, the six-year window, summaries of repeated
disclosures, who may read and write, and the problems bad requests get."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.support.api_checks import assert_problem, assert_validation
from tests.support.consent import (
    INTEGRATOR,
    OTHER_TENANT,
    ConsentApi,
    disclosure_body,
    manual_disclosure_body,
    new_client,
    psychotherapy_notes_body,
    read_episode,
)


def register(
    api: ConsentApi, client: str, headers: dict[str, str] | None = None, **params: Any
) -> dict[str, Any]:
    response = api.http.get(
        f"/v1/clients/{client}/disclosures", params=params, headers=headers or api.officer()
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def enter(api: ConsentApi, client: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.http.post(f"/v1/clients/{client}/disclosures", json=body, headers=api.officer())
    assert response.status_code == 201, response.text
    return dict(response.json())


def integrator_reads(api: ConsentApi, client: str, **changes: Any) -> dict[str, Any]:
    body = read_episode(client, resource={"categories": ["episodes", "goals"]}, **changes)
    return api.decide(body, api.headers("integrator", INTEGRATOR))


def days_ago(api: ConsentApi, days: int) -> str:
    return (api.clock.now.date() - timedelta(days=days)).isoformat()


def test_a_read_under_consent_is_registered_with_its_decision(consent_api: ConsentApi) -> None:
    client = new_client()
    consent = consent_api.grant(disclosure_body(client, consent_api.clock))
    permit = integrator_reads(consent_api, client)
    integrator_reads(consent_api, new_client())  # denied: nothing disclosed
    care = read_episode(client, facts={"care_team": ["dr-ada"]})
    consent_api.decide(care, consent_api.headers("clinician", "dr-ada"))  # inside the practice

    [item] = register(consent_api, client)["items"]

    assert (item["count"], item["last_date"]) == (1, consent_api.clock.now.date().isoformat())
    d = item["disclosure"]
    assert (d["id"], d["decision_id"], d["source"]) == (
        permit["decision_id"],
        permit["decision_id"],
        "decision",
    )
    assert d["recipient"] == {"id": INTEGRATOR, "name": "Acme Health", "address": None}
    assert d["information"]["categories"] == ["episodes"]  # goals were redacted, so not disclosed
    assert d["purpose"] == {"text": "treatment", "code": "TREAT"}
    assert (d["accountable"], d["consents"]) == (False, [consent["id"]])
    assert "164.528(a)(1)(iv)" in d["basis"] and d["recorded_by"] is None
    assert register(consent_api, client, accountable_only="true")["items"] == []
    one = consent_api.http.get(f"/v1/clients/{client}/disclosures/{d['id']}", headers=consent_api.officer())
    assert one.status_code == 200 and one.json() == d


def test_psychotherapy_notes_read_by_an_outside_party_under_authorization_are_registered(
    consent_api: ConsentApi,
) -> None:
    client, clock = new_client(), consent_api.clock
    outside = {"kind": "integrator", "id": INTEGRATOR, "display": "Acme Health"}
    consent_api.grant(psychotherapy_notes_body(client, clock, grantee=outside))
    consent_api.grant(psychotherapy_notes_body(client, clock))  # names dr-cy, a member of the practice
    note = {"client_id": client, "action": "read", "resource": {"type": "psychotherapy_note", "id": "pn-1",
            "categories": ["notes"]}, "facts": {"author": "dr-ada"}}  # fmt: skip
    outside_read = consent_api.decide(note, consent_api.headers("integrator", INTEGRATOR))
    inside_read = consent_api.decide(note, consent_api.headers("clinician", "dr-cy"))
    assert outside_read["decision"] == inside_read["decision"] == "permit"

    [item] = register(consent_api, client)["items"]

    assert item["disclosure"]["decision_id"] == outside_read["decision_id"]
    assert item["disclosure"]["information"]["resource_type"] == "psychotherapy_note"
    assert item["disclosure"]["accountable"] is False


def test_a_privacy_officer_enters_a_disclosure_made_elsewhere(consent_api: ConsentApi) -> None:
    client = new_client()
    body = manual_disclosure_body(consent_api.clock)

    response = consent_api.http.post(
        f"/v1/clients/{client}/disclosures", json=body, headers=consent_api.officer()
    )

    assert response.status_code == 201, response.text
    entered = response.json()
    assert response.headers["location"] == f"/v1/clients/{client}/disclosures/{entered['id']}"
    assert response.headers["etag"] == '"1"'
    assert (entered["date"], entered["recipient"], entered["description"]) == (
        body["date"], {"id": None, **body["recipient"]}, body["description"])  # fmt: skip
    assert (entered["purpose"], entered["accountable"], entered["basis"]) == (
        body["purpose"],
        True,
        "subpoena",
    )
    assert (entered["source"], entered["recorded_by"], entered["information"]) == ("manual", "po-1", None)
    again = consent_api.http.get(response.headers["location"], headers=consent_api.officer())
    assert again.json() == entered
    [item] = register(consent_api, client, accountable_only="true")["items"]
    assert item == {"disclosure": entered, "count": 1, "last_date": body["date"]}


def test_repeated_disclosures_to_one_recipient_for_one_purpose_are_summarized(
    consent_api: ConsentApi,
) -> None:
    client, clock = new_client(), consent_api.clock
    court = [enter(consent_api, client, manual_disclosure_body(clock, days_ago=d)) for d in (300, 200, 100)]
    spelled = {"name": "  clerk of the COUNTY court ", "address": "1 Court Square, Springfield"}
    enter(consent_api, client, manual_disclosure_body(clock, days_ago=50, recipient=spelled))
    other_purpose = manual_disclosure_body(clock, days_ago=250, purpose={"text": "Audit", "code": "HCOMPL"})
    enter(consent_api, client, other_purpose)
    other_recipient = {"name": "State licensing board"}
    board = enter(consent_api, client, manual_disclosure_body(clock, days_ago=150, recipient=other_recipient))
    consent_api.grant(disclosure_body(client, clock))
    reads = [integrator_reads(consent_api, client) for _ in range(3)]

    items = register(consent_api, client)["items"]

    summary = {(i["disclosure"]["recipient"]["name"], i["disclosure"]["purpose"]["code"]): i for i in items}
    repeated = summary[("Clerk of the County Court", "HLEGAL")]
    assert repeated["disclosure"]["id"] == court[0]["id"]  # the first, in full
    assert (repeated["count"], repeated["last_date"]) == (4, days_ago(consent_api, 50))
    assert summary[("Clerk of the County Court", "HCOMPL")]["count"] == 1
    assert summary[("State licensing board", "HLEGAL")]["disclosure"] == board
    automatic = summary[("Acme Health", "TREAT")]
    assert (automatic["count"], automatic["disclosure"]["id"]) == (3, reads[0]["decision_id"])
    assert [i["disclosure"]["date"] for i in items] == sorted(i["disclosure"]["date"] for i in items)
    accountable = register(consent_api, client, accountable_only="true")["items"]
    assert {i["disclosure"]["purpose"]["code"] for i in accountable} == {"HLEGAL", "HCOMPL"}


def test_the_register_covers_the_last_six_years_unless_asked(consent_api: ConsentApi) -> None:
    client, clock = new_client(), consent_api.clock
    today = clock.now.date()
    six_years_ago = today.replace(year=today.year - 6)
    for day in (six_years_ago + timedelta(days=1), six_years_ago, six_years_ago - timedelta(days=400)):
        enter(consent_api, client, manual_disclosure_body(clock, days_ago=(today - day).days))

    default = register(consent_api, client)

    assert default["period"] == {
        "start": (six_years_ago + timedelta(days=1)).isoformat(),
        "end": today.isoformat(),
    }
    assert [i["disclosure"]["date"] for i in default["items"]] == [
        (six_years_ago + timedelta(days=1)).isoformat()
    ]
    everything = register(consent_api, client, **{"from": "2000-01-01"})
    assert everything["items"][0]["count"] == 3
    narrow = register(
        consent_api, client, **{"from": six_years_ago.isoformat(), "to": six_years_ago.isoformat()}
    )
    assert [i["disclosure"]["date"] for i in narrow["items"]] == [six_years_ago.isoformat()]
    assert narrow["period"] == {"start": six_years_ago.isoformat(), "end": six_years_ago.isoformat()}


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"from": "2026-02-30"}, ("query", "from")),
        ({"from": "yesterday"}, ("query", "from")),
        ({"to": "2026-01-01T00:00:00Z"}, ("query", "to")),
        ({"from": "2025-06-02", "to": "2025-06-01"}, ("query", "from")),
        ({"from": "2999-01-01"}, ("query", "from")),  # after today, the default end
        ({"accountable_only": "maybe"}, ("query", "accountable_only")),
    ],
)
def test_bad_queries_are_validation_problems(
    consent_api: ConsentApi, params: dict[str, str], loc: tuple[str, ...]
) -> None:
    response = consent_api.http.get(
        f"/v1/clients/{new_client()}/disclosures", params=params, headers=consent_api.officer()
    )
    assert_validation(response, loc)


def test_a_client_id_that_is_not_a_uuid_is_a_validation_problem(consent_api: ConsentApi) -> None:
    officer = consent_api.officer()
    for response in (
        consent_api.http.get("/v1/clients/not-a-uuid/disclosures", headers=officer),
        consent_api.http.post(
            "/v1/clients/12345/disclosures", json=manual_disclosure_body(consent_api.clock), headers=officer
        ),
        consent_api.http.get(f"/v1/clients/{new_client()}/disclosures/x", headers=officer),
    ):
        assert_validation(response)


@pytest.mark.parametrize(
    ("changes", "loc"),
    [
        ({"tenant": OTHER_TENANT}, ("body", "tenant")),
        ({"recipient": {"name": "Court", "phone": "555"}}, ("body", "recipient", "phone")),
        ({"recipient": {"name": "   "}}, ("body", "recipient", "name")),
        ({"purpose": {"text": "legal", "code": "LAWSUIT"}}, ("body", "purpose", "code")),
        ({"date": "2026-02-30"}, ("body", "date")),
        ({"date": "2026-01-01T00:00:00Z"}, ("body", "date")),
        ({"description": None}, ("body", "description")),
        ({"accountable": "perhaps"}, ("body", "accountable")),
    ],
)
def test_bad_bodies_are_validation_problems_and_nothing_is_entered(
    consent_api: ConsentApi, changes: dict[str, Any], loc: tuple[str, ...]
) -> None:
    client = new_client()
    body = {
        k: v for k, v in {**manual_disclosure_body(consent_api.clock), **changes}.items() if v is not None
    }
    response = consent_api.http.post(
        f"/v1/clients/{client}/disclosures", json=body, headers=consent_api.officer()
    )
    assert_validation(response, loc)
    assert register(consent_api, client)["items"] == []


@pytest.mark.parametrize(
    ("changes", "loc", "says"),
    [
        ({"date": "2999-01-01"}, ("body", "date"), "future"),
        ({"accountable": False, "basis": None}, ("body", "basis"), "164.528(a)(1)"),
    ],
)
def test_disclosures_the_domain_refuses_are_named(
    consent_api: ConsentApi, changes: dict[str, Any], loc: tuple[str, ...], says: str
) -> None:
    client = new_client()
    body = {
        k: v for k, v in {**manual_disclosure_body(consent_api.clock), **changes}.items() if v is not None
    }
    response = consent_api.http.post(
        f"/v1/clients/{client}/disclosures", json=body, headers=consent_api.officer()
    )
    problem = assert_problem(response, 422, "validation", title="Invalid disclosure", error_locs={loc})
    assert says in problem["errors"][0]["msg"]
    assert register(consent_api, client)["items"] == []


def test_only_privacy_officers_enter_disclosures(consent_api: ConsentApi) -> None:
    client = new_client()
    body = manual_disclosure_body(consent_api.clock)
    for headers in (
        consent_api.client(client),
        consent_api.auditor(),
        consent_api.headers("clinician", "dr-ada"),
        consent_api.headers("integrator", INTEGRATOR),
        consent_api.headers("admin", "admin-1"),
    ):
        response = consent_api.http.post(f"/v1/clients/{client}/disclosures", json=body, headers=headers)
        assert_problem(response, 403, "forbidden")
    assert register(consent_api, client)["items"] == []


def test_who_reads_the_register(consent_api: ConsentApi) -> None:
    client = new_client()
    entered = enter(consent_api, client, manual_disclosure_body(consent_api.clock))
    one = f"/v1/clients/{client}/disclosures/{entered['id']}"
    for headers in (consent_api.officer(), consent_api.auditor(), consent_api.client(client)):
        assert register(consent_api, client, headers)["items"][0]["disclosure"] == entered
        assert consent_api.http.get(one, headers=headers).status_code == 200
    for headers in (
        consent_api.client(new_client()),
        consent_api.headers("clinician", "dr-ada"),
        consent_api.headers("supervisor", "dr-sue"),
        consent_api.headers("integrator", INTEGRATOR),
        consent_api.headers("admin", "admin-1"),
    ):
        assert_problem(
            consent_api.http.get(f"/v1/clients/{client}/disclosures", headers=headers), 403, "forbidden"
        )
        assert_problem(consent_api.http.get(one, headers=headers), 403, "forbidden")


def test_every_read_of_the_register_is_a_logged_decision(consent_api: ConsentApi) -> None:
    client = new_client()
    register(consent_api, client, consent_api.client(client))
    consent_api.http.get(f"/v1/clients/{client}/disclosures", headers=consent_api.client(new_client()))

    log = consent_api.http.get("/v1/access-log", params={"client_id": client}, headers=consent_api.auditor())

    entries = [(e["rule"], e["outcome"], e["action"], e["resource"]["type"]) for e in log.json()["items"]]
    assert entries == [
        ("disclosure-register", "permit", "read", "disclosure"),
        ("disclosure-register", "deny", "read", "disclosure"),
    ]


def test_another_tenants_register_is_out_of_reach(consent_api: ConsentApi) -> None:
    client = new_client()
    entered = enter(consent_api, client, manual_disclosure_body(consent_api.clock))
    theirs = consent_api.officer(OTHER_TENANT)
    assert register(consent_api, client, theirs)["items"] == []
    one = consent_api.http.get(f"/v1/clients/{client}/disclosures/{entered['id']}", headers=theirs)
    assert_problem(one, 404, "not-found")
    other_client = consent_api.http.get(
        f"/v1/clients/{new_client()}/disclosures/{entered['id']}", headers=consent_api.officer()
    )
    assert_problem(other_client, 404, "not-found")


def test_the_register_holds_no_record_text(consent_api: ConsentApi) -> None:
    """Auditors read ids, codes, dates and the officer's entries; never a consent's or break-glass's text."""
    client, clock = new_client(), consent_api.clock
    secret = "SECRET-4711 detox at St Mary's"
    consent_api.grant(disclosure_body(client, clock, description=secret))
    consent_api.break_glass(client, "dr-bob", reason=secret)
    consent_api.decide(read_episode(client), consent_api.headers("clinician", "dr-bob"))
    integrator_reads(consent_api, client)
    response = consent_api.http.get(f"/v1/clients/{client}/disclosures", headers=consent_api.auditor())
    assert response.status_code == 200 and len(response.json()["items"]) == 1
    assert "SECRET-4711" not in response.text
