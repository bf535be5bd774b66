"""What a decision is asked (:class:`Ask`: who, what, why, the facts records owns, the client's consents and
break-glass as they stand at that moment) and what it answers (:class:`Verdict`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from .directive import Status, Terms


@dataclass(frozen=True)
class ConsentFact:
    """A directive of the client as it stands at the decision."""

    id: UUID
    terms: Terms
    status: Status
    granted_at: datetime


@dataclass(frozen=True)
class BreakGlassFact:
    id: UUID
    actor: str
    client_id: UUID
    expires_at: datetime
    active: bool


@dataclass(frozen=True, kw_only=True)
class Ask:
    tenant: str
    actor: str
    roles: frozenset[str]
    actor_client_id: UUID | None = None
    action: str
    client_id: UUID | None = None
    resource_type: str
    resource_id: str | None = None
    labels: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    purpose: str
    care_team: frozenset[str] = frozenset()
    supervisors: frozenset[str] = frozenset()
    author: str | None = None
    actor_display: str | None = None  # the actor's name in records' directory: logged, never decides
    consents: tuple[ConsentFact, ...] = ()
    break_glass: tuple[BreakGlassFact, ...] = ()

    def has(self, role: str) -> bool:
        return role in self.roles

    def to_event(self) -> dict[str, Any]:
        return {
            "actor": self.actor,
            "roles": sorted(self.roles),
            "actor_client_id": self.actor_client_id,
            "action": self.action,
            "client_id": self.client_id,
            "resource": {
                "type": self.resource_type,
                "id": self.resource_id,
                "labels": sorted(self.labels),
                "categories": sorted(self.categories),
            },
            "purpose_of_use": self.purpose,
            "facts": {
                "care_team": sorted(self.care_team),
                "care_team_supervisors": sorted(self.supervisors),
                "author": self.author,
                "actor_display": self.actor_display,
            },
            "consents": [{"id": c.id, "kind": c.terms.kind, "status": c.status} for c in self.consents],
            "break_glass": [{"id": b.id, "active": b.active} for b in self.break_glass],
        }


@dataclass(frozen=True)
class Verdict:
    permit: bool
    reason: str
    rule: str
    redact_labels: frozenset[str] = frozenset()
    redact_categories: frozenset[str] = frozenset()
    redisclosure_notice: bool = False
    consents: tuple[UUID, ...] = ()
    break_glass_id: UUID | None = None
    purpose: str | None = None

    def to_event(self) -> dict[str, Any]:
        return {
            "decision": "permit" if self.permit else "deny",
            "reason": self.reason,
            "rule": self.rule,
            "redact_labels": sorted(self.redact_labels),
            "redact_categories": sorted(self.redact_categories),
            "redisclosure_notice": self.redisclosure_notice,
            "consents": list(self.consents),
            "break_glass_id": self.break_glass_id,
            "purpose_of_use": self.purpose,
        }
