"""The disclosure register and the accounting of disclosures (45 CFR 164.528).

Every read and every entry is decided (and logged) like any other access: privacy officers enter
disclosures made outside Touchstone and read any client's register; auditors read registers; a client
reads their own. Disclosures Touchstone made itself are registered with their decisions (``core``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from uuid import UUID

from services.consent.application.access_report import ReportUseCases
from services.consent.application.commands import Command, DayWindow
from services.consent.application.core import Question, new_id
from services.consent.application.errors import NotFound
from services.consent.application.ports import CommitRows, DisclosureRow
from services.consent.domain.decision import AccessDecision
from services.consent.domain.disclosure import (
    CONSENTED_BASIS,
    Disclosure,
    DisclosureDetails,
    Summary,
    summarize,
)


@dataclass(frozen=True)
class Information:
    """What a disclosure made through Touchstone held (redacted categories left out)."""

    resource_type: str
    resource_id: str | None
    categories: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Disclosed:
    """One disclosure of the register: ``details`` for one entered by hand; ``information``,
    ``consents`` and ``organization`` (the consent grantee's display) for one registered from a decision."""

    row: DisclosureRow
    recorded_at: datetime
    basis: str | None
    details: DisclosureDetails | None = None
    recorded_by: str | None = None
    version: int | None = None
    information: Information | None = None
    consents: tuple[UUID, ...] = ()
    organization: str | None = None

    @property
    def disclosed_on(self) -> date:
        return self.details.disclosed_on if self.details else self.row.disclosed_at.date()


class RegisterUseCases(ReportUseCases):
    def record_disclosure(self, cmd: Command, details: DisclosureDetails) -> Disclosed:
        question = Question("create", "disclosure", client_id=details.client_id)
        _, decision = self._permitted(cmd, question)
        with self._kept_if_refused(decision):
            entered = Disclosure.record(self._meta(cmd, decision.created_on), new_id(), details)
        row = _manual_row(entered)
        self.save(decision, entered, commit_rows=CommitRows(disclosures=[row]))
        return _entered(row, entered)

    def disclosure(self, cmd: Command, client_id: UUID, disclosure_id: UUID) -> Disclosed:
        self._read(cmd, Question("read", "disclosure", client_id=client_id, resource_id=str(disclosure_id)))
        row = self.index.disclosure(cmd.actor.tenant, disclosure_id)
        if row is None or row.client_id != client_id:
            raise NotFound(f"no disclosure {disclosure_id} of client {client_id}")
        entered = self._load(row.tenant, row.id, Disclosure) if row.source == "manual" else None
        return self._disclosed(row, entered, {})

    def disclosure_register(
        self, cmd: Command, client_id: UUID, window: DayWindow, accountable_only: bool
    ) -> list[Summary[Disclosed]]:
        """The client's disclosures in the window, repeated ones summarized (164.528(b)(3))."""
        self._read(cmd, Question("read", "disclosure", client_id=client_id))
        tenant = cmd.actor.tenant
        rows = self.index.disclosures_of(tenant, client_id, window.since, window.until, accountable_only)
        entered = {r.id: self._load(tenant, r.id, Disclosure) for r in rows if r.source == "manual"}
        lines = summarize(rows, lambda r: _recipient_and_purpose(r, entered.get(r.id)), _day(entered))
        displays: dict[UUID, str | None] = {}
        return [
            Summary(
                self._disclosed(line.first, entered.get(line.first.id), displays), line.count, line.last_on
            )
            for line in lines
        ]

    def _disclosed(
        self, row: DisclosureRow, entered: Disclosure | None, displays: dict[UUID, str | None]
    ) -> Disclosed:
        if entered is not None:
            return _entered(row, entered)
        decision = self._load(row.tenant, row.id, AccessDecision)
        resource, verdict = decision.ask["resource"], decision.verdict
        consents = tuple(UUID(str(c)) for c in verdict["consents"])
        withheld = set(verdict["redact_categories"])
        information = Information(
            resource["type"],
            resource["id"],
            tuple(c for c in resource["categories"] if c not in withheld),
        )
        return Disclosed(
            row=row,
            recorded_at=decision.created_on,
            basis=CONSENTED_BASIS,
            information=information,
            consents=consents,
            organization=self._organization(row.tenant, consents, displays),
        )


def _manual_row(entered: Disclosure) -> DisclosureRow:
    details = entered.details
    return DisclosureRow(
        entered.tenant,
        entered.id,
        details.client_id,
        datetime.combine(details.disclosed_on, time(), UTC),
        "manual",
        details.accountable,
        details.purpose_code,
        None,
    )


def _entered(row: DisclosureRow, entered: Disclosure) -> Disclosed:
    return Disclosed(
        row=row,
        recorded_at=entered.created_on,
        basis=entered.details.basis,
        details=entered.details,
        recorded_by=entered.recorded_by,
        version=entered.version,
    )


def _recipient_and_purpose(row: DisclosureRow, entered: Disclosure | None) -> Hashable:
    """Disclosures to one recipient for one purpose (and equally accountable) are summarized together."""
    if entered is None:
        return ("decision", row.recipient, row.purpose, row.accountable)
    d = entered.details
    purpose = d.purpose_code or _folded(d.purpose_text)
    return ("manual", _folded(d.recipient_name), _folded(d.recipient_address or ""), purpose, d.accountable)


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


def _day(entered: dict[UUID, Disclosure]) -> Callable[[DisclosureRow], date]:
    def day(row: DisclosureRow) -> date:
        found = entered.get(row.id)
        return found.details.disclosed_on if found else row.disclosed_at.date()

    return day
