"""Errors of the consent domain. Their messages name fields and rules, never clinical content."""

from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    pass


class Invalid(DomainError):
    """A change that cannot be made as asked; every problem is listed as (field, message)."""

    title: ClassVar[str] = "Invalid request"
    refusal: ClassVar[str] = "the request cannot be carried out"

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in problems))
        self.problems = problems


class InvalidConsent(Invalid):
    """A directive (or break-glass) that cannot be granted."""

    title = "Invalid consent"
    refusal = "the consent cannot be granted"


class InvalidDisclosure(Invalid):
    """A disclosure that cannot be entered in the register."""

    title = "Invalid disclosure"
    refusal = "the disclosure cannot be recorded"


class Conflict(DomainError):
    """The change contradicts the aggregate's state (e.g. revoking a revoked consent)."""
