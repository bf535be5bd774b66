"""The entries an episode of care holds, as immutable values.

Each entry records its id, the episode version that created it (``created_version``), when it was recorded and
by whom (the event's timestamp and actor), when it happened clinically (``occurred_at``) and its sensitivity
labels (sorted, unique). Entries change only by being replaced when a later event applies, so an entry handed
to the application can never be altered behind the aggregate's back. Sequences are lists (JSON brings tuples
back as lists); the persistence layer registers a transcoding for each class listed in ``VALUE_TYPES``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

MODALITIES: list[str] = ["in_person", "video", "telephone", "other"]
GOAL_STATUSES: list[str] = ["active", "achieved", "discontinued"]


@dataclass(frozen=True, kw_only=True)
class EntryRef:
    """Names an entry of the episode (or the episode itself) as it was at an episode version."""

    entry_id: UUID
    event_version: int


@dataclass(frozen=True, kw_only=True)
class EntryFacts:
    """What every entry records about itself (a base; never stored on its own)."""

    id: UUID
    created_version: int
    recorded_at: datetime
    recorded_by: str
    occurred_at: datetime
    labels: list[str]


@dataclass(frozen=True, kw_only=True)
class Session(EntryFacts):
    duration_minutes: int
    modality: str
    attendees: list[str]
    cancelled_reason: str | None = None
    cancelled_version: int | None = None
    cancelled_at: datetime | None = None
    cancelled_by: str | None = None

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_version is not None


@dataclass(frozen=True, kw_only=True)
class Exploration(EntryFacts):
    pattern_id: UUID
    session_id: UUID | None
    observations: str


@dataclass(frozen=True, kw_only=True)
class Pattern(EntryFacts):
    name: str
    description: str
    explorations: list[Exploration] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class GoalHistoryItem:
    """One step in a goal's life: who, when, why and what changed."""

    version: int
    event_type: str
    actor: str
    recorded_at: datetime
    occurred_at: datetime | None = None
    reason: str | None = None
    summary: str | None = None
    note: str | None = None
    old_statement: str | None = None
    new_statement: str | None = None
    objectives: list[str] | None = None
    target_date: date | None = None
    reflection_id: UUID | None = None
    rating: int | None = None


@dataclass(frozen=True, kw_only=True)
class GoalProgress:
    id: UUID
    version: int
    recorded_at: datetime
    recorded_by: str
    occurred_at: datetime
    summary: str
    rating: int | None


@dataclass(frozen=True, kw_only=True)
class Goal(EntryFacts):
    statement: str
    objectives: list[str]
    target_date: date | None
    status: str = "active"
    history: list[GoalHistoryItem] = field(default_factory=list)
    progress: list[GoalProgress] = field(default_factory=list)

    @property
    def is_active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True, kw_only=True)
class Reflection(EntryFacts):
    text: str
    refers_to: list[EntryRef]


@dataclass(frozen=True, kw_only=True)
class Measure(EntryFacts):
    instrument: str
    loinc: str
    score: int
    items: list[int]


@dataclass(frozen=True, kw_only=True)
class Discharge:
    """How and why the episode was closed."""

    reason: str
    summary: str
    occurred_at: datetime
    recorded_at: datetime
    recorded_by: str
    version: int


Entry = Session | Pattern | Exploration | Goal | Reflection | Measure
