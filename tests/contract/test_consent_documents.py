"""The consent service's response documents (rendered by hand in render.py) are exactly the contract's
response models in contracts/consent_v1.py: every declared field present and valid, nothing undeclared.

The documents exercised fill every optional part at least once (signer with a representative, evidence,
revocation, obligations with the redisclosure notice, a break-glass decision, a review, disclosures entered
by hand and registered from decisions, summaries, the access report's pages).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from contracts import consent_v1 as wire
from contracts.records_v1 import Page
from tests.support.consent import (
    INTEGRATOR,
    ConsentApi,
    MutableClock,
    disclosure_body,
    manual_disclosure_body,
    new_client,
    part2_body,
    psychotherapy_notes_body,
    read_episode,
    treatment_body,
)


def conforms(model: type[BaseModel], document: Any) -> None:
    """Validates, and refuses fields the model does not declare at any depth (responses ignore them)."""
    declared = model.model_validate(document).model_dump(mode="json")
    assert undeclared(document, declared) == [], undeclared(document, declared)


def undeclared(document: Any, declared: Any, path: str = "") -> list[str]:
    """Paths of the document's keys that the validated model does not have."""
    if isinstance(document, dict) and isinstance(declared, dict):
        pairs = [(f"{path}.{key}", value, declared.get(key, _MISSING)) for key, value in document.items()]
    elif isinstance(document, list) and isinstance(declared, list):
        pairs = [(f"{path}[{i}]", item, declared[i]) for i, item in enumerate(document)]
    else:
        return []
    found = [where for where, _, model in pairs if model is _MISSING]
    return found + [deeper for where, value, model in pairs for deeper in undeclared(value, model, where)]


_MISSING = object()


def test_consent_documents_conform(consent_api: ConsentApi, clock: MutableClock) -> None:
    client_id = new_client()
    representative = {"signer": {"role": "personal_representative", "representative_id": "rep-7"}}
    bodies = [
        treatment_body(client_id, clock),
        disclosure_body(client_id, clock, **representative),
        part2_body(client_id, clock),
        psychotherapy_notes_body(client_id, clock),
    ]
    granted = [consent_api.grant(body) for body in bodies]
    revoked = consent_api.revoke(granted[0]["id"]).json()
    officer = consent_api.officer()

    for document in [*granted, revoked]:
        conforms(wire.Consent, document)
    assert revoked["revocation"] is not None and granted[1]["signer"]["representative_id"] == "rep-7"
    conforms(wire.Consent, consent_api.http.get(f"/v1/consents/{granted[2]['id']}", headers=officer).json())
    listing = consent_api.http.get(
        "/v1/consents", params={"client_id": client_id, "limit": 2}, headers=officer
    )
    conforms(Page[wire.Consent], listing.json())
    assert listing.json()["next_cursor"] is not None


def test_decision_documents_conform(consent_api: ConsentApi, clock: MutableClock) -> None:
    client_id = new_client()
    consent_api.grant(disclosure_body(client_id, clock))
    consent_api.grant(part2_body(client_id, clock))
    consent_api.break_glass(client_id, "dr-bob")
    labelled = read_episode(client_id, resource={"labels": ["SUD", "HIV"], "categories": ["notes"]})

    permit = consent_api.decide(labelled, consent_api.headers("integrator", INTEGRATOR))
    deny = consent_api.decide(read_episode(new_client()), consent_api.headers("integrator", INTEGRATOR))
    emergency = consent_api.decide(read_episode(client_id), consent_api.headers("clinician", "dr-bob"))

    for document in (permit, deny, emergency):
        conforms(wire.Decision, document)
    assert permit["obligations"]["redisclosure_notice"] == wire.PART2_REDISCLOSURE_NOTICE
    assert deny["decision"] == "deny" and emergency["break_glass_id"] is not None


def test_break_glass_documents_conform(consent_api: ConsentApi, clock: MutableClock) -> None:
    invoked = consent_api.break_glass(new_client(), "dr-bob")
    consent_api.break_glass(new_client(), "dr-cy")
    officer = consent_api.officer()
    review = {"outcome": "unjustified", "note": "no emergency on record"}
    reviewed = consent_api.http.post(f"/v1/break-glass/{invoked['id']}/review", json=review, headers=officer)
    clock.advance(hours=1)

    conforms(wire.BreakGlass, invoked)
    conforms(wire.BreakGlass, reviewed.json())
    conforms(
        wire.BreakGlass, consent_api.http.get(f"/v1/break-glass/{invoked['id']}", headers=officer).json()
    )
    queue = consent_api.http.get("/v1/break-glass", params={"status": "all", "limit": 1}, headers=officer)
    conforms(Page[wire.BreakGlass], queue.json())
    assert reviewed.json()["review"] is not None and queue.json()["next_cursor"] is not None


def test_register_and_report_documents_conform(consent_api: ConsentApi, clock: MutableClock) -> None:
    client_id = new_client()
    consent_api.grant(disclosure_body(client_id, clock))
    for _ in range(2):  # repeated: one summarized item
        consent_api.decide(read_episode(client_id), consent_api.headers("integrator", INTEGRATOR))
    consent_api.break_glass(client_id, "dr-bob")
    ada = read_episode(client_id, facts={"care_team": ["dr-ada"], "actor_display": "Ada Lovelace"})
    consent_api.decide(ada, consent_api.headers("clinician", "dr-ada"))
    path = f"/v1/clients/{client_id}/disclosures"
    entered = consent_api.http.post(path, json=manual_disclosure_body(clock), headers=consent_api.officer())
    unaccountable = manual_disclosure_body(
        clock, accountable=False, basis="authorization", recipient={"name": "X"}
    )
    consent_api.http.post(path, json=unaccountable, headers=consent_api.officer())

    conforms(wire.Disclosure, entered.json())
    conforms(
        wire.Disclosure,
        consent_api.http.get(entered.headers["location"], headers=consent_api.officer()).json(),
    )
    register = consent_api.http.get(path, headers=consent_api.auditor()).json()
    conforms(wire.DisclosureRegister, register)
    assert {item["count"] for item in register["items"]} == {1, 2}
    report = consent_api.http.get(
        f"/v1/clients/{client_id}/access-report", params={"limit": 3}, headers=consent_api.client(client_id)
    ).json()
    conforms(wire.AccessReport, report)
    assert report["next_cursor"] is not None
    log = consent_api.http.get("/v1/access-log", headers=consent_api.auditor()).json()
    conforms(Page[wire.AccessLogEntry], log)
    assert any(entry["facts"]["actor_display"] == "Ada Lovelace" for entry in log["items"])
