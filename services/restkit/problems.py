"""Every error a Touchstone service answers is an RFC 9457 problem document.

One table per service maps its exception types to :class:`ProblemSpec`; domain exceptions know nothing of
HTTP. The handlers here add the conventions every service shares: the request id as ``instance``, no input
echoed back in validation errors, ``WWW-Authenticate`` on 401, and a 500 whose body and log line never carry
the exception's message (it could hold clinical data).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import structlog
import uuid_utils
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Scope

from contracts.problem import (
    ABOUT_BLANK,
    PROBLEM_JSON,
    PROBLEM_SLUGS,
    Problem,
    ProblemError,
    ProblemSlug,
    problem_type,
    request_instance,
)
from services.identity import InvalidToken, KeySetUnavailable
from services.restkit.logging import describe_exception

_log = structlog.get_logger("touchstone.problems")

Handler = Callable[[Request, Exception], Awaitable[Response]]


@dataclass(frozen=True)
class ProblemSpec:
    """How one kind of failure is answered: the HTTP status, the problem type slug and its title.

    ``retry_after`` (seconds) is sent as ``Retry-After`` for failures that pass (a dependency that is down),
    so that the exception itself need not know about HTTP.
    """

    status: int
    slug: ProblemSlug
    title: str
    retry_after: int | None = None

    def __post_init__(self) -> None:
        if not 400 <= self.status <= 599:
            raise ValueError(f"a problem status must be 4xx or 5xx, not {self.status}")
        if self.slug not in PROBLEM_SLUGS:
            raise ValueError(f"unknown problem slug {self.slug!r}")
        if self.retry_after is not None and self.retry_after < 0:
            raise ValueError("Retry-After is a number of seconds, not negative")


# The shared meaning of each status this project uses; HTTP errors raised by the framework (unknown route,
# wrong method) and by the middlewares are answered from here.
STATUS_SPECS: Mapping[int, ProblemSpec] = {
    spec.status: spec
    for spec in (
        ProblemSpec(401, "unauthorized", "Unauthorized"),
        ProblemSpec(403, "forbidden", "Forbidden"),
        ProblemSpec(404, "not-found", "Not found"),
        ProblemSpec(405, "method-not-allowed", "Method not allowed"),
        ProblemSpec(409, "conflict", "Conflict"),
        ProblemSpec(410, "gone", "Gone"),
        ProblemSpec(412, "precondition-failed", "Precondition failed"),
        ProblemSpec(413, "payload-too-large", "Payload too large"),
        ProblemSpec(415, "unsupported-media-type", "Unsupported media type"),
        ProblemSpec(422, "validation", "Invalid request"),
        ProblemSpec(428, "precondition-required", "Precondition required"),
        ProblemSpec(429, "too-many-requests", "Too many requests"),
        ProblemSpec(500, "internal", "Internal error"),
        ProblemSpec(503, "service-unavailable", "Service unavailable"),
    )
}

# Starlette's default detail is the bare status phrase; these say what it means here.
_DEFAULT_DETAILS: Mapping[int, str] = {
    404: "No resource exists at this path.",
    405: "This resource does not support the request method; see the Allow header.",
}


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_JSON


def request_id_in(scope: Scope) -> str:
    """The id RequestContextMiddleware gave this request (a fresh one when it is not installed)."""
    request_id = scope.get("state", {}).get("request_id")
    return request_id if isinstance(request_id, str) else str(uuid_utils.uuid7())


def request_id_of(request: Request) -> str:
    return request_id_in(request.scope)


def problem_response(
    status: int,
    slug: ProblemSlug,
    title: str,
    detail: str,
    request_id: str,
    headers: Mapping[str, str] | None = None,
    errors: Sequence[ProblemError] | None = None,
) -> ProblemResponse:
    """A problem response for code that must answer directly (middlewares, health checks)."""
    return _respond(problem_type(slug), status, title, detail, request_id, headers, errors)


def _respond(
    type_uri: str,
    status: int,
    title: str,
    detail: str,
    request_id: str,
    headers: Mapping[str, str] | None = None,
    errors: Sequence[ProblemError] | None = None,
) -> ProblemResponse:
    problem = Problem(
        type=type_uri,
        title=title,
        status=status,
        detail=detail,
        instance=request_instance(request_id),
        errors=list(errors) if errors is not None else None,
    )
    body = problem.model_dump(mode="json", exclude_none=True)
    return ProblemResponse(body, status_code=status, headers=dict(headers) if headers else None)


def spec_response(
    spec: ProblemSpec, detail: str, request_id: str, headers: Mapping[str, str] | None = None
) -> ProblemResponse:
    return problem_response(spec.status, spec.slug, spec.title, detail, request_id, headers)


def log_unexpected(request_id: str, exc: BaseException) -> None:
    """Log an unexpected exception by its type and place only: its message could quote clinical data."""
    _log.error("request.failed", request_id=request_id, **describe_exception(exc))


def internal_error_response(request_id: str, exc: BaseException) -> ProblemResponse:
    """Log an unexpected exception (type and place only) and answer a generic 500."""
    log_unexpected(request_id, exc)
    detail = f"An unexpected error occurred; quote request id {request_id} when reporting it."
    return spec_response(STATUS_SPECS[500], detail, request_id)


def _exception_headers(exc: Exception) -> dict[str, str] | None:
    """Headers an exception asks to send (e.g. Retry-After), if it carries a ``headers`` mapping."""
    headers = getattr(exc, "headers", None)
    if not isinstance(headers, Mapping):
        return None
    return {str(name): str(value) for name, value in headers.items()}


def _mapped_handler(spec: ProblemSpec) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        # Domain exceptions in this project carry PHI-free messages written for the caller.
        headers = _exception_headers(exc) or {}
        if spec.retry_after is not None:
            headers.setdefault("Retry-After", str(spec.retry_after))
        return spec_response(spec, str(exc) or spec.title, request_id_of(request), headers or None)

    return handle


def invalid_token_response(request: Request, exc: InvalidToken) -> Response:
    """401 with a challenge, or 503 when the signing keys could not be fetched."""
    if isinstance(exc, KeySetUnavailable):
        detail = "Bearer tokens cannot be checked right now: the signing keys could not be fetched."
        return spec_response(STATUS_SPECS[503], detail, request_id_of(request), {"Retry-After": "5"})
    # RFC 6750 section 3.1: a request with no credentials gets a bare challenge, without an error code.
    challenge = "Bearer" if exc.reason == "missing" else 'Bearer error="invalid_token"'
    # identity builds the message from a fixed vocabulary, never from the token.
    detail = str(exc) or "The bearer token is missing or invalid."
    return spec_response(STATUS_SPECS[401], detail, request_id_of(request), {"WWW-Authenticate": challenge})


async def _invalid_token(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, InvalidToken):  # registered for InvalidToken (and KeySetUnavailable) only
        raise exc
    return invalid_token_response(request, exc)


def _problem_error(error: Mapping[str, Any]) -> ProblemError:
    loc = [part if isinstance(part, str | int) else str(part) for part in error.get("loc", ())]
    msg = str(error.get("msg", "Invalid value"))
    rejected = error.get("input")
    # Pydantic's own messages do not quote the input, but a custom validator's message might.
    if isinstance(rejected, str) and len(rejected) >= 3 and rejected in msg:
        msg = "Invalid value"
    return ProblemError(loc=loc, msg=msg, type=str(error.get("type", "value_error")))


async def _validation_failed(request: Request, exc: Exception) -> Response:
    raw_errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    errors = [_problem_error(error) for error in raw_errors]
    detail = f"The request failed validation in {len(errors)} place(s); see errors."
    spec = STATUS_SPECS[422]
    return problem_response(spec.status, spec.slug, spec.title, detail, request_id_of(request), errors=errors)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
    headers = _exception_headers(exc)
    if status < 400:  # a redirect or 304 raised as an exception is not a problem
        return Response(status_code=status, headers=headers)
    phrase = _phrase(status)
    detail = getattr(exc, "detail", None)
    if not isinstance(detail, str) or detail == phrase:
        detail = _DEFAULT_DETAILS.get(status, phrase)
    spec = STATUS_SPECS.get(status)
    if spec is None:
        return _respond(ABOUT_BLANK, status, phrase, detail, request_id_of(request), headers)
    return spec_response(spec, detail, request_id_of(request), headers)


async def _unexpected(request: Request, exc: Exception) -> Response:
    return internal_error_response(request_id_of(request), exc)


def install_problem_handlers(app: FastAPI, mapping: Mapping[type[Exception], ProblemSpec]) -> None:
    """Answer every failure of ``app`` with a problem document, using ``mapping`` for domain exceptions.

    The ``Exception`` handler is a fallback for apps without RequestContextMiddleware, which answers
    unexpected exceptions itself so that the server never prints their message in a traceback.
    """
    app.add_exception_handler(RequestValidationError, _validation_failed)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(InvalidToken, _invalid_token)
    for exc_type, spec in mapping.items():
        app.add_exception_handler(exc_type, _mapped_handler(spec))
    app.add_exception_handler(Exception, _unexpected)
    _declare_problem_schemas(app)


def responses_for(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route: a Problem under application/problem+json for each status."""
    return {
        status: {
            "description": spec.title if (spec := STATUS_SPECS.get(status)) else _phrase(status),
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


_FASTAPI_422_REF = "#/components/schemas/HTTPValidationError"


def _declare_problem_schemas(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            _add_problem_schemas(document)
            app.openapi_schema = document
        return app.openapi_schema

    # Overriding app.openapi is FastAPI's documented extension point for changing the generated document.
    app.openapi = openapi  # type: ignore[method-assign]


def _add_problem_schemas(document: dict[str, Any]) -> None:
    """Register Problem in components, and describe FastAPI's default 422 as the Problem it really is."""
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(schema.pop("$defs", {}))
    schemas["Problem"] = schema
    for operation in (op for path in document.get("paths", {}).values() for op in path.values()):
        responses = operation.get("responses", {}) if isinstance(operation, dict) else {}
        if _FASTAPI_422_REF in str(responses.get("422", "")):
            responses["422"] = responses_for(422)[422]
    if _FASTAPI_422_REF not in str(document.get("paths", "")):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
