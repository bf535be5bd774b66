"""The registers a client's privacy rests on: the disclosure register with its accounting of disclosures
(45 CFR 164.528) and the client's own access report. Every read and entry is decided and logged."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.exceptions import RequestValidationError
from starlette.responses import Response

from contracts import consent_v1 as api
from contracts.records_v1 import Day
from services.consent.api import register_docs as docs
from services.consent.api.deps import CommandDep, ConsentDep
from services.consent.api.render import json_response
from services.consent.application.commands import DayWindow
from services.consent.domain.disclosure import DisclosureDetails, accounting_start
from services.restkit.paging import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from services.restkit.problems import responses_for

router = APIRouter(prefix="/v1/clients/{client_id}", tags=["registers"])
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def day_window(
    consent: ConsentDep,
    start: Annotated[
        Day | None, Query(alias="from", description="First day (default: six years ago)")
    ] = None,
    end: Annotated[
        Day | None, Query(alias="to", description="Last day, included (default: today, UTC)")
    ] = None,
) -> DayWindow:
    end = end or consent.clock().date()
    start = start or accounting_start(end)
    if start > end:
        problem = {"loc": ("query", "from"), "msg": "from must not be after to", "type": "value_error"}
        raise RequestValidationError([problem])
    return DayWindow(start, end)


WindowDep = Annotated[DayWindow, Depends(day_window)]


@router.post(
    "/disclosures",
    status_code=201,
    response_model=api.Disclosure,
    responses=responses_for(401, 403, 404, 413, 415, 422),
)
def record_disclosure(
    client_id: UUID, body: api.RecordDisclosure, consent: ConsentDep, cmd: CommandDep
) -> Response:
    """A disclosure made outside Touchstone, entered by a privacy officer (201, with its Location)."""
    entered = consent.record_disclosure(cmd, _details(client_id, body))
    location = f"/v1/clients/{client_id}/disclosures/{entered.row.id}"
    return json_response(docs.disclosure(entered), 201, entered.version, location)


@router.get(
    "/disclosures", response_model=api.DisclosureRegister, responses=responses_for(401, 403, 404, 422)
)
def disclosure_register(
    client_id: UUID, consent: ConsentDep, cmd: CommandDep, window: WindowDep, accountable_only: bool = False
) -> Response:
    """The client's disclosures from ``from`` to ``to`` (both included; default the last six years);
    ``accountable_only`` gives the accounting the client is entitled to. Repeated disclosures to one
    recipient for one purpose are one item: the first in full, their number and the date of the last."""
    lines = consent.disclosure_register(cmd, client_id, window, accountable_only)
    return json_response(docs.register(client_id, window, accountable_only, lines))


@router.get(
    "/disclosures/{disclosure_id}", response_model=api.Disclosure, responses=responses_for(401, 403, 404, 422)
)
def get_disclosure(client_id: UUID, disclosure_id: UUID, consent: ConsentDep, cmd: CommandDep) -> Response:
    found = consent.disclosure(cmd, client_id, disclosure_id)
    return json_response(docs.disclosure(found), etag=found.version)


@router.get("/access-report", response_model=api.AccessReport, responses=responses_for(401, 403, 404, 422))
def access_report(
    client_id: UUID,
    consent: ConsentDep,
    cmd: CommandDep,
    window: WindowDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Response:
    """Who accessed the client's record (permitted accesses, the client's own included), when, what kind of
    information and why, oldest first; psychotherapy notes are not part of it."""
    after = decode_cursor(cursor, "access-report", int)
    found = consent.access_report(cmd, client_id, window, -1 if after is None else after, limit + 1)
    items = [docs.report_item(line) for line in found[:limit]]
    more = len(found) > limit
    next_cursor = encode_cursor({"k": "access-report", "after": items[-1]["seq"]}) if more else None
    doc = {"client_id": client_id, "period": docs.period(window), "items": items, "next_cursor": next_cursor}
    return json_response(doc)


def _details(client_id: UUID, body: api.RecordDisclosure) -> DisclosureDetails:
    return DisclosureDetails(
        client_id=client_id,
        disclosed_on=body.date,
        recipient_name=body.recipient.name,
        recipient_address=body.recipient.address,
        description=body.description,
        purpose_text=body.purpose.text,
        purpose_code=body.purpose.code,
        accountable=body.accountable,
        basis=body.basis,
    )
