"""Consent directives: what a client (or their representative) signed, to whom, for what, and until when.

Kinds: ``treatment``; ``disclosure`` (a release of information); ``psychotherapy_notes`` (the HIPAA
164.508(a)(2) authorization, which may not be combined with any other); ``part2`` (42 CFR Part 2 consent to
disclose substance use disorder information, which must carry the elements of 2.31(a)). The codes themselves
(purposes, labels, categories) are checked at the API against the contract's vocabularies.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from .base import ConsentAggregate, EventMeta, meta_fields
from .errors import Conflict, InvalidConsent

PSYCHOTHERAPY_NOTES = "PSYTHPN"
# Labels whose disclosure 42 CFR Part 2 governs: substance use disorder and substance abuse information.
PART2_LABELS = frozenset({"SUD", "ETH"})
Status = Literal["active", "expired", "revoked", "not_yet_valid"]


@dataclass(frozen=True, kw_only=True)
class Terms:
    """Everything a directive says; the policy reads these and nothing else."""

    client_id: UUID
    kind: str
    grantee_kind: str
    grantee_id: str
    grantee_display: str | None = None
    purposes: tuple[str, ...]
    categories: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    start: datetime
    end: datetime | None = None
    signer_role: str | None = None
    representative_id: str | None = None
    signed_on: date | None = None
    evidence_sha256: str | None = None
    disclosed_by: str | None = None
    description: str | None = None
    revocation_statement: bool = False

    def to_event(self) -> dict[str, Any]:
        fields = asdict(self)
        fields.update(
            purposes=list(self.purposes),
            categories=list(self.categories),
            labels=list(self.labels),
            signed_on=self.signed_on.isoformat() if self.signed_on else None,
        )
        return fields

    @classmethod
    def from_event(cls, fields: dict[str, Any]) -> Terms:
        signed_on = fields.get("signed_on")
        return cls(
            **{
                **fields,
                "purposes": tuple(fields["purposes"]),
                "categories": tuple(fields["categories"]),
                "labels": tuple(fields["labels"]),
                "signed_on": date.fromisoformat(signed_on) if signed_on else None,
            }
        )


def status_at(terms: Terms, revoked_at: datetime | None, now: datetime) -> Status:
    """Expiry and revocation are evaluated at the time asked about, never cached."""
    if revoked_at is not None and revoked_at <= now:
        return "revoked"
    if now < terms.start:
        return "not_yet_valid"
    if terms.end is not None and now >= terms.end:
        return "expired"
    return "active"


def problems_of(terms: Terms, today: date) -> list[tuple[str, str]]:
    """Every reason the terms cannot be granted, each with the field it concerns."""
    problems: list[tuple[str, str]] = []
    if terms.end is not None and terms.end <= terms.start:
        problems.append(("period.end", "the period must end after it starts"))
    if terms.signed_on is not None and terms.signed_on > today + timedelta(days=1):
        problems.append(("signed_on", "the signature date must not be in the future"))
    if terms.kind == "psychotherapy_notes":
        if set(terms.labels) - {PSYCHOTHERAPY_NOTES}:
            problems.append(
                (
                    "labels",
                    "a psychotherapy-notes authorization covers PSYTHPN only; it cannot be "
                    "combined with another authorization",
                )
            )
        if set(terms.categories) - {"notes"}:
            problems.append(
                (
                    "categories",
                    "a psychotherapy-notes authorization covers psychotherapy notes "
                    "only; it cannot be combined with another authorization",
                )
            )
    elif PSYCHOTHERAPY_NOTES in terms.labels:
        problems.append(
            ("labels", "psychotherapy notes (PSYTHPN) need their own psychotherapy_notes authorization")
        )
    if terms.kind in ("disclosure", "part2") and not terms.categories:
        problems.append(("categories", "name at least one data category to disclose"))
    if terms.kind != "treatment":
        problems.extend(_signature_problems(terms))
    if terms.kind == "part2":
        problems.extend(_part2_problems(terms))
    return problems


def _signature_problems(terms: Terms) -> list[tuple[str, str]]:
    part2 = " (42 CFR 2.31(a)(8))" if terms.kind == "part2" else ""
    dated = " (42 CFR 2.31(a)(9))" if terms.kind == "part2" else ""
    problems = []
    if terms.signer_role is None:
        problems.append(("signer", f"the signature of the client or their personal representative{part2}"))
    elif terms.signer_role == "personal_representative" and terms.representative_id is None:
        problems.append(("signer.representative_id", "a personal representative must be identified"))
    if terms.signed_on is None:
        problems.append(("signed_on", f"the date of the signature{dated}"))
    if terms.kind == "psychotherapy_notes" and terms.end is None:
        problems.append(("period.end", "an expiration date (45 CFR 164.508(c)(1)(v))"))
    return problems


def _part2_problems(terms: Terms) -> list[tuple[str, str]]:
    """The elements of 42 CFR 2.31(a) the request lacks (the patient and recipient are always named)."""
    problems = []
    if not terms.disclosed_by:
        problems.append(("disclosed_by", "who may make the disclosure (42 CFR 2.31(a)(2))"))
    if not terms.description:
        problems.append(
            (
                "description",
                "how much and what kind of information, including the SUD information (42 CFR 2.31(a)(3))",
            )
        )
    if not PART2_LABELS.intersection(terms.labels):
        problems.append(
            ("labels", "the substance use disorder information it covers, label SUD (42 CFR 2.31(a)(3))")
        )
    if not terms.revocation_statement:
        problems.append(("revocation_statement", "the statement of the right to revoke (42 CFR 2.31(a)(6))"))
    if terms.end is None:
        problems.append(("period.end", "the date or event on which the consent expires (42 CFR 2.31(a)(7))"))
    if not terms.evidence_sha256:
        problems.append(("evidence", "the signed form, as its SHA-256 (42 CFR 2.31(a)(8))"))
    return problems


class ConsentDirective(ConsentAggregate):
    TOPIC = "touchstone.consent.ConsentDirective.v1"

    class Event(ConsentAggregate.Event):
        TOPIC = "touchstone.consent.ConsentDirective.Event.v1"

    class ConsentGranted(Event, ConsentAggregate.Created):
        TOPIC = "touchstone.consent.ConsentGranted.v1"
        terms: dict[str, Any]

    Created = ConsentGranted

    class ConsentRevoked(Event):
        TOPIC = "touchstone.consent.ConsentRevoked.v1"
        reason: str

        def apply(self, aggregate: ConsentDirective) -> None:
            aggregate.revoked_at = self.timestamp
            aggregate.revoked_by = self.actor
            aggregate.revocation_reason = self.reason

    def __init__(self, *, tenant: str, actor: str, terms: dict[str, Any]) -> None:
        self.tenant = tenant
        self.granted_by = actor
        self.terms = Terms.from_event(terms)
        self.revoked_at: datetime | None = None
        self.revoked_by: str | None = None
        self.revocation_reason: str | None = None

    @classmethod
    def grant(cls, meta: EventMeta, consent_id: UUID, terms: Terms) -> ConsentDirective:
        problems = problems_of(terms, meta.recorded_at.date())
        if problems:
            raise InvalidConsent(problems)
        return cls._create(cls.ConsentGranted, id=consent_id, terms=terms.to_event(), **meta_fields(meta))

    def revoke(self, meta: EventMeta, reason: str) -> None:
        if self.revoked_at is not None:
            raise Conflict("the consent is already revoked")
        self._trigger(self.ConsentRevoked, meta, reason=reason)

    def status(self, now: datetime) -> Status:
        return status_at(self.terms, self.revoked_at, now)
