"""The default policy of DESIGN.md for clinicians, supervisors and clients, applied in-process.

Every other role is refused for clinical data until the consent service decides for them. Read the
table top to bottom: the first rule whose condition holds decides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from services.records.application.access import AccessRequest, Decision

PSYCHOTHERAPY_NOTES = "PSYTHPN"


@dataclass(frozen=True)
class Rule:
    name: str
    applies: Callable[[AccessRequest], bool]
    permit: bool
    reason: str


def _is(role: str) -> Callable[[AccessRequest], bool]:
    return lambda r: role in r.actor.roles


def _directory_read(r: AccessRequest) -> bool:
    return r.resource.type == "practitioner" and r.action == "read"


def _directory_write(r: AccessRequest) -> bool:
    return r.resource.type == "practitioner" and "admin" in r.actor.roles


def _psychotherapy_notes(r: AccessRequest) -> bool:
    return PSYCHOTHERAPY_NOTES in r.resource.labels


def _clinician_registers_client(r: AccessRequest) -> bool:
    return "clinician" in r.actor.roles and r.resource.type == "client" and r.action == "create"


def _clinician_on_care_team(r: AccessRequest) -> bool:
    return "clinician" in r.actor.roles and r.actor.sub in r.care_team and r.purpose_of_use == "TREAT"


def _supervisor_reads(r: AccessRequest) -> bool:
    return (
        "supervisor" in r.actor.roles
        and r.action == "read"
        and r.actor.sub in r.care_team_supervisors
        and r.purpose_of_use == "TREAT"
    )


def _client_reads_own(r: AccessRequest) -> bool:
    return (
        "client" in r.actor.roles
        and r.action == "read"
        and r.client_id is not None
        and r.actor.client_id == r.client_id
    )


POLICY: tuple[Rule, ...] = (
    Rule("directory-read", _directory_read, True, "members of the practice may read its directory"),
    Rule("directory-admin", _directory_write, True, "admins keep the practitioner directory"),
    Rule(
        "directory-closed",
        lambda r: r.resource.type == "practitioner",
        False,
        "only admins change the practitioner directory",
    ),
    Rule(
        "psychotherapy-notes", _psychotherapy_notes, False, "psychotherapy notes are not part of the record"
    ),
    Rule(
        "clinician-registers-client",
        _clinician_registers_client,
        True,
        "clinicians register the clients they treat",
    ),
    Rule("care-team", _clinician_on_care_team, True, "clinician on the care team, for treatment"),
    Rule("supervision", _supervisor_reads, True, "supervisor of a care-team clinician"),
    Rule("own-record", _client_reads_own, True, "clients read their own record"),
)
DEFAULT_DENY = "no rule of the default policy permits this access"


class LocalAccessPolicy:
    """The in-process :class:`~services.records.application.access.AccessGate`."""

    def decide(self, request: AccessRequest) -> Decision:
        for rule in POLICY:
            if rule.applies(request):
                return Decision(rule.permit, rule.reason, rule.name)
        return Decision(False, DEFAULT_DENY, "default-deny")
