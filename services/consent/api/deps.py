"""Request dependencies: the consent application and the caller's command (actor from the token only)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request

from services.consent.application.app import ConsentApplication
from services.consent.application.commands import Actor, Command
from services.identity import InvalidToken
from services.restkit.auth import principal_of
from services.restkit.problems import request_id_of


async def get_consent(request: Request) -> ConsentApplication:
    consent: ConsentApplication = request.app.state.consent
    return consent


async def get_command(request: Request) -> Command:
    """Who asks, as BearerAuthMiddleware verified them before routing; never anything from the body."""
    principal = principal_of(request)
    client_id: UUID | None = None
    if principal.client_id is not None:
        try:
            client_id = UUID(principal.client_id)
        except ValueError:
            raise InvalidToken("bad_claims") from None
    actor = Actor(principal.sub, principal.tenant, principal.roles, client_id, principal.purpose_of_use)
    return Command(actor, request_id_of(request), request.headers.get("x-causation-id"))


ConsentDep = Annotated[ConsentApplication, Depends(get_consent)]
CommandDep = Annotated[Command, Depends(get_command)]
