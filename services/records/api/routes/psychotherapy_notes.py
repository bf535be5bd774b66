"""Psychotherapy notes: recorded in an episode, read on their own path (never with the episode)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter
from starlette.responses import Response

from contracts import records_v1 as api
from services.records.api import render
from services.records.api.deps import ActorDep, RecordsDep, RequestIdDep, WritesDep
from services.records.domain.psychotherapy_note import PsychotherapyNote
from services.restkit.problems import responses_for

router = APIRouter(prefix="/v1", tags=["psychotherapy notes"])


def psychotherapy_note(n: PsychotherapyNote) -> dict[str, Any]:
    return {
        "id": n.id,
        "episode_id": n.episode_id,
        "client_id": n.client_id,
        "author": n.author,
        "text": n.text,
        "occurred_at": n.occurred_at,
        "labels": list(n.labels),
        "version": n.version,
        "recorded_at": n.modified_on,
    }


@router.post(
    "/episodes/{episode_id}/psychotherapy-notes",
    status_code=201,
    response_model=api.PsychotherapyNote,
    responses=responses_for(401, 403, 404, 410, 413, 415, 422, 503),
)
def record_psychotherapy_note(
    episode_id: UUID, body: api.RecordPsychotherapyNote, records: RecordsDep, writes: WritesDep
) -> Response:
    return writes.run(
        lambda cmd: records.record_psychotherapy_note(cmd, episode_id, body.text, body.occurred_at),
        render.created(psychotherapy_note, lambda w: f"/v1/psychotherapy-notes/{w.aggregate_id}"),
    )


@router.get(
    "/psychotherapy-notes/{note_id}",
    response_model=api.PsychotherapyNote,
    responses=responses_for(401, 403, 404, 410, 422, 503),
)
def get_psychotherapy_note(
    note_id: UUID, records: RecordsDep, actor: ActorDep, request_id: RequestIdDep
) -> Response:
    note = records.get_psychotherapy_note(actor, note_id, request_id)
    return render.json_response(psychotherapy_note(note), note.version)
