"""The default policy of DESIGN.md, written as a table: read top to bottom, the first row that answers
decides.

Each row is one line of the design's "who may" table. A row answers with a :class:`Verdict` (permit or
deny, why, and the obligations of a permit) or passes (``None``) to the rows below it; when no row answers,
access is denied. The inputs are all in :class:`Ask`: who (from the verified token, never the request body),
what, why, the facts the records service owns, and the client's consents and break-glass as they stand at
the moment of the decision (expiry and revocation are evaluated then, not cached).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .ask import Ask, BreakGlassFact, ConsentFact, Verdict
from .directive import PART2_LABELS, PSYCHOTHERAPY_NOTES

__all__ = ["POLICY", "Ask", "BreakGlassFact", "ConsentFact", "Rule", "Verdict", "decide"]

TREAT, ETREAT = "TREAT", "ETREAT"
CLINICAL_RESOURCES = frozenset({"client", "episode", "note", "psychotherapy_note"})
# The category that must be disclosed for a resource to be disclosed at all.
PRIMARY_CATEGORY = {"client": "demographics", "episode": "episodes", "note": "notes"}
CLINICAL_ROLES = frozenset({"clinician", "supervisor", "client", "integrator"})
GENERAL_KINDS = frozenset({"treatment", "disclosure"})


@dataclass(frozen=True)
class Rule:
    name: str
    who: str
    may: str
    answer: Callable[[Ask], Verdict | None] = field(repr=False)


def _permit(rule: str, reason: str, **obligations: Any) -> Verdict:
    return Verdict(True, reason, rule, **obligations)


def _deny(rule: str, reason: str) -> Verdict:
    return Verdict(False, reason, rule)


# --- the rows -------------------------------------------------------------------------------------------
def _directory(a: Ask) -> Verdict | None:
    if a.resource_type != "practitioner":
        return None
    if a.action == "read":
        return _permit("directory", "members of the practice read its directory")
    if a.has("admin"):
        return _permit("directory", "admins keep the practitioner directory")
    return _deny("directory", "only admins change the practitioner directory")


def _consent_directives(a: Ask) -> Verdict | None:
    if a.resource_type != "consent":
        return None
    if a.has("privacy_officer"):
        return _permit("consent-management", "privacy officers manage consents on a client's behalf")
    if _own(a):
        return _permit("consent-management", "clients see, grant and revoke their own consents")
    return _deny("consent-management", "consents are managed by the client or a privacy officer")


def _break_glass_records(a: Ask) -> Verdict | None:
    if a.resource_type != "break_glass":
        return None
    if a.action == "create" and a.has("clinician"):
        return _permit("break-glass-invoke", "clinicians may invoke break-glass, which is always reviewed")
    if a.action in ("read", "write") and a.has("privacy_officer"):
        return _permit("break-glass-review", "privacy officers review break-glass")
    return _deny("break-glass-review", "clinicians invoke break-glass; privacy officers review it")


def _access_log(a: Ask) -> Verdict | None:
    if a.resource_type != "access_log":
        return None
    if a.action == "read" and (a.has("privacy_officer") or a.has("auditor")):
        return _permit("access-log", "privacy officers and auditors read the access log")
    return _deny("access-log", "only privacy officers and auditors read the access log")


def _disclosure_register(a: Ask) -> Verdict | None:
    if a.resource_type != "disclosure":
        return None
    if a.action == "create":
        if a.has("privacy_officer"):
            return _permit(
                "disclosure-register", "privacy officers enter disclosures made outside Touchstone"
            )
        return _deny("disclosure-register", "only privacy officers enter disclosures in the register")
    if a.action == "read" and (a.has("privacy_officer") or a.has("auditor") or _own(a)):
        return _permit("disclosure-register", "the client, privacy officers and auditors read the register")
    return _deny("disclosure-register", "the register is read by the client, privacy officers and auditors")


def _access_report(a: Ask) -> Verdict | None:
    if a.resource_type != "access_report":
        return None
    if a.action == "read" and (a.has("privacy_officer") or _own(a)):
        return _permit("access-report", "clients read their own access report; privacy officers any")
    return _deny("access-report", "a client's access report is read by the client or a privacy officer")


def _psychotherapy_notes(a: Ask) -> Verdict | None:
    if a.resource_type != "psychotherapy_note" and PSYCHOTHERAPY_NOTES not in a.labels:
        return None
    if a.has("client"):
        return _deny("psychotherapy-notes", "psychotherapy notes are not part of the client's record")
    if a.has("clinician") and a.author is not None and a.author == a.actor:
        return _permit("psychotherapy-notes-author", "the author of a psychotherapy note")
    if a.action == "read":
        authorization = _most_recent(_consents_for(a, {"psychotherapy_notes"}))
        if authorization is not None:
            return _permit(
                "psychotherapy-notes-authorization",
                "a psychotherapy-notes authorization names this reader for this purpose",
                consents=(authorization.id,),
            )
    return _deny(
        "psychotherapy-notes",
        "psychotherapy notes are open only to their author and to those a psychotherapy-notes "
        "authorization names (never under break-glass)",
    )


def _amendment_requests(a: Ask) -> Verdict | None:
    """HIPAA 164.526: the client (or a privacy officer for them) asks and disputes; the care team decides.

    Which party takes which step is the records service's to enforce; this row says who takes part.
    """
    if a.resource_type != "amendment_request":
        return None
    if _own(a) and a.action in ("read", "create", "write"):
        return _permit("amendment-request", "clients ask to amend their own record and dispute a denial")
    if a.has("privacy_officer") and a.action in ("read", "create", "write"):
        return _permit("amendment-request", "privacy officers handle amendment requests on a client's behalf")
    care_team = a.has("clinician") and a.actor in a.care_team and a.purpose in (TREAT, ETREAT)
    if care_team and a.action in ("read", "write"):
        return _permit("amendment-request", "the care team accepts, denies and rebuts amendment requests")
    return _deny(
        "amendment-request", "amendment requests are the client's, privacy officers' and the care team's"
    )


def _no_clinical_role(a: Ask) -> Verdict | None:
    if a.resource_type in CLINICAL_RESOURCES and not CLINICAL_ROLES & a.roles:
        return _deny("no-clinical-content", "privacy officers, auditors and admins see no clinical content")
    return None


def _own_record(a: Ask) -> Verdict | None:
    if not (a.has("client") and _own(a)):
        return None
    if a.action == "read":
        return _permit("own-record", "clients read their own record")
    return _deny("own-record", "clients read their record; clinicians write it")


def _registration(a: Ask) -> Verdict | None:
    if a.has("clinician") and a.resource_type == "client" and a.action == "create":
        return _permit("registration", "clinicians register the clients they treat")
    return None


def _care_team(a: Ask) -> Verdict | None:
    if not (a.has("clinician") and a.actor in a.care_team):
        return None
    if a.purpose not in (TREAT, ETREAT):
        return _deny("care-team", "the care team's access is for treatment (TREAT or ETREAT)")
    if a.action in ("read", "create", "write"):
        return _permit("care-team", "clinician on the care team, for treatment")
    return None


def _supervision(a: Ask) -> Verdict | None:
    if not (a.has("supervisor") and a.actor in a.supervisors and a.purpose == TREAT):
        return None
    if a.action == "read" or (a.action in ("cosign", "return") and a.resource_type == "note"):
        return _permit("supervision", "supervisor of a clinician on the care team")
    return None


def _break_glass(a: Ask) -> Verdict | None:
    if not a.has("clinician") or a.action not in ("read", "create", "write"):
        return None
    for grant in a.break_glass:
        if grant.active and grant.actor == a.actor and grant.client_id == a.client_id:
            return _permit(
                "break-glass", "emergency access under break-glass", break_glass_id=grant.id, purpose=ETREAT
            )
    return None


def _off_care_team(a: Ask) -> Verdict | None:
    if a.has("clinician") and a.resource_type in CLINICAL_RESOURCES:
        return _deny("care-team", "clinicians see the record of the episodes whose care team they are on")
    return None


def _consented_disclosure(a: Ask) -> Verdict | None:
    if not a.has("integrator") or a.resource_type not in PRIMARY_CATEGORY:
        return None
    if a.action != "read":
        return _deny("consented-disclosure", "integrators read what a consent allows; they never write")
    general = _most_recent(_consents_for(a, GENERAL_KINDS))
    part2 = _most_recent(_consents_for(a, {"part2"}))
    relied = [c for c in (general, part2) if c is not None]
    if not relied:
        return _deny("consented-disclosure", "no active consent names this grantee for this purpose")
    covered = frozenset(category for c in relied for category in c.terms.categories)
    primary = PRIMARY_CATEGORY[a.resource_type]
    if primary not in covered:
        return _deny("consented-disclosure", f"no active consent discloses {primary} to this grantee")
    labels = frozenset(general.terms.labels) - PART2_LABELS if general else frozenset()
    if part2 is not None:
        labels |= frozenset(part2.terms.labels)
    redact_labels = a.labels - labels
    return _permit(
        "consented-disclosure",
        "an active consent names this grantee, purpose and data; the rest is redacted",
        redact_labels=redact_labels,
        redact_categories=a.categories - covered,
        redisclosure_notice=bool(part2 and (a.labels & PART2_LABELS) - redact_labels),
        consents=tuple(c.id for c in relied if c is general or _contributes(c, general, a)),
    )


def _contributes(part2: ConsentFact, general: ConsentFact | None, a: Ask) -> bool:
    """Whether the Part 2 consent disclosed anything the general one did not (and so was relied on)."""
    if general is None or a.labels & PART2_LABELS:
        return True
    return bool((frozenset(part2.terms.categories) - frozenset(general.terms.categories)) & a.categories)


POLICY: tuple[Rule, ...] = (
    Rule(
        "directory",
        "any member of the practice",
        "read the practitioner directory; admins change it",
        _directory,
    ),
    Rule(
        "consent-management", "client, privacy officer", "manage the client's consents", _consent_directives
    ),
    Rule(
        "break-glass-review",
        "clinician, privacy officer",
        "invoke break-glass; review it",
        _break_glass_records,
    ),
    Rule("access-log", "privacy officer, auditor", "read the access log", _access_log),
    Rule(
        "disclosure-register",
        "privacy officer; auditor; the client",
        "enter disclosures; read the register (the client: their own)",
        _disclosure_register,
    ),
    Rule(
        "access-report",
        "privacy officer; the client",
        "read a client's access report (the client: their own)",
        _access_report,
    ),
    Rule(
        "amendment-request",
        "client (own), privacy officer; care team",
        "request an amendment and dispute a denial; accept, deny, rebut",
        _amendment_requests,
    ),
    Rule("no-clinical-content", "privacy officer, auditor, admin", "no clinical content", _no_clinical_role),
    Rule(
        "psychotherapy-notes",
        "author; who an authorization names",
        "psychotherapy notes",
        _psychotherapy_notes,
    ),
    Rule("own-record", "client", "read their own record (no psychotherapy notes)", _own_record),
    Rule("registration", "clinician", "register a client", _registration),
    Rule(
        "care-team",
        "clinician on the episode's care team",
        "read and write it, for TREAT; SUD included",
        _care_team,
    ),
    Rule("supervision", "supervisor of a care-team clinician", "read, co-sign or return notes", _supervision),
    Rule("break-glass", "clinician under an active break-glass", "read and write, as ETREAT", _break_glass),
    Rule("care-team", "clinician not on the care team", "nothing", _off_care_team),
    Rule(
        "consented-disclosure",
        "integrator",
        "read what an active consent names; never write",
        _consented_disclosure,
    ),
)


def decide(ask: Ask) -> Verdict:
    for rule in POLICY:
        verdict = rule.answer(ask)
        if verdict is not None:
            purpose = verdict.purpose or ask.purpose
            return Verdict(**{**verdict.__dict__, "purpose": purpose})
    return Verdict(
        False, "no row of the policy table permits this access", "default-deny", purpose=ask.purpose
    )


# --- helpers --------------------------------------------------------------------------------------------
def _own(a: Ask) -> bool:
    return a.has("client") and a.actor_client_id is not None and a.actor_client_id == a.client_id


def _consents_for(a: Ask, kinds: Iterable[str]) -> list[ConsentFact]:
    """The client's active consents of these kinds naming the actor as grantee for the purpose asked."""
    kinds = frozenset(kinds)
    return [
        c
        for c in a.consents
        if c.status == "active"
        and c.terms.kind in kinds
        and c.terms.client_id == a.client_id
        and c.terms.grantee_id == a.actor
        and a.purpose in c.terms.purposes
    ]


def _most_recent(consents: list[ConsentFact]) -> ConsentFact | None:
    """When consents conflict the most recent wins: by signature date, then by when it was granted."""
    return max(consents, key=lambda c: (c.terms.signed_on or date.min, c.granted_at), default=None)
