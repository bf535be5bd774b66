"""A progress note of a session held: drafted and revised by its author, locked by signing.

A note is its own aggregate (two clinicians writing notes of one episode never contend), linked to its
episode and session by id. Signing records the SHA-256 of the canonical content, the signer and the time;
after that the note changes only by signed addenda, shown in order under it. A note whose author requires
supervision is final only once a supervisor of the author co-signs it; the supervisor may instead return
it with a comment, and the author then revises and signs again.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from . import checks
from .base import EventMeta, RecordAggregate, meta_fields
from .errors import NotAuthor, NoteLocked, NoteNotSigned, NotSupervisor
from .labels import sensitivity_labels
from .note_values import (
    Addendum,
    Cosignature,
    NoteReturn,
    Signature,
    canonical_hash,
    content_hash,
    note_content,
    note_format,
)

EDITABLE = ("draft", "returned")
LOCKED = ("signed", "awaiting_cosign", "cosigned")


class Note(RecordAggregate):
    TOPIC = "touchstone.records.Note.v1"

    class Event(RecordAggregate.Event):
        TOPIC = "touchstone.records.Note.Event.v1"
        client_id: UUID

    class NoteDrafted(Event, RecordAggregate.Created):
        TOPIC = "touchstone.records.NoteDrafted.v1"
        episode_id: UUID
        session_id: UUID
        author: str
        format: str
        content: dict[str, str]
        labels: list[str]

    Created = NoteDrafted

    class NoteRevised(Event):
        TOPIC = "touchstone.records.NoteRevised.v1"
        content: dict[str, str]

        def apply(self, aggregate: Note) -> None:
            aggregate.content = dict(self.content)

    class NoteSigned(Event):
        TOPIC = "touchstone.records.NoteSigned.v1"
        signer: str
        content_hash: str
        requires_cosign: bool

        def apply(self, aggregate: Note) -> None:
            aggregate.signature = Signature(
                signer=self.signer,
                signed_at=self.timestamp,
                content_hash=self.content_hash,
                version=self.originator_version,
            )
            aggregate.requires_cosign = self.requires_cosign
            aggregate.status = "awaiting_cosign" if self.requires_cosign else "signed"

    class AddendumAppended(Event):
        TOPIC = "touchstone.records.AddendumAppended.v1"
        addendum_id: UUID
        text: str
        reason: str
        content_hash: str

        def apply(self, aggregate: Note) -> None:
            addendum = Addendum(
                id=self.addendum_id,
                text=self.text,
                reason=self.reason,
                signer=self.actor,
                signed_at=self.timestamp,
                content_hash=self.content_hash,
                version=self.originator_version,
            )
            aggregate.addenda = [*aggregate.addenda, addendum]

    class NoteCosigned(Event):
        TOPIC = "touchstone.records.NoteCosigned.v1"
        comment: str | None

        def apply(self, aggregate: Note) -> None:
            aggregate.cosignature = Cosignature(
                supervisor=self.actor,
                cosigned_at=self.timestamp,
                comment=self.comment,
                version=self.originator_version,
            )
            aggregate.status = "cosigned"

    class NoteReturned(Event):
        TOPIC = "touchstone.records.NoteReturned.v1"
        comment: str

        def apply(self, aggregate: Note) -> None:
            returned = NoteReturn(
                supervisor=self.actor,
                returned_at=self.timestamp,
                comment=self.comment,
                version=self.originator_version,
            )
            aggregate.returns = [*aggregate.returns, returned]
            aggregate.status = "returned"

    def __init__(
        self,
        *,
        tenant: str,
        client_id: UUID,
        episode_id: UUID,
        session_id: UUID,
        author: str,
        format: str,
        content: dict[str, str],
        labels: list[str],
    ) -> None:
        self.tenant = tenant
        self.client_id = client_id
        self.episode_id = episode_id
        self.session_id = session_id
        self.author = author
        self.format = format
        self.content = dict(content)
        self.labels = list(labels)
        self.status = "draft"
        self.requires_cosign = False
        self.signature: Signature | None = None
        self.cosignature: Cosignature | None = None
        self.returns: list[NoteReturn] = []
        self.addenda: list[Addendum] = []

    @classmethod
    def draft(
        cls,
        meta: EventMeta,
        note_id: UUID,
        client_id: UUID,
        episode_id: UUID,
        session_id: UUID,
        format_: str,
        content: dict[str, str],
        labels: list[str],
    ) -> Note:
        """The author (the actor) drafts a note of a session; the application checked the session."""
        return cls._create(
            cls.NoteDrafted,
            id=note_id,
            client_id=client_id,
            episode_id=episode_id,
            session_id=session_id,
            author=meta.actor,
            format=note_format(format_),
            content=note_content(format_, content),
            labels=sensitivity_labels(labels),
            **meta_fields(meta),
        )

    @property
    def is_final(self) -> bool:
        return self.status in ("signed", "cosigned")

    @property
    def content_hash(self) -> str:
        return content_hash(self.format, self.content)

    def revise(self, meta: EventMeta, content: dict[str, str]) -> Note:
        self._by_author(meta)
        self._editable()
        self._record(self.NoteRevised, meta, content=note_content(self.format, content))
        return self

    def sign(self, meta: EventMeta, requires_cosign: bool) -> Note:
        """Lock the note; ``requires_cosign``: the author requires supervision (practitioner directory)."""
        self._by_author(meta)
        self._editable()
        self._record(
            self.NoteSigned,
            meta,
            signer=meta.actor,
            content_hash=self.content_hash,
            requires_cosign=bool(requires_cosign),
        )
        return self

    def append_addendum(self, meta: EventMeta, addendum_id: UUID, text: str, reason: str) -> Note:
        if self.status not in LOCKED:
            raise NoteNotSigned(self.id, self.status, "addenda correct signed notes; revise the draft")
        text, reason = checks.text(text, "text"), checks.text(reason, "reason")
        digest = canonical_hash({"note_id": str(self.id), "text": text, "reason": reason})
        self._record(
            self.AddendumAppended,
            meta,
            addendum_id=addendum_id,
            text=text,
            reason=reason,
            content_hash=digest,
        )
        return self

    def cosign(self, meta: EventMeta, author_supervisor: str | None, comment: str | None) -> Note:
        self._awaiting_supervisor(meta, author_supervisor, "only a note awaiting co-signature is co-signed")
        self._record(self.NoteCosigned, meta, comment=checks.optional_text(comment, "comment"))
        return self

    def return_for_revision(self, meta: EventMeta, author_supervisor: str | None, comment: str) -> Note:
        self._awaiting_supervisor(meta, author_supervisor, "only a note awaiting co-signature is returned")
        self._record(self.NoteReturned, meta, comment=checks.text(comment, "comment"))
        return self

    def _record(self, event_class: type[RecordAggregate.Event], meta: EventMeta, **fields: Any) -> None:
        self._trigger(event_class, meta, client_id=self.client_id, **fields)

    def _by_author(self, meta: EventMeta) -> None:
        if meta.actor != self.author:
            raise NotAuthor(self.id, meta.actor)

    def _editable(self) -> None:
        if self.status not in EDITABLE:
            raise NoteLocked(self.id, self.status)

    def _awaiting_supervisor(self, meta: EventMeta, author_supervisor: str | None, wanted: str) -> None:
        if author_supervisor is None or meta.actor != author_supervisor:
            raise NotSupervisor(self.id, meta.actor)
        if self.status != "awaiting_cosign":
            raise NoteNotSigned(self.id, self.status, wanted)
