"""What the consent application needs from storage besides the event store.

Index rows are written in the transaction that stores the events they describe (``CommitRows``), so a
decision never sees a consent whose revocation has been acknowledged as still active.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
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


@dataclass(frozen=True)
class LogRow:
    """A decision as an entry of its tenant's access log; the log gives it its sequence number."""

    tenant: str
    decision_id: UUID
    entry: dict[str, Any]  # JSON values only; becomes the leaf's canonical bytes with "seq" added


@dataclass
class CommitRows:
    directives: list[DirectiveRow] = field(default_factory=list)
    break_glass: list[BreakGlassRow] = field(default_factory=list)
    log: list[LogRow] = field(default_factory=list)


class ConsentIndex(Protocol):
    def directives_of(self, tenant: str, client_id: UUID) -> list[DirectiveRow]: ...

    def directive_ids(self, tenant: str, client_id: UUID, after: UUID | None, limit: int) -> list[UUID]: ...

    def break_glass_of(self, tenant: str, actor: str, client_id: UUID) -> list[BreakGlassRow]: ...

    def break_glass_ids(
        self, tenant: str, unreviewed_only: bool, after: UUID | None, limit: int
    ) -> list[UUID]: ...

    def ping(self) -> None: ...


@dataclass(frozen=True)
class LogFilter:
    client_id: UUID | None = None
    actor: str | None = None
    outcome: str | None = None
    purpose: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class StoredCheckpoint:
    tenant: str
    size: int
    root: bytes
    note: str
    signed_at: datetime


class AccessLogStore(Protocol):
    """The tenants' access logs: entries are appended with the decisions (``CommitRows.log``)."""

    def size(self, tenant: str) -> int: ...

    def heads(self) -> list[tuple[str, int]]: ...

    def entries(self, tenant: str, where: LogFilter, after: int, limit: int) -> list[bytes]: ...

    def leaves(self, tenant: str, start: int, end: int) -> Iterator[bytes]: ...

    def leaf_hashes(self, tenant: str, start: int, end: int) -> list[bytes]: ...

    def latest_checkpoint(self, tenant: str) -> StoredCheckpoint | None: ...

    def checkpoints(self, tenant: str) -> list[str]: ...

    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> None: ...
