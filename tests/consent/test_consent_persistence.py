"""The core flow on both recorders (SQLite, the embedded default, and PostgreSQL), and what survives a
restart: consents, their revocation, break-glass and its review, the index decisions read, and the
disclosure register."""

from __future__ import annotations

from pathlib import Path

from tests.support import Database
from tests.support.consent import (
    INTEGRATOR,
    ConsentApi,
    MutableClock,
    consent_settings,
    disclosure_body,
    manual_disclosure_body,
    new_client,
    part2_body,
    period,
    read_episode,
    running_consent,
)


def decide(api: ConsentApi, client_id: str) -> dict[str, object]:
    body = read_episode(client_id, resource={"labels": ["SUD"]})
    return api.decide(body, api.headers("integrator", INTEGRATOR))


def test_grant_decide_revoke_decide(database: Database, tmp_path: Path, clock: MutableClock) -> None:
    with running_consent(consent_settings(database, tmp_path), clock) as api:
        client_id = new_client()
        assert decide(api, client_id)["decision"] == "deny"
        general = api.grant(disclosure_body(client_id, clock))
        part2 = api.grant(part2_body(client_id, clock, period=period(clock, end_days=1)))

        permitted = decide(api, client_id)
        assert (permitted["decision"], permitted["consents"]) == ("permit", [general["id"], part2["id"]])
        assert permitted["obligations"]["redact_labels"] == []  # type: ignore[index]
        clock.advance(days=1)
        assert decide(api, client_id)["obligations"]["redact_labels"] == ["SUD"]  # type: ignore[index]

        assert api.revoke(general["id"]).status_code == 200
        denied = decide(api, client_id)
        assert (denied["decision"], denied["consents"]) == ("deny", [])


def test_break_glass_and_its_review_on_each_database(
    database: Database, tmp_path: Path, clock: MutableClock
) -> None:
    with running_consent(consent_settings(database, tmp_path), clock) as api:
        client_id = new_client()
        grant = api.break_glass(client_id, "dr-bob", minutes=15)
        other = api.break_glass(new_client(), "dr-cy")
        under = read_episode(client_id, facts={"care_team": ["dr-ada"]})
        assert api.decide(under, api.headers("clinician", "dr-bob"))["break_glass_id"] == grant["id"]
        clock.advance(minutes=15)
        assert api.decide(under, api.headers("clinician", "dr-bob"))["decision"] == "deny"

        review = {"outcome": "unjustified", "note": "not an emergency"}
        path = f"/v1/break-glass/{grant['id']}/review"
        assert api.http.post(path, json=review, headers=api.officer()).status_code == 200
        waiting = api.http.get("/v1/break-glass", headers=api.officer()).json()["items"]
        assert [item["id"] for item in waiting] == [other["id"]]


def test_everything_survives_a_restart(database: Database, tmp_path: Path, clock: MutableClock) -> None:
    settings = consent_settings(database, tmp_path)
    client_id = new_client()
    with running_consent(settings, clock) as api:
        kept = api.grant(disclosure_body(client_id, clock))
        revoked = api.grant(disclosure_body(client_id, clock))
        assert api.revoke(revoked["id"]).status_code == 200
        grant = api.break_glass(client_id, "dr-bob")

    with running_consent(settings, clock) as api:
        listing = api.http.get("/v1/consents", params={"client_id": client_id}, headers=api.officer())
        statuses = {item["id"]: item["status"] for item in listing.json()["items"]}
        assert statuses == {kept["id"]: "active", revoked["id"]: "revoked"}
        assert decide(api, client_id)["consents"] == [kept["id"]]
        queue = api.http.get("/v1/break-glass", headers=api.officer()).json()["items"]
        assert [item["id"] for item in queue] == [grant["id"]]
        assert api.app.index.migrate() == []  # type: ignore[attr-defined]  # applied once, at the first start


def test_the_disclosure_register_on_each_database(
    database: Database, tmp_path: Path, clock: MutableClock
) -> None:
    settings = consent_settings(database, tmp_path)
    client_id = new_client()
    with running_consent(settings, clock) as api:
        api.grant(disclosure_body(client_id, clock))
        permit = decide(api, client_id)
        path = f"/v1/clients/{client_id}/disclosures"
        entered = api.http.post(path, json=manual_disclosure_body(clock, days_ago=3), headers=api.officer())
        assert entered.status_code == 201, entered.text

    with running_consent(settings, clock) as api:
        items = api.http.get(path, headers=api.officer()).json()["items"]
        assert [i["disclosure"]["id"] for i in items] == [entered.json()["id"], permit["decision_id"]]
        accountable = api.http.get(path, params={"accountable_only": "true"}, headers=api.officer()).json()
        assert [i["disclosure"]["id"] for i in accountable["items"]] == [entered.json()["id"]]
        today = clock.now.date().isoformat()
        only_today = api.http.get(path, params={"from": today}, headers=api.officer()).json()
        assert [i["disclosure"]["source"] for i in only_today["items"]] == ["decision"]
