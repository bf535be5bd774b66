"""Request dependencies: the application, the verified actor, and the write context.

The write context implements the REST conventions for writes: ``If-Match`` (the version the caller
saw), ``Idempotency-Key`` (claimed before the use case runs, completed in the transaction of the events
it produced, released if the request fails) and the rendering of the response.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any
from uuid import UUID

import uuid_utils
from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from services.identity import InvalidToken
from services.records.api.errors import BadRequestInput, IdempotencyInFlight, IdempotencyKeyReused
from services.records.application.access import Actor
from services.records.application.app import RecordsApplication
from services.records.application.commands import Command, IdempotentWrite, Written
from services.records.application.errors import StaleVersion
from services.records.application.ports import IdempotencyScope, StoredResponse
from services.restkit.auth import principal_of
from services.restkit.problems import request_id_of

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
STALE_CLAIM_SECONDS = 60.0
_ETAG = re.compile(r'^(?:W/)?"(\d{1,18})"$')


async def get_records(request: Request) -> RecordsApplication:
    records: RecordsApplication = request.app.state.records
    return records


RecordsDep = Annotated[RecordsApplication, Depends(get_records)]


async def get_actor(request: Request) -> Actor:
    """The caller, as BearerAuthMiddleware verified them before routing."""
    principal = principal_of(request)
    client_id: UUID | None = None
    if principal.client_id is not None:
        try:
            client_id = UUID(principal.client_id)
        except ValueError:
            raise InvalidToken("bad_claims") from None
    return Actor(
        principal.sub, principal.tenant, principal.roles, client_id, principal.purpose_of_use, principal.token
    )


ActorDep = Annotated[Actor, Depends(get_actor)]


async def get_request_id(request: Request) -> str:
    """The request's id, which the access decisions of a read carry (writes carry it in their command)."""
    return request_id_of(request)


RequestIdDep = Annotated[str, Depends(get_request_id)]


class Writes:
    """Runs one write use case and renders its response (the same bytes an idempotent replay returns)."""

    def __init__(self, actor: Actor, request: Request, claim: IdempotentWrite | None) -> None:
        self.actor = actor
        self.request_id = request_id_of(request)
        self.causation_id = request.headers.get("x-causation-id")
        self.if_match = parse_if_match(request.headers.get("if-match"))
        self.claim = claim

    def run(
        self, call: Callable[[Command], Written], render: Callable[[Written], StoredResponse]
    ) -> Response:
        if self.claim is not None:
            self.claim.render = render
        command = Command(self.actor, self.request_id, self.causation_id, self.if_match, self.claim)
        stored = render(call(command))
        return Response(stored.body, stored.status, headers=stored.headers)


def parse_if_match(header: str | None) -> int | None:
    """``"7"`` or ``W/"7"`` is version 7; ``*`` or no header matches any version; anything else is stale."""
    if header is None or header.strip() == "*":
        return None
    match = _ETAG.match(header.strip())
    if match is None:
        raise StaleVersion('If-Match must be an ETag this service issued, like "3"')
    return int(match.group(1))


class Replay(Exception):
    """A completed idempotent request: answer with its first response."""

    def __init__(self, response: StoredResponse) -> None:
        super().__init__("idempotent replay")
        self.response = response


async def get_writes(request: Request, actor: ActorDep) -> AsyncIterator[Writes]:
    key = request.headers.get("idempotency-key")
    if key is None:
        yield Writes(actor, request, None)
        return
    if not IDEMPOTENCY_KEY.match(key):
        raise BadRequestInput("Idempotency-Key must be 1-255 visible ASCII characters")
    records: RecordsApplication = request.app.state.records
    scope = IdempotencyScope(actor.tenant, actor.sub, request.method, request.url.path, key)
    claim = IdempotentWrite(scope, str(uuid_utils.uuid7()))
    request_hash = _body_hash(await request.body())
    found = await run_in_threadpool(
        records.index.claim_idempotency, scope, request_hash, claim.claim_token, STALE_CLAIM_SECONDS
    )
    if found is not None:
        if found.request_hash != request_hash:
            raise IdempotencyKeyReused()
        if found.completed is None:
            raise IdempotencyInFlight()
        raise Replay(await run_in_threadpool(records.replay, scope, found))
    try:
        yield Writes(actor, request, claim)
    finally:
        if not claim.completed:
            await run_in_threadpool(records.index.release_idempotency, scope, claim.claim_token)


def _body_hash(body: bytes) -> str:
    """Bodies are compared as parsed JSON, so key order and whitespace do not matter."""
    try:
        canonical: Any = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = body.decode("utf-8", "replace")
    return hashlib.sha256(canonical.encode()).hexdigest()


WritesDep = Annotated[Writes, Depends(get_writes)]
