"""Clients and the practitioner directory."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, Query
from starlette.responses import Response

from contracts import records_v1 as api
from services.records.api import render
from services.records.api.deps import ActorDep, RecordsDep, RequestIdDep, WritesDep
from services.records.api.errors import BadRequestInput
from services.records.domain.client import HumanName, Identifier
from services.restkit.paging import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from services.restkit.problems import responses_for

router = APIRouter(prefix="/v1", tags=["clients"])
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


@router.post(
    "/clients",
    status_code=201,
    response_model=api.Client,
    responses=responses_for(401, 403, 409, 413, 415, 422, 503),
)
def register_client(body: api.RegisterClient, records: RecordsDep, writes: WritesDep) -> Response:
    name = HumanName(family=body.name.family, given=list(body.name.given), prefix=list(body.name.prefix))
    identifiers = [Identifier(system=i.system, value=i.value) for i in body.identifiers]
    return writes.run(
        lambda cmd: records.register_client(cmd, identifiers, name, body.birth_date, body.time_zone),
        render.created(render.client, lambda w: f"/v1/clients/{w.aggregate_id}"),
    )


@router.get("/clients", response_model=api.Page[api.Client], responses=responses_for(401, 403, 422, 503))
def find_clients(
    records: RecordsDep,
    actor: ActorDep,
    request_id: RequestIdDep,
    identifier: Annotated[str, Query(description="system|value")],
) -> Response:
    system, sep, value = identifier.partition("|")
    if not sep or not system or not value:
        raise BadRequestInput("identifier must be given as system|value")
    found = records.find_clients(actor, system, value, request_id)
    return render.json_response(render.page([render.client(c) for c in found], None))


@router.get(
    "/clients/{client_id}", response_model=api.Client, responses=responses_for(401, 403, 404, 410, 503)
)
def get_client(client_id: UUID, records: RecordsDep, actor: ActorDep, request_id: RequestIdDep) -> Response:
    client = records.get_client(actor, client_id, request_id)
    return render.json_response(render.client(client), client.version)


@router.get(
    "/clients/{client_id}/episodes",
    response_model=api.Page[api.EpisodeSummary],
    responses=responses_for(401, 403, 404, 410, 422, 503),
)
def client_episodes(
    client_id: UUID,
    records: RecordsDep,
    actor: ActorDep,
    request_id: RequestIdDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Response:
    after = decode_cursor(cursor, "episodes", lambda v: UUID(str(v)))
    page, next_after = records.client_episodes(actor, client_id, after, limit, request_id)
    next_cursor = encode_cursor({"k": "episodes", "after": str(next_after)}) if next_after else None
    return render.json_response(render.page([render.episode_summary(e) for e in page], next_cursor))


@router.post(
    "/practitioners",
    status_code=201,
    response_model=api.Practitioner,
    tags=["practitioners"],
    responses=responses_for(401, 403, 409, 413, 415, 422, 503),
)
def register_practitioner(body: api.RegisterPractitioner, records: RecordsDep, writes: WritesDep) -> Response:
    return writes.run(
        lambda cmd: records.register_practitioner(
            cmd, body.id, body.display_name, list(body.roles), body.supervisor, body.requires_supervision
        ),
        render.created(render.practitioner, lambda w: f"/v1/practitioners/{quote(w.aggregate_id, safe='')}"),
    )


@router.get(
    "/practitioners/{practitioner_id}",
    response_model=api.Practitioner,
    tags=["practitioners"],
    responses=responses_for(401, 403, 404, 503),
)
def get_practitioner(
    practitioner_id: str, records: RecordsDep, actor: ActorDep, request_id: RequestIdDep
) -> Response:
    found = records.get_practitioner(actor, practitioner_id, request_id)
    return render.json_response(render.practitioner(found), found.version)
