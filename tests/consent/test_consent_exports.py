"""The access log exported as CSV and as a FHIR R4B Bundle of AuditEvents (IHE BALP), streamed: every entry
present, the main fields right, each AuditEvent valid under the R4B models, and no clinical content."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from fhir.resources.R4B.auditevent import AuditEvent
from fhir.resources.R4B.bundle import Bundle

from services.consent.api.exports import CSV_COLUMNS
from tests.support.api_checks import assert_problem, assert_validation
from tests.support.consent import (
    INTEGRATOR,
    ConsentApi,
    disclosure_body,
    new_client,
    part2_body,
    read_episode,
)

ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
RESTFUL = "http://hl7.org/fhir/restful-interaction"
BREAK_GLASS_REASON = "REASON-TEXT-4242 collapsed in the waiting room"


def export(api: ConsentApi, fmt: str, **params: Any) -> bytes:
    response = api.http.get("/v1/access-log/export", params={"format": fmt, **params}, headers=api.auditor())
    assert response.status_code == 200, response.text
    media = {"csv": "text/csv", "fhir": "application/fhir+json", "ndjson": "application/x-ndjson"}[fmt]
    assert response.headers["content-type"].startswith(media)
    return response.content


def seed(api: ConsentApi) -> dict[str, Any]:
    """A permit under consent (with SUD redacted), a deny, a care-team write, a break-glass read."""
    client = new_client()
    consent = api.grant(disclosure_body(client, api.clock))
    api.grant(part2_body(client, api.clock))
    labelled = read_episode(client, resource={"labels": ["SUD", "HIV"], "categories": ["episodes"]})
    headers = {**api.headers("integrator", INTEGRATOR), "X-Request-ID": "req-export-1"}
    permit = api.decide(labelled, headers)
    deny = api.decide(read_episode(new_client()), api.headers("integrator", INTEGRATOR))
    write = {
        "client_id": client,
        "action": "write",
        "resource": {"type": "episode", "id": "ep-9", "categories": ["goals"]},
        "facts": {"care_team": ["dr-ada"], "actor_display": "Dr Ada Lovelace"},
    }
    wrote = api.decide(write, api.headers("clinician", "dr-ada"))
    glass = api.break_glass(client, "dr-bob", reason=BREAK_GLASS_REASON)
    emergency = api.decide(read_episode(client), api.headers("clinician", "dr-bob"))
    return {"client": client, "consent": consent, "permit": permit, "deny": deny, "write": wrote,
            "glass": glass, "emergency": emergency}  # fmt: skip


def test_the_csv_has_one_row_per_entry_with_the_main_fields(consent_api: ConsentApi) -> None:
    seen = seed(consent_api)
    ndjson = [json.loads(line) for line in export(consent_api, "ndjson").splitlines()]

    rows = list(csv.DictReader(io.StringIO(export(consent_api, "csv").decode())))

    assert tuple(rows[0]) == CSV_COLUMNS
    assert [int(r["seq"]) for r in rows] == list(range(len(ndjson) + 1))  # and the CSV export's own read
    assert rows[-1]["rule"] == "access-log"
    by_id = {r["decision_id"]: r for r in rows}
    permit = by_id[seen["permit"]["decision_id"]]
    assert {k: permit[k] for k in ("actor", "roles", "client_id", "action", "resource_type", "purpose_of_use",
                                   "outcome", "rule", "request_id", "labels", "redact_labels")} == {
        "actor": INTEGRATOR, "roles": "integrator", "client_id": seen["client"], "action": "read",
        "resource_type": "episode", "purpose_of_use": "TREAT", "outcome": "permit",
        "rule": "consented-disclosure", "request_id": "req-export-1", "labels": "HIV SUD",
        "redact_labels": "HIV",
    }  # fmt: skip
    assert permit["reason"] == seen["permit"]["reason"]
    assert set(permit["consents"].split()) == set(seen["permit"]["consents"])
    assert by_id[seen["deny"]["decision_id"]]["outcome"] == "deny"
    assert by_id[seen["write"]["decision_id"]]["actor_display"] == "Dr Ada Lovelace"
    assert by_id[seen["emergency"]["decision_id"]]["break_glass_id"] == seen["glass"]["id"]
    ids = {r["decision_id"]: r["time"] for r in rows}
    assert all(ids[e["decision_id"]] == e["time"] for e in ndjson)
    assert BREAK_GLASS_REASON.split()[0].encode() not in export(consent_api, "csv")


def test_csv_cells_a_spreadsheet_would_run_are_neutralized(consent_api: ConsentApi) -> None:
    client = new_client()
    headers = {**consent_api.headers("integrator", "=HYPERLINK(1)"), "X-Request-ID": "-2-3"}
    consent_api.decide(read_episode(client), headers)

    rows = list(csv.DictReader(io.StringIO(export(consent_api, "csv").decode())))

    [row] = [r for r in rows if r["client_id"] == client]
    assert (row["actor"], row["request_id"]) == ("'=HYPERLINK(1)", "'-2-3")


def test_the_fhir_export_is_a_bundle_of_valid_balp_audit_events(consent_api: ConsentApi) -> None:
    seen = seed(consent_api)
    raw = export(consent_api, "fhir")

    bundle = Bundle.model_validate_json(raw)
    assert bundle.type == "collection"
    entries = bundle.entry or []
    events = {e.resource.id: e.resource for e in entries}
    assert all(isinstance(event, AuditEvent) for event in events.values())
    assert [e.fullUrl for e in entries] == [f"urn:uuid:{i}" for i in events]
    for resource in json.loads(raw)["entry"]:  # each one valid on its own, too
        AuditEvent.model_validate(resource["resource"])
    seqs = [detail(event, "seq") for event in events.values()]
    assert seqs == [str(n) for n in range(len(seqs))]

    permit = events[seen["permit"]["decision_id"]]
    assert (permit.type.system, permit.type.code) == ("http://terminology.hl7.org/CodeSystem/audit-event-type",
                                                      "rest")  # fmt: skip
    assert [(c.system, c.code) for c in permit.subtype] == [(RESTFUL, "read")]
    assert (permit.action, permit.outcome, permit.outcomeDesc) == ("R", "0", seen["permit"]["reason"])
    assert codes(permit.purposeOfEvent) == [(ACT_REASON, "TREAT")]
    actor, decider = permit.agent
    assert (actor.who.identifier.value, actor.requestor) == (INTEGRATOR, True)
    assert codes([actor.type]) == [("http://dicom.nema.org/resources/ontology/DCM", "110150")]
    assert [c.code for role in actor.role for c in role.coding] == ["integrator"]
    assert (decider.requestor, decider.who.identifier.value) == (False, "consent")
    assert permit.source.observer.identifier.value == "consent" and permit.source.site == "practice-a"
    patient, resource, *consents = permit.entity
    assert (patient.what.identifier.value, patient.role.code) == (seen["client"], "1")
    assert (resource.role.code, resource.name) == ("4", "episode")
    assert [(c.system, c.code) for c in resource.securityLabel] == [(ACT_CODE, "HIV"), (ACT_CODE, "SUD")]
    assert detail(permit, "decision_id") == permit.id and detail(permit, "rule") == "consented-disclosure"
    assert {c.what.identifier.value for c in consents} == set(seen["permit"]["consents"])

    deny = events[seen["deny"]["decision_id"]]
    assert (deny.outcome, deny.outcomeDesc) == ("4", seen["deny"]["reason"])
    write = events[seen["write"]["decision_id"]]
    assert ([c.code for c in write.subtype], write.action) == (["update"], "U")
    assert (write.agent[0].name, write.agent[0].who.display) == ("Dr Ada Lovelace", "Dr Ada Lovelace")
    assert codes([write.agent[0].type]) == [("http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                             "IRCP")]  # fmt: skip
    emergency = events[seen["emergency"]["decision_id"]]
    assert detail(emergency, "break_glass_id") == seen["glass"]["id"]
    assert codes(emergency.purposeOfEvent) == [(ACT_REASON, "ETREAT")]
    grant = next(e for e in events.values() if detail(e, "rule") == "break-glass-invoke")
    assert ([c.code for c in grant.subtype], grant.action) == (["create"], "C")
    audit_read = list(events.values())[-1]  # the export's own read of the log: a search
    assert ([c.code for c in audit_read.subtype], audit_read.action) == (["search-type"], "E")
    assert BREAK_GLASS_REASON.split()[0].encode() not in raw


def test_an_empty_range_is_a_bundle_without_entries(consent_api: ConsentApi) -> None:
    consent_api.decide(read_episode(new_client()), consent_api.headers("integrator", INTEGRATOR))
    bundle = Bundle.model_validate_json(export(consent_api, "fhir", start=1, end=1))
    assert bundle.entry is None


def test_exports_page_by_sequence_numbers(consent_api: ConsentApi) -> None:
    for _ in range(5):
        consent_api.decide(read_episode(new_client()), consent_api.headers("integrator", INTEGRATOR))
    bundle = Bundle.model_validate_json(export(consent_api, "fhir", start=1, end=3))
    assert [detail(e.resource, "seq") for e in bundle.entry or []] == ["1", "2"]
    rows = list(csv.DictReader(io.StringIO(export(consent_api, "csv", start=2, end=4).decode())))
    assert [r["seq"] for r in rows] == ["2", "3"]


@pytest.mark.parametrize("fmt", ["csv", "fhir"])
def test_only_auditors_and_privacy_officers_export(consent_api: ConsentApi, fmt: str) -> None:
    others = [consent_api.headers(role, sub) for role, sub in (("clinician", "dr-ada"), ("admin", "a"))]
    others += [consent_api.headers("integrator", INTEGRATOR), consent_api.client(new_client())]
    for headers in others:
        response = consent_api.http.get("/v1/access-log/export", params={"format": fmt}, headers=headers)
        assert_problem(response, 403, "forbidden")
    assert export(consent_api, fmt)


def test_an_unknown_format_is_a_validation_problem(consent_api: ConsentApi) -> None:
    response = consent_api.http.get(
        "/v1/access-log/export", params={"format": "xml"}, headers=consent_api.auditor()
    )
    assert_validation(response, ("query", "format"))


def detail(event: Any, kind: str) -> str | None:
    """The value of the resource entity's detail ``kind``."""
    for entity in event.entity or []:
        for d in entity.detail or []:
            if d.type == kind:
                return str(d.valueString)
    return None


def codes(concepts: Any) -> list[tuple[str, str]]:
    return [(c.system, c.code) for concept in concepts for c in concept.coding]
