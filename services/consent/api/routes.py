"""The consent service's routes: consent directives, decisions, break-glass (DESIGN.md, REST surface)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from starlette.responses import Response

from contracts import consent_v1 as api
from contracts.records_v1 import Page
from services.consent.api import render
from services.consent.api.deps import CommandDep, ConsentDep
from services.consent.application.core import Question
from services.consent.domain.directive import Terms
from services.restkit.paging import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from services.restkit.problems import responses_for

router = APIRouter(prefix="/v1")
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


# --- consent directives ------------------------------------------------------------------------------
@router.post(
    "/consents",
    status_code=201,
    response_model=api.Consent,
    tags=["consents"],
    responses=responses_for(401, 403, 413, 415, 422),
)
def grant_consent(body: api.GrantConsent, consent: ConsentDep, cmd: CommandDep) -> Response:
    granted = consent.grant(cmd, _terms(body))
    doc = render.consent(granted, consent.clock())
    return render.json_response(doc, 201, granted.version, f"/v1/consents/{granted.id}")


@router.get(
    "/consents", response_model=Page[api.Consent], tags=["consents"], responses=responses_for(401, 403, 422)
)
def list_consents(
    consent: ConsentDep,
    cmd: CommandDep,
    client_id: UUID,
    limit: Limit = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Response:
    after = decode_cursor(cursor, "consents", UUID)
    found = consent.consents_of(cmd, client_id, after, limit + 1)
    more = len(found) > limit
    now = consent.clock()
    items = [render.consent(c, now) for c in found[:limit]]
    next_cursor = encode_cursor({"k": "consents", "after": str(found[limit - 1].id)}) if more else None
    return render.json_response(render.page(items, next_cursor))


@router.get(
    "/consents/{consent_id}",
    response_model=api.Consent,
    tags=["consents"],
    responses=responses_for(401, 403, 404),
)
def get_consent(consent_id: UUID, consent: ConsentDep, cmd: CommandDep) -> Response:
    found = consent.consent(cmd, consent_id)
    return render.json_response(render.consent(found, consent.clock()), etag=found.version)


@router.post(
    "/consents/{consent_id}/revocations",
    response_model=api.Consent,
    tags=["consents"],
    responses=responses_for(401, 403, 404, 409, 413, 415, 422),
)
def revoke_consent(
    consent_id: UUID, body: api.RevokeConsent, consent: ConsentDep, cmd: CommandDep
) -> Response:
    """An action: 200 with the consent as it now stands (revoked)."""
    revoked = consent.revoke(cmd, consent_id, body.reason)
    return render.json_response(render.consent(revoked, consent.clock()), etag=revoked.version)


# --- decisions ---------------------------------------------------------------------------------------
@router.post(
    "/decisions",
    response_model=api.Decision,
    tags=["decisions"],
    responses=responses_for(401, 413, 415, 422),
)
def decide(body: api.DecisionRequest, consent: ConsentDep, cmd: CommandDep) -> Response:
    """Permit or deny, with obligations; stored before it is answered. The caller's token is the actor."""
    question = Question(
        action=body.action,
        resource_type=body.resource.type,
        client_id=body.client_id,
        resource_id=body.resource.id,
        labels=frozenset(body.resource.labels),
        categories=frozenset(body.resource.categories),
        purpose=body.purpose_of_use,
        care_team=frozenset(body.facts.care_team),
        supervisors=frozenset(body.facts.care_team_supervisors),
        author=body.facts.author,
        actor_display=body.facts.actor_display,
    )
    return render.json_response(render.decision(consent.decide(cmd, question)))


# --- break-glass -------------------------------------------------------------------------------------
@router.post(
    "/break-glass",
    status_code=201,
    response_model=api.BreakGlass,
    tags=["break-glass"],
    responses=responses_for(401, 403, 413, 415, 422),
)
def invoke_break_glass(body: api.InvokeBreakGlass, consent: ConsentDep, cmd: CommandDep) -> Response:
    grant = consent.invoke_break_glass(cmd, body.client_id, body.reason, body.minutes)
    doc = render.break_glass(grant, consent.clock())
    return render.json_response(doc, 201, grant.version, f"/v1/break-glass/{grant.id}")


@router.get(
    "/break-glass",
    response_model=Page[api.BreakGlass],
    tags=["break-glass"],
    responses=responses_for(401, 403, 422),
)
def break_glass_queue(
    consent: ConsentDep,
    cmd: CommandDep,
    status: Literal["unreviewed", "all"] = "unreviewed",
    limit: Limit = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Response:
    after = decode_cursor(cursor, "break-glass", UUID)
    found = consent.break_glass_queue(cmd, status == "unreviewed", after, limit + 1)
    more = len(found) > limit
    now = consent.clock()
    items = [render.break_glass(g, now) for g in found[:limit]]
    next_cursor = encode_cursor({"k": "break-glass", "after": str(found[limit - 1].id)}) if more else None
    return render.json_response(render.page(items, next_cursor))


@router.get(
    "/break-glass/{break_glass_id}",
    response_model=api.BreakGlass,
    tags=["break-glass"],
    responses=responses_for(401, 403, 404),
)
def get_break_glass(break_glass_id: UUID, consent: ConsentDep, cmd: CommandDep) -> Response:
    grant = consent.break_glass(cmd, break_glass_id)
    return render.json_response(render.break_glass(grant, consent.clock()), etag=grant.version)


@router.post(
    "/break-glass/{break_glass_id}/review",
    response_model=api.BreakGlass,
    tags=["break-glass"],
    responses=responses_for(401, 403, 404, 409, 413, 415, 422),
)
def review_break_glass(
    break_glass_id: UUID, body: api.ReviewBreakGlass, consent: ConsentDep, cmd: CommandDep
) -> Response:
    grant = consent.review_break_glass(cmd, break_glass_id, body.outcome, body.note)
    return render.json_response(render.break_glass(grant, consent.clock()), etag=grant.version)


def _terms(body: api.GrantConsent) -> Terms:
    return Terms(
        client_id=body.client_id,
        kind=body.kind,
        grantee_kind=body.grantee.kind,
        grantee_id=body.grantee.id,
        grantee_display=body.grantee.display,
        purposes=tuple(dict.fromkeys(body.purposes)),
        categories=tuple(dict.fromkeys(body.categories)),
        labels=tuple(dict.fromkeys(body.labels)),
        start=body.period.start,
        end=body.period.end,
        signer_role=body.signer.role if body.signer else None,
        representative_id=body.signer.representative_id if body.signer else None,
        signed_on=body.signed_on,
        evidence_sha256=body.evidence.sha256 if body.evidence else None,
        disclosed_by=body.disclosed_by,
        description=body.description,
        revocation_statement=body.revocation_statement,
    )
