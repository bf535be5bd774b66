"""Consent enforced end to end: records and consent as real processes on PostgreSQL, over real HTTP.

The records service asks the consent service for every access, forwarding the caller's token and naming
the practitioner; obligations are applied before it answers; when consent hangs (SIGSTOP) records fails
closed within its timeout; the client's access report and the disclosure register show what happened.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fhir.resources.R4B.bundle import Bundle

from services.identity.dev import DevKeys
from tests.e2e.test_serve import free_port
from tests.support import PgDatabase
from tests.support.postgres import PgServer, temporary_schema

TENANT = "e2e-practice"
CONSENT_TIMEOUT = 1.0
START_TIMEOUT = 30.0
SUD_TEXT = "SUDGOAL-7f3a reduce drinking to weekends"
PLAIN_TEXT = "PLAINGOAL-91c2 sleep before midnight"
REFERRAL_TEXT = "REFERRAL-44d1 low mood after bereavement"


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    base: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@contextmanager
def uvicorn(name: str, factory: str, env: dict[str, str], tmp_path: Path) -> Iterator[Service]:
    port = free_port()
    log = tmp_path / f"{name}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", factory, "--factory", "--host", "127.0.0.1",
             "--port", str(port), "--no-access-log"],
            env=env, cwd=tmp_path, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    service = Service(name, process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, f"{name} exited early:\n{service.output()}"
            assert time.monotonic() < deadline, f"{name} not ready:\n{service.output()}"
            with suppress(httpx.TransportError):
                if httpx.get(service.base + "/readyz", timeout=2).status_code == 200:
                    break
            time.sleep(0.2)
        yield service
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGCONT)  # a stopped process cannot die of SIGKILL's cleanup
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@dataclass
class Practice:
    records: httpx.Client
    consent: httpx.Client
    keys: DevKeys
    consent_process: Service

    def token(self, role: str, sub: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys.mint(role, TENANT, sub)}"}


@pytest.fixture
def practice(tmp_path: Path, pg_schema: PgDatabase, postgres_server: PgServer) -> Iterator[Practice]:
    var = tmp_path / "var"
    keys = DevKeys(var)
    jwks = str(keys.ensure().jwks)
    base = {k: v for k, v in os.environ.items() if not k.startswith("TOUCHSTONE_")}
    common = {**base, "TOUCHSTONE_VAR_DIR": str(var), "TOUCHSTONE_JWKS": jwks}
    master = base64.b64encode(os.urandom(32)).decode()
    with temporary_schema(postgres_server) as consent_db:
        consent_env = {
            **common,
            "TOUCHSTONE_CONSENT_DATABASE_URL": consent_db.url,
            "TOUCHSTONE_MASTER_KEY": master,
        }
        with uvicorn("consent", "services.consent.api.app:create_app", consent_env, tmp_path) as consent:
            records_env = {
                **common,
                "TOUCHSTONE_RECORDS_DATABASE_URL": pg_schema.url,
                "TOUCHSTONE_MASTER_KEY": master,
                "TOUCHSTONE_CONSENT_URL": consent.base,
                "TOUCHSTONE_CONSENT_TIMEOUT_SECONDS": str(CONSENT_TIMEOUT),
            }
            with (
                uvicorn("records", "services.records.api.app:create_app", records_env, tmp_path) as records,
                httpx.Client(base_url=records.base, timeout=10) as r,
                httpx.Client(base_url=consent.base, timeout=10) as c,
            ):
                yield Practice(r, c, keys, consent)


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return dict(response.json())


def seed(p: Practice) -> tuple[str, str]:
    """dr-ada's client and episode, with a SUD-labelled goal and a goal without a label."""
    admin, ada = p.token("admin", "admin-1"), p.token("clinician", "dr-ada")
    for sub in ("dr-ada", "dr-bob"):
        body = {"id": sub, "display_name": f"Dr {sub}", "roles": ["clinician"]}
        created(p.records.post("/v1/practitioners", json=body, headers=admin))
    identifiers = [{"system": "urn:e2e:mrn", "value": "e2e-consent-1"}]
    client = created(
        p.records.post(
            "/v1/clients", headers=ada, json={"identifiers": identifiers, "name": {"family": "Doe"}}
        )
    )
    opening = {
        "clinician": "dr-ada",
        "reason_for_referral": REFERRAL_TEXT,
        "started_at": "2026-01-05T09:00:00Z",
    }
    episode = created(p.records.post(f"/v1/clients/{client['id']}/episodes", headers=ada, json=opening))
    goals = f"/v1/episodes/{episode['id']}/goals"
    sud = {"statement": SUD_TEXT, "occurred_at": "2026-01-12T09:00:00Z", "labels": ["SUD"]}
    created(p.records.post(goals, headers=ada, json=sud))
    created(
        p.records.post(
            goals, headers=ada, json={"statement": PLAIN_TEXT, "occurred_at": "2026-01-12T09:05:00Z"}
        )
    )
    return str(client["id"]), str(episode["id"])


def no_record_text(response: httpx.Response) -> None:
    for text in (SUD_TEXT, PLAIN_TEXT, REFERRAL_TEXT):
        assert text.split()[0] not in response.text


def test_disclosure_consent_redaction_revocation_and_failing_closed(practice: Practice) -> None:
    p = practice
    client_id, episode_id = seed(p)
    officer, ehr = p.token("privacy_officer", "po-1"), p.token("integrator", "ehr-1")
    episode = f"/v1/episodes/{episode_id}"

    # Without consent the integrator sees nothing.
    refused = p.records.get(episode, headers=ehr)
    assert refused.status_code == 403
    no_record_text(refused)

    consent = created(
        p.consent.post(
            "/v1/consents",
            headers=officer,
            json={
                "client_id": client_id,
                "kind": "disclosure",
                "grantee": {"kind": "integrator", "id": "ehr-1"},
                "purposes": ["TREAT"],
                "categories": ["episodes", "goals"],
                "period": {"start": "2026-01-01T00:00:00Z"},
                "signer": {"role": "client"},
                "signed_on": "2026-01-02",
            },
        )
    )

    read = p.records.get(episode, headers=ehr)
    assert read.status_code == 200, read.text
    body = read.json()
    assert [g["statement"] for g in body["goals"]] == [PLAIN_TEXT]
    assert body["redacted_labels"] == ["SUD"]
    assert SUD_TEXT not in read.text

    revoked = p.consent.post(
        f"/v1/consents/{consent['id']}/revocations", headers=officer, json={"reason": "x"}
    )
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    denied = p.records.get(episode, headers=ehr)
    assert denied.status_code == 403
    assert denied.headers["content-type"].startswith("application/problem+json")
    no_record_text(denied)

    ada = p.token("clinician", "dr-ada")
    os.killpg(p.consent_process.process.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        hung = p.records.get(episode, headers=ada)
        elapsed = time.monotonic() - started
        assert hung.status_code == 503, hung.text
        assert hung.headers["content-type"].startswith("application/problem+json")
        assert elapsed < CONSENT_TIMEOUT + 2.0, f"answered after {elapsed:.1f}s"
        no_record_text(hung)
        write = p.records.post(f"{episode}/goals", headers=ada, json={
            "statement": "WRITE-DURING-OUTAGE", "occurred_at": "2026-01-19T09:00:00+01:00"})  # fmt: skip
        assert write.status_code == 503
    finally:
        os.killpg(p.consent_process.process.pid, signal.SIGCONT)

    again = p.records.get(episode, headers=ada)
    assert again.status_code == 200, again.text
    goals = [g["statement"] for g in again.json()["goals"]]
    assert goals == [SUD_TEXT, PLAIN_TEXT]  # the care team sees SUD; the write during the outage was not made
    assert again.json()["redacted_labels"] == []


def test_break_glass_end_to_end(practice: Practice) -> None:
    p = practice
    client_id, episode_id = seed(p)
    bob, officer = p.token("clinician", "dr-bob"), p.token("privacy_officer", "po-1")
    episode = f"/v1/episodes/{episode_id}"

    refused = p.records.get(episode, headers=bob)
    assert refused.status_code == 403
    no_record_text(refused)

    glass = created(p.consent.post("/v1/break-glass", headers=bob, json={
        "client_id": client_id, "reason": "client in crisis, on call"}))  # fmt: skip
    read = p.records.get(episode, headers=bob)
    assert read.status_code == 200, read.text
    assert [g["statement"] for g in read.json()["goals"]] == [SUD_TEXT, PLAIN_TEXT]

    queue = p.consent.get("/v1/break-glass", params={"status": "unreviewed"}, headers=officer)
    assert queue.status_code == 200
    assert [g["id"] for g in queue.json()["items"]] == [glass["id"]]
    review = p.consent.post(f"/v1/break-glass/{glass['id']}/review", headers=officer,
                            json={"outcome": "justified", "note": "on-call emergency"})  # fmt: skip
    assert review.status_code == 200 and review.json()["review"]["outcome"] == "justified"
    queue = p.consent.get("/v1/break-glass", params={"status": "unreviewed"}, headers=officer)
    assert queue.json()["items"] == []


def test_the_clients_access_report_and_the_disclosure_register_end_to_end(practice: Practice) -> None:
    """Records names its practitioners to consent (their directory name); the client sees who read their
    record, the privacy officer the disclosure to the integrator, the auditor a valid FHIR export."""
    p = practice
    client_id, episode_id = seed(p)
    officer, ehr = p.token("privacy_officer", "po-1"), p.token("integrator", "ehr-1")
    client = {"Authorization": f"Bearer {p.keys.mint('client', TENANT, 'client-1', client_id=client_id)}"}
    grantee = {"kind": "integrator", "id": "ehr-1", "display": "Acme EHR"}
    consent = {"client_id": client_id, "kind": "disclosure", "grantee": grantee, "purposes": ["TREAT"],
               "categories": ["episodes", "goals"], "period": {"start": "2026-01-01T00:00:00Z"},
               "signer": {"role": "client"}, "signed_on": "2026-01-02"}  # fmt: skip
    created(p.consent.post("/v1/consents", headers=officer, json=consent))
    episode = f"/v1/episodes/{episode_id}"
    for headers in (p.token("clinician", "dr-ada"), ehr, client):
        assert p.records.get(episode, headers=headers).status_code == 200

    report = p.consent.get(f"/v1/clients/{client_id}/access-report", headers=client)
    assert report.status_code == 200, report.text
    reads = [i["who"] for i in report.json()["items"] if i["what"] == {
        "action": "read", "resource_type": "episode", "resource_id": episode_id,
        "categories": i["what"]["categories"]}]  # fmt: skip
    assert [(w["actor"], w["name"], w["organization"]) for w in reads] == [
        ("dr-ada", "Dr dr-ada", None), ("ehr-1", None, "Acme EHR"), ("client-1", None, None)]  # fmt: skip
    no_record_text(report)

    register = p.consent.get(f"/v1/clients/{client_id}/disclosures", headers=officer).json()
    [item] = register["items"]
    assert (item["disclosure"]["recipient"]["name"], item["disclosure"]["accountable"]) == ("Acme EHR", False)
    auditor = p.token("auditor", "aud-1")
    exported = p.consent.get("/v1/access-log/export", params={"format": "fhir"}, headers=auditor)
    bundle = Bundle.model_validate_json(exported.content)
    assert bundle.entry and len(bundle.entry) >= 6
    no_record_text(exported)
