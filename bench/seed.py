"""Seeding a practice through the records API, as tests/support/records.py does: the admin registers the
practitioners, each clinician registers a client of theirs and opens an episode for it.

Every seeding request must answer 2xx; anything else stops the benchmark with the status and the body.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from bench.loadgen import Connection, Req
from services.identity.dev import DevKeys

TENANT = "bench"
ADMIN = "bench-admin"
JSON_HEADERS = {"Content-Type": "application/json"}


class SeedFailed(RuntimeError):
    pass


def clinician(i: int) -> str:
    return f"dr-bench-{i:02d}"


@dataclass
class Practice:
    host: str
    keys: DevKeys
    tokens: dict[str, str] = field(default_factory=dict)
    clinicians: list[str] = field(default_factory=list)
    episodes: list[str] = field(default_factory=list)  # one per clinician, on that clinician's own client
    shared_episode: str = ""  # every clinician is on its care team
    read_episode: str = ""  # grown to ``events`` events for the GET scenario

    def token(self, role: str, sub: str) -> str:
        if sub not in self.tokens:
            self.tokens[sub] = self.keys.mint(role, TENANT, sub, ttl_seconds=6 * 3600)
        return self.tokens[sub]

    def auth(self, role: str, sub: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, sub)}", **extra}

    def post(
        self,
        path: str,
        sub: str,
        body: dict[str, Any],
        role: str = "clinician",
        extra: dict[str, str] | None = None,
    ) -> Req:
        headers = self.auth(role, sub, **JSON_HEADERS, **(extra or {}))
        return Req.make("POST", path, self.host, headers, json.dumps(body).encode())

    def get(self, path: str, sub: str, role: str = "clinician") -> Req:
        return Req.make("GET", path, self.host, self.auth(role, sub))

    def hold_session(self, episode_id: str, sub: str, extra: dict[str, str] | None = None) -> Req:
        return self.post(f"/v1/episodes/{episode_id}/sessions", sub, session_body(sub), extra=extra)


def session_body(sub: str) -> dict[str, Any]:
    return {
        "occurred_at": "2026-01-12T10:00:00+01:00",
        "duration_minutes": 50,
        "modality": "in_person",
        "attendees": [sub],
    }


async def call(conn: Connection, req: Req, expect: int | None = None) -> Any:
    status, body = await conn.request(req, keep_body=True)
    if not 200 <= status < 300 or (expect is not None and status != expect):
        raise SeedFailed(f"{req.method} {req.path} answered {status}: {body[:500].decode(errors='replace')}")
    return json.loads(body) if body else None


async def seed_practice(conn: Connection, host: str, keys: DevKeys, clinicians: int, events: int) -> Practice:
    """``clinicians`` practitioners, each with a client and an episode; a shared episode; a read episode."""
    practice = Practice(host, keys)
    for i in range(clinicians):
        sub = clinician(i)
        body = {"id": sub, "display_name": f"Dr Bench {i}", "roles": ["clinician"]}
        await call(conn, practice.post("/v1/practitioners", ADMIN, body, role="admin"), 201)
        practice.clinicians.append(sub)
    for sub in practice.clinicians:
        practice.episodes.append(await _client_with_episode(conn, practice, sub, []))
    first = practice.clinicians[0]
    practice.shared_episode = await _client_with_episode(conn, practice, first, practice.clinicians)
    practice.read_episode = await _client_with_episode(conn, practice, first, [])
    for _ in range(events - 1):  # EpisodeOpened is event 1
        await call(conn, practice.hold_session(practice.read_episode, first), 201)
    episode = await call(conn, practice.get(f"/v1/episodes/{practice.read_episode}", first))
    if episode["version"] != events or len(episode["sessions"]) != events - 1:
        raise SeedFailed(
            f"the read episode has version {episode['version']} and {len(episode['sessions'])} sessions;"
            f" expected {events} and {events - 1}"
        )
    return practice


async def _client_with_episode(conn: Connection, practice: Practice, sub: str, care_team: list[str]) -> str:
    client = await call(
        conn,
        practice.post(
            "/v1/clients",
            sub,
            {
                "identifiers": [{"system": "urn:bench:mrn", "value": os.urandom(8).hex()}],
                "name": {"family": "Bench", "given": ["Alex"]},
                "birth_date": "1990-04-01",
                "time_zone": "Europe/Berlin",
            },
        ),
        201,
    )
    episode = await call(
        conn,
        practice.post(
            f"/v1/clients/{client['id']}/episodes",
            sub,
            {
                "clinician": sub,
                "care_team": care_team,
                "reason_for_referral": "low mood",
                "started_at": "2026-01-05T09:00:00+01:00",
            },
        ),
        201,
    )
    return str(episode["id"])
