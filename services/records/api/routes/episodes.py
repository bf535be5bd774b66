"""Episodes of care: open, read (now, at a version, as of an instant), history, close."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import AwareDatetime
from starlette.responses import Response

from contracts import records_v1 as api
from services.records.api import render
from services.records.api.deps import ActorDep, RecordsDep, RequestIdDep, WritesDep
from services.records.api.errors import BadRequestInput
from services.restkit.paging import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from services.restkit.problems import responses_for

router = APIRouter(prefix="/v1", tags=["episodes"])
Version = Annotated[int | None, Query(ge=1, description="Read the state at this version")]
AsOf = Annotated[AwareDatetime | None, Query(description="Read the state as recorded at this instant")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def _version(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError("not a version")
    return value


def one_of(version: int | None, as_of: object | None) -> None:
    if version is not None and as_of is not None:
        raise BadRequestInput("give either version or as_of, not both")


@router.post(
    "/clients/{client_id}/episodes",
    status_code=201,
    response_model=api.Episode,
    responses=responses_for(401, 403, 404, 410, 413, 415, 422, 503),
)
def open_episode(client_id: UUID, body: api.OpenEpisode, records: RecordsDep, writes: WritesDep) -> Response:
    return writes.run(
        lambda cmd: records.open_episode(
            cmd,
            client_id,
            body.clinician,
            list(body.care_team),
            body.reason_for_referral,
            list(body.presenting_concerns),
            body.started_at,
            list(body.labels),
        ),
        render.created(render.written_episode, lambda w: f"/v1/episodes/{w.aggregate_id}", whole=True),
    )


@router.get(
    "/episodes/{episode_id}",
    response_model=api.Episode,
    responses=responses_for(401, 403, 404, 410, 422, 503),
)
def get_episode(
    episode_id: UUID,
    records: RecordsDep,
    actor: ActorDep,
    request_id: RequestIdDep,
    version: Version = None,
    as_of: AsOf = None,
) -> Response:
    one_of(version, as_of)
    read = records.get_episode(actor, episode_id, version, as_of, request_id)
    return render.json_response(render.episode(read), read.episode.version)


@router.get(
    "/episodes/{episode_id}/history",
    response_model=api.Page[api.HistoryEvent],
    responses=responses_for(401, 403, 404, 410, 422, 503),
)
def episode_history(
    episode_id: UUID,
    records: RecordsDep,
    actor: ActorDep,
    request_id: RequestIdDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Response:
    after = decode_cursor(cursor, "history", _version) or 0
    items = records.episode_history(actor, episode_id, after, limit + 1, request_id)
    page = items[:limit]
    next_cursor = encode_cursor({"k": "history", "after": page[-1].version}) if len(items) > limit else None
    return render.json_response(render.page([render.history_event(i) for i in page], next_cursor))


@router.post(
    "/episodes/{episode_id}/close",
    response_model=api.Episode,
    responses=responses_for(401, 403, 404, 409, 410, 412, 413, 415, 422, 503),
)
def close_episode(
    episode_id: UUID, body: api.CloseEpisode, records: RecordsDep, writes: WritesDep
) -> Response:
    return writes.run(
        lambda cmd: records.close_episode(cmd, episode_id, body.reason, body.summary, body.occurred_at),
        render.acted(render.written_episode, whole=True),
    )
