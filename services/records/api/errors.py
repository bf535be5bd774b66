"""The records service's table: exception type -> problem (status, type, title)."""

from __future__ import annotations

from collections.abc import Mapping

from services.records.application.access import AccessDenied, ConsentUnavailable
from services.records.application.errors import (
    AlreadyExists,
    Erased,
    InvalidReference,
    NotFound,
    StaleVersion,
    TooMuchContention,
)
from services.records.application.ports import IdempotencyClaimLost
from services.records.domain.errors import Conflict, EntryNotFound, NotAuthor
from services.restkit.paging import BadCursor
from services.restkit.problems import ProblemSpec


class BadRequestInput(Exception):
    """Input the models cannot refuse alone: as_of with version, a bad cursor or Idempotency-Key."""


class IdempotencyInFlight(Exception):
    """The same Idempotency-Key is still being processed."""

    def __init__(self) -> None:
        super().__init__("a request with this Idempotency-Key is still in progress; retry shortly")
        self.headers = {"Retry-After": "1"}


class DatabaseUnavailable(Exception):
    """The database could not be reached; the driver's message (hosts, ports) stays in the server."""

    def __init__(self) -> None:
        super().__init__("the records database is unavailable; retry shortly")
        self.headers = {"Retry-After": "2"}


class IdempotencyKeyReused(Exception):
    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was used with another request body")


PROBLEMS: Mapping[type[Exception], ProblemSpec] = {
    NotFound: ProblemSpec(404, "not-found", "Not found"),
    EntryNotFound: ProblemSpec(404, "not-found", "Not found"),
    Erased: ProblemSpec(410, "gone", "Record erased"),
    AccessDenied: ProblemSpec(403, "forbidden", "Access denied"),
    NotAuthor: ProblemSpec(403, "forbidden", "Not the author"),
    StaleVersion: ProblemSpec(412, "precondition-failed", "Stale version"),
    AlreadyExists: ProblemSpec(409, "conflict", "Already exists"),
    Conflict: ProblemSpec(409, "conflict", "Conflict"),
    IdempotencyInFlight: ProblemSpec(409, "conflict", "Request in progress"),
    IdempotencyClaimLost: ProblemSpec(409, "conflict", "Request superseded"),
    IdempotencyKeyReused: ProblemSpec(422, "validation", "Idempotency-Key reused"),
    InvalidReference: ProblemSpec(422, "validation", "Invalid reference"),
    BadRequestInput: ProblemSpec(422, "validation", "Invalid request"),
    BadCursor: ProblemSpec(422, "validation", "Invalid request"),
    TooMuchContention: ProblemSpec(503, "service-unavailable", "Too much contention"),
    DatabaseUnavailable: ProblemSpec(503, "service-unavailable", "Database unavailable"),
    # Fail closed: no decision, no data. The message is fixed, whatever went wrong (the logs say what).
    ConsentUnavailable: ProblemSpec(503, "service-unavailable", "Consent service unavailable", retry_after=1),
}
