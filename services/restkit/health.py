"""Liveness, readiness and metrics endpoints: no token needed, so orchestrators and scrapers can call them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import structlog
from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from pydantic import BaseModel
from starlette.responses import JSONResponse, Response

from services.restkit.logging import describe_exception
from services.restkit.problems import STATUS_SPECS, request_id_of, responses_for, spec_response

_log = structlog.get_logger("touchstone.health")


class Liveness(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]


def _is_ready(service: str, ready: Callable[[], bool]) -> bool:
    try:
        return ready()
    except Exception as exc:
        # The exception can name hosts or hold a DSN; only its type goes to the log, nothing to the caller.
        _log.warning("readiness.check_failed", service=service, **describe_exception(exc))
        return False


def health_router(service: str, ready: Callable[[], bool]) -> APIRouter:
    """``/healthz`` (the process answers), ``/readyz`` (its dependencies answer) and ``/metrics``."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz", operation_id="healthz", summary="Liveness: the process is serving requests")
    async def healthz() -> Liveness:
        return Liveness(status="ok")

    # A plain ``def``: the check does blocking I/O, so FastAPI runs it in the thread pool.
    @router.get(
        "/readyz",
        operation_id="readyz",
        summary="Readiness: the service's dependencies are reachable",
        response_model=Readiness,
        responses=responses_for(503),
    )
    def readyz(request: Request) -> Response:
        if _is_ready(service, ready):
            return JSONResponse(Readiness(status="ready").model_dump())
        detail = f"The {service} service cannot reach a dependency it needs."
        return spec_response(STATUS_SPECS[503], detail, request_id_of(request), {"Retry-After": "5"})

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return router
