"""The access-gate port: asked before every read and write of client data.

The records application states who (the actor), what (action, client, resource with its labels and the
categories of data the answer would hold), why (purpose of use) and the facts it owns (care team, the care
team's supervisors, a note's author, the actor's name in the practitioner directory); the gate answers
with a decision and its obligations, which the application applies before it answers.
``adapters.consent_gate`` asks the consent service, whose policy table is the one policy. A gate that
cannot get a decision raises :class:`ConsentUnavailable`: no decision, no access (fail closed).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol
from uuid import UUID

Action = Literal["read", "write", "create", "cosign", "return"]

# Data categories (contracts/consent_v1.py ``DataCategory``). An episode's entries are kept in collections
# named like their category (``Episode.sessions`` holds "sessions"), so the names double as entry kinds.
DEMOGRAPHICS = "demographics"
EPISODES = "episodes"
ENTRY_CATEGORIES: tuple[str, ...] = ("sessions", "patterns", "goals", "reflections", "measures")
NOTES = "notes"


@dataclass(frozen=True)
class Actor:
    sub: str
    tenant: str
    roles: frozenset[str]
    client_id: UUID | None
    purpose_of_use: str
    # The caller's own bearer token, forwarded to the consent service, which verifies it itself.
    token: str = field(default="", repr=False)


@dataclass(frozen=True)
class Resource:
    type: str  # "client" | "episode" | "practitioner"
    id: UUID | str | None
    labels: frozenset[str] = frozenset()  # every sensitivity label present in what is read or written
    categories: frozenset[str] = frozenset()  # the categories of data the answer would hold


@dataclass(frozen=True)
class AccessRequest:
    actor: Actor
    action: Action
    client_id: UUID | None
    resource: Resource
    purpose_of_use: str
    care_team: frozenset[str] = frozenset()
    care_team_supervisors: frozenset[str] = frozenset()
    request_id: str = ""
    author: str | None = None  # of the note asked about, for notes
    actor_display: str | None = None  # the actor's name in the practitioner directory, for access reports


@dataclass(frozen=True)
class Obligations:
    """What a permit asks of the answer: leave out these labels and categories, attach this notice."""

    redact_labels: frozenset[str] = frozenset()
    redact_categories: frozenset[str] = frozenset()
    redisclosure_notice: str | None = None

    def hides(self, category: str, labels: Iterable[str]) -> bool:
        """Whether data of this category carrying these labels must be left out."""
        return category in self.redact_categories or not self.redact_labels.isdisjoint(labels)


@dataclass(frozen=True)
class Decision:
    permit: bool
    reason: str
    rule: str
    redact_labels: frozenset[str] = frozenset()
    decision_id: str | None = None
    redact_categories: frozenset[str] = frozenset()
    redisclosure_notice: str | None = None
    consents: tuple[str, ...] = ()  # ids of the consents the decision relied on
    break_glass_id: str | None = None

    @property
    def obligations(self) -> Obligations:
        return Obligations(self.redact_labels, self.redact_categories, self.redisclosure_notice)


class AccessGate(Protocol):
    def decide(self, request: AccessRequest) -> Decision: ...


class AccessDenied(Exception):
    """The gate denied the access; the message is the decision's reason (no clinical content)."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.reason)
        self.decision = decision


@dataclass(frozen=True)
class Part:
    """The data a resource cannot be answered without: its category and its own labels."""

    category: str
    labels: frozenset[str] = frozenset()


WITHHELD = "the access decision withholds the data asked for"


def withheld(decision: Decision) -> AccessDenied:
    """A permit whose obligations leave out the very thing asked for answers like a denial: no data."""
    return AccessDenied(replace(decision, permit=False, reason=WITHHELD))


class ConsentUnavailable(Exception):
    """No decision could be had (the consent service is unreachable, slow or answered nonsense).

    ``kind`` says which, for logs and metrics; the message is the same whatever happened, and holds no
    clinical content.
    """

    def __init__(self, kind: str = "unavailable") -> None:
        super().__init__("the consent service could not decide; no clinical data was returned")
        self.kind = kind
