"""Errors of the consent domain. Their messages name fields and rules, never clinical content."""

from __future__ import annotations


class DomainError(Exception):
    pass


class InvalidConsent(DomainError):
    """A directive that cannot be granted; every problem is listed as (field, message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in problems))
        self.problems = problems


class Conflict(DomainError):
    """The change contradicts the aggregate's state (e.g. revoking a revoked consent)."""
