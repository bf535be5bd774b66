"""Domain objects -> contract models, and written results -> stored responses (one place for both).

Entries are built with ``model_construct``: domain state is valid by construction, and validating a
thousand sessions again on every read would cost more than the rest of the request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel
from starlette.responses import Response

from contracts import records_v1 as api
from services.records.application.commands import Written
from services.records.application.episodes import EpisodeRead
from services.records.application.ports import StoredResponse
from services.records.domain import entries as domain
from services.records.domain.client import Client
from services.records.domain.episode import Episode
from services.records.domain.practitioner import Practitioner

JSON = "application/json"


def json_response(model: BaseModel, etag: int | None = None) -> Response:
    """A 200 JSON response serialised once by pydantic-core (large episodes make this matter)."""
    headers = {"etag": f'"{etag}"'} if etag is not None else None
    return Response(model.model_dump_json(), 200, headers=headers, media_type=JSON)


def stored(model: BaseModel, status: int, etag: int, location: str | None = None) -> StoredResponse:
    headers = {"content-type": JSON, "etag": f'"{etag}"'}
    if location is not None:
        headers["location"] = location
    return StoredResponse(status, headers, model.model_dump_json().encode())


Render = Callable[[Written], StoredResponse]


def created(to_model: Callable[[Any], BaseModel], location: Callable[[Written], str]) -> Render:
    """201 with Location; ``to_model`` gets the value the use case made."""
    return lambda w: stored(to_model(w.value), 201, w.version, location(w))


def acted(to_model: Callable[[Any], BaseModel], *, whole: bool = False) -> Render:
    """200 with the resulting state; ``whole`` hands ``to_model`` the Written itself (e.g. the episode)."""
    return lambda w: stored(to_model(w if whole else w.value), 200, w.version)


# --- clients and practitioners -------------------------------------------------------------------------
def client(c: Client) -> api.Client:
    return api.Client(
        id=c.id,
        identifiers=[api.Identifier(system=i.system, value=i.value) for i in c.identifiers],
        name=api.HumanName(family=c.name.family, given=list(c.name.given), prefix=list(c.name.prefix)),
        birth_date=c.birth_date,
        time_zone=c.time_zone,
        version=c.version,
        registered_at=c.created_on,
    )


def practitioner(p: Practitioner) -> api.Practitioner:
    return api.Practitioner(
        id=p.sub,
        display_name=p.display_name,
        roles=list(p.roles),
        supervisor=p.supervisor,
        requires_supervision=p.requires_supervision,
        version=p.version,
    )


# --- episode entries ----------------------------------------------------------------------------------
def _facts(e: domain.EntryFacts) -> dict[str, Any]:
    return {
        "id": e.id,
        "labels": list(e.labels),
        "occurred_at": e.occurred_at,
        "recorded_at": e.recorded_at,
        "recorded_by": e.recorded_by,
        "version": e.created_version,
    }


def session(s: domain.Session) -> api.Session:
    return api.Session.model_construct(
        **_facts(s),
        duration_minutes=s.duration_minutes,
        modality=s.modality,
        attendees=list(s.attendees),
        status="cancelled" if s.is_cancelled else "held",
    )


def exploration(x: domain.Exploration) -> api.Exploration:
    return api.Exploration.model_construct(
        id=x.id,
        session_id=x.session_id,
        observations=x.observations,
        occurred_at=x.occurred_at,
        recorded_at=x.recorded_at,
        recorded_by=x.recorded_by,
    )


def pattern(p: domain.Pattern) -> api.Pattern:
    return api.Pattern.model_construct(
        **_facts(p),
        name=p.name,
        description=p.description,
        explorations=[exploration(x) for x in p.explorations],
    )


def goal(g: domain.Goal) -> api.Goal:
    return api.Goal.model_construct(
        **_facts(g),
        statement=g.statement,
        objectives=list(g.objectives),
        target_date=g.target_date,
        status=g.status,  # type: ignore[arg-type]  # the domain keeps the same three statuses
        progress=[goal_progress(p) for p in g.progress],
    )


def goal_progress(p: domain.GoalProgress) -> api.GoalProgress:
    return api.GoalProgress.model_construct(
        id=p.id,
        summary=p.summary,
        rating=p.rating,
        occurred_at=p.occurred_at,
        recorded_at=p.recorded_at,
        recorded_by=p.recorded_by,
    )


def goal_history(g: domain.Goal) -> api.GoalHistory:
    return api.GoalHistory.model_construct(
        goal_id=g.id,
        items=[
            api.GoalHistoryItem.model_construct(
                version=h.version,
                type=h.event_type,
                actor=h.actor,
                recorded_at=h.recorded_at,
                occurred_at=h.occurred_at,
                reason=h.reason or h.summary or h.note,
                old_statement=h.old_statement,
                new_statement=h.new_statement,
                reflection_id=h.reflection_id,
                rating=h.rating,
            )
            for h in g.history
        ],
    )


def reflection(r: domain.Reflection) -> api.Reflection:
    return api.Reflection.model_construct(
        **_facts(r),
        text=r.text,
        refers_to=[
            api.EntryRef.model_construct(entry_id=ref.entry_id, event_version=ref.event_version)
            for ref in r.refers_to
        ],
    )


def measure(m: domain.Measure) -> api.Measure:
    return api.Measure.model_construct(
        **_facts(m), instrument=m.instrument, loinc=m.loinc, score=m.score, items=list(m.items)
    )


# --- episodes -----------------------------------------------------------------------------------------
def episode(read: EpisodeRead | Episode) -> api.Episode:
    view = read if isinstance(read, EpisodeRead) else EpisodeRead(read, frozenset())
    e = view.episode
    discharge = None
    if e.discharge is not None:
        d = e.discharge
        discharge = api.Discharge.model_construct(
            reason=d.reason,
            summary=d.summary,
            occurred_at=d.occurred_at,
            recorded_at=d.recorded_at,
            recorded_by=d.recorded_by,
        )
    return api.Episode.model_construct(
        id=e.id,
        client_id=e.client_id,
        status="closed" if e.is_closed else "open",
        clinician=e.clinician,
        care_team=list(e.care_team),
        reason_for_referral=e.reason_for_referral,
        presenting_concerns=list(e.presenting_concerns),
        started_at=e.opened_at,
        labels=list(e.labels),
        sessions=[session(s) for s in view.visible(_values(e.sessions))],
        patterns=[pattern(p) for p in view.visible(_values(e.patterns))],
        goals=[goal(g) for g in view.visible(_values(e.goals))],
        reflections=[reflection(r) for r in view.visible(_values(e.reflections))],
        measures=[measure(m) for m in view.visible(_values(e.measures))],
        discharge=discharge,
        version=e.version,
        recorded_at=e.modified_on,
        redacted_labels=sorted(view.redacted_labels),
    )


def episode_summary(e: Episode) -> api.EpisodeSummary:
    return api.EpisodeSummary.model_construct(
        id=e.id,
        status="closed" if e.is_closed else "open",
        clinician=e.clinician,
        started_at=e.opened_at,
        version=e.version,
    )


def _values(entries: dict[str, Any] | Iterable[Any]) -> list[Any]:
    return list(entries.values()) if isinstance(entries, dict) else list(entries)
