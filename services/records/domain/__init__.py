"""The records domain: clients, practitioners and episodes of care, as event-sourced aggregates.

Imports only the standard library and ``eventsourcing.domain``. ``VALUE_TYPES`` lists every dataclass that
appears in event or aggregate state, so the persistence layer can register one JSON transcoding for each.
"""

from .amendment import AmendmentRequest, AmendmentStep, EventRef
from .base import EventMeta, RecordAggregate
from .client import Client, HumanName, Identifier
from .entries import (
    Discharge,
    Entry,
    EntryRef,
    Exploration,
    Goal,
    GoalHistoryItem,
    GoalProgress,
    Measure,
    Pattern,
    Reflection,
    Session,
)
from .episode import Episode
from .errors import (
    Conflict,
    DomainError,
    EntryAlreadyExists,
    EntryNotFound,
    EpisodeClosed,
    GoalNotActive,
    SessionAlreadyCancelled,
    UnknownReference,
    ValidationError,
)
from .labels import PSYCHOTHERAPY_NOTE, SENSITIVITY_LABELS
from .measures import INSTRUMENTS, Instrument
from .note import Note
from .note_values import NOTE_FORMATS, Addendum, Cosignature, NoteReturn, Signature
from .practitioner import Practitioner, practitioner_id
from .psychotherapy_note import PsychotherapyNote

VALUE_TYPES: tuple[type, ...] = (
    Identifier,
    HumanName,
    EntryRef,
    Session,
    Pattern,
    Exploration,
    Goal,
    GoalHistoryItem,
    GoalProgress,
    Reflection,
    Measure,
    Discharge,
    Signature,
    Cosignature,
    NoteReturn,
    Addendum,
    EventRef,
    AmendmentStep,
)

__all__ = [
    "INSTRUMENTS",
    "NOTE_FORMATS",
    "PSYCHOTHERAPY_NOTE",
    "SENSITIVITY_LABELS",
    "VALUE_TYPES",
    "Addendum",
    "AmendmentRequest",
    "AmendmentStep",
    "Client",
    "Conflict",
    "Cosignature",
    "Discharge",
    "DomainError",
    "Entry",
    "EntryAlreadyExists",
    "EntryNotFound",
    "EntryRef",
    "Episode",
    "EpisodeClosed",
    "EventMeta",
    "EventRef",
    "Exploration",
    "Goal",
    "GoalHistoryItem",
    "GoalNotActive",
    "GoalProgress",
    "HumanName",
    "Identifier",
    "Instrument",
    "Measure",
    "Note",
    "NoteReturn",
    "Pattern",
    "Practitioner",
    "PsychotherapyNote",
    "RecordAggregate",
    "Reflection",
    "Session",
    "SessionAlreadyCancelled",
    "Signature",
    "UnknownReference",
    "ValidationError",
    "practitioner_id",
]
