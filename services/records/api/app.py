"""The records service's FastAPI application: create_app(settings) and the OpenAPI document."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from eventsourcing.persistence import OperationalError
from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from contracts.problem import ProblemError
from services.identity import TokenVerifier
from services.records.adapters.consent_gate import HttpConsentGate
from services.records.api.deps import Replay
from services.records.api.errors import PROBLEMS, DatabaseUnavailable
from services.records.api.routes import (
    amendments,
    clients,
    entries,
    episodes,
    note_lists,
    notes,
    psychotherapy_notes,
)
from services.records.application.access import AccessGate
from services.records.bootstrap import build_records
from services.records.domain.errors import ValidationError
from services.records.settings import RecordsSettings
from services.restkit import configure_logging, health_router, install_middleware, install_problem_handlers
from services.restkit.problems import problem_response, request_id_of

SERVICE = "records"
_log = structlog.get_logger("touchstone.records")


def create_app(settings: RecordsSettings | None = None, *, gate: AccessGate | None = None) -> FastAPI:
    """Build the app; the database is opened when the app starts (lifespan), never at import."""
    settings = settings if settings is not None else RecordsSettings()
    configure_logging(settings.env, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.verifier = TokenVerifier(
            settings.jwks_source(),
            settings.jwt_issuer,
            settings.jwt_audience,
            settings.jwt_algorithm,
            production=settings.production,
        )
        app.state.jwks_is_remote = settings.jwks_source().startswith(("http://", "https://"))
        app.state.records = await run_in_threadpool(build_records, settings, gate=gate)
        built_gate = app.state.records.gate
        _log.info(
            "records.started",
            env=settings.env,
            persistence=app.state.records.factory.__class__.__name__,
            access_gate=built_gate.__class__.__name__,
        )
        try:
            yield
        finally:
            app.state.records.close()
            if gate is None and isinstance(built_gate, HttpConsentGate):  # a gate passed in is the caller's
                built_gate.close()

    return _build_app(lifespan)


def _build_app(lifespan: Any = None) -> FastAPI:
    app = FastAPI(
        title="Touchstone records",
        version="0.1.0",
        lifespan=lifespan,
        description="The therapy record as an immutable, auditable history of events.",
    )
    install_problem_handlers(app, PROBLEMS)
    app.add_exception_handler(Replay, _replay)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(ValidationError, _invalid_input)
    install_middleware(app, SERVICE, bearer_prefix="/v1")
    app.include_router(health_router(SERVICE, ready=lambda: _ping(app)))
    for module in (clients, episodes, entries, note_lists, notes, psychotherapy_notes, amendments):
        app.include_router(module.router)
    return app


def _ping(app: FastAPI) -> bool:
    app.state.records.index.ping()
    return True


async def _replay(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Replay)  # registered for Replay only
    stored = exc.response
    return Response(stored.body, stored.status, headers={**stored.headers, "idempotent-replayed": "true"})


async def _invalid_input(request: Request, exc: Exception) -> Response:
    """A rule of the domain refused the input: 422, naming the offending field like request validation."""
    assert isinstance(exc, ValidationError)  # registered for ValidationError only
    errors = None
    if exc.field:
        loc: list[str | int] = ["body"]
        for part in re.findall(r"[^.\[\]]+", exc.field):
            loc.append(int(part) if part.isdigit() else part)
        errors = [ProblemError(loc=loc, msg=str(exc), type="value_error")]
    return problem_response(
        422, "validation", "Invalid request", str(exc), request_id_of(request), errors=errors
    )


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    _log.warning("records.database_unavailable", error_type=type(exc).__name__)
    raise DatabaseUnavailable() from None


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document, built without a database or the environment."""
    return _build_app().openapi()
