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
ResourceType = Literal["client", "practitioner", "episode", "note", "psychotherapy_note", "amendment_request"]
GranteeKind = Literal["practitioner", "organization", "integrator"]

PURPOSES_OF_USE: frozenset[str] = frozenset(get_args(PurposeOfUse))
# HL7's display of each PurposeOfUse code (v3 ActReason), for people reading reports and registers.
PURPOSE_DISPLAY: dict[str, str] = {
    "TREAT": "treatment",
    "ETREAT": "emergency treatment",
    "CAREMGT": "care management",
    "HPAYMT": "healthcare payment",
    "HOPERAT": "healthcare operations",
    "HRESCH": "healthcare research",
    "PUBHLTH": "public health",
    "HLEGAL": "legal",
    "HCOMPL": "compliance",
    "HSYSADMIN": "system administration",
    "PATRQT": "patient requested",
    "FAMRQT": "family requested",
    "PWATRNY": "power of attorney",
    "COVERAGE": "coverage under policy or program",
    "HMARKT": "marketing",
}
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
    actor_display: ShortText | None = Field(
        None,
        description="The asking actor's display name in the practice's practitioner directory, which "
        "records keeps (null when the actor is not in it); shown in the client's access report",
    )


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
    actor_display: str | None = Field(
        None, description="The actor's name in the practitioner directory (absent from older entries)"
    )


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


# --- the disclosure register (45 CFR 164.528) --------------------------------------------------------
class DisclosureRecipient(Request):
    name: ShortText = Field(description="The person or organization the information was disclosed to")
    address: ShortText | None = Field(None, description="Their address, if known")


class DisclosurePurpose(Request):
    text: ShortText = Field(description="A brief statement of the purpose (or a copy of the request)")
    code: PurposeOfUse | None = Field(None, description="The HL7 PurposeOfUse code, when one fits")


class RecordDisclosure(Request):
    """A disclosure made outside Touchstone (a paper subpoena, a faxed report), entered by hand."""

    date: Day = Field(description="Date of the disclosure (not in the future)")
    recipient: DisclosureRecipient
    description: ShortText = Field(description="A brief description of the information disclosed")
    purpose: DisclosurePurpose
    accountable: bool = Field(
        True, description="Whether the client's accounting of disclosures lists it (45 CFR 164.528(a))"
    )
    basis: ShortText | None = Field(
        None,
        description="What the disclosure rests on, e.g. 'court order', 'subpoena'; required when it is not "
        "accountable (name the exception of 164.528(a)(1))",
    )


class DisclosedRecipient(Response):
    id: str | None = Field(description="The recipient's token sub, for disclosures to an integrator")
    name: str = Field(description="The recipient's name (an integrator's: the consent grantee's display)")
    address: str | None


class DisclosedPurpose(Response):
    text: str
    code: str | None


class DisclosedInformation(Response):
    """What a disclosure made through Touchstone held: a resource and the categories of data disclosed."""

    resource_type: str
    resource_id: str | None
    categories: list[str]


class Disclosure(Response):
    id: UUID = Field(description="For a disclosure registered from a decision: the decision's id")
    client_id: UUID
    date: date
    recipient: DisclosedRecipient
    description: str
    information: DisclosedInformation | None = Field(description="For disclosures registered from decisions")
    purpose: DisclosedPurpose
    accountable: bool
    basis: str | None = Field(
        description="What it rests on (for one registered from a decision: the consent)"
    )
    source: Literal["decision", "manual"] = Field(
        description="decision: registered with a permitted decision; manual: entered by a privacy officer"
    )
    decision_id: UUID | None
    consents: list[UUID] = Field(description="The consents or authorizations it was made under")
    recorded_at: AwareDatetime
    recorded_by: str | None = Field(description="Who entered it; null when registered with a decision")


class AccountedDisclosure(Response):
    """One disclosure, or the summary of repeated disclosures to one recipient for one purpose
    (45 CFR 164.528(b)(3)): the first in the period in full, their number and the date of the last."""

    disclosure: Disclosure = Field(description="The (first, when repeated) disclosure in the period")
    count: int = Field(ge=1, description="How many disclosures this item stands for")
    last_date: date = Field(description="The date of the last of them (the disclosure's own when count 1)")


class DayPeriod(Response):
    start: date = Field(description="First day included")
    end: date = Field(description="Last day included")


class DisclosureRegister(Response):
    client_id: UUID
    period: DayPeriod
    accountable_only: bool
    items: list[AccountedDisclosure] = Field(description="In the order of their first disclosure")


# --- the client's access report ----------------------------------------------------------------------
class ReportWho(Response):
    actor: str = Field(description="The token sub of who accessed")
    name: str | None = Field(description="Their name in the practitioner directory, when they are in it")
    roles: list[str]
    organization: str | None = Field(description="For an integrator: the organization its consent names")


class ReportWhat(Response):
    action: str
    resource_type: str
    resource_id: str | None
    categories: list[str] = Field(description="The kinds of information it held (redacted ones left out)")


class ReportWhy(Response):
    purpose_of_use: str
    purpose: str = Field(description="The purpose in words")


class AccessReportItem(Response):
    seq: int = Field(description="The access-log entry this line is")
    time: str
    decision_id: UUID
    who: ReportWho
    what: ReportWhat
    why: ReportWhy
    break_glass_id: UUID | None = Field(description="Set for emergency (break-glass) access")


class AccessReport(Response):
    client_id: UUID
    period: DayPeriod
    items: list[AccessReportItem] = Field(description="Permitted accesses, oldest first")
    next_cursor: str | None = Field(None, description="Pass as ?cursor= for the next page; null on the last.")
