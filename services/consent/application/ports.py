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


@dataclass(frozen=True)
class DisclosureRow:
    """A disclosure in the register's index: ids, codes and times (its free text stays in the events).

    ``source`` is "decision" (its id is the decision's) or "manual" (its id is its aggregate's);
    ``recipient`` is the integrator's token sub for a disclosure registered from a decision.
    """

    tenant: str
    id: UUID
    client_id: UUID
    disclosed_at: datetime
    source: str
    accountable: bool
    purpose: str | None
    recipient: str | None


@dataclass
class CommitRows:
    directives: list[DirectiveRow] = field(default_factory=list)
    break_glass: list[BreakGlassRow] = field(default_factory=list)
    log: list[LogRow] = field(default_factory=list)
    disclosures: list[DisclosureRow] = field(default_factory=list)

    @classmethod
    def merged(cls, many: list[CommitRows]) -> CommitRows:
        """The rows of several saves, in their order (a group commit writes them together)."""
        return cls(
            directives=[r for rows in many for r in rows.directives],
            break_glass=[r for rows in many for r in rows.break_glass],
            log=[r for rows in many for r in rows.log],
            disclosures=[r for rows in many for r in rows.disclosures],
        )


class ConsentIndex(Protocol):
    def directives_of(self, tenant: str, client_id: UUID) -> list[DirectiveRow]: ...

    def directive_ids(self, tenant: str, client_id: UUID, after: UUID | None, limit: int) -> list[UUID]: ...

    def break_glass_of(self, tenant: str, actor: str, client_id: UUID) -> list[BreakGlassRow]: ...

    def break_glass_ids(
        self, tenant: str, unreviewed_only: bool, after: UUID | None, limit: int
    ) -> list[UUID]: ...

    def disclosures_of(
        self, tenant: str, client_id: UUID, start: datetime, end: datetime, accountable_only: bool
    ) -> list[DisclosureRow]:
        """The client's disclosures with ``start <= disclosed_at < end``, oldest first."""
        ...

    def disclosure(self, tenant: str, disclosure_id: UUID) -> DisclosureRow | None: ...

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
