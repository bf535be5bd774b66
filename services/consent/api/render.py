"""Aggregates and decisions -> the JSON documents of contracts/consent_v1.py (plain dicts, orjson).

The contract tests validate these documents against the response models, so the two cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from starlette.responses import Response

from contracts.consent_v1 import PART2_REDISCLOSURE_NOTICE
from services.consent.application.core import Decided
from services.consent.domain.break_glass import BreakGlass
from services.consent.domain.directive import ConsentDirective

Doc = dict[str, Any]


def json_response(
    doc: Any, status: int = 200, etag: int | None = None, location: str | None = None
) -> Response:
    headers = {}
    if etag is not None:
        headers["etag"] = f'"{etag}"'
    if location is not None:
        headers["location"] = location
    return Response(orjson.dumps(doc, option=orjson.OPT_UTC_Z), status, headers, "application/json")


def leaf(data: bytes) -> Doc:
    """An access-log entry: its leaf bytes parsed (the leaf, not this document, is what is signed)."""
    entry: Doc = orjson.loads(data)
    return entry


def page(items: list[Doc], next_cursor: str | None) -> Doc:
    return {"items": items, "next_cursor": next_cursor}


def consent(c: ConsentDirective, now: datetime) -> Doc:
    t = c.terms
    return {
        "id": c.id,
        "client_id": t.client_id,
        "kind": t.kind,
        "grantee": {"kind": t.grantee_kind, "id": t.grantee_id, "display": t.grantee_display},
        "purposes": list(t.purposes),
        "categories": list(t.categories),
        "labels": list(t.labels),
        "period": {"start": t.start, "end": t.end},
        "signer": {"role": t.signer_role, "representative_id": t.representative_id}
        if t.signer_role
        else None,
        "signed_on": t.signed_on,
        "evidence": {"sha256": t.evidence_sha256} if t.evidence_sha256 else None,
        "disclosed_by": t.disclosed_by,
        "description": t.description,
        "revocation_statement": t.revocation_statement,
        "status": c.status(now),
        "granted_at": c.created_on,
        "granted_by": c.granted_by,
        "revocation": (
            {"revoked_at": c.revoked_at, "revoked_by": c.revoked_by, "reason": c.revocation_reason}
            if c.revoked_at is not None
            else None
        ),
        "version": c.version,
    }


def decision(d: Decided) -> Doc:
    v = d.verdict
    return {
        "decision_id": d.id,
        "decision": "permit" if v.permit else "deny",
        "reason": v.reason,
        "rule": v.rule,
        "obligations": {
            "redact_labels": sorted(v.redact_labels),
            "redact_categories": sorted(v.redact_categories),
            "redisclosure_notice": PART2_REDISCLOSURE_NOTICE if v.redisclosure_notice else None,
        },
        "consents": list(v.consents),
        "break_glass_id": v.break_glass_id,
        "purpose_of_use": v.purpose,
        "decided_at": d.decided_at,
    }


def break_glass(g: BreakGlass, now: datetime) -> Doc:
    review = None
    if g.review is not None:
        outcome, note, reviewer, reviewed_at = g.review
        review = {"outcome": outcome, "note": note, "reviewed_by": reviewer, "reviewed_at": reviewed_at}
    return {
        "id": g.id,
        "client_id": g.client_id,
        "actor": g.actor,
        "reason": g.reason,
        "purpose_of_use": "ETREAT",
        "started_at": g.started_at,
        "expires_at": g.expires_at,
        "status": "active" if g.active(now) else "expired",
        "review": review,
        "version": g.version,
    }
