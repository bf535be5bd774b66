"""Use cases of amendment requests (HIPAA 164.526): requested by the client (or a privacy officer on their
behalf), accepted with a linked correction or denied on a basis by a clinician, disputed by the client and
rebutted by the clinician; listed when open past their due date.

Decided as resource type ``amendment_request`` for the client of the amended entry, with the care team of
its episode (of every episode of theirs, for an entry of the client's own details). Which role takes which
step is the request's own rule: clinicians decide and rebut, the client or a privacy officer disputes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from services.records.application.access import AccessDenied, Action, Actor, Decision, Obligations, Resource
from services.records.application.commands import Command, Written
from services.records.application.core import RecordsCore
from services.records.application.errors import NotFound
from services.records.application.ids import new_id
from services.records.application.ports import AmendmentRow, CommitRows
from services.records.domain import checks
from services.records.domain.amendment import AmendmentRequest, EventRef
from services.records.domain.base import EventMeta, RecordAggregate
from services.records.domain.client import Client
from services.records.domain.episode import Episode
from services.records.domain.errors import UnknownReference, ValidationError
from services.records.domain.note import Note

AMENDMENT_REQUEST = "amendment_request"
CLINICIANS = frozenset({"clinician"})
CLIENT_SIDE = frozenset({"client", "privacy_officer"})
_KINDS: dict[type[RecordAggregate], str] = {Client: "client", Episode: "episode", Note: "note"}


class AmendmentUseCases(RecordsCore):
    def request_amendment(self, cmd: Command, target: EventRef, reason: str) -> Written:
        tenant = cmd.actor.tenant
        checks.text(reason, "reason")
        aggregate = self._amended(tenant, target, "target")
        kind, client_id, episode_id = _whose(aggregate)
        team = self._amendment_team(tenant, client_id, episode_id)
        obligations = self._authorize_amendment(cmd.actor, "create", None, client_id, team, cmd.request_id)
        request = AmendmentRequest.request(
            self._meta(cmd), new_id(), client_id, target, kind, episode_id, reason
        )
        written = Written(request, request.id, request.version, request, obligations)
        self._save(cmd, written, request, rows=CommitRows(amendment=_row(request)))
        return written

    def get_amendment(
        self,
        actor: Actor,
        request_id: UUID,
        version: int | None = None,
        as_of: datetime | None = None,
        trace_id: str = "",
    ) -> AmendmentRequest:
        current = self._load(actor.tenant, request_id, AmendmentRequest)
        shown = current
        if version is not None or as_of is not None:
            shown = self._load_then(actor.tenant, request_id, AmendmentRequest, version, as_of)
        self._authorize_request(actor, current, "read", trace_id)
        return shown

    def accept_amendment(
        self, cmd: Command, request_id: UUID, correction: EventRef, comment: str | None
    ) -> Written:
        self._amended(cmd.actor.tenant, correction, "correction")
        return self._step(cmd, request_id, CLINICIANS, lambda r, m: r.accept(m, correction, comment))

    def deny_amendment(self, cmd: Command, request_id: UUID, basis: str, explanation: str) -> Written:
        return self._step(cmd, request_id, CLINICIANS, lambda r, m: r.deny(m, basis, explanation))

    def file_disagreement(self, cmd: Command, request_id: UUID, statement: str) -> Written:
        return self._step(cmd, request_id, CLIENT_SIDE, lambda r, m: r.file_disagreement(m, statement))

    def rebut_disagreement(self, cmd: Command, request_id: UUID, text: str) -> Written:
        return self._step(cmd, request_id, CLINICIANS, lambda r, m: r.rebut(m, text))

    def overdue_amendments(
        self, actor: Actor, after: UUID | None, limit: int, trace_id: str = ""
    ) -> tuple[list[AmendmentRequest], UUID | None]:
        """A page of open requests past due that the actor may read, and where the next page starts."""
        ids = self.index.overdue_amendments(actor.tenant, self.clock(), after, limit + 1)
        return self._readable(actor, ids, limit, trace_id)

    def amendments_of(
        self, actor: Actor, target_id: UUID, after: UUID | None, limit: int, trace_id: str = ""
    ) -> tuple[list[AmendmentRequest], UUID | None]:
        """A page of the requests about one entry's aggregate (shown with it), as the actor may read them."""
        ids = self.index.amendments_of(actor.tenant, target_id, after, limit + 1)
        return self._readable(actor, ids, limit, trace_id)

    def _readable(
        self, actor: Actor, ids: Sequence[UUID], limit: int, trace_id: str
    ) -> tuple[list[AmendmentRequest], UUID | None]:
        shown = []
        for request_id in ids[:limit]:
            request = self._load(actor.tenant, request_id, AmendmentRequest)
            try:
                self._authorize_request(actor, request, "read", trace_id)
            except AccessDenied:
                continue  # a list does not reveal requests the caller may not see
            shown.append(request)
        return shown, ids[limit - 1] if len(ids) > limit else None

    # --- helpers ---------------------------------------------------------------------------------------
    def _step(
        self,
        cmd: Command,
        request_id: UUID,
        roles: frozenset[str],
        change: Callable[[AmendmentRequest, EventMeta], Any],
    ) -> Written:
        def authorize(request: AmendmentRequest) -> Obligations:
            obligations = self._authorize_request(cmd.actor, request, "write", cmd.request_id)
            if not roles & cmd.actor.roles:
                reason = f"this step of an amendment request is taken by: {', '.join(sorted(roles))}"
                raise AccessDenied(Decision(False, reason, "amendment-steps"))
            return obligations

        return self._update(cmd, request_id, AmendmentRequest, authorize, change, rows=_rows)

    def _amended(self, tenant: str, ref: EventRef, field: str) -> RecordAggregate:
        """The aggregate of the record an event reference names; 422 unless it has that version."""
        try:
            aggregate = self._load(tenant, ref.aggregate_id, RecordAggregate)
        except NotFound:
            aggregate = None
        if type(aggregate) not in _KINDS or aggregate is None:
            raise UnknownReference(
                f"{field} names no entry of a client's record", field=f"{field}.aggregate_id"
            )
        if not 1 <= ref.event_version <= aggregate.version:
            raise ValidationError(
                f"{field}.event_version must be between 1 and {aggregate.version}",
                field=f"{field}.event_version",
            )
        return aggregate

    def _amendment_team(self, tenant: str, client_id: UUID, episode_id: UUID | None) -> frozenset[str]:
        if episode_id is not None:
            return frozenset(self._load(tenant, episode_id, Episode).care_team)
        return self._team_of_client(tenant, self._load(tenant, client_id, Client))

    def _team_of_client(self, tenant: str, client: Client) -> frozenset[str]:
        team = {client.registered_by}
        for episode_id in self.index.episodes_of_client(tenant, client.id, None, 1_000):
            team.update(self._load(tenant, episode_id, Episode).care_team)
        return frozenset(team)

    def _authorize_request(
        self, actor: Actor, request: AmendmentRequest, action: Action, trace_id: str
    ) -> Obligations:
        team = self._amendment_team(request.tenant, request.client_id, request.episode_id)
        return self._authorize_amendment(actor, action, request.id, request.client_id, team, trace_id)

    def _authorize_amendment(
        self,
        actor: Actor,
        action: Action,
        request_id: UUID | None,
        client_id: UUID,
        team: frozenset[str],
        trace_id: str,
    ) -> Obligations:
        return self._decide(
            actor,
            action,
            Resource(AMENDMENT_REQUEST, request_id),
            client_id=client_id,
            care_team=team,
            supervisors=self._supervisors_of(actor, actor.tenant, team),
            request_id=trace_id,
        )


def _whose(aggregate: RecordAggregate) -> tuple[str, UUID, UUID | None]:
    """The kind of an amended aggregate, its client and the episode whose care team decides."""
    if isinstance(aggregate, Episode):
        return "episode", aggregate.client_id, aggregate.id
    if isinstance(aggregate, Note):
        return "note", aggregate.client_id, aggregate.episode_id
    if isinstance(aggregate, Client):
        return "client", aggregate.id, None
    raise TypeError(f"not a part of a client's record: {type(aggregate).__name__}")


def _row(request: AmendmentRequest) -> AmendmentRow:
    closed = None if request.is_open else request.modified_on
    return AmendmentRow(
        request.tenant, request.id, request.client_id, request.target.aggregate_id, request.due_at, closed
    )


def _rows(request: AmendmentRequest) -> CommitRows:
    return CommitRows(amendment=_row(request))
