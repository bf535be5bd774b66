"""Progress notes -> the JSON documents of contracts/records_v1.py (``Note``), as plain dicts."""

from __future__ import annotations

from services.records.api.render import Doc
from services.records.domain.note import Note
from services.records.domain.note_values import Addendum, Cosignature, NoteReturn, Signature


def note(n: Note) -> Doc:
    return {
        "id": n.id,
        "episode_id": n.episode_id,
        "session_id": n.session_id,
        "client_id": n.client_id,
        "author": n.author,
        "format": n.format,
        "content": dict(n.content),
        "labels": list(n.labels),
        "status": n.status,
        "final": n.is_final,
        "requires_cosign": n.requires_cosign,
        "content_hash": n.content_hash,
        "signature": _signature(n.signature),
        "cosignature": _cosignature(n.cosignature),
        "returns": [_returned(r) for r in n.returns],
        "addenda": [_addendum(a) for a in n.addenda],
        "version": n.version,
        "drafted_at": n.created_on,
        "recorded_at": n.modified_on,
    }


def _signature(s: Signature | None) -> Doc | None:
    if s is None:
        return None
    return {
        "signer": s.signer,
        "signed_at": s.signed_at,
        "content_hash": s.content_hash,
        "version": s.version,
    }


def _cosignature(c: Cosignature | None) -> Doc | None:
    if c is None:
        return None
    return {
        "supervisor": c.supervisor,
        "cosigned_at": c.cosigned_at,
        "comment": c.comment,
        "version": c.version,
    }


def _returned(r: NoteReturn) -> Doc:
    return {
        "supervisor": r.supervisor,
        "returned_at": r.returned_at,
        "comment": r.comment,
        "version": r.version,
    }


def _addendum(a: Addendum) -> Doc:
    return {
        "id": a.id,
        "text": a.text,
        "reason": a.reason,
        "signer": a.signer,
        "signed_at": a.signed_at,
        "content_hash": a.content_hash,
        "version": a.version,
    }
