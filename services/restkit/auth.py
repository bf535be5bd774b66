"""Bearer authentication before routing: a caller without a valid token learns nothing of the request.

FastAPI parses a JSON body before it solves dependencies, so an authentication dependency would let an
anonymous caller see validation feedback. This pure-ASGI middleware verifies the token of every request
under ``prefix`` first, answers 401 (or 503 when the signing keys cannot be fetched) with a problem, and
keeps the verified :class:`~services.identity.Principal` in the request state for the endpoints.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from services.identity import InvalidToken, KeySetUnavailable, Principal, TokenVerifier
from services.restkit.logging import bind_principal
from services.restkit.problems import invalid_token_response


class BearerAuthMiddleware:
    """Needs ``app.state.verifier`` (a TokenVerifier); ``app.state.jwks_is_remote`` moves verification
    off the event loop, since fetching a remote JWKS blocks."""

    def __init__(self, app: ASGIApp, prefix: str = "/v1") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        verifier: TokenVerifier = state.verifier
        header = Headers(scope=scope).get("authorization")
        try:
            if getattr(state, "jwks_is_remote", False):
                principal = await run_in_threadpool(verifier.verify, header)
            else:
                principal = verifier.verify(header)
        except InvalidToken as exc:
            response = invalid_token_response(Request(scope), exc)
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        bind_principal(principal.tenant, principal.sub)
        await self.app(scope, receive, send)


def principal_of(request: Request) -> Principal:
    """The principal BearerAuthMiddleware verified for this request."""
    principal = request.scope.get("state", {}).get("principal")
    if not isinstance(principal, Principal):
        raise RuntimeError("BearerAuthMiddleware is not installed in front of this route")
    return principal


__all__ = ["BearerAuthMiddleware", "KeySetUnavailable", "principal_of"]
