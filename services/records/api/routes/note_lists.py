"""Lists of progress notes: those unsigned past their due day (``GET /v1/notes/overdue``)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from starlette.responses import Response

from contracts import records_v1 as api
from services.records.api import render
from services.records.api.deps import ActorDep, RecordsDep, RequestIdDep
from services.records.application.notes import OverdueNote
from services.restkit.paging import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from services.restkit.problems import responses_for

router = APIRouter(prefix="/v1/notes", tags=["notes"])
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Clinician = Annotated[
    str | None, Query(min_length=1, max_length=200, description="Only this clinician's notes (token sub)")
]


def overdue_note(item: OverdueNote) -> dict[str, Any]:
    n = item.note
    return {
        "id": n.id,
        "episode_id": n.episode_id,
        "session_id": n.session_id,
        "client_id": n.client_id,
        "author": n.author,
        "status": n.status,
        "drafted_at": n.created_on,
        "due_on": item.due_on,
        "location": f"/v1/episodes/{n.episode_id}/sessions/{n.session_id}/notes/{n.id}",
    }


@router.get("/overdue", response_model=api.Page[api.OverdueNote], responses=responses_for(401, 403, 422, 503))
def overdue_notes(
    records: RecordsDep,
    actor: ActorDep,
    request_id: RequestIdDep,
    clinician: Clinician = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Response:
    after = decode_cursor(cursor, "overdue-notes", lambda v: UUID(str(v)))
    page, next_after = records.overdue_notes(actor, clinician, after, limit, request_id)
    next_cursor = encode_cursor({"k": "overdue-notes", "after": str(next_after)}) if next_after else None
    return render.json_response(render.page([overdue_note(i) for i in page], next_cursor))
