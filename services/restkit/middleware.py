"""Pure ASGI middlewares every Touchstone service runs, outermost first:

1. :class:`RequestContextMiddleware` gives each request an id, binds it for logging, echoes it, answers
   unexpected exceptions with a generic 500, logs one line per request and records its metrics;
2. :class:`BodyLimitMiddleware` refuses bodies over 1 MiB (413);
3. :class:`JsonContentTypeMiddleware` refuses request bodies that are not JSON (415).

They are plain ASGI callables rather than ``BaseHTTPMiddleware`` so that streaming bodies and contextvars
behave as they do without middleware.
"""

from __future__ import annotations

import re
import time

import structlog
import uuid_utils
from fastapi import FastAPI
from prometheus_client import Counter, Histogram
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.restkit.auth import BearerAuthMiddleware
from services.restkit.logging import REQUEST_CONTEXT_KEYS
from services.restkit.problems import (
    STATUS_SPECS,
    internal_error_response,
    log_unexpected,
    request_id_in,
    spec_response,
)

REQUEST_ID_HEADER = "X-Request-ID"
DEFAULT_MAX_BODY_BYTES = 1_048_576
# Requests answered before or without routing (404, 413, 415) are labelled with this instead of their
# raw path, which would hold ids and grow the metric without bound.
UNROUTED = "<unrouted>"

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_log = structlog.get_logger("touchstone.http")

# Module level because the Prometheus registry refuses a second metric of the same name; the ``service``
# label keeps the two services apart when they share a process (as in tests).
HTTP_REQUESTS = Counter(
    "touchstone_http_requests_total",
    "HTTP requests answered, by route template and status.",
    ["service", "method", "route", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "touchstone_http_request_duration_seconds",
    "Time from receiving an HTTP request to finishing its response.",
    ["service", "method", "route"],
)


def incoming_request_id(scope: Scope) -> str:
    """The caller's ``X-Request-ID`` when it is safe to log and echo, else a new UUIDv7."""
    supplied = Headers(scope=scope).get(REQUEST_ID_HEADER)
    if supplied is not None and _REQUEST_ID.fullmatch(supplied):
        return supplied
    return str(uuid_utils.uuid7())


def route_template(scope: Scope) -> str:
    """The path template of the matched route (``/v1/episodes/{episode_id}``), never the raw path."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else UNROUTED


class _ResponseWatch:
    """Wraps ``send``: remembers the response status and, if given one, adds the request id."""

    def __init__(self, send: Send, request_id: str | None = None) -> None:
        self._send = send
        self._request_id = request_id
        self.status: int | None = None

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            if self._request_id is not None:
                message.setdefault("headers", [])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = self._request_id
        await self._send(message)


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = incoming_request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        response = _ResponseWatch(send, request_id)
        structlog.contextvars.bind_contextvars(request_id=request_id, service=self.service)
        started = time.perf_counter()
        try:
            await self._answer(scope, receive, response, request_id)
        finally:
            self._record(scope, response.status, time.perf_counter() - started)
            structlog.contextvars.unbind_contextvars(*REQUEST_CONTEXT_KEYS)

    async def _answer(
        self, scope: Scope, receive: Receive, response: _ResponseWatch, request_id: str
    ) -> None:
        # Unexpected exceptions end here rather than in the server, which would log their message
        # in a traceback and answer without the request id.
        try:
            await self.app(scope, receive, response.send)
        except Exception as exc:
            if response.status is not None:  # too late for a problem body; the connection just ends
                log_unexpected(request_id, exc)
                return
            await internal_error_response(request_id, exc)(scope, receive, response.send)

    def _record(self, scope: Scope, status: int | None, seconds: float) -> None:
        method = scope["method"] if scope["method"] in _KNOWN_METHODS else "OTHER"
        route = route_template(scope)
        status_label = str(status) if status is not None else "aborted"
        HTTP_REQUESTS.labels(self.service, method, route, status_label).inc()
        HTTP_REQUEST_DURATION.labels(self.service, method, route).observe(seconds)
        _log.info(
            "request.completed",
            method=method,
            route=route,
            status=status,
            duration_ms=round(seconds * 1000, 2),
        )


class BodyTooLarge(StarletteHTTPException):
    """Raised from ``receive`` once a streamed body passes the limit; answered with 413."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, detail=f"The request body is larger than the limit of {max_bytes} bytes.")


def _content_length(headers: Headers) -> int | None:
    try:
        return int(headers["content-length"])
    except (KeyError, ValueError):
        return None


class _CountedReceive:
    def __init__(self, receive: Receive, max_bytes: int) -> None:
        self._receive = receive
        self._max_bytes = max_bytes
        self._received = 0

    async def __call__(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self._received += len(message.get("body", b""))
            if self._received > self._max_bytes:
                raise BodyTooLarge(self._max_bytes)
        return message


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(Headers(scope=scope))
        if declared is not None and declared > self.max_bytes:
            await self._refuse(BodyTooLarge(self.max_bytes), scope, receive, send)
            return
        response = _ResponseWatch(send)
        try:
            await self.app(scope, _CountedReceive(receive, self.max_bytes), response.send)
        except BodyTooLarge as exc:
            # FastAPI's handlers usually answer it first; this covers routes that read the body themselves.
            if response.status is not None:
                raise
            await self._refuse(exc, scope, receive, send)

    @staticmethod
    async def _refuse(exc: BodyTooLarge, scope: Scope, receive: Receive, send: Send) -> None:
        await spec_response(STATUS_SPECS[413], exc.detail, request_id_in(scope))(scope, receive, send)


def _has_body(headers: Headers) -> bool:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return True
    if "content-length" not in headers:
        return False
    length = _content_length(headers)
    # A Content-Length that is not a number counts as a body, so it cannot bypass the check.
    return length is None or length > 0


def is_json_media_type(content_type: str | None) -> bool:
    """``application/json`` or ``application/*+json``, with any parameters (such as charset)."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    main, _, subtype = media_type.partition("/")
    return main == "application" and (subtype == "json" or subtype.endswith("+json"))


class JsonContentTypeMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in _BODY_METHODS:
            headers = Headers(scope=scope)
            if _has_body(headers) and not is_json_media_type(headers.get("content-type")):
                detail = "The request body must be JSON: send Content-Type: application/json."
                response = spec_response(STATUS_SPECS[415], detail, request_id_in(scope))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install_middleware(
    app: FastAPI,
    service: str,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    bearer_prefix: str | None = None,
) -> None:
    """Add the middlewares; each ``add_middleware`` wraps the ones added before it, so a request meets
    them in reverse: request context, then authentication (under ``bearer_prefix``), then size and type."""
    app.add_middleware(JsonContentTypeMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    if bearer_prefix is not None:
        app.add_middleware(BearerAuthMiddleware, prefix=bearer_prefix)
    app.add_middleware(RequestContextMiddleware, service=service)
