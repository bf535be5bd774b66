"""The consent service's FastAPI application (composition root of its HTTP side).

For now a bare service: problem documents, request middleware and health endpoints. The consent routes
arrive with the consent domain.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import FastAPI

from services.consent.persistence.database import ping_database
from services.consent.settings import ConsentSettings
from services.restkit import (
    ProblemSpec,
    configure_logging,
    health_router,
    install_middleware,
    install_problem_handlers,
)

SERVICE = "consent"
TITLE = "Touchstone consent"
VERSION = "0.1.0"

# The one table from the consent service's exceptions to problem documents; filled as the domain grows.
PROBLEMS: dict[type[Exception], ProblemSpec] = {}


def create_app(settings: ConsentSettings | None = None) -> FastAPI:
    """Build the app; nothing connects to the database until a request needs it."""
    settings = settings if settings is not None else ConsentSettings()
    configure_logging(settings.env, settings.log_level)
    return _build_app(settings)


def _build_app(settings: ConsentSettings) -> FastAPI:
    app = FastAPI(title=TITLE, version=VERSION)
    app.state.settings = settings
    install_problem_handlers(app, PROBLEMS)
    install_middleware(app, SERVICE)
    app.include_router(health_router(SERVICE, ready=partial(ping_database, settings.database_url)))
    return app


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document, built without the database, the environment or logging set-up."""
    # Defaults rather than the environment, so the committed document is the same wherever it is generated.
    return _build_app(ConsentSettings.model_construct()).openapi()
