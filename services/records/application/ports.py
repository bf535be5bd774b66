"""Ports: what the records application needs from the outside, as Protocols and plain data.

The persistence package implements :class:`RecordIndex` and :class:`KeyRing`; the access gate is
implemented by the consent service's client (``adapters.consent_gate``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID


# --- rows that commit in the same transaction as the events -------------------------------------------
@dataclass(frozen=True)
class AsOfRow:
    """One event's recorded time, so ``?as_of=`` finds a version without replaying."""

    originator_id: UUID
    recorded_at: datetime
    version: int


@dataclass(frozen=True)
class IdentifierClaim:
    """A client identifier claimed for a client; unique per tenant (stored as a keyed digest)."""

    tenant: str
    digest: bytes
    client_id: UUID


@dataclass(frozen=True)
class EpisodeLink:
    tenant: str
    client_id: UUID
    episode_id: UUID


@dataclass(frozen=True)
class NewClientKey:
    tenant: str
    client_id: UUID
    wrapped_key: bytes


@dataclass(frozen=True)
class StoredResponse:
    """The first completed response to an idempotent request, replayed byte for byte."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class IdempotencyScope:
    tenant: str
    actor: str
    method: str
    path: str
    key: str


@dataclass(frozen=True)
class IdempotencyCompletion:
    """The response to keep; its body is sealed with the client's key when it concerns a client."""

    scope: IdempotencyScope
    claim_token: str
    response: StoredResponse
    client_id: UUID | None = None


@dataclass(frozen=True)
class AmendmentRow:
    """An amendment request as the overdue list finds it; ``closed_at`` once accepted or denied."""

    tenant: str
    request_id: UUID
    client_id: UUID
    target_id: UUID
    due_at: datetime
    closed_at: datetime | None = None


@dataclass(frozen=True)
class NoteRow:
    """A progress note as the overdue list finds it; ``signed_at`` is None while it awaits a signature."""

    tenant: str
    note_id: UUID
    author: str
    drafted_at: datetime
    signed_at: datetime | None = None


@dataclass
class CommitRows:
    """Everything that must commit atomically with one save's events."""

    as_of: list[AsOfRow] = field(default_factory=list)
    identifiers: list[IdentifierClaim] = field(default_factory=list)
    episode_link: EpisodeLink | None = None
    new_key: NewClientKey | None = None
    idempotency: IdempotencyCompletion | None = None
    amendment: AmendmentRow | None = None
    note: NoteRow | None = None


# --- idempotency ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IdempotencyRecord:
    request_hash: str
    completed: StoredResponse | None
    claim_token: str | None
    client_id: UUID | None = None


class RecordIndex(Protocol):
    """Queries over the rows written with the events (and the idempotency claims)."""

    def version_at(self, originator_id: UUID, as_of: datetime) -> int | None: ...

    def client_by_identifier(self, tenant: str, digest: bytes) -> UUID | None: ...

    def episodes_of_client(
        self, tenant: str, client_id: UUID, after: UUID | None, limit: int
    ) -> Sequence[UUID]: ...

    def overdue_amendments(
        self, tenant: str, now: datetime, after: UUID | None, limit: int
    ) -> Sequence[UUID]:
        """Open amendment requests due before ``now``, in id order after ``after``."""
        ...

    def amendments_of(self, tenant: str, target_id: UUID, after: UUID | None, limit: int) -> Sequence[UUID]:
        """The amendment requests about one aggregate of the record, in id order after ``after``."""
        ...

    def unsigned_notes(
        self, tenant: str, drafted_before: datetime, author: str | None, after: UUID | None, limit: int
    ) -> Sequence[UUID]:
        """Notes awaiting their author's signature drafted before the instant, in id order after ``after``."""
        ...

    def claim_idempotency(
        self, scope: IdempotencyScope, request_hash: str, claim_token: str, stale_after_seconds: float
    ) -> IdempotencyRecord | None:
        """Claim the key; ``None`` when claimed now, else the existing record (in flight or completed)."""
        ...

    def release_idempotency(self, scope: IdempotencyScope, claim_token: str) -> None: ...

    def ping(self) -> None: ...


class KeyRing(Protocol):
    """Per-client data keys (AES-GCM), wrapped by the master key."""

    def new_key(self, tenant: str, client_id: UUID) -> NewClientKey:
        """Make a data key usable at once in this process; its wrapped form commits with the events."""
        ...

    def forget_pending(self, client_id: UUID) -> None: ...

    def seal(self, client_id: UUID, plaintext: bytes, context: bytes) -> bytes: ...

    def unseal(self, client_id: UUID, sealed: bytes, context: bytes) -> bytes:
        """Raise :class:`ClientKeyDestroyed` once the key is gone."""
        ...

    def check(self, client_id: UUID) -> None:
        """Raise :class:`ClientKeyDestroyed` if the client's key is gone (cached briefly)."""
        ...

    def destroy(self, client_id: UUID) -> bool: ...

    def tenant_of(self, client_id: UUID) -> str | None: ...


class ClientKeyDestroyed(Exception):
    """The client's data key was destroyed: their events can no longer be read."""

    def __init__(self, client_id: UUID) -> None:
        super().__init__(f"client {client_id} has been erased")
        self.client_id = client_id


class IdentifierTaken(Exception):
    """A client identifier is already registered in the tenant."""

    def __init__(self) -> None:
        super().__init__("a client with this identifier already exists in the tenant")


class IdempotencyClaimLost(Exception):
    """The idempotency claim expired and was taken over before the events committed."""

    def __init__(self) -> None:
        super().__init__("the idempotency key was claimed by another request")
