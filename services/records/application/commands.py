"""What every use case receives besides its own arguments: the caller and the request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from services.records.application.access import Actor, Obligations
from services.records.application.ports import IdempotencyScope, StoredResponse


@dataclass
class IdempotentWrite:
    """A claimed Idempotency-Key: the rendered response commits with the events it produced."""

    scope: IdempotencyScope
    claim_token: str
    render: Callable[[Any], StoredResponse] | None = None
    completed: bool = False


@dataclass
class Command:
    actor: Actor
    request_id: str
    causation_id: str | None = None
    if_match: int | None = None  # the version the caller saw; None: retry conflicts in the server
    idempotency: IdempotentWrite | None = field(default=None)


@dataclass(frozen=True)
class Written:
    """The outcome of a write: what was made or changed, in which aggregate, at which version."""

    value: Any
    aggregate_id: Any
    version: int
    aggregate: Any = None
    # The obligations of the write's decision, for an answer that shows more than what was written.
    obligations: Obligations = field(default_factory=Obligations)
