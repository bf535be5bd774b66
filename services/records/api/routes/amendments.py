"""Amendment requests (HIPAA 164.526): request, read (now, at a version, as of an instant), accept, deny,
statement of disagreement, rebuttal; the open requests past due."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from starlette.responses import Response

from contracts import records_v1 as api
from services.records.api import render
from services.records.api.deps import ActorDep, RecordsDep, RequestIdDep, WritesDep
from services.records.api.errors import BadRequestInput
from services.records.api.routes.episodes import AsOf, Version, one_of
from services.records.domain.amendment import AmendmentRequest, AmendmentStep, EventRef
from services.restkit.paging import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from services.restkit.problems import responses_for

router = APIRouter(prefix="/v1/amendment-requests", tags=["amendment requests"])
ACTION = responses_for(401, 403, 404, 409, 410, 412, 413, 415, 422, 503)
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def _ref(ref: EventRef) -> dict[str, Any]:
    return {"aggregate_id": ref.aggregate_id, "event_version": ref.event_version}


def _step(step: AmendmentStep | None, **fields: Any) -> dict[str, Any] | None:
    if step is None:
        return None
    return {"by": step.by, "at": step.at, "version": step.version, **fields}


def amendment(now: datetime) -> Callable[[AmendmentRequest], dict[str, Any]]:
    def doc(r: AmendmentRequest) -> dict[str, Any]:
        a, d, s, b = r.acceptance, r.denial, r.disagreement, r.rebuttal
        return {
            "id": r.id,
            "client_id": r.client_id,
            "target": _ref(r.target),
            "target_kind": r.target_kind,
            "reason": r.reason,
            "requested_by": r.requested_by,
            "requested_at": r.created_on,
            "due_at": r.due_at,
            "status": r.status,
            "overdue": r.is_overdue(now),
            "acceptance": _step(
                a, correction=a and a.correction and _ref(a.correction), comment=a and a.text
            ),
            "denial": _step(d, basis=d and d.basis, explanation=d and d.text),
            "disagreement": _step(s, text=s and s.text),
            "rebuttal": _step(b, text=b and b.text),
            "version": r.version,
            "recorded_at": r.modified_on,
        }

    return doc


@router.post(
    "",
    status_code=201,
    response_model=api.AmendmentRequest,
    responses=responses_for(401, 403, 410, 413, 415, 422, 503),
)
def request_amendment(body: api.RequestAmendment, records: RecordsDep, writes: WritesDep) -> Response:
    target = EventRef(aggregate_id=body.target.aggregate_id, event_version=body.target.event_version)
    return writes.run(
        lambda cmd: records.request_amendment(cmd, target, body.reason),
        render.created(amendment(records.clock()), lambda w: f"/v1/amendment-requests/{w.aggregate_id}"),
    )


@router.get("", response_model=api.Page[api.AmendmentRequest], responses=responses_for(401, 403, 422, 503))
def list_amendments(
    records: RecordsDep,
    actor: ActorDep,
    request_id: RequestIdDep,
    status: Annotated[
        Literal["overdue"] | None, Query(description="Open requests past their due time")
    ] = None,
    target: Annotated[UUID | None, Query(description="The requests about this aggregate's entries")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Response:
    if (status is None) == (target is None):
        raise BadRequestInput("give either status=overdue or target, not both")
    after = decode_cursor(cursor, "amendments", lambda v: UUID(str(v)))
    if target is not None:
        page, next_after = records.amendments_of(actor, target, after, limit, request_id)
    else:
        page, next_after = records.overdue_amendments(actor, after, limit, request_id)
    next_cursor = encode_cursor({"k": "amendments", "after": str(next_after)}) if next_after else None
    doc = amendment(records.clock())
    return render.json_response(render.page([doc(r) for r in page], next_cursor))


@router.get(
    "/{amendment_id}",
    response_model=api.AmendmentRequest,
    responses=responses_for(401, 403, 404, 410, 422, 503),
)
def get_amendment(
    amendment_id: UUID,
    records: RecordsDep,
    actor: ActorDep,
    request_id: RequestIdDep,
    version: Version = None,
    as_of: AsOf = None,
) -> Response:
    one_of(version, as_of)
    shown = records.get_amendment(actor, amendment_id, version, as_of, request_id)
    return render.json_response(amendment(records.clock())(shown), shown.version)


@router.post("/{amendment_id}/acceptance", response_model=api.AmendmentRequest, responses=ACTION)
def accept_amendment(
    amendment_id: UUID, body: api.AcceptAmendment, records: RecordsDep, writes: WritesDep
) -> Response:
    ref = EventRef(aggregate_id=body.correction.aggregate_id, event_version=body.correction.event_version)
    return writes.run(
        lambda cmd: records.accept_amendment(cmd, amendment_id, ref, body.comment),
        render.acted(amendment(records.clock())),
    )


@router.post("/{amendment_id}/denial", response_model=api.AmendmentRequest, responses=ACTION)
def deny_amendment(
    amendment_id: UUID, body: api.DenyAmendment, records: RecordsDep, writes: WritesDep
) -> Response:
    return writes.run(
        lambda cmd: records.deny_amendment(cmd, amendment_id, body.basis, body.explanation),
        render.acted(amendment(records.clock())),
    )


@router.post("/{amendment_id}/disagreement", response_model=api.AmendmentRequest, responses=ACTION)
def file_disagreement(
    amendment_id: UUID, body: api.FileDisagreement, records: RecordsDep, writes: WritesDep
) -> Response:
    return writes.run(
        lambda cmd: records.file_disagreement(cmd, amendment_id, body.statement),
        render.acted(amendment(records.clock())),
    )


@router.post("/{amendment_id}/rebuttal", response_model=api.AmendmentRequest, responses=ACTION)
def rebut_disagreement(
    amendment_id: UUID, body: api.RecordRebuttal, records: RecordsDep, writes: WritesDep
) -> Response:
    return writes.run(
        lambda cmd: records.rebut_disagreement(cmd, amendment_id, body.text),
        render.acted(amendment(records.clock())),
    )
