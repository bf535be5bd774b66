"""The disclosure register (45 CFR 164.528): what left the practice, to whom, when and why.

Disclosures come from two places. A permitted decision whose rule discloses (an integrator, an outside
party, reading under the client's consent) is registered with the decision, in its transaction: the
decision holds everything the register shows. A disclosure made outside Touchstone (a paper subpoena, a
faxed report) is entered by a privacy officer and is its own aggregate: the recipient, address,
description, purpose and basis are free text, kept only in its (encrypted) event.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any, Generic, TypeVar
from uuid import UUID

from .base import ConsentAggregate, EventMeta, meta_fields
from .errors import InvalidDisclosure

# A party outside the practice (the system of an integrator) reads under the client's consent or
# authorization: its permitted reads by these rules are disclosures. Inside the practice, nothing is.
OUTSIDE_ROLES = frozenset({"integrator"})
DISCLOSING_RULES = frozenset({"consented-disclosure", "psychotherapy-notes-authorization"})
# Made under the client's consent or authorization: excepted from the accounting by 164.528(a)(1)(iv).
CONSENTED_BASIS = "the client's consent or authorization (not accountable: 45 CFR 164.528(a)(1)(iv))"
ACCOUNTING_YEARS = 6  # 164.528(a)(1): the six years before the request
T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class DisclosureDetails:
    client_id: UUID
    disclosed_on: date
    recipient_name: str
    recipient_address: str | None = None
    description: str
    purpose_text: str
    purpose_code: str | None = None
    accountable: bool = True
    basis: str | None = None

    def to_event(self) -> dict[str, Any]:
        return {**asdict(self), "disclosed_on": self.disclosed_on.isoformat()}

    @classmethod
    def from_event(cls, fields: dict[str, Any]) -> DisclosureDetails:
        return cls(**{**fields, "disclosed_on": date.fromisoformat(fields["disclosed_on"])})


def problems_of(details: DisclosureDetails, today: date) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if details.disclosed_on > today + timedelta(days=1):
        problems.append(("date", "the date of the disclosure must not be in the future"))
    for field, text in (
        ("recipient.name", details.recipient_name),
        ("description", details.description),
        ("purpose.text", details.purpose_text),
    ):
        if not text.strip():
            problems.append((field, "must not be blank"))
    if not details.accountable and not (details.basis or "").strip():
        problems.append(
            ("basis", "say why it is not accountable: the exception of 45 CFR 164.528(a)(1) it falls under")
        )
    return problems


class Disclosure(ConsentAggregate):
    TOPIC = "touchstone.consent.Disclosure.v1"

    class Event(ConsentAggregate.Event):
        TOPIC = "touchstone.consent.Disclosure.Event.v1"

    class DisclosureRecorded(Event, ConsentAggregate.Created):
        TOPIC = "touchstone.consent.DisclosureRecorded.v1"
        details: dict[str, Any]

    Created = DisclosureRecorded

    def __init__(self, *, tenant: str, actor: str, details: dict[str, Any]) -> None:
        self.tenant = tenant
        self.recorded_by = actor
        self.details = DisclosureDetails.from_event(details)

    @classmethod
    def record(cls, meta: EventMeta, disclosure_id: UUID, details: DisclosureDetails) -> Disclosure:
        problems = problems_of(details, meta.recorded_at.date())
        if problems:
            raise InvalidDisclosure(problems)
        return cls._create(
            cls.DisclosureRecorded, id=disclosure_id, details=details.to_event(), **meta_fields(meta)
        )

    @property
    def client_id(self) -> UUID:
        return self.details.client_id


def accounting_start(end: date) -> date:
    """The first day of the six years that end on ``end`` (29 February falls back to the 28th)."""
    try:
        start = end.replace(year=end.year - ACCOUNTING_YEARS)
    except ValueError:
        start = end.replace(year=end.year - ACCOUNTING_YEARS, day=28)
    return start + timedelta(days=1)


@dataclass(frozen=True)
class Summary(Generic[T]):
    """One line of an accounting: a disclosure, or repeated ones to one recipient for one purpose."""

    first: T
    count: int
    last_on: date


def summarize(
    disclosures: Iterable[T], key: Callable[[T], Hashable], day: Callable[[T], date]
) -> list[Summary[T]]:
    """Repeated disclosures to one recipient for one purpose as one line, as 164.528(b)(3) allows: the
    first in full, their number and the date of the last. ``disclosures`` come oldest first; the lines
    keep the order of their first disclosure."""
    groups: dict[Hashable, list[T]] = {}
    for disclosure in disclosures:
        groups.setdefault(key(disclosure), []).append(disclosure)
    return [Summary(group[0], len(group), max(day(d) for d in group)) for group in groups.values()]
