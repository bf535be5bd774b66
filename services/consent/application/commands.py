"""Who asks (from the verified token only), the request a command belongs to, and the days a report covers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
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


@dataclass(frozen=True)
class DayWindow:
    """Calendar days ``start`` to ``end``, both included, in UTC (the consent service knows no time zones)."""

    start: date
    end: date

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time(), UTC)

    @property
    def until(self) -> datetime:
        """The first instant after the window."""
        return datetime.combine(self.end + timedelta(days=1), time(), UTC)
