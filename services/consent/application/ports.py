"""What the consent application needs from storage besides the event store.

Index rows are written in the transaction that stores the events they describe (``CommitRows``), so a
decision never sees a consent whose revocation has been acknowledged as still active.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID

from services.consent.domain.directive import Terms


@dataclass(frozen=True)
class DirectiveRow:
    tenant: str
    id: UUID
    terms: Terms
    granted_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class BreakGlassRow:
    tenant: str
    id: UUID
    client_id: UUID
    actor: str
    started_at: datetime
    expires_at: datetime
    reviewed: bool


@dataclass
class CommitRows:
    directives: list[DirectiveRow] = field(default_factory=list)
    break_glass: list[BreakGlassRow] = field(default_factory=list)


class ConsentIndex(Protocol):
    def directives_of(self, tenant: str, client_id: UUID) -> list[DirectiveRow]: ...

    def directive_ids(self, tenant: str, client_id: UUID, after: UUID | None, limit: int) -> list[UUID]: ...

    def break_glass_of(self, tenant: str, actor: str, client_id: UUID) -> list[BreakGlassRow]: ...

    def break_glass_ids(
        self, tenant: str, unreviewed_only: bool, after: UUID | None, limit: int
    ) -> list[UUID]: ...

    def ping(self) -> None: ...
