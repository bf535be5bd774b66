"""Consent API v1: consent directives, access decisions with obligations, break-glass.

The records service and integrators rely on these shapes. Requests refuse unknown fields (422), so a body
that claims a tenant or an actor is refused: who asks is always the caller's verified token.
Codes are HL7's: PurposeOfUse (v3 ActReason) and sensitivity labels (v3 ActCode,
InformationSensitivityPolicy).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal, get_args
from uuid import UUID

from pydantic import AwareDatetime, Field, StringConstraints

from contracts.records_v1 import Day, Label, Request, Response, ShortText, Sub, Text

ConsentKind = Literal["treatment", "disclosure", "psychotherapy_notes", "part2"]
ConsentStatus = Literal["active", "expired", "revoked", "not_yet_valid"]
PurposeOfUse = Literal[
    "TREAT",  # treatment
    "ETREAT",  # emergency treatment
    "CAREMGT",  # care management
    "HPAYMT",  # healthcare payment
    "HOPERAT",  # healthcare operations
    "HRESCH",  # healthcare research
    "PUBHLTH",  # public health
    "HLEGAL",  # legal
    "HCOMPL",  # compliance
    "HSYSADMIN",  # system administration
    "PATRQT",  # patient requested
    "FAMRQT",  # family requested
    "PWATRNY",  # power of attorney
    "COVERAGE",  # coverage under policy or program
    "HMARKT",  # marketing
]
SensitivityLabel = Literal[
    "PSYTHPN",  # psychotherapy note (HIPAA 164.501)
    "SUD",  # substance use disorder information (42 CFR Part 2)
    "ETH",  # substance abuse information (42 CFR Part 2)
    "ALC",  # alcohol abuse information
    "PSY",  # psychiatry information
    "MH",  # mental health information
    "BH",  # behavioural health information
    "HIV",  # HIV/AIDS information
    "STD",  # sexually transmitted disease information
    "SDV",  # sexual assault, abuse or domestic violence information
    "SEX",  # sexuality and reproductive health information
    "GDIS",  # genetic disease information
]
DataCategory = Literal[
    "demographics", "episodes", "sessions", "patterns", "goals", "reflections", "measures", "notes"
]
Action = Literal["read", "create", "write", "cosign", "return"]
ResourceType = Literal["client", "practitioner", "episode", "note", "psychotherapy_note"]
GranteeKind = Literal["practitioner", "organization", "integrator"]

PURPOSES_OF_USE: frozenset[str] = frozenset(get_args(PurposeOfUse))
SENSITIVITY_LABELS: frozenset[str] = frozenset(get_args(SensitivityLabel))
DATA_CATEGORIES: frozenset[str] = frozenset(get_args(DataCategory))
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]

# 42 CFR 2.32(a)(1): the notice that accompanies each disclosure made with the patient's written consent.
PART2_REDISCLOSURE_NOTICE = (
    "This record which has been disclosed to you is protected by federal confidentiality rules "
    "(42 CFR part 2). These rules prohibit you from using or disclosing this record, or testimony that "
    "describes the information contained in this record, in any civil, criminal, administrative, or "
    "legislative proceedings by any Federal, State, or local authority, against the patient, unless "
    "authorized by the consent of the patient, except as provided at 42 CFR 2.12(c)(5) or as authorized by "
    "a court in accordance with 42 CFR 2.64 or 2.65. In addition, the Federal rules prohibit you from making "
    "any other use or disclosure of this record unless at least one of the following applies: (A) Further "
    "use or disclosure is expressly permitted by the written consent of the individual whose information is "
    "being disclosed in this record or as otherwise permitted by 42 CFR part 2. (B) You are a covered "
    "entity or business associate and have received the record for treatment, payment, or health care "
    "operations, or (C) You have received the record from a covered entity or business associate as "
    "permitted by 45 CFR part 164, subparts A and E. A general authorization for the release of medical or "
    "other information is NOT sufficient to meet the required elements of written consent to further use "
    "or redisclose the record (see 42 CFR 2.31)."
)


# --- consent directives ------------------------------------------------------------------------------
class Grantee(Request):
    kind: GranteeKind = Field(
        description="practitioner: a member of the practice (token sub); integrator: a system client (token "
        "sub); organization: an outside party, matched by the token sub of the integrator acting for it"
    )
    id: Sub
    display: ShortText | None = Field(None, description="The organization's name; never a client's")


class Period(Request):
    start: AwareDatetime
    end: AwareDatetime | None = Field(None, description="Open-ended when absent (not for a Part 2 consent)")


class Signer(Request):
    role: Literal["client", "personal_representative"]
    representative_id: Sub | None = Field(
        None, description="Reference to the personal representative in the practice's files (not a name)"
    )


class Evidence(Request):
    sha256: Sha256 = Field(description="SHA-256 (lowercase hex) of the signed document")


class GrantConsent(Request):
    client_id: UUID
    kind: ConsentKind
    grantee: Grantee
    purposes: list[PurposeOfUse] = Field(min_length=1, max_length=20)
    categories: list[DataCategory] = Field(default_factory=list, max_length=20)
    labels: list[SensitivityLabel] = Field(
        default_factory=list, max_length=20, description="Sensitive information the consent covers"
    )
    period: Period
    signer: Signer | None = None
    signed_on: Day | None = Field(None, description="Date of the signature")
    evidence: Evidence | None = None
    # The remaining elements a Part 2 consent must carry (42 CFR 2.31(a)); optional for the other kinds.
    disclosed_by: ShortText | None = Field(None, description="Who may disclose: the program or practice")
    description: Text | None = Field(
        None, description="How much and what kind of information, including the SUD information"
    )
    revocation_statement: bool = Field(
        False, description="The signed form states the right to revoke and its exceptions"
    )


class RevokeConsent(Request):
    reason: ShortText


class Revocation(Response):
    revoked_at: AwareDatetime
    revoked_by: str
    reason: str


class Consent(Response):
    id: UUID
    client_id: UUID
    kind: ConsentKind
    grantee: Grantee
    purposes: list[str]
    categories: list[str]
    labels: list[str]
    period: Period
    signer: Signer | None
    signed_on: date | None
    evidence: Evidence | None
    disclosed_by: str | None
    description: str | None
    revocation_statement: bool
    status: ConsentStatus = Field(description="At the time of the response")
    granted_at: AwareDatetime
    granted_by: str
    revocation: Revocation | None
    version: int


# --- decisions ---------------------------------------------------------------------------------------
class DecisionResource(Request):
    type: ResourceType
    id: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    labels: list[Label] = Field(default_factory=list, max_length=50, description="Labels present in it")
    categories: list[DataCategory] = Field(
        default_factory=list, max_length=20, description="Categories of data the answer would hold"
    )


class DecisionFacts(Request):
    """What the records service knows and the consent service does not."""

    care_team: list[Sub] = Field(default_factory=list, max_length=100)
    care_team_supervisors: list[Sub] = Field(default_factory=list, max_length=100)
    author: Sub | None = Field(None, description="Author of the note, for notes")


class DecisionRequest(Request):
    client_id: UUID | None = None
    action: Action
    resource: DecisionResource
    purpose_of_use: PurposeOfUse | None = Field(None, description="Defaults to the token's purpose of use")
    facts: DecisionFacts = Field(default_factory=DecisionFacts)


class Obligations(Response):
    redact_labels: list[str] = Field(description="Leave out everything carrying one of these labels")
    redact_categories: list[str] = Field(description="Leave out data of these categories")
    redisclosure_notice: str | None = Field(description="Attach this notice to what is disclosed")


class Decision(Response):
    decision_id: UUID
    decision: Literal["permit", "deny"]
    reason: str
    rule: str = Field(description="The row of the policy table that decided")
    obligations: Obligations
    consents: list[UUID] = Field(description="The consents relied on")
    break_glass_id: UUID | None
    purpose_of_use: str
    decided_at: AwareDatetime


# --- break-glass -------------------------------------------------------------------------------------
class InvokeBreakGlass(Request):
    client_id: UUID
    reason: ShortText
    minutes: int = Field(30, ge=1, le=60, description="How long it lasts (at most 60 minutes)")


class ReviewBreakGlass(Request):
    outcome: Literal["justified", "unjustified"]
    note: Text


class BreakGlassReview(Response):
    outcome: Literal["justified", "unjustified"]
    note: str
    reviewed_by: str
    reviewed_at: AwareDatetime


class BreakGlass(Response):
    id: UUID
    client_id: UUID
    actor: str
    reason: str
    purpose_of_use: Literal["ETREAT"]
    started_at: AwareDatetime
    expires_at: AwareDatetime
    status: Literal["active", "expired"]
    review: BreakGlassReview | None
    version: int


# --- the access log ----------------------------------------------------------------------------------
class LogResource(Response):
    type: str
    id: str | None
    labels: list[str]
    categories: list[str]


class LogFacts(Response):
    care_team: list[str]
    care_team_supervisors: list[str]
    author: str | None


class LogObligations(Response):
    redact_labels: list[str]
    redact_categories: list[str]
    redisclosure_notice: bool


class AccessLogEntry(Response):
    """One entry of a tenant's access log: exactly the fields of its leaf (RFC 8785 canonical JSON)."""

    seq: int = Field(description="0-based, gap-free, per tenant; the entry's Merkle leaf index")
    tenant: str
    time: str = Field(description="When the decision was made (RFC 3339, UTC)")
    service: str = Field(description="The deciding service")
    decision_id: UUID
    request_id: str
    actor: str
    roles: list[str]
    actor_client_id: UUID | None
    client_id: UUID | None
    action: str
    resource: LogResource
    facts: LogFacts
    purpose_of_use: str
    outcome: Literal["permit", "deny"]
    reason: str
    rule: str
    obligations: LogObligations
    consents: list[UUID]
    break_glass_id: UUID | None


class InclusionProof(Response):
    seq: int
    tree_size: int
    leaf_hash: str = Field(description="base64")
    proof: list[str] = Field(description="The audit path, base64 hashes (RFC 9162 2.1.3)")
    root_hash: str = Field(description="base64 root of the tree of tree_size")


class ConsistencyProof(Response):
    first: int
    second: int
    proof: list[str] = Field(description="base64 hashes (RFC 9162 2.1.4)")


class LogKeys(Response):
    origin: str = Field(description="The checkpoint origin of this tenant's log")
    keys: list[str] = Field(description="C2SP verifier keys: name+keyid+base64(0x01 || Ed25519 public key)")
