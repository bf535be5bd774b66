"""The consent service as the records service's access gate: ``POST {consent_url}/v1/decisions``.

Each decision is asked with the caller's own bearer token, which the consent service verifies itself and
takes the actor, tenant, roles and purpose from (the body holds only what records knows: the client, the
resource and the care team), and with the caller's request id, so that an access-log entry and the records
request that caused it can be matched.

Fail closed: a refused connection, a timeout, any status but 200, or a body that is not a decision raises
:class:`ConsentUnavailable`, and the records service answers 503 without clinical data. Failures are logged
by kind, status and request id; never a body, which could echo what was asked.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pydantic
import structlog

from contracts import consent_v1 as wire
from services.records.application.access import (
    AccessDenied,
    AccessRequest,
    ConsentUnavailable,
    Decision,
)

DEFAULT_TIMEOUT_SECONDS = 2.0
MAX_DECISION_BYTES = 64 * 1024  # a decision is well under 1 KiB; anything this large is not one
# Requests arrive on the server's worker threads (40 by default): each may hold one connection.
MAX_CONNECTIONS = 64
UNREPRESENTABLE = "the access request cannot be put to the consent service (e.g. an unknown purpose of use)"

_log = structlog.get_logger("touchstone.records.consent")


class HttpConsentGate:
    """An :class:`~services.records.application.access.AccessGate` over one pooled, thread-safe client.

    ``timeout_seconds`` bounds each step (connecting, sending, waiting for the answer) and reading the
    whole answer. Close it when the service stops.
    """

    def __init__(
        self,
        base_url: str,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if timeout_seconds <= 0:
            raise ValueError("the consent timeout must be positive")
        self._url = base_url.rstrip("/") + "/v1/decisions"
        self._timeout = timeout_seconds
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout_seconds),
            limits=httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS),
            transport=transport,
        )

    def decide(self, request: AccessRequest) -> Decision:
        if not request.actor.token:
            raise _unavailable("no_token", request.request_id)
        body = _request_body(request)
        headers = {"Authorization": f"Bearer {request.actor.token}", "Content-Type": "application/json"}
        if request.request_id:
            headers["X-Request-ID"] = request.request_id
        answer = self._post(body, headers, request.request_id)
        try:
            decision = wire.Decision.model_validate_json(answer)
        except pydantic.ValidationError:
            raise _unavailable("bad_body", request.request_id) from None
        _log.debug(
            "consent.decided",
            decision_id=str(decision.decision_id),
            outcome=decision.decision,
            rule=decision.rule,
        )
        return _decision(decision)

    def close(self) -> None:
        self._http.close()

    def _post(self, body: bytes, headers: dict[str, str], request_id: str) -> bytes:
        deadline = time.monotonic() + self._timeout
        try:
            with self._http.stream("POST", self._url, content=body, headers=headers) as response:
                if response.status_code != 200:
                    raise _unavailable("status", request_id, status=response.status_code)
                return _read(response, deadline, request_id)
        except httpx.TimeoutException:
            raise _unavailable("timeout", request_id) from None
        except httpx.HTTPError as error:
            raise _unavailable("unreachable", request_id, error=type(error).__name__) from None


def _read(response: httpx.Response, deadline: float, request_id: str) -> bytes:
    """The whole answer, unless it takes longer than the timeout or grows larger than any decision."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_DECISION_BYTES:
            raise _unavailable("bad_body", request_id, status=response.status_code)
        if time.monotonic() > deadline:
            raise _unavailable("timeout", request_id)
        chunks.append(chunk)
    return b"".join(chunks)


def _request_body(request: AccessRequest) -> bytes:
    """The contract's DecisionRequest; what it cannot express (a purpose it does not know) is refused."""
    resource = request.resource
    body: dict[str, Any] = {
        "client_id": request.client_id,
        "action": request.action,
        "resource": {
            "type": resource.type,
            "id": str(resource.id) if resource.id is not None else None,
            "labels": sorted(resource.labels),
            "categories": sorted(resource.categories),
        },
        "purpose_of_use": request.purpose_of_use,
        "facts": {
            "care_team": sorted(request.care_team),
            "care_team_supervisors": sorted(request.care_team_supervisors),
            "author": request.author,
            "actor_display": request.actor_display,
        },
    }
    try:
        return wire.DecisionRequest.model_validate(body).model_dump_json().encode()
    except pydantic.ValidationError as error:
        fields = sorted({".".join(str(part) for part in e["loc"]) for e in error.errors()})
        _log.warning("consent.unrepresentable", fields=fields, request_id=request.request_id)
        raise AccessDenied(Decision(False, UNREPRESENTABLE, "unrepresentable")) from None


def _decision(decision: wire.Decision) -> Decision:
    obligations = decision.obligations
    return Decision(
        permit=decision.decision == "permit",
        reason=decision.reason,
        rule=decision.rule,
        redact_labels=frozenset(obligations.redact_labels),
        decision_id=str(decision.decision_id),
        redact_categories=frozenset(obligations.redact_categories),
        redisclosure_notice=obligations.redisclosure_notice,
        consents=tuple(str(consent) for consent in decision.consents),
        break_glass_id=str(decision.break_glass_id) if decision.break_glass_id is not None else None,
    )


def _unavailable(kind: str, request_id: str, **facts: Any) -> ConsentUnavailable:
    _log.warning("consent.unavailable", kind=kind, request_id=request_id, **facts)
    return ConsentUnavailable(kind)
