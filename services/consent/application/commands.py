"""Who asks (from the verified token only) and the request a command belongs to."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class Actor:
    """The caller, from the verified token only."""

    sub: str
    tenant: str
    roles: frozenset[str]
    client_id: UUID | None
    purpose_of_use: str


@dataclass(frozen=True)
class Command:
    actor: Actor
    request_id: str
    causation_id: str | None = None
