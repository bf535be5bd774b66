"""The records app with ``TOUCHSTONE_CONSENT_URL`` set: every decision over real HTTP, to a stand-in
consent service, with the caller's own token and request id; its answers enforced, its failures a 503.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from fastapi import FastAPI

from contracts.consent_v1 import PART2_REDISCLOSURE_NOTICE
from services.records.adapters.consent_gate import HttpConsentGate
from tests.support import PgDatabase
from tests.support.api_checks import assert_problem
from tests.support.api_seed import created, goal_body, post
from tests.support.fake_consent import FakeConsent, decision, fake_consent
from tests.support.records import RecordsApi, records_settings, running_records

TIMEOUT = 0.5
SUD_GOAL = "HTTPTEXT-sud goal"


@pytest.fixture
def consent() -> Iterator[FakeConsent]:
    with fake_consent() as fake:
        yield fake


@pytest.fixture
def api(pg_schema: PgDatabase, tmp_path: Path, consent: FakeConsent) -> Iterator[RecordsApi]:
    settings = records_settings(
        pg_schema, tmp_path, consent_url=consent.base_url, consent_timeout_seconds=TIMEOUT
    )
    with running_records(settings) as running:
        yield running


@pytest.fixture
def episode(api: RecordsApi) -> str:
    """dr-ada's episode with a SUD-labelled goal and a plain one (the stand-in permits everything)."""
    _, opened = api.practice("dr-ada")
    goals = f"/v1/episodes/{opened['id']}/goals"
    created(post(api, goals, goal_body(statement=SUD_GOAL, labels=["SUD"])))
    created(post(api, goals, goal_body()))
    return str(opened["id"])


def test_decisions_carry_the_callers_own_token_and_request_id(
    api: RecordsApi, consent: FakeConsent, episode: str
) -> None:
    headers = {**api.headers("clinician", "dr-ada"), "X-Request-ID": "trace-read-1"}
    assert api.http.get(f"/v1/episodes/{episode}", headers=headers).status_code == 200
    read = consent.received[-1]
    assert (read.headers["authorization"], read.headers["x-request-id"]) == (
        headers["Authorization"],
        "trace-read-1",
    )
    assert read.body == {
        "client_id": read.body["client_id"],
        "action": "read",
        "resource": {
            "type": "episode",
            "id": episode,
            "labels": ["SUD"],
            "categories": ["episodes", "goals"],
        },
        "purpose_of_use": "TREAT",
        # the actor's name comes from records' practitioner directory (api.practice registers "Dr dr-ada")
        "facts": {
            "care_team": ["dr-ada"],
            "care_team_supervisors": [],
            "author": None,
            "actor_display": "Dr dr-ada",
        },
    }

    write_headers = {"X-Request-ID": "trace-write-1"}
    wrote = post(api, f"/v1/episodes/{episode}/goals", goal_body(labels=["HIV"]), headers=write_headers)
    assert wrote.status_code == 201, wrote.text
    write = consent.received[-1]
    assert (write.headers["x-request-id"], write.body["action"], write.body["resource"]) == (
        "trace-write-1",
        "write",
        {"type": "episode", "id": episode, "labels": ["HIV"], "categories": ["goals"]},
    )


def test_only_practitioners_in_the_directory_are_named(
    api: RecordsApi, consent: FakeConsent, episode: str
) -> None:
    """The actor's name is a fact records owns: a practitioner's from the directory; nobody else has one."""
    path = f"/v1/episodes/{episode}"
    for role, sub in (("clinician", "dr-unlisted"), ("integrator", "ehr-acme"), ("admin", "admin-1")):
        api.http.get(path, headers=api.headers(role, sub))
        assert consent.received[-1].body["facts"]["actor_display"] is None, role
    api.practitioner("dr-cy", roles=["clinician", "supervisor"])
    api.http.get(path, headers=api.headers("supervisor", "dr-cy"))
    assert consent.received[-1].body["facts"]["actor_display"] == "Dr dr-cy"


def test_the_consent_services_obligations_are_applied(
    api: RecordsApi, consent: FakeConsent, episode: str
) -> None:
    consent.answer = decision(labels=["SUD"], notice=PART2_REDISCLOSURE_NOTICE)

    read = api.http.get(f"/v1/episodes/{episode}", headers=api.headers("clinician", "dr-ada"))

    assert read.status_code == 200, read.text
    body = read.json()
    assert [g["statement"] for g in body["goals"]] == [goal_body()["statement"]]
    assert (body["redacted_labels"], body["redisclosure_notice"]) == (["SUD"], PART2_REDISCLOSURE_NOTICE)
    assert "HTTPTEXT" not in read.text


def test_a_deny_is_403_and_a_failure_503_without_clinical_data(
    api: RecordsApi, consent: FakeConsent, episode: str
) -> None:
    path, headers = f"/v1/episodes/{episode}", api.headers("clinician", "dr-ada")
    consent.answer = decision("deny")
    denied = api.http.get(path, headers=headers)
    assert_problem(denied, 403, "forbidden", detail="no consent names this grantee")

    consent.status = 500
    failed = api.http.get(path, headers=headers)
    assert_problem(failed, 503, "service-unavailable", detail="no clinical data was returned")
    assert failed.headers["retry-after"] == "1"
    assert "HTTPTEXT" not in failed.text and "low mood" not in failed.text


def test_a_consent_service_that_hangs_is_a_503_within_the_timeout(
    api: RecordsApi, consent: FakeConsent, episode: str
) -> None:
    consent.hang_seconds = 5.0

    started = time.monotonic()
    hung = api.http.get(f"/v1/episodes/{episode}", headers=api.headers("clinician", "dr-ada"))

    assert time.monotonic() - started < TIMEOUT + 1.0
    assert_problem(hung, 503, "service-unavailable")
    assert "HTTPTEXT" not in hung.text


def test_the_app_closes_the_gate_it_built_when_it_stops(pg_schema: PgDatabase, tmp_path: Path) -> None:
    settings = records_settings(pg_schema, tmp_path, consent_url="http://127.0.0.1:9")
    with running_records(settings) as running:
        gate = cast(FastAPI, running.http.app).state.records.gate
        assert isinstance(gate, HttpConsentGate)
        assert not gate._http.is_closed
    assert gate._http.is_closed
