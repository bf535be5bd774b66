"""The consent service's FastAPI application: create_app(settings) and the OpenAPI document."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import structlog
from eventsourcing.persistence import IntegrityError, OperationalError
from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from contracts.problem import ProblemError
from services.consent.api import access_log, registers, routes
from services.consent.api.access_log import NoCheckpoint
from services.consent.application.audit import Checkpointer, LogRangeError
from services.consent.application.core import Clock, utc_now
from services.consent.application.errors import AccessDenied, NotFound
from services.consent.bootstrap import build_consent
from services.consent.domain.errors import Conflict, Invalid
from services.consent.settings import ConsentSettings
from services.identity import TokenVerifier
from services.restkit import (
    ProblemSpec,
    configure_logging,
    health_router,
    install_middleware,
    install_problem_handlers,
)
from services.restkit.paging import BadCursor
from services.restkit.problems import problem_response, request_id_of

SERVICE = "consent"
_log = structlog.get_logger("touchstone.consent")


class DatabaseUnavailable(Exception):
    """The database could not be reached; the driver's message (hosts, ports) stays in the server."""

    def __init__(self) -> None:
        super().__init__("the consent database is unavailable; retry shortly")
        self.headers = {"Retry-After": "2"}


class ConcurrentChange(Exception):
    """Another request changed the aggregate between this one's load and save (the driver's message,
    which names tables and keys, stays in the server)."""

    def __init__(self) -> None:
        super().__init__("the resource was changed by another request at the same time; read it and retry")


PROBLEMS: Mapping[type[Exception], ProblemSpec] = {
    NotFound: ProblemSpec(404, "not-found", "Not found"),
    AccessDenied: ProblemSpec(403, "forbidden", "Access denied"),
    Conflict: ProblemSpec(409, "conflict", "Conflict"),
    ConcurrentChange: ProblemSpec(409, "conflict", "Conflict"),
    BadCursor: ProblemSpec(422, "validation", "Invalid request"),
    LogRangeError: ProblemSpec(422, "validation", "Invalid request"),
    NoCheckpoint: ProblemSpec(404, "not-found", "Not found"),
    DatabaseUnavailable: ProblemSpec(503, "service-unavailable", "Database unavailable"),
}


def create_app(settings: ConsentSettings | None = None, *, clock: Clock = utc_now) -> FastAPI:
    """Build the app; the database is opened when the app starts (lifespan), never at import."""
    settings = settings if settings is not None else ConsentSettings()
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
        app.state.consent = await run_in_threadpool(build_consent, settings, clock=clock)
        signing = CheckpointLoop(app.state.consent.checkpointer, settings.checkpoint_every_seconds)
        _log.info("consent.started", env=settings.env)
        try:
            yield
        finally:
            signing.stop()
            app.state.consent.close()

    return _build_app(lifespan)


class CheckpointLoop:
    """Signs due checkpoints in the background; a failure is logged and tried again next round."""

    def __init__(self, checkpointer: Checkpointer, every_seconds: float) -> None:
        self._checkpointer = checkpointer
        self._stop = threading.Event()
        self._poll = min(1.0, every_seconds)
        self._thread = threading.Thread(target=self._run, name="consent-checkpoints", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._poll):
            try:
                self._checkpointer.run_once()
            except Exception as failure:
                _log.error("consent.checkpoint_failed", error_type=type(failure).__name__)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _build_app(lifespan: Any = None) -> FastAPI:
    app = FastAPI(
        title="Touchstone consent",
        version="0.1.0",
        lifespan=lifespan,
        description="Consent directives, access decisions with obligations, break-glass with review, the "
        "tamper-evident access log, the disclosure register and each client's access report.",
    )
    install_problem_handlers(app, PROBLEMS)
    app.add_exception_handler(Invalid, _invalid)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(IntegrityError, _concurrent_change)
    install_middleware(app, SERVICE, bearer_prefix="/v1")
    app.include_router(health_router(SERVICE, ready=lambda: _ping(app)))
    app.include_router(routes.router)
    app.include_router(access_log.router)
    app.include_router(registers.router)
    return app


def _ping(app: FastAPI) -> bool:
    app.state.consent.index.ping()
    return True


async def _invalid(request: Request, exc: Exception) -> Response:
    """422 naming every missing or contradictory element, like request validation does."""
    assert isinstance(exc, Invalid)  # registered for Invalid only
    errors = [
        ProblemError(loc=["body", *field.split(".")], msg=message, type="value_error")
        for field, message in exc.problems
    ]
    detail = f"{exc.refusal}: {len(errors)} element(s) missing or invalid"
    return problem_response(422, "validation", exc.title, detail, request_id_of(request), errors=errors)


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    _log.warning("consent.database_unavailable", error_type=type(exc).__name__)
    raise DatabaseUnavailable() from None


async def _concurrent_change(request: Request, exc: Exception) -> Response:
    raise ConcurrentChange() from None


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document, built without a database or the environment."""
    return _build_app().openapi()
