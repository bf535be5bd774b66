"""Stand-ins for the consent service, so that ``bench.consent`` can take a records read through the consent
hop apart: what the HTTP hop costs by itself, and what the consent service's decision adds to it.

- ``create_stub_consent_app``: ``uvicorn --factory bench.stubs:create_stub_consent_app``, a "consent service"
  that does no work: ``POST /v1/decisions`` answers a permit at once, from an ``async def`` endpoint, without
  verifying the token, reading the body, touching a database or storing anything. Records started with
  ``TOUCHSTONE_CONSENT_URL`` pointing at it pays for the HTTP round trip and nothing else.
- ``create_records_without_hop``: ``uvicorn --factory bench.stubs:create_records_without_hop``, the records
  service (settings from the environment as usual) built with an in-process gate that permits everything:
  no hop at all. The records service itself has no in-process policy any more (it refuses to start without
  ``TOUCHSTONE_CONSENT_URL``), so this exists for the benchmark only.

Both answer like the real consent service does for the benchmark's callers: a plain permit for the
clinician, a permit that redacts ``SUD`` for an integrator (so its read is redacted the same way).
Never use either outside a benchmark: they permit everything.

- ``create_consent_one_commit``: for ``bench.access_log``, the real consent service (settings from the
  environment, PostgreSQL only) whose recorder commits every save in a transaction of its own, the library's
  path (``PostgresApplicationRecorder.insert_events``), instead of group-committing concurrent saves. Its
  index and access-log rows are still written in that transaction, through ``_insert_events``, so the log
  is the same; only the commits differ. It decides like the real service (it is the real service).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from fastapi import FastAPI, Request
from starlette.responses import Response

from services.consent.persistence.recorders import PostgresConsentRecorder
from services.consent.settings import ConsentSettings
from services.records.application.access import AccessRequest, Decision

REDACTED_FOR_INTEGRATORS = frozenset({"SUD"})


def _roles_of(authorization: str) -> list[str]:
    """The roles claim of a bearer token, read without verifying it (a stub trusts its caller)."""
    try:
        payload = authorization.split(" ", 1)[1].split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        roles = claims.get("roles", [])
        return [r for r in roles if isinstance(r, str)] if isinstance(roles, list) else []
    except (IndexError, ValueError):
        return []


def create_stub_consent_app() -> FastAPI:
    app = FastAPI(title="bench stub consent", openapi_url=None, docs_url=None, redoc_url=None)

    @app.post("/v1/decisions")
    async def decide(request: Request) -> Response:
        redact = (
            sorted(REDACTED_FOR_INTEGRATORS)
            if "integrator" in _roles_of(request.headers.get("authorization", ""))
            else []
        )
        body: dict[str, object] = {
            "decision_id": str(uuid.uuid4()),
            "decision": "permit",
            "reason": "bench stub: permits everything",
            "rule": "bench-stub",
            "obligations": {"redact_labels": redact, "redact_categories": [], "redisclosure_notice": None},
            "consents": [],
            "break_glass_id": None,
            "purpose_of_use": "TREAT",
            "decided_at": datetime.now(UTC).isoformat(),
        }
        return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


class PermitAll:
    """An in-process access gate that permits everything (integrators: SUD redacted)."""

    def decide(self, request: AccessRequest) -> Decision:
        integrator = "integrator" in request.actor.roles
        return Decision(
            permit=True,
            reason="bench stub: permits everything",
            rule="bench-stub",
            redact_labels=REDACTED_FOR_INTEGRATORS if integrator else frozenset(),
        )


def create_records_without_hop() -> FastAPI:
    from services.records.api.app import create_app

    return create_app(gate=PermitAll())


class OneCommitConsentRecorder(PostgresConsentRecorder):
    """The consent recorder without group commit: one transaction, one commit, per save."""

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        ids: Sequence[int] | None = PostgresApplicationRecorder.insert_events(self, stored_events, **kwargs)
        return ids

    def _insert_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        rows = kwargs.get("commit_rows")
        if rows is not None:
            self.before_rows(curs, [rows])
        self.write_rows(curs, rows)


ONE_COMMIT_RECORDER = f"{__name__}:{OneCommitConsentRecorder.__qualname__}"


class OneCommitConsentSettings(ConsentSettings):
    def eventsourcing_env(self) -> dict[str, str]:
        env = super().eventsourcing_env()
        if env.get("PERSISTENCE_MODULE") != "eventsourcing.postgres":
            raise ValueError("the one-commit consent variant is for PostgreSQL only")
        return {**env, "APPLICATION_RECORDER_TOPIC": ONE_COMMIT_RECORDER}


def create_consent_one_commit() -> FastAPI:
    from services.consent.api.app import create_app

    return create_app(OneCommitConsentSettings())
