"""Progress notes of a session held: draft, read (now, at a version, as of an instant), revise, sign,
addenda, co-sign or return. Their writes check and answer the note's own version (ETag)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from starlette.responses import Response

from contracts import records_v1 as api
from services.records.api import render
from services.records.api.deps import ActorDep, RecordsDep, RequestIdDep, WritesDep
from services.records.api.render_notes import note
from services.records.api.routes.episodes import AsOf, Version, one_of
from services.records.application.commands import Written
from services.restkit.problems import responses_for

router = APIRouter(prefix="/v1/episodes/{episode_id}/sessions/{session_id}/notes", tags=["notes"])
WRITE = responses_for(401, 403, 404, 409, 410, 412, 413, 415, 422, 503)
ACTION = responses_for(401, 403, 404, 409, 410, 412, 422, 503)
READ = responses_for(401, 403, 404, 410, 422, 503)


def _location(w: Written) -> str:
    n = w.aggregate
    return f"/v1/episodes/{n.episode_id}/sessions/{n.session_id}/notes/{n.id}"


@router.post("", status_code=201, response_model=api.Note, responses=WRITE)
def draft_note(
    episode_id: UUID, session_id: UUID, body: api.DraftNote, records: RecordsDep, writes: WritesDep
) -> Response:
    content = body.content.sections()
    return writes.run(
        lambda cmd: records.draft_note(cmd, episode_id, session_id, body.format, content, list(body.labels)),
        render.created(note, _location),
    )


@router.get("/{note_id}", response_model=api.Note, responses=READ)
def get_note(
    episode_id: UUID,
    session_id: UUID,
    note_id: UUID,
    records: RecordsDep,
    actor: ActorDep,
    request_id: RequestIdDep,
    version: Version = None,
    as_of: AsOf = None,
) -> Response:
    one_of(version, as_of)
    shown = records.get_note(actor, (episode_id, session_id, note_id), version, as_of, request_id)
    return render.json_response(note(shown), shown.version)


@router.post("/{note_id}/revisions", status_code=201, response_model=api.Note, responses=WRITE)
def revise_note(
    episode_id: UUID,
    session_id: UUID,
    note_id: UUID,
    body: api.ReviseNote,
    records: RecordsDep,
    writes: WritesDep,
) -> Response:
    content = body.content.sections()
    return writes.run(
        lambda cmd: records.revise_note(cmd, (episode_id, session_id, note_id), content),
        render.created(note, _location),
    )


@router.post("/{note_id}/sign", response_model=api.Note, responses=ACTION)
def sign_note(
    episode_id: UUID, session_id: UUID, note_id: UUID, records: RecordsDep, writes: WritesDep
) -> Response:
    return writes.run(
        lambda cmd: records.sign_note(cmd, (episode_id, session_id, note_id)), render.acted(note)
    )


@router.post("/{note_id}/addenda", status_code=201, response_model=api.Note, responses=WRITE)
def append_addendum(
    episode_id: UUID,
    session_id: UUID,
    note_id: UUID,
    body: api.AppendAddendum,
    records: RecordsDep,
    writes: WritesDep,
) -> Response:
    return writes.run(
        lambda cmd: records.append_addendum(cmd, (episode_id, session_id, note_id), body.text, body.reason),
        render.created(note, _location),
    )


@router.post("/{note_id}/cosign", response_model=api.Note, responses=WRITE)
def cosign_note(
    episode_id: UUID,
    session_id: UUID,
    note_id: UUID,
    body: api.CosignNote,
    records: RecordsDep,
    writes: WritesDep,
) -> Response:
    return writes.run(
        lambda cmd: records.cosign_note(cmd, (episode_id, session_id, note_id), body.comment),
        render.acted(note),
    )


@router.post("/{note_id}/return", response_model=api.Note, responses=WRITE)
def return_note(
    episode_id: UUID,
    session_id: UUID,
    note_id: UUID,
    body: api.ReturnNote,
    records: RecordsDep,
    writes: WritesDep,
) -> Response:
    return writes.run(
        lambda cmd: records.return_note(cmd, (episode_id, session_id, note_id), body.comment),
        render.acted(note),
    )
