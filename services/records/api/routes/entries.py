"""The entries of an episode: sessions, patterns and their explorations, goals, reflections, measures.

Their writes check and answer the episode's version (ETag), since entries are parts of the episode.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends
from starlette.responses import Response

from contracts import records_v1 as api
from services.records.api import render
from services.records.api.deps import ActorDep, RecordsDep, RequestIdDep, WritesDep
from services.records.api.routes.episodes import AsOf, Version, one_of
from services.records.application.access import Actor
from services.records.application.app import RecordsApplication
from services.records.domain.entries import EntryRef
from services.restkit.problems import responses_for

router = APIRouter(prefix="/v1/episodes/{episode_id}", tags=["entries"])
WRITE = responses_for(401, 403, 404, 409, 410, 412, 413, 415, 422, 503)
READ = responses_for(401, 403, 404, 410, 422, 503)


def _at(kind: str) -> Callable[[Any], str]:
    return lambda w: f"/v1/episodes/{w.aggregate_id}/{kind}/{w.value.id}"


@dataclass(frozen=True)
class EntryReads:
    """Reads of one entry, each decided as a read of its episode; a withheld entry is a 403."""

    records: RecordsApplication
    actor: Actor
    request_id: str

    def one(
        self,
        episode_id: UUID,
        kind: str,
        entry_id: UUID,
        to_doc: Callable[[Any], render.Doc],
        version: int | None,
        as_of: Any,
    ) -> Response:
        one_of(version, as_of)
        read = self.records.get_episode(self.actor, episode_id, version, as_of, self.request_id)
        return render.json_response(to_doc(read.entry(kind, entry_id)), read.episode.version)


async def entry_reads(records: RecordsDep, actor: ActorDep, request_id: RequestIdDep) -> EntryReads:
    return EntryReads(records, actor, request_id)


ReadsDep = Annotated[EntryReads, Depends(entry_reads)]


# --- sessions -----------------------------------------------------------------------------------------
@router.post("/sessions", status_code=201, response_model=api.Session, responses=WRITE)
def hold_session(episode_id: UUID, body: api.HoldSession, records: RecordsDep, writes: WritesDep) -> Response:
    return writes.run(
        lambda cmd: records.hold_session(
            cmd,
            episode_id,
            body.occurred_at,
            body.duration_minutes,
            body.modality,
            list(body.attendees),
            list(body.labels),
        ),
        render.created(render.session, _at("sessions")),
    )


@router.get("/sessions/{session_id}", response_model=api.Session, responses=READ)
def get_session(
    episode_id: UUID,
    session_id: UUID,
    reads: ReadsDep,
    version: Version = None,
    as_of: AsOf = None,
) -> Response:
    return reads.one(episode_id, "sessions", session_id, render.session, version, as_of)


# --- patterns -----------------------------------------------------------------------------------------
@router.post("/patterns", status_code=201, response_model=api.Pattern, responses=WRITE)
def identify_pattern(
    episode_id: UUID, body: api.IdentifyPattern, records: RecordsDep, writes: WritesDep
) -> Response:
    return writes.run(
        lambda cmd: records.identify_pattern(
            cmd, episode_id, body.name, body.description, body.occurred_at, list(body.labels)
        ),
        render.created(render.pattern, _at("patterns")),
    )


@router.get("/patterns/{pattern_id}", response_model=api.Pattern, responses=READ)
def get_pattern(
    episode_id: UUID,
    pattern_id: UUID,
    reads: ReadsDep,
    version: Version = None,
    as_of: AsOf = None,
) -> Response:
    return reads.one(episode_id, "patterns", pattern_id, render.pattern, version, as_of)


@router.post(
    "/patterns/{pattern_id}/explorations", status_code=201, response_model=api.Exploration, responses=WRITE
)
def explore_pattern(
    episode_id: UUID, pattern_id: UUID, body: api.ExplorePattern, records: RecordsDep, writes: WritesDep
) -> Response:
    return writes.run(
        lambda cmd: records.explore_pattern(
            cmd, episode_id, pattern_id, body.session_id, body.observations, body.occurred_at
        ),
        render.created(render.exploration, lambda w: f"/v1/episodes/{episode_id}/patterns/{pattern_id}"),
    )


# --- goals --------------------------------------------------------------------------------------------
def _goal_at(w: Any) -> str:
    return f"/v1/episodes/{w.aggregate_id}/goals/{w.value.id}"


@router.post("/goals", status_code=201, response_model=api.Goal, responses=WRITE)
def set_goal(episode_id: UUID, body: api.SetGoal, records: RecordsDep, writes: WritesDep) -> Response:
    return writes.run(
        lambda cmd: records.set_goal(
            cmd,
            episode_id,
            body.statement,
            list(body.objectives),
            body.target_date,
            body.occurred_at,
            list(body.labels),
        ),
        render.created(render.goal, _goal_at),
    )


@router.get("/goals/{goal_id}", response_model=api.Goal, responses=READ)
def get_goal(
    episode_id: UUID,
    goal_id: UUID,
    reads: ReadsDep,
    version: Version = None,
    as_of: AsOf = None,
) -> Response:
    return reads.one(episode_id, "goals", goal_id, render.goal, version, as_of)


@router.post("/goals/{goal_id}/revisions", status_code=201, response_model=api.Goal, responses=WRITE)
def revise_goal(
    episode_id: UUID, goal_id: UUID, body: api.ReviseGoal, records: RecordsDep, writes: WritesDep
) -> Response:
    objectives = list(body.objectives) if body.objectives is not None else None
    return writes.run(
        lambda cmd: records.revise_goal(
            cmd,
            episode_id,
            goal_id,
            body.statement,
            body.reason,
            body.reflection_id,
            objectives,
            body.target_date,
        ),
        render.created(render.goal, _goal_at),
    )


@router.post("/goals/{goal_id}/progress", status_code=201, response_model=api.Goal, responses=WRITE)
def record_goal_progress(
    episode_id: UUID, goal_id: UUID, body: api.RecordGoalProgress, records: RecordsDep, writes: WritesDep
) -> Response:
    return writes.run(
        lambda cmd: records.record_goal_progress(
            cmd, episode_id, goal_id, body.summary, body.rating, body.occurred_at
        ),
        render.created(render.goal, _goal_at),
    )


@router.post("/goals/{goal_id}/status", response_model=api.Goal, responses=WRITE)
def change_goal_status(
    episode_id: UUID, goal_id: UUID, body: api.ChangeGoalStatus, records: RecordsDep, writes: WritesDep
) -> Response:
    return writes.run(
        lambda cmd: records.change_goal_status(
            cmd, episode_id, goal_id, body.status, body.note, body.occurred_at
        ),
        render.acted(render.goal),
    )


@router.get("/goals/{goal_id}/history", response_model=api.GoalHistory, responses=READ)
def goal_history(
    episode_id: UUID,
    goal_id: UUID,
    reads: ReadsDep,
    version: Version = None,
    as_of: AsOf = None,
) -> Response:
    return reads.one(episode_id, "goals", goal_id, render.goal_history, version, as_of)


# --- reflections and measures -------------------------------------------------------------------------
@router.post("/reflections", status_code=201, response_model=api.Reflection, responses=WRITE)
def record_reflection(
    episode_id: UUID, body: api.RecordReflection, records: RecordsDep, writes: WritesDep
) -> Response:
    refs = [EntryRef(entry_id=r.entry_id, event_version=r.event_version) for r in body.refers_to]
    return writes.run(
        lambda cmd: records.record_reflection(
            cmd, episode_id, body.text, refs, body.occurred_at, list(body.labels)
        ),
        render.created(render.reflection, _at("reflections")),
    )


@router.get("/reflections/{reflection_id}", response_model=api.Reflection, responses=READ)
def get_reflection(
    episode_id: UUID,
    reflection_id: UUID,
    reads: ReadsDep,
    version: Version = None,
    as_of: AsOf = None,
) -> Response:
    return reads.one(episode_id, "reflections", reflection_id, render.reflection, version, as_of)


@router.post("/measures", status_code=201, response_model=api.Measure, responses=WRITE)
def record_measure(
    episode_id: UUID, body: api.RecordMeasure, records: RecordsDep, writes: WritesDep
) -> Response:
    return writes.run(
        lambda cmd: records.record_measure(
            cmd,
            episode_id,
            body.instrument,
            body.score,
            list(body.items),
            body.occurred_at,
            list(body.labels),
        ),
        render.created(render.measure, _at("measures")),
    )


@router.get("/measures/{measure_id}", response_model=api.Measure, responses=READ)
def get_measure(
    episode_id: UUID,
    measure_id: UUID,
    reads: ReadsDep,
    version: Version = None,
    as_of: AsOf = None,
) -> Response:
    return reads.one(episode_id, "measures", measure_id, render.measure, version, as_of)
