"""The records application's plumbing: load with tenant walls, decide, save with the commit rows, retry.

Use cases (``clients``, ``practitioners``, ``episodes``) are written on top of these few methods.
"""

from __future__ import annotations

import copy
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.persistence import IntegrityError, JSONTranscoder

from services.records.application.access import (
    AccessDenied,
    AccessGate,
    AccessRequest,
    Action,
    Actor,
    Obligations,
    Part,
    Resource,
    withheld,
)
from services.records.application.commands import Command, IdempotentWrite, Written
from services.records.application.errors import (
    Erased,
    NotFound,
    StaleVersion,
    TooMuchContention,
    VersionNotFound,
)
from services.records.application.ports import (
    AsOfRow,
    ClientKeyDestroyed,
    CommitRows,
    IdempotencyCompletion,
    IdempotencyRecord,
    IdempotencyScope,
    KeyRing,
    RecordIndex,
    StoredResponse,
)
from services.records.application.transcodings import register_records_transcodings
from services.records.domain import VALUE_TYPES
from services.records.domain.base import EventMeta, RecordAggregate, RecordSnapshot
from services.records.domain.practitioner import Practitioner, practitioner_id

A = TypeVar("A", bound=RecordAggregate)
MAX_ATTEMPTS = 60
WRITE_LOCK_STRIPES = 256
NOT_IN_DIRECTORY = frozenset({"client", "integrator"})  # roles of actors the practitioner directory lacks
Clock = Callable[[], datetime]


def _context(scope: IdempotencyScope) -> bytes:
    """Associated data binding a kept response to its key's scope."""
    return "\x1f".join((scope.tenant, scope.actor, scope.method, scope.path, scope.key)).encode()


def utc_now() -> datetime:
    return datetime.now(UTC)


class RecordsCore(Application[UUID]):
    name = "records"
    snapshot_class = RecordSnapshot

    def __init__(self, env: dict[str, str], *, gate: AccessGate, clock: Clock = utc_now) -> None:
        super().__init__(env)
        self.gate = gate
        self.clock = clock
        self._write_locks = [threading.Lock() for _ in range(WRITE_LOCK_STRIPES)]
        self._index: RecordIndex | None = None
        self._keys: KeyRing | None = None
        self._identifier_digest: Callable[[str, str, str], bytes] | None = None

    def attach(
        self, *, index: RecordIndex, keys: KeyRing, identifier_digest: Callable[[str, str, str], bytes]
    ) -> None:
        """Wire the adapters that exist only once the recorder does (the composition root calls this)."""
        self._index, self._keys, self._identifier_digest = index, keys, identifier_digest

    @property
    def index(self) -> RecordIndex:
        if self._index is None:
            raise RuntimeError("the records application was not attached to its index")
        return self._index

    @property
    def keys(self) -> KeyRing:
        if self._keys is None:
            raise RuntimeError("the records application was not attached to its key ring")
        return self._keys

    def identifier_digest(self, tenant: str, system: str, value: str) -> bytes:
        if self._identifier_digest is None:
            raise RuntimeError("the records application was not attached to its identifier digest")
        return self._identifier_digest(tenant, system, value)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_records_transcodings(transcoder, VALUE_TYPES)

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        """Snapshot the aggregate just saved instead of replaying it from the database again.

        The library reloads the aggregate at the snapshot's version; for a long episode that replay
        costs more than the rest of the request. A save usually holds the aggregate at exactly that
        version; only when it does not (several events crossing the interval) is it reloaded.
        """
        if self.snapshots is None:
            return
        for event in processing_event.events:
            aggregate = processing_event.aggregates.get(event.originator_id)
            if aggregate is None:
                continue
            interval = self.snapshotting_intervals.get(type(aggregate))
            if not interval or event.originator_version % interval:
                continue
            if aggregate.version == event.originator_version:
                self.snapshots.put([RecordSnapshot.take(aggregate)])
            else:
                self.take_snapshot(event.originator_id, event.originator_version)

    # --- reading ------------------------------------------------------------------------------------------
    def _load(
        self,
        tenant: str,
        aggregate_id: UUID,
        kind: type[A],
        version: int | None = None,
        *,
        cached: bool = False,
    ) -> A:
        """The aggregate, or NotFound for an unknown id, another tenant's or another kind's.

        ``cached`` takes this process's cached copy as it is, without asking the database for newer events:
        for writes, whose insert fails on a version conflict anyway (and is then retried with a fresh load).
        """
        try:
            aggregate: Any = (self._cached(aggregate_id) if cached else None) or self.repository.get(
                aggregate_id, version=version
            )
            client_id = getattr(aggregate, "client_id", None)
            if client_id is not None:  # a cached aggregate never touches the key: ask for it
                self.keys.check(client_id)
        except AggregateNotFoundError:
            raise NotFound(f"no {kind.__name__.lower()} {aggregate_id}") from None
        except ClientKeyDestroyed as erased:
            if self.keys.tenant_of(erased.client_id) == tenant:
                raise Erased(f"the record of client {erased.client_id} has been erased") from None
            raise NotFound(f"no {kind.__name__.lower()} {aggregate_id}") from None
        if not isinstance(aggregate, kind) or aggregate.tenant != tenant:
            raise NotFound(f"no {kind.__name__.lower()} {aggregate_id}")
        if version is not None and aggregate.version != version:
            raise VersionNotFound(f"{kind.__name__.lower()} {aggregate_id} has no version {version}")
        return aggregate

    def _cached(self, aggregate_id: UUID) -> Any:
        cache = self.repository.cache
        if cache is None:
            return None
        try:
            return copy.deepcopy(cache.get(aggregate_id))
        except KeyError:
            return None

    def _remember(self, aggregate: RecordAggregate) -> None:
        """Keep the state just saved, so this process's next write to it needs no read first."""
        if self.repository.cache is not None:
            self.repository.cache.put(aggregate.id, copy.deepcopy(aggregate))

    def _load_then(
        self, tenant: str, aggregate_id: UUID, kind: type[A], version: int | None, as_of: datetime | None
    ) -> A:
        """The aggregate as it was at ``version`` or at recorded time ``as_of`` (never both)."""
        if as_of is not None:
            version = self.index.version_at(aggregate_id, as_of)
            if version is None:
                raise VersionNotFound(f"{kind.__name__.lower()} {aggregate_id} did not exist then")
        return self._load(tenant, aggregate_id, kind, version)

    def _find_practitioner(self, tenant: str, sub: str) -> Practitioner | None:
        """The directory entry, if any: a fact for decisions and validation, not a caller's read."""
        try:
            return self._load(tenant, practitioner_id(tenant, sub), Practitioner)
        except NotFound:
            return None

    def _supervisors_of(self, actor: Actor, tenant: str, team: frozenset[str]) -> frozenset[str]:
        """The supervisors of the care team; only worth loading for a supervisor not on the team."""
        if "supervisor" not in actor.roles or actor.sub in team:
            return frozenset()
        found = (self._find_practitioner(tenant, sub) for sub in team)
        return frozenset(p.supervisor for p in found if p is not None and p.supervisor)

    def _actor_display(self, actor: Actor) -> str | None:
        """The actor's name in the directory, for the client's access report (clients and integrators are
        not in it). This process's cached copy is taken as it is, so a decision costs no read of the
        directory; a rename made by another process shows once this one reads the practitioner again."""
        if actor.roles <= NOT_IN_DIRECTORY:
            return None
        try:
            found = self._load(
                actor.tenant, practitioner_id(actor.tenant, actor.sub), Practitioner, cached=True
            )
        except NotFound:
            return None
        return found.display_name

    # --- deciding -----------------------------------------------------------------------------------------
    def _decide(
        self,
        actor: Actor,
        action: Action,
        resource: Resource,
        *,
        client_id: UUID | None,
        care_team: frozenset[str] = frozenset(),
        supervisors: frozenset[str] = frozenset(),
        request_id: str = "",
        essential: Part | None = None,
        author: str | None = None,
    ) -> Obligations:
        """Ask the gate; raise AccessDenied, or return the obligations the answer must meet.

        ``essential`` is the data the answer cannot do without (a client's demographics, an episode's own
        fields, the entry written): when the obligations leave it out, the permit answers like a denial.
        ConsentUnavailable from the gate propagates: no decision, no data.
        """
        decision = self.gate.decide(
            AccessRequest(
                actor=actor,
                action=action,
                client_id=client_id,
                resource=resource,
                purpose_of_use=actor.purpose_of_use,
                care_team=care_team,
                care_team_supervisors=supervisors,
                request_id=request_id,
                author=author,
                actor_display=self._actor_display(actor),
            )
        )
        if not decision.permit:
            raise AccessDenied(decision)
        obligations = decision.obligations
        if essential is not None and obligations.hides(essential.category, essential.labels):
            raise withheld(decision)
        return obligations

    # --- writing ------------------------------------------------------------------------------------------
    def _meta(self, cmd: Command) -> EventMeta:
        return EventMeta(
            tenant=cmd.actor.tenant,
            actor=cmd.actor.sub,
            request_id=cmd.request_id,
            causation_id=cmd.causation_id,
            recorded_at=self.clock(),
        )

    def _save(self, cmd: Command, written: Written, *aggregates: RecordAggregate, rows: CommitRows) -> None:
        rows.as_of = [
            AsOfRow(e.originator_id, e.timestamp, e.originator_version)
            for aggregate in aggregates
            for e in aggregate.pending_events
        ]
        claim = cmd.idempotency
        if claim is not None and claim.render is not None:
            rows.idempotency = self._sealed_completion(claim, written)
        self.save(*aggregates, commit_rows=rows)
        if claim is not None:
            claim.completed = True

    def _sealed_completion(self, claim: IdempotentWrite, written: Written) -> IdempotencyCompletion:
        """The response kept for replays holds record text: seal it with the client's key, like events."""
        response = claim.render(written) if claim.render is not None else None
        if response is None:
            raise RuntimeError("an idempotent write needs its render")
        client_id = getattr(written.aggregate, "client_id", None)
        if isinstance(client_id, UUID):
            body = self.keys.seal(client_id, response.body, _context(claim.scope))
            response = StoredResponse(response.status, response.headers, body)
        return IdempotencyCompletion(claim.scope, claim.claim_token, response, client_id)

    def replay(self, scope: IdempotencyScope, record: IdempotencyRecord) -> StoredResponse:
        """The first response to an idempotent request; 410 once its client was erased."""
        if record.completed is None:
            raise ValueError("only a completed request can be replayed")
        if record.client_id is None:
            return record.completed
        try:
            body = self.keys.unseal(record.client_id, record.completed.body, _context(scope))
        except ClientKeyDestroyed:
            raise Erased(f"the record of client {record.client_id} has been erased") from None
        return StoredResponse(record.completed.status, record.completed.headers, body)

    def _update(
        self,
        cmd: Command,
        aggregate_id: UUID,
        kind: type[A],
        authorize: Callable[[A], Obligations],
        change: Callable[[A, EventMeta], Any],
        rows: Callable[[A], CommitRows] = lambda _: CommitRows(),
    ) -> Written:
        """Load, check If-Match, authorize, change, save; retry a lost race unless If-Match was given.

        Writers of one aggregate queue in this process rather than race (they could not both win);
        races with other processes are settled by the insert's version check and retried.
        """
        with self._write_locks[hash(aggregate_id) % len(self._write_locks)]:
            for attempt in range(MAX_ATTEMPTS):
                # The first try trusts the cache (If-Match needs the current version, so not then).
                optimistic = attempt == 0 and cmd.if_match is None
                aggregate = self._load(cmd.actor.tenant, aggregate_id, kind, cached=optimistic)
                if cmd.if_match is not None and aggregate.version != cmd.if_match:
                    raise StaleVersion(f"the current version is {aggregate.version}")
                obligations = authorize(aggregate)
                value = change(aggregate, self._meta(cmd))
                written = Written(value, aggregate_id, aggregate.version, aggregate, obligations)
                try:
                    self._save(cmd, written, aggregate, rows=rows(aggregate))
                except IntegrityError:
                    if cmd.if_match is not None:
                        raise StaleVersion("another write made this version stale") from None
                    if attempt:  # the first conflict may only mean the cached copy was behind
                        time.sleep(random.uniform(0, min(0.05, 0.001 * 2**attempt)))
                    continue
                self._remember(aggregate)
                return written
        raise TooMuchContention(f"gave up after {MAX_ATTEMPTS} concurrent conflicts")
