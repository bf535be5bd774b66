"""Access-log entries as FHIR R4B AuditEvents, shaped after IHE's Basic Audit Log Patterns (BALP).

Each entry is one AuditEvent (its id the decision's): type ``rest`` (audit-event-type), subtype the FHIR
restful interaction of the action (``read``, ``create``, ``update``; a read of no one resource is a
``search-type``, as BALP's Query pattern has it), action R/C/U (E for a search), outcome 0 (permit) or 4
(deny) with the policy's reason, purposeOfEvent the HL7 PurposeOfUse. Agents: the actor (the requestor;
an integrator as an application, anyone else as the information recipient) and the consent service that
decided (an authorization server), which is also the observer. Entities: the client (role Patient), the
resource with its sensitivity labels and the decision's id, sequence number, rule and break-glass, and the
consents relied on. Ids, codes and reasons only: an entry holds no clinical content.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from fhir.resources.R4B.auditevent import (
    AuditEvent,
    AuditEventAgent,
    AuditEventEntity,
    AuditEventEntityDetail,
    AuditEventSource,
)
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.reference import Reference

from contracts.consent_v1 import PURPOSE_DISPLAY

AUDIT_EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
RESTFUL_INTERACTION = "http://hl7.org/fhir/restful-interaction"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
DICOM = "http://dicom.nema.org/resources/ontology/DCM"
SECURITY_ROLE_TYPE = "http://terminology.hl7.org/CodeSystem/extra-security-role-type"
SECURITY_SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
RESOURCE_TYPES = "http://hl7.org/fhir/resource-types"
# Touchstone's own identifier systems: token subs, client ids, resource ids by type, roles, services.
ACTOR_SYSTEM = "urn:touchstone:actor"
CLIENT_SYSTEM = "urn:touchstone:client"
RESOURCE_SYSTEM = "urn:touchstone:resource:"
CONSENT_SYSTEM = "urn:touchstone:resource:consent"
ROLE_SYSTEM = "urn:touchstone:role"
SERVICE_SYSTEM = "urn:touchstone:service"

# Touchstone's action -> (FHIR restful interaction, AuditEvent.action)
INTERACTIONS = {
    "read": ("read", "R"),
    "create": ("create", "C"),
    "write": ("update", "U"),
    "cosign": ("update", "U"),
    "return": ("update", "U"),
}
SEARCH = ("search-type", "E")
REST = Coding(system=AUDIT_EVENT_TYPE, code="rest", display="Restful Operation")
PERSON = Coding(system=ENTITY_TYPE, code="1", display="Person")
PATIENT = Coding(system=OBJECT_ROLE, code="1", display="Patient")
SYSTEM_OBJECT = Coding(system=ENTITY_TYPE, code="2", display="System Object")
DOMAIN_RESOURCE = Coding(system=OBJECT_ROLE, code="4", display="Domain Resource")
CONSENT = Coding(system=RESOURCE_TYPES, code="Consent", display="Consent")
OUTCOMES = {"permit": "0", "deny": "4"}  # success; minor failure (the request was refused)


def audit_event(entry: dict[str, Any]) -> AuditEvent:
    interaction, action = _interaction(entry)
    return AuditEvent(
        id=entry["decision_id"],
        type=REST,
        subtype=[_subtype(interaction)],
        action=action,
        recorded=entry["time"],
        outcome=OUTCOMES[entry["outcome"]],
        outcomeDesc=entry["reason"],
        purposeOfEvent=[_purpose(entry["purpose_of_use"])],
        agent=[_actor(entry), _decider(entry["service"])],
        source=_source(entry["tenant"], entry["service"]),
        entity=_entities(entry),
    )


def _interaction(entry: dict[str, Any]) -> tuple[str, str]:
    if entry["action"] == "read" and entry["resource"]["id"] is None:
        return SEARCH
    return INTERACTIONS.get(entry["action"], ("update", "U"))


# Codings, agents and sources recur in every entry: each is built (and validated) once. The models are
# never changed after they are built, so sharing them between AuditEvents is safe.
@cache
def _concept(system: str, code: str, display: str | None = None) -> CodeableConcept:
    return CodeableConcept(coding=[Coding(system=system, code=code, display=display)])


@cache
def _subtype(interaction: str) -> Coding:
    return Coding(system=RESTFUL_INTERACTION, code=interaction, display=interaction)


@cache
def _purpose(code: str) -> CodeableConcept:
    return _concept(ACT_REASON, code, PURPOSE_DISPLAY.get(code))


@cache
def _source(tenant: str, service: str) -> AuditEventSource:
    return AuditEventSource(
        site=tenant,
        observer=_service(service),
        type=[Coding(system=SECURITY_SOURCE_TYPE, code="6", display="Security Server")],
    )


def _actor(entry: dict[str, Any]) -> AuditEventAgent:
    roles = entry["roles"]
    display = entry["facts"].get("actor_display")
    if "integrator" in roles:
        kind = _concept(DICOM, "110150", "Application")
    else:
        kind = _concept(PARTICIPATION_TYPE, "IRCP", "information recipient")
    return AuditEventAgent(
        type=kind,
        role=[_concept(ROLE_SYSTEM, role) for role in roles] or None,
        who=Reference(identifier=Identifier(system=ACTOR_SYSTEM, value=entry["actor"]), display=display),
        altId=entry["actor_client_id"],
        name=display,
        requestor=True,
        purposeOfUse=[_purpose(entry["purpose_of_use"])],
    )


@cache
def _decider(service: str) -> AuditEventAgent:
    return AuditEventAgent(
        type=_concept(SECURITY_ROLE_TYPE, "authserver", "Authorization Server"),
        who=_service(service),
        requestor=False,
    )


@cache
def _service(name: str) -> Reference:
    return Reference(identifier=Identifier(system=SERVICE_SYSTEM, value=name), display=f"Touchstone {name}")


@cache
def _label(code: str) -> Coding:
    return Coding(system=ACT_CODE, code=code)


def _entities(entry: dict[str, Any]) -> list[AuditEventEntity]:
    entities = []
    if entry["client_id"] is not None:
        entities.append(
            AuditEventEntity(
                what=Reference(identifier=Identifier(system=CLIENT_SYSTEM, value=entry["client_id"])),
                type=PERSON,
                role=PATIENT,
            )
        )
    entities.append(_resource(entry))
    entities += [
        AuditEventEntity(
            what=Reference(identifier=Identifier(system=CONSENT_SYSTEM, value=consent), type="Consent"),
            type=CONSENT,
        )
        for consent in entry["consents"]
    ]
    return entities


def _resource(entry: dict[str, Any]) -> AuditEventEntity:
    resource = entry["resource"]
    what = None
    if resource["id"] is not None:
        what = Reference(
            identifier=Identifier(system=RESOURCE_SYSTEM + resource["type"], value=resource["id"])
        )
    details = {
        "decision_id": entry["decision_id"],
        "seq": str(entry["seq"]),
        "rule": entry["rule"],
        "break_glass_id": entry["break_glass_id"],
        "categories": " ".join(resource["categories"]) or None,
    }
    return AuditEventEntity(
        what=what,
        type=SYSTEM_OBJECT,
        role=DOMAIN_RESOURCE,
        name=resource["type"],
        securityLabel=[_label(label) for label in resource["labels"]] or None,
        detail=[AuditEventEntityDetail(type=k, valueString=v) for k, v in details.items() if v is not None],
    )
