"""The access log's routes, for auditors and privacy officers (every read of the log is itself logged)."""

from __future__ import annotations

import base64
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import AwareDatetime
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from contracts import consent_v1 as api
from contracts.records_v1 import Page
from services.consent.api import render
from services.consent.api.deps import CommandDep, ConsentDep
from services.consent.api.exports import csv_rows, fhir_bundle
from services.consent.application.core import new_id
from services.consent.application.ports import LogFilter
from services.restkit.paging import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from services.restkit.problems import responses_for

router = APIRouter(prefix="/v1/access-log", tags=["access log"])
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
NDJSON = "application/x-ndjson"
CSV = "text/csv; charset=utf-8"
FHIR_JSON = "application/fhir+json"


class NoCheckpoint(LookupError):
    """The tenant's log has no signed checkpoint yet."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@router.get("", response_model=Page[api.AccessLogEntry], responses=responses_for(401, 403, 422))
def list_entries(
    consent: ConsentDep,
    cmd: CommandDep,
    client_id: UUID | None = None,
    actor: str | None = None,
    outcome: Literal["permit", "deny"] | None = None,
    purpose: api.PurposeOfUse | None = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Response:
    """Entries in sequence order, filtered; ``since`` inclusive, ``until`` exclusive."""
    after = decode_cursor(cursor, "access-log", int)
    where = LogFilter(client_id, actor, outcome, purpose, since, until)
    leaves = consent.audit.entries(cmd, where, -1 if after is None else after, limit + 1)
    items = [render.leaf(leaf) for leaf in leaves[:limit]]
    more = len(leaves) > limit
    next_cursor = encode_cursor({"k": "access-log", "after": items[-1]["seq"]}) if more else None
    return render.json_response(render.page(items, next_cursor))


@router.get(
    "/checkpoint",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}}, **responses_for(401, 403, 404, 422)},
)
def latest_checkpoint(consent: ConsentDep, cmd: CommandDep) -> Response:
    """The latest signed checkpoint of the caller's tenant's log, as a C2SP signed note."""
    checkpoint = consent.audit.checkpoint(cmd)
    if checkpoint is None:
        raise NoCheckpoint("the access log has no signed checkpoint yet; one is signed within seconds")
    return PlainTextResponse(checkpoint.note)


@router.get("/checkpoints", response_model=list[str], responses=responses_for(401, 403, 422))
def all_checkpoints(consent: ConsentDep, cmd: CommandDep) -> Response:
    """Every checkpoint signed so far, oldest first (an offline verifier checks the tree at each)."""
    return render.json_response(consent.audit.checkpoints(cmd))


@router.get(
    "/entries/{seq}/proof", response_model=api.InclusionProof, responses=responses_for(401, 403, 404, 422)
)
def inclusion_proof(
    seq: int, consent: ConsentDep, cmd: CommandDep, tree_size: Annotated[int | None, Query(ge=1)] = None
) -> Response:
    """The entry's audit path in the tree of ``tree_size`` (default: the latest checkpoint's)."""
    proof = consent.audit.inclusion(cmd, seq, tree_size)
    doc = {
        "seq": proof.seq,
        "tree_size": proof.tree_size,
        "leaf_hash": _b64(proof.leaf_hash),
        "proof": [_b64(h) for h in proof.path],
        "root_hash": _b64(proof.root),
    }
    return render.json_response(doc)


@router.get("/consistency", response_model=api.ConsistencyProof, responses=responses_for(401, 403, 422))
def consistency_proof(
    consent: ConsentDep,
    cmd: CommandDep,
    first: Annotated[int, Query(ge=0)],
    second: Annotated[int, Query(ge=0)],
) -> Response:
    proof = consent.audit.consistency(cmd, first, second)
    return render.json_response({"first": first, "second": second, "proof": [_b64(h) for h in proof]})


@router.get("/keys", response_model=api.LogKeys, responses=responses_for(401, 422))
def keys(consent: ConsentDep, cmd: CommandDep) -> Response:
    """The verifier keys of the log's checkpoints (public: any member of the practice may fetch them)."""
    log_keys = consent.audit.keys
    return render.json_response(
        {"origin": log_keys.origin(cmd.actor.tenant), "keys": log_keys.verifier_keys()}
    )


@router.get(
    "/export",
    responses={200: {"content": {NDJSON: {}, "text/csv": {}, FHIR_JSON: {}}}, **responses_for(401, 403, 422)},
)
def export(
    consent: ConsentDep,
    cmd: CommandDep,
    format: Literal["ndjson", "csv", "fhir"] = "ndjson",
    start: Annotated[int, Query(ge=0)] = 0,
    end: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    """The log (``start <= seq < end``), streamed. NDJSON lines are exactly the leaves an offline verifier
    hashes; ``csv`` is one row per entry; ``fhir`` a FHIR R4B Bundle (collection) of AuditEvents shaped
    after IHE BALP. Page a long log with ``start`` and ``end``."""
    leaves = consent.audit.export(cmd, start, end)
    if format == "csv":
        disposition = {"Content-Disposition": f'attachment; filename="access-log-{start}.csv"'}
        return StreamingResponse(csv_rows(leaves), media_type=CSV, headers=disposition)
    if format == "fhir":
        return StreamingResponse(fhir_bundle(leaves, str(new_id()), consent.clock()), media_type=FHIR_JSON)
    return StreamingResponse((leaf + b"\n" for leaf in leaves), media_type=NDJSON)
