"""The consent application's plumbing: decide (and log) every operation, save with the commit rows, load
behind the tenant wall.

Every operation, the service's own included (granting a consent, reading the review queue), is decided by
:func:`~services.consent.domain.policy.decide` and the decision is saved as an event, in the same
transaction as any change it permits, before the caller gets an answer. Use cases (``app``,
``registers``) are written on top of these few methods.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

import uuid_utils
from eventsourcing.application import AggregateNotFoundError, Application

from services.consent.application.audit import Audit, Checkpointer
from services.consent.application.commands import Actor, Command
from services.consent.application.errors import AccessDenied, NotFound
from services.consent.application.ports import (
    AccessLogStore,
    CommitRows,
    ConsentIndex,
    DisclosureRow,
    LogRow,
)
from services.consent.domain.base import ConsentAggregate, EventMeta
from services.consent.domain.decision import AccessDecision
from services.consent.domain.directive import status_at
from services.consent.domain.errors import DomainError
from services.consent.domain.policy import Ask, BreakGlassFact, ConsentFact, Verdict, decide

A = TypeVar("A", bound=ConsentAggregate)
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_id() -> UUID:
    return UUID(str(uuid_utils.uuid7()))


@dataclass(frozen=True)
class Question:
    """What the records service (or an integrator) asks about; the actor is not part of it."""

    action: str
    resource_type: str
    client_id: UUID | None = None
    resource_id: str | None = None
    labels: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    purpose: str | None = None
    care_team: frozenset[str] = frozenset()
    supervisors: frozenset[str] = frozenset()
    author: str | None = None
    actor_display: str | None = None


@dataclass(frozen=True)
class Decided:
    id: UUID
    verdict: Verdict
    decided_at: datetime


class ConsentCore(Application[UUID]):
    name = "consent"  # names the tables (consent_events): never change it

    def __init__(self, env: dict[str, str], *, clock: Clock = utc_now) -> None:
        super().__init__(env)
        self.clock = clock
        self.index: ConsentIndex = self.recorder.index  # type: ignore[attr-defined]
        self.access_log: AccessLogStore = self.recorder.index.log  # type: ignore[attr-defined]
        self.audit: Audit  # set by the composition root, with the log's keys
        self.checkpointer: Checkpointer

    # --- decisions --------------------------------------------------------------------------------------
    def decide(self, cmd: Command, question: Question) -> Decided:
        """Decide, store the decision, then answer (a deny is an answer too, not an error)."""
        decided, decision = self._decision(cmd, question)
        self.save(decision)
        return decided

    def _decision(self, cmd: Command, question: Question) -> tuple[Decided, AccessDecision]:
        now = self.clock()
        ask = self._ask(cmd.actor, question, now)
        verdict = decide(ask)
        decision_id = new_id()
        decision = AccessDecision.record(self._meta(cmd, now), decision_id, ask, verdict)
        return Decided(decision_id, verdict, now), decision

    def _ask(self, actor: Actor, q: Question, now: datetime) -> Ask:
        consents: tuple[ConsentFact, ...] = ()
        grants: tuple[BreakGlassFact, ...] = ()
        if q.client_id is not None:
            consents = tuple(
                ConsentFact(row.id, row.terms, status_at(row.terms, row.revoked_at, now), row.granted_at)
                for row in self.index.directives_of(actor.tenant, q.client_id)
            )
            if "clinician" in actor.roles and actor.sub not in q.care_team:
                grants = tuple(
                    BreakGlassFact(
                        g.id, g.actor, g.client_id, g.expires_at, g.started_at <= now < g.expires_at
                    )
                    for g in self.index.break_glass_of(actor.tenant, actor.sub, q.client_id)
                )
        return Ask(
            tenant=actor.tenant,
            actor=actor.sub,
            roles=actor.roles,
            actor_client_id=actor.client_id,
            action=q.action,
            client_id=q.client_id,
            resource_type=q.resource_type,
            resource_id=q.resource_id,
            labels=q.labels,
            categories=q.categories,
            purpose=q.purpose or actor.purpose_of_use,
            care_team=q.care_team,
            supervisors=q.supervisors,
            author=q.author,
            actor_display=q.actor_display,
            consents=consents,
            break_glass=grants,
        )

    def _permitted(self, cmd: Command, question: Question) -> tuple[Decided, AccessDecision]:
        """Decide an operation of this service; a denial is stored, then raised."""
        decided, decision = self._decision(cmd, question)
        if not decided.verdict.permit:
            self.save(decision)
            raise AccessDenied(decided.verdict, decided.id)
        return decided, decision

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Every decision saved is also an entry of its tenant's access log, and a decision that disclosed
        to an outside party an entry of the disclosure register, in the same transaction."""
        rows: CommitRows = kwargs.pop("commit_rows", None) or CommitRows()
        for decision in (o for o in objs if isinstance(o, AccessDecision)):
            rows.log.append(LogRow(decision.tenant, decision.id, decision.log_entry()))
            if decision.discloses():
                rows.disclosures.append(_disclosed(decision))
        return super().save(*objs, commit_rows=rows, **kwargs)

    def authorize_log_read(self, cmd: Command) -> None:
        """The auditor's and privacy officer's read of the access log, decided and logged like any other."""
        self._read(cmd, Question("read", "access_log"))

    def _read(self, cmd: Command, question: Question) -> None:
        _, decision = self._permitted(cmd, question)
        self.save(decision)

    # --- helpers ---------------------------------------------------------------------------------------
    @contextmanager
    def _kept_if_refused(self, decision: AccessDecision) -> Iterator[None]:
        """The decision was made: it is kept even when the domain then refuses the change (422, 409)."""
        try:
            yield
        except DomainError:
            self.save(decision)
            raise

    def _meta(self, cmd: Command, now: datetime) -> EventMeta:
        return EventMeta(cmd.actor.tenant, cmd.actor.sub, cmd.request_id, cmd.causation_id, now)

    def _load(self, tenant: str, aggregate_id: UUID, kind: type[A]) -> A:
        try:
            aggregate: Any = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(f"no {_noun(kind)} {aggregate_id}") from None
        if not isinstance(aggregate, kind) or aggregate.tenant != tenant:
            raise NotFound(f"no {_noun(kind)} {aggregate_id}")
        return aggregate


def _noun(kind: type[Any]) -> str:
    return {"ConsentDirective": "consent", "BreakGlass": "break-glass"}.get(
        kind.__name__, kind.__name__.lower()
    )


def _disclosed(decision: AccessDecision) -> DisclosureRow:
    """The register's row of a decision that disclosed (under consent, so not accountable)."""
    return DisclosureRow(
        decision.tenant,
        decision.id,
        UUID(str(decision.ask["client_id"])),
        decision.created_on,
        "decision",
        False,
        decision.verdict["purpose_of_use"],
        decision.ask["actor"],
    )
