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
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime

from fastapi import FastAPI, Request
from starlette.responses import Response

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
