"""A stand-in consent service over real HTTP: uvicorn on a free port, in a thread of the test process.

It answers ``POST /v1/decisions`` the way a test sets it to (a permit with obligations, a deny, any status,
a body that is not a decision, or no answer for a while), and keeps every request it received (path,
headers, parsed body, the client's port), so that tests see exactly what the records service sent.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

START_TIMEOUT = 10.0


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: Any
    client_port: int | None


def decision(
    outcome: str = "permit",
    *,
    labels: list[str] | None = None,
    categories: list[str] | None = None,
    notice: str | None = None,
    consents: list[str] | None = None,
    break_glass_id: str | None = None,
) -> dict[str, Any]:
    """A decision as contracts/consent_v1.py ``Decision`` spells it."""
    return {
        "decision_id": str(uuid.uuid4()),
        "decision": outcome,
        "reason": "canned by the test" if outcome == "permit" else "no consent names this grantee",
        "rule": "test-rule",
        "obligations": {
            "redact_labels": labels or [],
            "redact_categories": categories or [],
            "redisclosure_notice": notice,
        },
        "consents": consents or [],
        "break_glass_id": break_glass_id,
        "purpose_of_use": "TREAT",
        "decided_at": "2026-01-12T09:00:00Z",
    }


@dataclass
class FakeConsent:
    """``answer`` is a decision (JSON), ``status`` its status; ``raw`` replaces the body; ``hang`` delays."""

    answer: dict[str, Any] = field(default_factory=decision)
    status: int = 200
    raw: bytes | None = None
    hang_seconds: float = 0.0
    received: list[Received] = field(default_factory=list)
    base_url: str = ""

    def app(self) -> Starlette:
        async def decisions(request: Request) -> Response:
            body = await request.body()
            client = request.client.port if request.client else None
            self.received.append(Received(request.url.path, dict(request.headers), json.loads(body), client))
            if self.hang_seconds:
                await asyncio.sleep(self.hang_seconds)
            if self.raw is not None:
                return Response(self.raw, self.status, media_type="application/json")
            return JSONResponse(self.answer, self.status)

        return Starlette(routes=[Route("/v1/decisions", decisions, methods=["POST"])])


def free_port() -> int:
    """A port nothing listens on (bound, then released): connecting to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def fake_consent() -> Iterator[FakeConsent]:
    """The fake, listening; stopped (hung requests cut short) when the test ends."""
    fake = FakeConsent()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    fake.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(
        fake.app(), log_level="warning", lifespan="off", access_log=False, timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the fake consent service did not start"
            time.sleep(0.01)
        yield fake
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
