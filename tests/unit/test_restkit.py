"""restkit: problem documents, request middleware, PHI-safe logging and health endpoints on a tiny app."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
import structlog
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.types import Message, Receive, Scope, Send

from contracts.problem import PROBLEM_JSON, Problem
from services.identity import InvalidToken, KeySetUnavailable
from services.restkit import (
    ProblemSpec,
    bind_principal,
    configure_logging,
    health_router,
    install_middleware,
    install_problem_handlers,
    responses_for,
)
from services.restkit.logging import REDACTED, exception_type_only, redact_phi
from services.restkit.middleware import BodyLimitMiddleware, RequestContextMiddleware

SERVICE = "restkit-test"
# Stands in for clinical text: it must never come back in a response body or reach a log line.
MARKER = "Ada-Lovelace-PHI-7f3c2b"
ONE_MIB = 1_048_576


class EpisodeClosed(Exception):
    """A domain error with a PHI-free message."""


class RateLimited(Exception):
    headers: ClassVar[dict[str, str]] = {"Retry-After": "30"}


class DependencyDown(Exception):
    """Knows nothing of HTTP: its Retry-After comes from the table."""


class Widget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int
    code: str = Field(pattern=r"^[A-Z]{3}$")
    label: str = ""

    @field_validator("label")
    @classmethod
    def _careless(cls, value: str) -> str:
        # A validator written carelessly, quoting its input: the problem handler must not pass it on.
        if value.startswith("Ada"):
            raise ValueError(f"label {value} is not allowed")
        return value


def build_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(
        app,
        {
            EpisodeClosed: ProblemSpec(409, "conflict", "Conflict"),
            RateLimited: ProblemSpec(429, "too-many-requests", "Too many requests"),
            DependencyDown: ProblemSpec(503, "service-unavailable", "Dependency down", retry_after=1),
        },
    )
    install_middleware(app, SERVICE)
    app.include_router(health_router(SERVICE, ready=lambda: True))

    @app.get("/widgets/{widget_id}", responses=responses_for(404))
    async def read_widget(widget_id: str, request: Request) -> dict[str, str]:
        bind_principal(tenant="demo", actor="dr-ada")
        return {"id": widget_id, "request_id": request.state.request_id}

    @app.post("/widgets", responses=responses_for(413, 415, 422))
    async def create_widget(widget: Widget) -> dict[str, int]:
        return {"count": widget.count}

    @app.post("/widgets/{widget_id}/close")
    async def close_widget(widget_id: str) -> dict[str, str]:
        return {"closed": widget_id}

    @app.get("/raise/{kind}")
    async def fail(kind: str) -> None:
        raise {
            "mapped": EpisodeClosed("The episode is closed."),
            "limited": RateLimited("Slow down."),
            "down": DependencyDown("The dependency is down."),
            "missing-token": InvalidToken("missing"),
            "expired-token": InvalidToken("expired"),
            "keys-down": KeySetUnavailable(),
            "unexpected": RuntimeError(f"could not save note for {MARKER}"),
        }[kind]

    return app


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """The JSON lines logging really writes, as in production."""
    stream = io.StringIO()
    configure_logging("production", stream=stream)
    yield stream
    configure_logging("development")


@pytest.fixture
def client(logs: io.StringIO) -> Iterator[TestClient]:
    with TestClient(build_app()) as test_client:
        yield test_client


def log_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def assert_problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    Problem.model_validate(body)
    assert body["type"] == f"urn:touchstone:problem:{slug}"
    assert body["status"] == status
    assert body["instance"] == f"urn:touchstone:request:{response.headers['x-request-id']}"
    return body


# --- problem documents ---------------------------------------------------------------------------------


def test_mapped_exception_is_its_problem_with_its_message(client: TestClient) -> None:
    body = assert_problem(client.get("/raise/mapped"), 409, "conflict")
    assert body["title"] == "Conflict"
    assert body["detail"] == "The episode is closed."


def test_exception_headers_are_sent(client: TestClient) -> None:
    response = client.get("/raise/limited")
    assert_problem(response, 429, "too-many-requests")
    assert response.headers["retry-after"] == "30"


def test_a_tables_retry_after_is_sent(client: TestClient) -> None:
    response = client.get("/raise/down")
    assert_problem(response, 503, "service-unavailable")
    assert response.headers["retry-after"] == "1"
    with pytest.raises(ValueError):
        ProblemSpec(503, "service-unavailable", "Down", retry_after=-1)


def test_unexpected_exception_is_a_generic_500_that_leaks_nothing(
    client: TestClient, logs: io.StringIO
) -> None:
    response = client.get("/raise/unexpected", headers={"X-Request-ID": "req-500"})
    body = assert_problem(response, 500, "internal")
    assert body["detail"] == "An unexpected error occurred; quote request id req-500 when reporting it."
    assert MARKER not in response.text
    assert MARKER not in logs.getvalue()
    [failure] = [line for line in log_lines(logs) if line["event"] == "request.failed"]
    assert failure["error_type"] == "builtins.RuntimeError"
    assert failure["request_id"] == "req-500"


def test_missing_token_is_401_with_a_bare_bearer_challenge(client: TestClient) -> None:
    response = client.get("/raise/missing-token")
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


def test_bad_token_is_401_with_invalid_token_challenge(client: TestClient) -> None:
    response = client.get("/raise/expired-token")
    body = assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert "expired" in body["detail"]


def test_unreachable_key_set_is_503_to_retry(client: TestClient) -> None:
    response = client.get("/raise/keys-down")
    assert_problem(response, 503, "service-unavailable")
    assert response.headers["retry-after"] == "5"


def test_validation_errors_name_fields_without_echoing_input(client: TestClient) -> None:
    payload = {"count": MARKER, "code": MARKER, "label": MARKER, MARKER[:5]: 1}
    body = assert_problem(client.post("/widgets", json=payload), 422, "validation")
    assert MARKER not in json.dumps(body)
    errors = {tuple(error["loc"]): error for error in body["errors"]}
    assert set(errors) == {("body", "count"), ("body", "code"), ("body", "label"), ("body", "Ada-L")}
    assert errors[("body", "count")]["type"] == "int_parsing"
    assert errors[("body", "label")]["msg"] == "Invalid value"
    assert all(set(error) == {"loc", "msg", "type"} for error in body["errors"])


def test_malformed_json_is_a_validation_problem(client: TestClient) -> None:
    content = '{"count": "' + MARKER
    response = client.post("/widgets", content=content, headers={"content-type": "application/json"})
    body = assert_problem(response, 422, "validation")
    assert body["errors"][0]["type"] == "json_invalid"
    assert MARKER not in response.text


def test_unknown_route_is_404_problem(client: TestClient) -> None:
    body = assert_problem(client.get(f"/nothing/{MARKER}"), 404, "not-found")
    assert MARKER not in json.dumps(body)


def test_wrong_method_is_405_problem_with_allow(client: TestClient) -> None:
    response = client.delete("/widgets/w1")
    assert_problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == "GET"


# --- body limit and content type -----------------------------------------------------------------------


def test_body_over_limit_by_content_length_is_413(client: TestClient) -> None:
    response = client.post(
        "/widgets", content=b" " * (ONE_MIB + 1), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "payload-too-large")


def test_streamed_body_over_limit_is_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(17):
            yield b" " * 65_536

    response = client.post("/widgets", content=chunks(), headers={"content-type": "application/json"})
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert_problem(response, 413, "payload-too-large")


def test_body_limit_answers_for_apps_that_read_the_body_themselves(logs: io.StringIO) -> None:
    async def reads_everything(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app = RequestContextMiddleware(BodyLimitMiddleware(reads_everything, max_bytes=10), service=SERVICE)
    response = TestClient(app).post("/", content=iter([b"12345", b"678901"]))
    assert_problem(response, 413, "payload-too-large")


def test_body_at_limit_passes(client: TestClient) -> None:
    body = b'{"count": 1, "code": "ABC"}'.ljust(ONE_MIB)
    response = client.post("/widgets", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200


def test_text_body_is_415(client: TestClient) -> None:
    response = client.post("/widgets", content="count=1", headers={"content-type": "text/plain"})
    assert_problem(response, 415, "unsupported-media-type")


def test_body_without_content_type_is_415(client: TestClient) -> None:
    assert_problem(client.post("/widgets", content=b'{"count": 1}'), 415, "unsupported-media-type")


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/merge-patch+json"])
def test_json_media_types_are_accepted(client: TestClient, content_type: str) -> None:
    content = b'{"count": 1, "code": "ABC"}'
    response = client.post("/widgets", content=content, headers={"content-type": content_type})
    assert response.status_code == 200


def test_action_without_body_needs_no_content_type(client: TestClient) -> None:
    response = client.post("/widgets/w1/close", headers={"content-type": "text/plain"})
    assert response.status_code == 200


# --- request id ----------------------------------------------------------------------------------------


def test_request_id_is_echoed_and_in_request_state(client: TestClient) -> None:
    response = client.get("/widgets/w1", headers={"X-Request-ID": "abc.DEF:1-2_3"})
    assert response.headers["x-request-id"] == "abc.DEF:1-2_3"
    assert response.json()["request_id"] == "abc.DEF:1-2_3"


@pytest.mark.parametrize("supplied", [None, "", "has space", "a" * 129, "a/b", "<x>"])
def test_request_id_is_generated_when_absent_or_invalid(client: TestClient, supplied: str | None) -> None:
    headers = {"X-Request-ID": supplied} if supplied is not None else {}
    response = client.get("/widgets/w1", headers=headers)
    assert uuid.UUID(response.headers["x-request-id"]).version == 7


def test_request_id_is_echoed_on_errors(client: TestClient) -> None:
    for response in (client.get("/nothing", headers={"X-Request-ID": "r-1"}), client.get("/raise/mapped")):
        assert response.headers["x-request-id"]
        assert response.json()["instance"].endswith(response.headers["x-request-id"])


# --- logging -------------------------------------------------------------------------------------------


def test_each_request_logs_one_line_with_route_template(client: TestClient, logs: io.StringIO) -> None:
    client.get("/widgets/w-123", headers={"X-Request-ID": "req-log"})
    [line] = [line for line in log_lines(logs) if line["event"] == "request.completed"]
    assert line["route"] == "/widgets/{widget_id}"
    assert (line["method"], line["status"], line["request_id"]) == ("GET", 200, "req-log")
    assert (line["service"], line["tenant"], line["actor"]) == (SERVICE, "demo", "dr-ada")
    assert line["duration_ms"] >= 0
    assert "w-123" not in logs.getvalue()


def test_request_context_is_unbound_when_the_request_ends() -> None:
    async def binds(scope: Scope, receive: Receive, send: Send) -> None:
        bind_principal(tenant="demo", actor="dr-ada")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def one_request() -> dict[str, Any]:
        scope: Scope = {"type": "http", "method": "GET", "path": "/", "headers": []}

        async def receive() -> Message:
            return {"type": "http.request", "body": b""}

        async def send(message: Message) -> None:
            return None

        await RequestContextMiddleware(binds, service=SERVICE)(scope, receive, send)
        return structlog.contextvars.get_contextvars()

    assert asyncio.run(one_request()) == {}


def test_deny_listed_keys_are_redacted_at_any_depth() -> None:
    event = {
        "event": "client.registered",
        "client_id": "c-1",
        "name": "Ada",
        "birthDate": "1815-12-10",
        "payload": {"note": "...", "tags": [{"text": "..."}], "version": 3},
    }
    redacted = redact_phi(None, "info", event)
    assert redacted == {
        "event": "client.registered",
        "client_id": "c-1",
        "name": REDACTED,
        "birthDate": REDACTED,
        "payload": {"note": REDACTED, "tags": [{"text": REDACTED}], "version": 3},
    }


def test_logged_exceptions_keep_their_type_but_not_their_message() -> None:
    try:
        raise ValueError(MARKER)
    except ValueError as exc:
        event = exception_type_only(None, "error", {"event": "x", "exc_info": exc})
    assert event["error_type"] == "builtins.ValueError"
    assert "exc_info" not in event
    assert MARKER not in json.dumps(event)


def test_library_log_records_go_through_the_same_defences(logs: io.StringIO) -> None:
    try:
        raise RuntimeError(MARKER)
    except RuntimeError:
        logging.getLogger("some.library").exception("it failed")
    [line] = [line for line in log_lines(logs) if line["event"] == "it failed"]
    assert (line["logger"], line["error_type"]) == ("some.library", "builtins.RuntimeError")
    assert MARKER not in logs.getvalue()


def test_configure_logging_is_idempotent() -> None:
    configure_logging("development")
    configure_logging("development")
    assert [h.get_name() for h in logging.getLogger().handlers].count("touchstone") == 1


# --- health, metrics and OpenAPI -----------------------------------------------------------------------


def test_health_endpoints(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


@pytest.mark.parametrize("ready", [lambda: False, lambda: 1 / 0])
def test_not_ready_is_503_problem_without_the_reason(ready: Any, logs: io.StringIO) -> None:
    app = FastAPI()
    install_problem_handlers(app, {})
    install_middleware(app, SERVICE)
    app.include_router(health_router(SERVICE, ready=ready))
    response = TestClient(app).get("/readyz")
    assert_problem(response, 503, "service-unavailable")
    assert "division" not in response.text


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    client.get("/widgets/w-456")
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    expected = (
        'touchstone_http_requests_total{method="GET",route="/widgets/{widget_id}",'
        f'service="{SERVICE}",status="200"}}'
    )
    assert expected in response.text
    assert "touchstone_http_request_duration_seconds_bucket" in response.text
    assert "w-456" not in response.text


def test_openapi_declares_problems_under_problem_json(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    responses = document["paths"]["/widgets"]["post"]["responses"]
    for status in ("413", "415", "422"):
        assert set(responses[status]["content"]) == {PROBLEM_JSON}
    # FastAPI's own 422 schema describes a body these services never send.
    close = document["paths"]["/widgets/{widget_id}/close"]["post"]["responses"]
    assert close["422"]["content"][PROBLEM_JSON]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert {"Problem", "ProblemError"} <= set(document["components"]["schemas"])
    assert "/metrics" not in document["paths"]
