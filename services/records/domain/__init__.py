"""The records domain: clients, practitioners and episodes of care, as event-sourced aggregates.

Imports only the standard library and ``eventsourcing.domain``. ``VALUE_TYPES`` lists every dataclass that
appears in event or aggregate state, so the persistence layer can register one JSON transcoding for each.
"""

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
from .practitioner import Practitioner, practitioner_id

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
)

__all__ = [
    "INSTRUMENTS",
    "PSYCHOTHERAPY_NOTE",
    "SENSITIVITY_LABELS",
    "VALUE_TYPES",
    "Client",
    "Conflict",
    "Discharge",
    "DomainError",
    "Entry",
    "EntryAlreadyExists",
    "EntryNotFound",
    "EntryRef",
    "Episode",
    "EpisodeClosed",
    "EventMeta",
    "Exploration",
    "Goal",
    "GoalHistoryItem",
    "GoalNotActive",
    "GoalProgress",
    "HumanName",
    "Identifier",
    "Instrument",
    "Measure",
    "Pattern",
    "Practitioner",
    "RecordAggregate",
    "Reflection",
    "Session",
    "SessionAlreadyCancelled",
    "UnknownReference",
    "ValidationError",
    "practitioner_id",
]
