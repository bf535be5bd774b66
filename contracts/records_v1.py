"""Records API v1: the request and response bodies integrators rely on.

Requests refuse unknown fields (422) and times without an offset (422). Responses may grow new fields.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Generic, Literal, TypeVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

T = TypeVar("T")

Text = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]
# A token subject: no whitespace, and none of the URL's reserved delimiters, so it can name a path segment
Sub = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\s/?#%]+$")]


def _calendar_date(value: object) -> object:
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("a date is written YYYY-MM-DD")
    return value


# A calendar date as YYYY-MM-DD only (not a date-time that happens to fall at midnight)
Day = Annotated[date, BeforeValidator(_calendar_date)]
Label = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_-]{0,31}$")]
Role = Literal["clinician", "supervisor", "client", "privacy_officer", "auditor", "integrator", "admin"]
Modality = Literal["in_person", "video", "telephone", "other"]
Instrument = Literal["PHQ-9", "GAD-7"]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Response(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Page(Response, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(None, description="Pass as ?cursor= for the next page; null on the last.")


# --- clients -----------------------------------------------------------------------------------------
class Identifier(Request):
    system: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    value: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class HumanName(Request):
    family: ShortText
    given: list[ShortText] = Field(default_factory=list, max_length=10)
    prefix: list[ShortText] = Field(default_factory=list, max_length=5)


class RegisterClient(Request):
    identifiers: list[Identifier] = Field(min_length=1, max_length=20)
    name: HumanName
    birth_date: Day | None = None
    time_zone: str = Field("UTC", description="IANA time zone of the client, e.g. Europe/Berlin")


class Client(Response):
    id: UUID
    identifiers: list[Identifier]
    name: HumanName
    birth_date: date | None
    time_zone: str
    version: int
    registered_at: AwareDatetime


# --- practitioners -----------------------------------------------------------------------------------
class RegisterPractitioner(Request):
    id: Sub = Field(description="The practitioner's token subject (sub)")
    display_name: ShortText
    roles: list[Role] = Field(min_length=1)
    supervisor: Sub | None = None
    requires_supervision: bool = False


class Practitioner(Response):
    id: str
    display_name: str
    roles: list[str]
    supervisor: str | None
    requires_supervision: bool
    version: int


# --- episodes and their entries ----------------------------------------------------------------------
class OpenEpisode(Request):
    clinician: Sub
    care_team: list[Sub] = Field(default_factory=list, max_length=50)
    reason_for_referral: Text
    presenting_concerns: list[Text] = Field(default_factory=list, max_length=50)
    started_at: AwareDatetime
    labels: list[Label] = Field(default_factory=list, max_length=20)


class Entry(Response):
    id: UUID
    labels: list[str]
    occurred_at: AwareDatetime
    recorded_at: AwareDatetime
    recorded_by: str
    version: int = Field(description="The episode version at which the entry was made")


class HoldSession(Request):
    occurred_at: AwareDatetime
    duration_minutes: int = Field(ge=1, le=600)
    modality: Modality
    attendees: list[Sub] = Field(min_length=1, max_length=20)
    labels: list[Label] = Field(default_factory=list, max_length=20)


class Session(Entry):
    duration_minutes: int
    modality: str
    attendees: list[str]
    status: Literal["held", "cancelled"]


class IdentifyPattern(Request):
    name: ShortText
    description: Text
    occurred_at: AwareDatetime
    labels: list[Label] = Field(default_factory=list, max_length=20)


class ExplorePattern(Request):
    session_id: UUID | None = None
    observations: Text
    occurred_at: AwareDatetime


class Exploration(Response):
    id: UUID
    session_id: UUID | None
    observations: str
    occurred_at: AwareDatetime
    recorded_at: AwareDatetime
    recorded_by: str


class Pattern(Entry):
    name: str
    description: str
    explorations: list[Exploration]


class SetGoal(Request):
    statement: Text
    objectives: list[Text] = Field(default_factory=list, max_length=50)
    target_date: Day | None = None
    occurred_at: AwareDatetime
    labels: list[Label] = Field(default_factory=list, max_length=20)


class ReviseGoal(Request):
    statement: Text
    reason: Text
    reflection_id: UUID | None = Field(None, description="A reflection of this episode that led to it")
    objectives: list[Text] | None = Field(None, max_length=50)
    target_date: Day | None = None


class RecordGoalProgress(Request):
    summary: Text
    rating: int | None = Field(None, ge=0, le=10)
    occurred_at: AwareDatetime


class ChangeGoalStatus(Request):
    status: Literal["achieved", "discontinued"]
    note: Text
    occurred_at: AwareDatetime


class GoalProgress(Response):
    id: UUID
    summary: str
    rating: int | None
    occurred_at: AwareDatetime
    recorded_at: AwareDatetime
    recorded_by: str


class Goal(Entry):
    statement: str
    objectives: list[str]
    target_date: date | None
    status: Literal["active", "achieved", "discontinued"]
    progress: list[GoalProgress]


class GoalHistoryItem(Response):
    version: int
    type: str
    actor: str
    recorded_at: AwareDatetime
    occurred_at: AwareDatetime | None
    reason: str | None = Field(None, description="Why: the revision reason, progress summary or status note")
    old_statement: str | None
    new_statement: str | None
    reflection_id: UUID | None
    rating: int | None


class GoalHistory(Response):
    goal_id: UUID
    items: list[GoalHistoryItem]


class EntryRef(Request):
    entry_id: UUID
    event_version: int = Field(ge=1)


class RecordReflection(Request):
    text: Text
    refers_to: list[EntryRef] = Field(min_length=1, max_length=50)
    occurred_at: AwareDatetime
    labels: list[Label] = Field(default_factory=list, max_length=20)


class Reflection(Entry):
    text: str
    refers_to: list[EntryRef]


class RecordMeasure(Request):
    instrument: Instrument
    score: int = Field(description="The total score; must equal the sum of the items")
    items: list[int]
    occurred_at: AwareDatetime
    labels: list[Label] = Field(default_factory=list, max_length=20)


class Measure(Entry):
    instrument: str
    loinc: str
    score: int
    items: list[int]


class CloseEpisode(Request):
    reason: ShortText
    summary: Text
    occurred_at: AwareDatetime


class Discharge(Response):
    reason: str
    summary: str
    occurred_at: AwareDatetime
    recorded_at: AwareDatetime
    recorded_by: str


class Episode(Response):
    id: UUID
    client_id: UUID
    status: Literal["open", "closed"]
    clinician: str
    care_team: list[str]
    reason_for_referral: str
    presenting_concerns: list[str]
    started_at: AwareDatetime
    labels: list[str]
    sessions: list[Session]
    patterns: list[Pattern]
    goals: list[Goal]
    reflections: list[Reflection]
    measures: list[Measure]
    discharge: Discharge | None
    version: int
    recorded_at: AwareDatetime = Field(description="Recorded time of the version shown")
    redacted_labels: list[str] = Field(
        description="The access decision left out every entry carrying one of these labels"
    )
    redacted_categories: list[str] = Field(
        description="The access decision left out every entry of these data categories (sessions, patterns, "
        "goals, reflections, measures)"
    )
    redisclosure_notice: str | None = Field(
        description="When the answer discloses 42 CFR Part 2 information under a consent: the notice of "
        "42 CFR 2.32 that must accompany it; null otherwise"
    )


class EpisodeSummary(Response):
    id: UUID
    status: Literal["open", "closed"]
    clinician: str
    started_at: AwareDatetime
    version: int


class HistoryEvent(Response):
    version: int
    type: str
    recorded_at: AwareDatetime
    actor: str
    request_id: str


# --- progress notes ----------------------------------------------------------------------------------
NoteFormat = Literal["SOAP", "DAP", "BIRP", "free"]
NoteStatus = Literal["draft", "signed", "awaiting_cosign", "returned", "cosigned"]


class NoteContent(Request):
    """The format's sections, at least one: SOAP subjective, objective, assessment, plan; DAP data,
    assessment, plan; BIRP behavior, intervention, response, plan; free text."""

    subjective: Text | None = None
    objective: Text | None = None
    assessment: Text | None = None
    plan: Text | None = None
    data: Text | None = None
    behavior: Text | None = None
    intervention: Text | None = None
    response: Text | None = None
    text: Text | None = None

    def sections(self) -> dict[str, str]:
        return self.model_dump(exclude_none=True)


class DraftNote(Request):
    format: NoteFormat
    content: NoteContent
    labels: list[Label] = Field(default_factory=list, max_length=20)


class ReviseNote(Request):
    content: NoteContent


class AppendAddendum(Request):
    text: Text
    reason: Text


class CosignNote(Request):
    comment: Text | None = None


class ReturnNote(Request):
    comment: Text = Field(description="What the author should revise")


class NoteSignature(Response):
    signer: str
    signed_at: AwareDatetime
    content_hash: str = Field(description="SHA-256 (hex) of the canonical JSON of {format, content}")
    version: int


class NoteCosignature(Response):
    supervisor: str
    cosigned_at: AwareDatetime
    comment: str | None
    version: int


class NoteReturn(Response):
    supervisor: str
    returned_at: AwareDatetime
    comment: str
    version: int


class Addendum(Response):
    id: UUID
    text: str
    reason: str
    signer: str
    signed_at: AwareDatetime
    content_hash: str = Field(description="SHA-256 (hex) of the canonical JSON of {note_id, text, reason}")
    version: int


class Note(Response):
    id: UUID
    episode_id: UUID
    session_id: UUID
    client_id: UUID
    author: str
    format: NoteFormat
    content: dict[str, str]
    labels: list[str]
    status: NoteStatus
    final: bool = Field(description="Signed, and co-signed when the author requires supervision")
    requires_cosign: bool
    content_hash: str = Field(description="SHA-256 (hex) of the canonical JSON of {format, content}")
    signature: NoteSignature | None = Field(description="The latest signature; null while never signed")
    cosignature: NoteCosignature | None
    returns: list[NoteReturn]
    addenda: list[Addendum] = Field(description="Signed corrections, in the order they were made")
    version: int
    drafted_at: AwareDatetime
    recorded_at: AwareDatetime = Field(description="Recorded time of the version shown")


# --- psychotherapy notes -----------------------------------------------------------------------------
class RecordPsychotherapyNote(Request):
    text: Text
    occurred_at: AwareDatetime


class PsychotherapyNote(Response):
    """HIPAA 164.501 process notes: never part of episode reads, history, exports or the client's view."""

    id: UUID
    episode_id: UUID
    client_id: UUID
    author: str
    text: str
    occurred_at: AwareDatetime
    labels: list[str] = Field(description='Always ["PSYTHPN"]')
    version: int
    recorded_at: AwareDatetime


# --- amendment requests (HIPAA 164.526) --------------------------------------------------------------
DenialBasis = Literal[
    "not_created_here", "not_designated_record_set", "not_available_for_inspection", "accurate_and_complete"
]


class EventRef(Request):
    """An event of the record: the id of its aggregate (a client, an episode, a progress note) and the
    event's version (an episode entry's ``version``, a note's ``version``)."""

    aggregate_id: UUID
    event_version: int = Field(ge=1)


class RequestAmendment(Request):
    target: EventRef = Field(description="The entry to amend, as the event that made it as it is")
    reason: Text


class AcceptAmendment(Request):
    correction: EventRef = Field(
        description="The correcting event: an addendum or corrected entry, a later event of the same record"
    )
    comment: Text | None = None


class DenyAmendment(Request):
    basis: DenialBasis = Field(description="The ground of 164.526(a)(2) the denial rests on")
    explanation: Text


class FileDisagreement(Request):
    statement: Text


class RecordRebuttal(Request):
    text: Text


class EventRefOut(Response):
    aggregate_id: UUID
    event_version: int


class AmendmentStep(Response):
    by: str
    at: AwareDatetime
    version: int


class AmendmentAcceptance(AmendmentStep):
    correction: EventRefOut
    comment: str | None


class AmendmentDenial(AmendmentStep):
    basis: DenialBasis
    explanation: str


class AmendmentStatement(AmendmentStep):
    text: str


class AmendmentRequest(Response):
    id: UUID
    client_id: UUID
    target: EventRefOut
    target_kind: Literal["client", "episode", "note"]
    reason: str
    requested_by: str
    requested_at: AwareDatetime
    due_at: AwareDatetime = Field(description="60 days after the request (164.526(b)(2))")
    status: Literal["requested", "accepted", "denied"]
    overdue: bool = Field(description="Still open past its due time")
    acceptance: AmendmentAcceptance | None
    denial: AmendmentDenial | None
    disagreement: AmendmentStatement | None = Field(description="The client's statement of disagreement")
    rebuttal: AmendmentStatement | None = Field(description="The clinician's rebuttal of that statement")
    version: int
    recorded_at: AwareDatetime = Field(description="Recorded time of the version shown")


class OverdueNote(Response):
    """A progress note still awaiting its author's signature after the practice's allowance of days."""

    id: UUID
    episode_id: UUID
    session_id: UUID
    client_id: UUID
    author: str
    status: Literal["draft", "returned"]
    drafted_at: AwareDatetime
    due_on: date = Field(
        description="The last day (in the practice's time zone) on which signing was on time"
    )
    location: str = Field(description="Where the note is read")
