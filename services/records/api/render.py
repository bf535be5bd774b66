"""Domain objects -> the JSON documents of contracts/records_v1.py, and written results -> responses.

Documents are plain dicts serialised by orjson: building pydantic models for a thousand sessions costs
more than the rest of a read (``bench/`` measured 17 ms against 3 ms), and domain state is valid by
construction. The contract tests validate these documents against the response models, so the two
cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from starlette.responses import Response

from services.records.application.commands import Written
from services.records.application.episode_access import EpisodeRead, HistoryItem
from services.records.application.ports import StoredResponse
from services.records.domain import entries as domain
from services.records.domain.client import Client
from services.records.domain.episode import Episode
from services.records.domain.practitioner import Practitioner

JSON = "application/json"
Doc = dict[str, Any]
Render = Callable[[Written], StoredResponse]


def dumps(doc: Any) -> bytes:
    """RFC 3339 times ("Z" for UTC, offsets kept), UUIDs and dates as strings."""
    return orjson.dumps(doc, option=orjson.OPT_UTC_Z)


def json_response(doc: Any, etag: int | None = None) -> Response:
    headers = {"etag": f'"{etag}"'} if etag is not None else None
    return Response(dumps(doc), 200, headers=headers, media_type=JSON)


def stored(doc: Doc, status: int, etag: int, location: str | None = None) -> StoredResponse:
    headers = {"content-type": JSON, "etag": f'"{etag}"'}
    if location is not None:
        headers["location"] = location
    return StoredResponse(status, headers, dumps(doc))


def created(
    to_doc: Callable[[Any], Doc], location: Callable[[Written], str], *, whole: bool = False
) -> Render:
    """201 with Location; ``to_doc`` gets the value the use case made (``whole``: the Written itself)."""
    return lambda w: stored(to_doc(w if whole else w.value), 201, w.version, location(w))


def acted(to_doc: Callable[[Any], Doc], *, whole: bool = False) -> Render:
    """200 with the resulting state; ``whole`` hands ``to_doc`` the Written itself (e.g. the episode)."""
    return lambda w: stored(to_doc(w if whole else w.value), 200, w.version)


def page(items: list[Doc], next_cursor: str | None) -> Doc:
    return {"items": items, "next_cursor": next_cursor}


# --- clients and practitioners -------------------------------------------------------------------------
def client(c: Client) -> Doc:
    return {
        "id": c.id,
        "identifiers": [{"system": i.system, "value": i.value} for i in c.identifiers],
        "name": {"family": c.name.family, "given": list(c.name.given), "prefix": list(c.name.prefix)},
        "birth_date": c.birth_date,
        "time_zone": c.time_zone,
        "version": c.version,
        "registered_at": c.created_on,
    }


def practitioner(p: Practitioner) -> Doc:
    return {
        "id": p.sub,
        "display_name": p.display_name,
        "roles": list(p.roles),
        "supervisor": p.supervisor,
        "requires_supervision": p.requires_supervision,
        "version": p.version,
    }


# --- episode entries ----------------------------------------------------------------------------------
def _facts(e: domain.EntryFacts) -> Doc:
    return {
        "id": e.id,
        "labels": e.labels,
        "occurred_at": e.occurred_at,
        "recorded_at": e.recorded_at,
        "recorded_by": e.recorded_by,
        "version": e.created_version,
    }


def session(s: domain.Session) -> Doc:
    return {
        **_facts(s),
        "duration_minutes": s.duration_minutes,
        "modality": s.modality,
        "attendees": s.attendees,
        "status": "cancelled" if s.is_cancelled else "held",
    }


def exploration(x: domain.Exploration) -> Doc:
    return {
        "id": x.id,
        "session_id": x.session_id,
        "observations": x.observations,
        "occurred_at": x.occurred_at,
        "recorded_at": x.recorded_at,
        "recorded_by": x.recorded_by,
    }


def pattern(p: domain.Pattern) -> Doc:
    return {
        **_facts(p),
        "name": p.name,
        "description": p.description,
        "explorations": [exploration(x) for x in p.explorations],
    }


def goal(g: domain.Goal) -> Doc:
    return {
        **_facts(g),
        "statement": g.statement,
        "objectives": g.objectives,
        "target_date": g.target_date,
        "status": g.status,
        "progress": [goal_progress(p) for p in g.progress],
    }


def goal_progress(p: domain.GoalProgress) -> Doc:
    return {
        "id": p.id,
        "summary": p.summary,
        "rating": p.rating,
        "occurred_at": p.occurred_at,
        "recorded_at": p.recorded_at,
        "recorded_by": p.recorded_by,
    }


def goal_history(g: domain.Goal) -> Doc:
    return {
        "goal_id": g.id,
        "items": [
            {
                "version": h.version,
                "type": h.event_type,
                "actor": h.actor,
                "recorded_at": h.recorded_at,
                "occurred_at": h.occurred_at,
                "reason": h.reason or h.summary or h.note,
                "old_statement": h.old_statement,
                "new_statement": h.new_statement,
                "reflection_id": h.reflection_id,
                "rating": h.rating,
            }
            for h in g.history
        ],
    }


def reflection(r: domain.Reflection) -> Doc:
    refs = [{"entry_id": ref.entry_id, "event_version": ref.event_version} for ref in r.refers_to]
    return {**_facts(r), "text": r.text, "refers_to": refs}


def measure(m: domain.Measure) -> Doc:
    return {**_facts(m), "instrument": m.instrument, "loinc": m.loinc, "score": m.score, "items": m.items}


# --- episodes -----------------------------------------------------------------------------------------
def episode(read: EpisodeRead | Episode) -> Doc:
    """The episode with the obligations of its decision applied (``EpisodeRead.entries`` leaves out)."""
    view = read if isinstance(read, EpisodeRead) else EpisodeRead(read)
    e, obligations = view.episode, view.obligations
    return {
        "id": e.id,
        "client_id": e.client_id,
        "status": "closed" if e.is_closed else "open",
        "clinician": e.clinician,
        "care_team": e.care_team,
        "reason_for_referral": e.reason_for_referral,
        "presenting_concerns": e.presenting_concerns,
        "started_at": e.opened_at,
        "labels": e.labels,
        "sessions": [session(s) for s in view.entries("sessions")],
        "patterns": [pattern(p) for p in view.entries("patterns")],
        "goals": [goal(g) for g in view.entries("goals")],
        "reflections": [reflection(r) for r in view.entries("reflections")],
        "measures": [measure(m) for m in view.entries("measures")],
        "discharge": _discharge(e.discharge),
        "version": e.version,
        "recorded_at": e.modified_on,
        "redacted_labels": sorted(obligations.redact_labels),
        "redacted_categories": sorted(obligations.redact_categories),
        "redisclosure_notice": obligations.redisclosure_notice,
    }


def written_episode(w: Written) -> Doc:
    """The episode a write answers with, under the obligations of the write's decision."""
    return episode(EpisodeRead(w.aggregate, w.obligations))


def _discharge(d: domain.Discharge | None) -> Doc | None:
    if d is None:
        return None
    return {
        "reason": d.reason,
        "summary": d.summary,
        "occurred_at": d.occurred_at,
        "recorded_at": d.recorded_at,
        "recorded_by": d.recorded_by,
    }


def episode_summary(e: Episode) -> Doc:
    return {
        "id": e.id,
        "status": "closed" if e.is_closed else "open",
        "clinician": e.clinician,
        "started_at": e.opened_at,
        "version": e.version,
    }


def history_event(i: HistoryItem) -> Doc:
    return {
        "version": i.version,
        "type": i.type,
        "recorded_at": i.recorded_at,
        "actor": i.actor,
        "request_id": i.request_id,
    }
