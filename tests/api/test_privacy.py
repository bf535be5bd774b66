"""No PHI outside the record (DESIGN.md, principle 5), checked with a marker sent as clinical content.

A unique marker goes in as a client's names and identifier, an episode's reason for referral, a goal
statement and a reflection. It must then appear in no log line (either renderer; success and error paths),
in no error body, in no raw database row (PHI is sealed per client), and once the client's key is destroyed
every read and write of that record answers 410 while other clients' records read as before.
"""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI
from psycopg import sql

from contracts.problem import PROBLEM_JSON
from services.records.application.app import RecordsApplication
from services.restkit.logging import configure_logging
from tests.support import PgDatabase
from tests.support.records import RecordsApi

AT = "2026-01-12T09:00:00+01:00"


@pytest.fixture
def marker() -> str:
    return "ZQX" + secrets.token_hex(8)


@pytest.fixture
def clinician(api: RecordsApi) -> str:
    """A registered practitioner; their id is not PHI, so it is the control value the scans must find."""
    sub = "dr-" + secrets.token_hex(6)
    api.practitioner(sub)
    return sub


@dataclass
class Record:
    """What :func:`record_with_marker` made: ids, the author's headers, and the idempotent goal write."""

    client: str
    episode: str
    goal: str
    headers: dict[str, str]
    goal_write: tuple[str, dict[str, Any], str]  # path, body, Idempotency-Key

    def reads(self, api: RecordsApi) -> dict[str, httpx.Response]:
        episode = f"/v1/episodes/{self.episode}"
        paths = [f"/v1/clients/{self.client}", episode, f"{episode}/history", f"{episode}/goals/{self.goal}"]
        return {path: api.http.get(path, headers=self.headers) for path in paths}


def record_with_marker(api: RecordsApi, clinician: str, marker: str) -> Record:
    """A client, episode, goal, session and reflection carrying the marker wherever text goes."""
    headers = api.headers("clinician", clinician)
    identifiers = [{"system": "urn:test:mrn", "value": marker}]
    names = {"family": marker, "given": [marker]}
    client = post(api, "/v1/clients", headers, {"identifiers": identifiers, "name": names}, key=new_key())
    opening = {"clinician": clinician, "reason_for_referral": f"referred for {marker}", "started_at": AT}
    episode = post(api, f"/v1/clients/{client['id']}/episodes", headers, opening)
    entries = f"/v1/episodes/{episode['id']}"
    goal_write = (f"{entries}/goals", {"statement": f"goal {marker}", "occurred_at": AT}, new_key())
    goal = post(api, goal_write[0], headers, body=goal_write[1], key=goal_write[2])
    post(api, f"{entries}/sessions", headers, body=session_body(clinician))
    refers_to = [{"entry_id": goal["id"], "event_version": goal["version"]}]
    post(api, f"{entries}/reflections", headers, body={
        "text": f"reflection {marker}", "occurred_at": AT, "refers_to": refers_to})  # fmt: skip
    return Record(client["id"], episode["id"], goal["id"], headers, goal_write)


def new_key() -> str:
    return secrets.token_hex(8)


def session_body(clinician: str) -> dict[str, Any]:
    return {"occurred_at": AT, "duration_minutes": 50, "modality": "video", "attendees": [clinician]}


def post(
    api: RecordsApi, path: str, headers: dict[str, str], body: dict[str, Any], key: str | None = None
) -> dict[str, Any]:
    extra = {"Idempotency-Key": key} if key else {}
    response = api.http.post(path, json=body, headers={**headers, **extra})
    assert response.status_code == 201, response.text
    return dict(response.json())


def failing_requests(api: RecordsApi, record: Record, marker: str) -> list[httpx.Response]:
    """Requests carrying the marker that must fail, each asserted to fail as expected with a problem."""
    headers, name = record.headers, {"family": marker}
    identifier = {"system": "urn:test:mrn", "value": marker}
    invalid = {"identifiers": [identifier], "name": name, "birth_date": marker, "nickname": marker}
    duplicate = {"identifiers": [identifier], "name": name}
    bad_zone = {"identifiers": [{"system": "urn:x", "value": marker}], "name": name, "time_zone": marker}
    attempts = [
        (422, api.http.post("/v1/clients", json=invalid, headers=headers)),
        (422, api.http.post("/v1/clients", json=bad_zone, headers=headers)),
        (409, api.http.post("/v1/clients", json=duplicate, headers=headers)),
        (404, api.http.get(f"/v1/clients/{uuid4()}", headers=headers)),
        (404, api.http.get(f"/v1/episodes/{record.episode}/goals/{uuid4()}", headers=headers)),
        (404, api.http.get(f"/v1/{marker}", headers=headers)),
        (422, api.http.get(f"/v1/clients/{marker}", headers=headers)),
        (401, api.http.get(f"/v1/clients/{record.client}", headers={"Authorization": f"Bearer {marker}"})),
    ]
    for expected, response in attempts:
        assert response.status_code == expected, (expected, response.text)
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
    return [response for _, response in attempts]


@pytest.fixture
def captured_logs(request: pytest.FixtureRequest, api: RecordsApi) -> Iterator[io.StringIO]:
    """Everything logged while the test runs, at DEBUG, through the renderer of ``request.param``."""
    stream = io.StringIO()
    configure_logging(request.param, "DEBUG", stream=stream)
    try:
        yield stream
    finally:
        configure_logging("development", "INFO")


@pytest.mark.parametrize("captured_logs", ["development", "production"], indirect=True)
def test_the_marker_is_in_no_log_line_and_no_error_body(
    api: RecordsApi, captured_logs: io.StringIO, clinician: str, marker: str
) -> None:
    record = record_with_marker(api, clinician, marker)
    assert all(response.status_code == 200 for response in record.reads(api).values())
    lookup = {"identifier": f"urn:test:mrn|{marker}"}
    found = api.http.get("/v1/clients", params=lookup, headers=record.headers)
    assert [c["id"] for c in found.json()["items"]] == [record.client]
    failures = failing_requests(api, record, marker)

    assert [r.text for r in failures if marker in r.text] == []
    logs = captured_logs.getvalue()
    # The capture works and carries the request context: the clinician (not PHI) and route templates.
    assert "request.completed" in logs and clinician in logs
    assert "/v1/episodes/{episode_id}/goals/{goal_id}" in logs
    assert marker not in logs


@pytest.mark.parametrize("captured_logs", ["production"], indirect=True)
def test_production_logs_are_json_lines(api: RecordsApi, captured_logs: io.StringIO) -> None:
    api.practitioner("dr-json")
    lines = [json.loads(line) for line in captured_logs.getvalue().splitlines() if line.strip()]
    completed = [line for line in lines if line["event"] == "request.completed"]
    assert [(line["route"], line["status"]) for line in completed] == [("/v1/practitioners", 201)]


def raw_hits(db: PgDatabase, needle: str) -> set[str]:
    """``table.column`` of each column of the test's schema holding ``needle``: text as text, bytea as is."""
    hits: set[str] = set()
    with db.connect(autocommit=True) as conn:
        columns = conn.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = %s ORDER BY table_name, column_name",
            (db.schema,),
        ).fetchall()
        assert columns, "the scan found no tables"
        for table, column, data_type in columns:
            binary = data_type == "bytea"
            value = sql.Identifier(column) if binary else sql.SQL("{}::text").format(sql.Identifier(column))
            query = sql.SQL("SELECT EXISTS (SELECT 1 FROM {}.{} WHERE position(%s IN {}) > 0)").format(
                sql.Identifier(db.schema), sql.Identifier(table), value
            )
            row = conn.execute(query, (needle.encode() if binary else needle,)).fetchone()
            if row is not None and row[0]:
                hits.add(f"{table}.{column}")
    return hits


def test_the_marker_is_in_no_raw_row(
    api: RecordsApi, pg_schema: PgDatabase, clinician: str, marker: str
) -> None:
    record = record_with_marker(api, clinician, marker)
    reads = record.reads(api)
    assert all(marker in response.text for path, response in reads.items() if "history" not in path)

    # The scan finds what is stored in clear: the practitioner directory (bytea) and the tenant (text)...
    assert any(hit.endswith("_events.state") for hit in raw_hits(pg_schema, clinician))
    assert "records_client_keys.tenant" in raw_hits(pg_schema, api.tenant)
    # ...and no PHI: events are sealed per client, identifiers are indexed by keyed digest.
    assert raw_hits(pg_schema, marker) == set()


def destroy_client_key(api: RecordsApi, client_id: str) -> bool:
    records: RecordsApplication = cast(FastAPI, api.http.app).state.records
    return records.destroy_client_key(api.tenant, UUID(client_id))


def test_destroying_the_client_key_erases_the_record_and_nothing_else(
    api: RecordsApi, clinician: str, marker: str
) -> None:
    erased = record_with_marker(api, clinician, marker)
    kept = record_with_marker(api, clinician, "KEEP" + secrets.token_hex(8))
    # Read both first, so that the service holds their decrypted state (its aggregate cache) when erasing.
    assert all(response.status_code == 200 for response in erased.reads(api).values())
    before = {path: response.json() for path, response in kept.reads(api).items()}

    assert destroy_client_key(api, erased.client) is True

    for path, response in erased.reads(api).items():
        assert response.status_code == 410, (path, response.text)
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
        assert response.json()["status"] == 410
        assert marker not in response.text
    assert {path: response.json() for path, response in kept.reads(api).items()} == before
    write = api.http.post(
        f"/v1/episodes/{erased.episode}/sessions", json=session_body(clinician), headers=erased.headers
    )
    assert write.status_code == 410, write.text
    assert marker not in write.text


def test_an_idempotent_replay_after_erasure_returns_no_record_text(
    api: RecordsApi, clinician: str, marker: str
) -> None:
    erased = record_with_marker(api, clinician, marker)
    path, body, key = erased.goal_write

    assert destroy_client_key(api, erased.client) is True

    replay = api.http.post(path, json=body, headers={**erased.headers, "Idempotency-Key": key})
    assert marker not in replay.text
    assert replay.status_code == 410, replay.text
