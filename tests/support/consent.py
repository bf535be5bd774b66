"""Building the consent service for tests: settings for a test database, a clock the test moves, tokens,
and valid request bodies for each kind of consent.

Every response a :class:`ConsentApi` receives is checked as it arrives: a 5xx fails the test at once,
unless the test says it expects the database to be unavailable (``api.expect_unavailable``).
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
from fastapi.testclient import TestClient

from services.consent.api.app import create_app
from services.consent.application.app import ConsentApplication
from services.consent.settings import ConsentSettings
from services.identity.dev import DevKeys
from tests.support import Database

TENANT = "practice-a"
OTHER_TENANT = "practice-b"
PRIVACY_OFFICER = "po-1"
AUDITOR = "aud-1"
INTEGRATOR = "ehr-acme"
# Two whole days before the real time: signatures are checked against the clock's date, tokens against
# the real time, and the clock never runs ahead of either by accident.
START = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)


def consent_settings(database: Database, var_dir: Path, **overrides: Any) -> ConsentSettings:
    """Settings naming the test's database (its own schema or file) and a var dir with the dev keys."""
    values: dict[str, Any] = {
        "var_dir": var_dir,
        "consent_database_url": database.url,
        "master_key": base64.b64encode(os.urandom(32)).decode(),
        "jwks": str(DevKeys(var_dir).ensure().jwks),
        "db_pool_size": 4,
        "db_max_overflow": 16,
        # Checkpoints are signed when a test asks (checkpointer.sign_now), not by the background loop.
        "checkpoint_every_seconds": 86_400,
        "checkpoint_every_entries": 1_000_000,
    }
    values.update(overrides)
    return ConsentSettings(**values)


@dataclass
class MutableClock:
    """The application's clock: it stands still until the test moves it."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class ConsentApi:
    """A TestClient on a running consent app, with tokens per role, sub, tenant and client."""

    http: TestClient
    keys: DevKeys
    clock: MutableClock
    tenant: str = TENANT
    expect_unavailable: bool = False
    _tokens: dict[tuple[str, ...], str] = field(default_factory=dict)

    @property
    def app(self) -> ConsentApplication:
        """The application behind the API, to inspect what it stored."""
        app: ConsentApplication = self.http.app.state.consent  # type: ignore[attr-defined]
        return app

    def headers(
        self,
        role: str,
        sub: str,
        tenant: str | None = None,
        client_id: str | UUID | None = None,
        purpose: str | None = None,
    ) -> dict[str, str]:
        tenant = tenant or self.tenant
        client = str(client_id) if client_id is not None else None
        key = (role, sub, tenant, client or "", purpose or "")
        if key not in self._tokens:
            self._tokens[key] = self.keys.mint(role, tenant, sub, client_id=client, purpose_of_use=purpose)
        return {"Authorization": f"Bearer {self._tokens[key]}"}

    def officer(self, tenant: str | None = None) -> dict[str, str]:
        return self.headers("privacy_officer", PRIVACY_OFFICER, tenant)

    def auditor(self, tenant: str | None = None) -> dict[str, str]:
        return self.headers("auditor", AUDITOR, tenant)

    def client(self, client_id: str | UUID, sub: str | None = None) -> dict[str, str]:
        return self.headers("client", sub or f"client-{client_id}", client_id=client_id)

    def grant(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
        """Grant as the privacy officer (unless told); the consent as the service answered it."""
        response = self.http.post("/v1/consents", json=body, headers=headers or self.officer())
        assert response.status_code == 201, response.text
        return dict(response.json())

    def revoke(self, consent_id: str, reason: str = "changed my mind") -> httpx.Response:
        path = f"/v1/consents/{consent_id}/revocations"
        response: httpx.Response = self.http.post(path, json={"reason": reason}, headers=self.officer())
        return response

    def decide(self, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        response = self.http.post("/v1/decisions", json=body, headers=headers)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def break_glass(self, client_id: str, sub: str = "dr-bob", **changes: Any) -> dict[str, Any]:
        body = {"client_id": client_id, "reason": "unconscious in the waiting room", **changes}
        response = self.http.post("/v1/break-glass", json=body, headers=self.headers("clinician", sub))
        assert response.status_code == 201, response.text
        return dict(response.json())


@contextmanager
def running_consent(settings: ConsentSettings, clock: MutableClock | None = None) -> Iterator[ConsentApi]:
    """The app started (lifespan) under a TestClient on ``clock``; closed, with its pool, afterwards."""
    clock = clock or MutableClock()
    with TestClient(create_app(settings, clock=clock)) as http:
        api = ConsentApi(http, DevKeys(settings.var_dir), clock)

        def refuse_server_errors(response: httpx.Response) -> None:
            if response.status_code >= 500 and not api.expect_unavailable:
                response.read()
                raise AssertionError(
                    f"{response.request.method} {response.request.url.path} answered "
                    f"{response.status_code}: {response.text}"
                )

        http.event_hooks = {**http.event_hooks, "response": [refuse_server_errors]}
        yield api


# --- request bodies (valid unless a test changes them) ---------------------------------------------------
def new_client() -> str:
    return str(uuid4())


def sha256_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def period(clock: MutableClock, *, start_days: float = -1, end_days: float | None = 365) -> dict[str, Any]:
    start = clock.now + timedelta(days=start_days)
    end = clock.now + timedelta(days=end_days) if end_days is not None else None
    return {"start": start.isoformat(), "end": end.isoformat() if end else None}


def signed(clock: MutableClock, days_ago: int = 0) -> dict[str, Any]:
    """The signature elements every consent but a treatment consent needs."""
    return {
        "signer": {"role": "client"},
        "signed_on": (clock.now.date() - timedelta(days=days_ago)).isoformat(),
        "evidence": {"sha256": sha256_of(f"signed form {uuid4()}")},
    }


def treatment_body(client_id: str, clock: MutableClock, **changes: Any) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "kind": "treatment",
        "grantee": {"kind": "practitioner", "id": "dr-ada"},
        "purposes": ["TREAT"],
        "period": period(clock, end_days=None),
        **changes,
    }


def disclosure_body(client_id: str, clock: MutableClock, **changes: Any) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "kind": "disclosure",
        "grantee": {"kind": "integrator", "id": INTEGRATOR, "display": "Acme Health"},
        "purposes": ["TREAT"],
        "categories": ["demographics", "episodes"],
        "period": period(clock),
        **signed(clock),
        **changes,
    }


def part2_body(client_id: str, clock: MutableClock, **changes: Any) -> dict[str, Any]:
    return {
        **disclosure_body(client_id, clock),
        "kind": "part2",
        "labels": ["SUD"],
        "disclosed_by": "Touchstone Practice A",
        "description": "Substance use treatment summaries since 2024",
        "revocation_statement": True,
        **changes,
    }


def psychotherapy_notes_body(client_id: str, clock: MutableClock, **changes: Any) -> dict[str, Any]:
    return {
        **disclosure_body(client_id, clock),
        "kind": "psychotherapy_notes",
        "grantee": {"kind": "practitioner", "id": "dr-cy"},
        "categories": ["notes"],
        "labels": ["PSYTHPN"],
        **changes,
    }


def read_episode(client_id: str, **changes: Any) -> dict[str, Any]:
    """A decision request: read an episode of the client."""
    resource = {"type": "episode", "id": str(uuid4()), **changes.pop("resource", {})}
    return {"client_id": client_id, "action": "read", "resource": resource, **changes}


def manual_disclosure_body(clock: MutableClock, days_ago: int = 30, **changes: Any) -> dict[str, Any]:
    """A disclosure made outside Touchstone (a subpoena answered on paper), as a privacy officer enters it."""
    return {
        "date": (clock.now.date() - timedelta(days=days_ago)).isoformat(),
        "recipient": {"name": "Clerk of the County Court", "address": "1 Court Square, Springfield"},
        "description": "Progress notes of 2024 and the discharge summary",
        "purpose": {"text": "Subpoena duces tecum in a civil matter", "code": "HLEGAL"},
        "basis": "subpoena",
        **changes,
    }
