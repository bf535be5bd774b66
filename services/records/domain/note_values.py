"""The values a progress note holds: its formats, signatures, returns and addenda.

A note's content is a mapping of its format's sections to text (SOAP: subjective, objective, assessment,
plan; DAP: data, assessment, plan; BIRP: behavior, intervention, response, plan; free: text). The content
hash is SHA-256 over the canonical JSON of format and content (keys sorted, no whitespace, UTF-8), so anyone
holding the note can recompute it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from . import checks
from .errors import ValidationError

NOTE_FORMATS: dict[str, tuple[str, ...]] = {
    "SOAP": ("subjective", "objective", "assessment", "plan"),
    "DAP": ("data", "assessment", "plan"),
    "BIRP": ("behavior", "intervention", "response", "plan"),
    "free": ("text",),
}
NOTE_STATUSES: list[str] = ["draft", "signed", "awaiting_cosign", "returned", "cosigned"]


def note_format(value: str) -> str:
    if value not in NOTE_FORMATS:
        shown = checks.shown_code(value)
        raise ValidationError(f"format {shown} is not one of {sorted(NOTE_FORMATS)}", field="format")
    return value


def note_content(format_: str, content: dict[str, str]) -> dict[str, str]:
    """The sections of ``format_`` that are given (at least one, none blank), in the format's order."""
    if not isinstance(content, dict):
        raise ValidationError("content must map sections to text", field="content")
    sections = NOTE_FORMATS[note_format(format_)]
    unknown = sorted(key for key in content if key not in sections)
    if unknown:
        shown = ", ".join(checks.shown_code(key) for key in unknown)
        raise ValidationError(
            f"content: {shown} not a section of {format_} {list(sections)}", field="content"
        )
    if not content:
        raise ValidationError("a note must have content", field="content")
    return {name: checks.text(content[name], f"content.{name}") for name in sections if name in content}


def canonical_hash(document: object) -> str:
    """SHA-256 (hex) of the canonical JSON of a document."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def content_hash(format_: str, content: dict[str, str]) -> str:
    return canonical_hash({"format": format_, "content": content})


@dataclass(frozen=True, kw_only=True)
class Signature:
    signer: str
    signed_at: datetime
    content_hash: str
    version: int


@dataclass(frozen=True, kw_only=True)
class Cosignature:
    supervisor: str
    cosigned_at: datetime
    comment: str | None
    version: int


@dataclass(frozen=True, kw_only=True)
class NoteReturn:
    """A supervisor sent the signed note back for revision, with a comment."""

    supervisor: str
    returned_at: datetime
    comment: str
    version: int


@dataclass(frozen=True, kw_only=True)
class Addendum:
    """A signed correction of a signed note, with its reason; addenda are shown in order under the note."""

    id: UUID
    text: str
    reason: str
    signer: str
    signed_at: datetime
    content_hash: str
    version: int
