"""Building the records service for tests: settings for a test database, tokens, and a seeded practice."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from services.identity.dev import DevKeys
from services.records.api.app import create_app
from services.records.settings import RecordsSettings
from tests.support import Database
from tests.support.policy_gate import PolicyGate

TENANT = "practice-a"
OTHER_TENANT = "practice-b"


def records_settings(database: Database, var_dir: Path, **overrides: Any) -> RecordsSettings:
    """Settings naming the test's database (its own schema or file) and a var dir with the dev keys."""
    values: dict[str, Any] = {
        "var_dir": var_dir,
        "records_database_url": database.url,
        "master_key": base64.b64encode(os.urandom(32)).decode(),
        "jwks": str(DevKeys(var_dir).ensure().jwks),
        "db_pool_size": 4,
        "db_max_overflow": 36,
    }
    values.update(overrides)
    return RecordsSettings(**values)


@dataclass
class RecordsApi:
    """A TestClient on a running records app, with tokens and shortcuts to seed a practice."""

    http: TestClient
    keys: DevKeys
    tenant: str = TENANT
    _tokens: dict[tuple[str, ...], str] = field(default_factory=dict)

    def headers(
        self, role: str, sub: str, tenant: str | None = None, client_id: str | None = None, **extra: str
    ) -> dict[str, str]:
        key = (role, sub, tenant or self.tenant, client_id or "")
        if key not in self._tokens:
            self._tokens[key] = self.keys.mint(role, tenant or self.tenant, sub, client_id=client_id)
        return {"Authorization": f"Bearer {self._tokens[key]}", **extra}

    def admin(self, tenant: str | None = None) -> dict[str, str]:
        return self.headers("admin", "admin-1", tenant)

    def practitioner(
        self,
        sub: str,
        roles: list[str] | None = None,
        supervisor: str | None = None,
        tenant: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"id": sub, "display_name": f"Dr {sub}", "roles": roles or ["clinician"]}
        if supervisor:
            body["supervisor"] = supervisor
        response = self.http.post("/v1/practitioners", json=body, headers=self.admin(tenant))
        assert response.status_code == 201, response.text
        return dict(response.json())

    def client(
        self, clinician: str, family: str = "Doe", identifier: str | None = None, tenant: str | None = None
    ) -> dict[str, Any]:
        body = {
            "identifiers": [{"system": "urn:test:mrn", "value": identifier or os.urandom(6).hex()}],
            "name": {"family": family, "given": ["Alex"]},
            "birth_date": "1990-04-01",
            "time_zone": "Europe/Berlin",
        }
        response = self.http.post(
            "/v1/clients", json=body, headers=self.headers("clinician", clinician, tenant)
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    def episode(
        self, clinician: str, client_id: str, care_team: list[str] | None = None, tenant: str | None = None
    ) -> dict[str, Any]:
        body = {
            "clinician": clinician,
            "care_team": care_team or [],
            "reason_for_referral": "low mood",
            "started_at": "2026-01-05T09:00:00+01:00",
        }
        response = self.http.post(
            f"/v1/clients/{client_id}/episodes",
            json=body,
            headers=self.headers("clinician", clinician, tenant),
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    def practice(self, clinician: str = "dr-ada") -> tuple[dict[str, Any], dict[str, Any]]:
        """A clinician, a client of theirs and an open episode: (client, episode)."""
        self.practitioner(clinician)
        client = self.client(clinician)
        return client, self.episode(clinician, client["id"])


@contextmanager
def running_records(settings: RecordsSettings, **create_kwargs: Any) -> Iterator[RecordsApi]:
    """The app started (lifespan) under a TestClient; closed, with its pool, afterwards.

    Without a consent URL or a gate of the test's, decisions come from the consent policy in-process.
    """
    if create_kwargs.get("gate") is None and settings.consent_url is None:
        create_kwargs["gate"] = PolicyGate()
    with TestClient(create_app(settings, **create_kwargs)) as http:
        yield RecordsApi(http, DevKeys(settings.var_dir))
