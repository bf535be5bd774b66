"""What the gate is asked about an episode, and the episode as the caller may then see it.

A read asks about everything the answer would hold: the episode's own labels and those of every entry in the
state returned, and the category of each kind of entry present. A write asks about what it touches: the
entry made or changed (its labels, its category); closing, which answers with the whole episode, asks about
all of it. The obligations are applied here, before any answer is built: an entry carrying a redacted
label, or of a redacted category, is left out of the episode, out of its history and out of single-entry
reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from services.records.application.access import (
    ENTRY_CATEGORIES,
    EPISODES,
    WITHHELD,
    AccessDenied,
    Decision,
    Obligations,
    Part,
    Resource,
)
from services.records.application.errors import NotFound
from services.records.domain.entries import Pattern
from services.records.domain.episode import Episode
from services.records.domain.labels import sensitivity_labels

# The entry an event is about: the first of these fields it has (a goal revision names a reflection too,
# an exploration its pattern and session).
_SUBJECTS = ("exploration_id", "goal_id", "pattern_id", "reflection_id", "measure_id", "session_id")


def _entries(episode: Episode, kind: str) -> dict[str, Any]:
    entries: dict[str, Any] = getattr(episode, kind)
    return entries


def episode_labels(episode: Episode) -> frozenset[str]:
    """The episode's own labels and those of all its entries, explorations included."""
    labels = set(episode.labels)
    for kind in ENTRY_CATEGORIES:
        for entry in _entries(episode, kind).values():
            labels.update(entry.labels)
    for pattern in episode.patterns.values():
        for exploration in pattern.explorations:
            labels.update(exploration.labels)
    return frozenset(labels)


def episode_categories(episode: Episode) -> frozenset[str]:
    """ "episodes" and the category of each kind of entry the episode holds."""
    return frozenset({EPISODES, *(kind for kind in ENTRY_CATEGORIES if _entries(episode, kind))})


def whole_episode(episode: Episode) -> tuple[Resource, Part]:
    """The resource of an answer holding the whole episode; its own fields are what it cannot do without."""
    resource = Resource("episode", episode.id, episode_labels(episode), episode_categories(episode))
    return resource, Part(EPISODES, frozenset(episode.labels))


# What a write touches, as the gate is asked about it (the resource) and what its answer cannot do without.
Touches = Callable[[Episode], tuple[Resource, Part]]


def new_entry(category: str, labels: list[str]) -> Touches:
    """An entry about to be made: its labels, validated now so that bad input is a 422 before any decision."""
    part = Part(category, frozenset(sensitivity_labels(labels)))
    return lambda e: (Resource("episode", e.id, part.labels, frozenset({category})), part)


def existing_entry(kind: str, entry_id: UUID) -> Touches:
    """A change of an entry: the labels it carries (none when there is none; the command then refuses)."""

    def touches(episode: Episode) -> tuple[Resource, Part]:
        entry = getattr(episode, kind).get(str(entry_id))
        return new_entry(kind, list(entry.labels) if entry is not None else [])(episode)

    return touches


def episode_itself(episode: Episode) -> tuple[Resource, Part]:
    """A change of the episode's own fields (its care team)."""
    part = Part(EPISODES, frozenset(episode.labels))
    return Resource("episode", episode.id, part.labels, frozenset({EPISODES})), part


@dataclass(frozen=True)
class EpisodeRead:
    """An episode and the obligations of the decision that permitted reading it."""

    episode: Episode
    obligations: Obligations = field(default_factory=Obligations)

    def entries(self, kind: str) -> list[Any]:
        """The entries of one kind (named like their category) that the caller may see."""
        shown = [
            e for e in _entries(self.episode, kind).values() if not self.obligations.hides(kind, e.labels)
        ]
        return [self._explorations_shown(p) for p in shown] if kind == "patterns" else shown

    def entry(self, kind: str, entry_id: UUID) -> Any:
        """One entry: NotFound when there is none, AccessDenied when the obligations leave it out."""
        entry = _entries(self.episode, kind).get(str(entry_id))
        if entry is None:
            raise NotFound(f"no {kind[:-1]} {entry_id} in episode {self.episode.id}")
        if self.obligations.hides(kind, entry.labels):
            raise AccessDenied(Decision(False, WITHHELD, "obligations"))
        return self._explorations_shown(entry) if kind == "patterns" else entry

    def hidden_entry_ids(self) -> frozenset[UUID]:
        """The ids of every entry (and exploration) the obligations leave out."""
        hidden: set[UUID] = set()
        for kind in ENTRY_CATEGORIES:
            for entry in _entries(self.episode, kind).values():
                if self.obligations.hides(kind, entry.labels):
                    hidden.add(entry.id)
                    hidden.update(x.id for x in getattr(entry, "explorations", ()))
                elif isinstance(entry, Pattern):
                    hidden.update(x.id for x in entry.explorations if self.obligations.hides(kind, x.labels))
        return frozenset(hidden)

    def _explorations_shown(self, pattern: Pattern) -> Pattern:
        shown = [x for x in pattern.explorations if not self.obligations.hides("patterns", x.labels)]
        return pattern if len(shown) == len(pattern.explorations) else replace(pattern, explorations=shown)


@dataclass(frozen=True)
class HistoryItem:
    version: int
    type: str
    recorded_at: datetime
    actor: str
    request_id: str


def history_item(event: Any) -> HistoryItem:
    return HistoryItem(
        event.originator_version, _event_type(event), event.timestamp, event.actor, event.request_id
    )


def event_subject(event: object) -> UUID | None:
    """The entry an event is about; None for events about the episode itself."""
    for name in _SUBJECTS:
        subject = getattr(event, name, None)
        if isinstance(subject, UUID):
            return subject
    return None


def _event_type(event: object) -> str:
    """The public name of an event: its topic without namespace and version."""
    topic = getattr(type(event), "TOPIC", type(event).__name__)
    return str(topic).split(".")[-2] if "." in str(topic) else str(topic)
