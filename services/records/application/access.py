"""The access-gate port: asked before every read and write of client data.

The records application states who (the actor), what (action, client, resource and its labels), why
(purpose of use) and the facts it owns (care team, the care team's supervisors); the gate answers with a
decision and its obligations. ``local_policy`` implements it in-process; the consent service replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol
from uuid import UUID

Action = Literal["read", "write", "create"]


@dataclass(frozen=True)
class Actor:
    sub: str
    tenant: str
    roles: frozenset[str]
    client_id: UUID | None
    purpose_of_use: str
    token: str = field(default="", repr=False)


@dataclass(frozen=True)
class Resource:
    type: str  # "client" | "episode" | "practitioner"
    id: UUID | str | None
    labels: frozenset[str] = frozenset()


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


@dataclass(frozen=True)
class Decision:
    permit: bool
    reason: str
    rule: str
    redact_labels: frozenset[str] = frozenset()
    decision_id: str | None = None


class AccessGate(Protocol):
    def decide(self, request: AccessRequest) -> Decision: ...


class AccessDenied(Exception):
    """The gate denied the access; the message is the decision's reason (no clinical content)."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.reason)
        self.decision = decision
