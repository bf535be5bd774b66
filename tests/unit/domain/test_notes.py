"""Progress notes, given/when/then: the author drafts and signs, addenda correct, supervisors co-sign."""

from __future__ import annotations

from uuid import uuid4

import pytest
from eventsourcing.application import project_aggregate
from eventsourcing.domain import Snapshot
from eventsourcing.utils import get_topic, resolve_topic

from services.records.domain import Note, PsychotherapyNote
from services.records.domain.errors import (
    NotAuthor,
    NoteLocked,
    NoteNotSigned,
    NotSupervisor,
    ValidationError,
)
from services.records.domain.note_values import content_hash

from .builders import CLINICIAN, at, meta

SOAP = {"subjective": "s", "objective": "o", "assessment": "a", "plan": "p"}
NOTE_EVENTS = {"NoteDrafted", "NoteRevised", "NoteSigned", "AddendumAppended", "NoteCosigned", "NoteReturned"}


def draft(format_: str = "SOAP", content: dict[str, str] | None = None) -> Note:
    return Note.draft(meta(), uuid4(), uuid4(), uuid4(), uuid4(), format_, content or dict(SOAP), [])


def test_a_draft_is_revised_signed_and_then_locked() -> None:
    note = draft()
    note.revise(meta(1), {"plan": "walk"})
    note.sign(meta(2), requires_cosign=False)

    assert (note.status, note.is_final, note.content) == ("signed", True, {"plan": "walk"})
    assert note.signature is not None
    assert (note.signature.signer, note.signature.version) == (CLINICIAN, 3)
    assert note.signature.content_hash == content_hash("SOAP", {"plan": "walk"})
    with pytest.raises(NoteLocked):
        note.revise(meta(3), SOAP)
    with pytest.raises(NoteLocked):
        note.sign(meta(3), requires_cosign=False)


def test_addenda_need_a_signed_note_and_keep_their_order() -> None:
    note = draft()
    with pytest.raises(NoteNotSigned):
        note.append_addendum(meta(1), uuid4(), "t", "r")
    note.sign(meta(1), requires_cosign=False)
    note.append_addendum(meta(2), uuid4(), "first", "r1")
    note.append_addendum(meta(3, actor="dr-bo"), uuid4(), "second", "r2")
    assert [(a.text, a.signer, a.version) for a in note.addenda] == [
        ("first", CLINICIAN, 3),
        ("second", "dr-bo", 4),
    ]
    with pytest.raises(ValidationError):
        note.append_addendum(meta(4), uuid4(), "t", " ")


def test_only_the_author_revises_and_signs() -> None:
    note = draft()
    with pytest.raises(NotAuthor):
        note.revise(meta(1, actor="dr-bo"), SOAP)
    with pytest.raises(NotAuthor):
        note.sign(meta(1, actor="dr-bo"), requires_cosign=False)


def test_supervision_return_revise_sign_cosign() -> None:
    note = draft()
    note.sign(meta(1), requires_cosign=True)
    assert (note.status, note.is_final) == ("awaiting_cosign", False)
    with pytest.raises(NotSupervisor):
        note.cosign(meta(2, actor="dr-other"), "dr-sup", None)
    note.return_for_revision(meta(2, actor="dr-sup"), "dr-sup", "add risk")
    assert note.status == "returned"
    with pytest.raises(NoteNotSigned):
        note.cosign(meta(3, actor="dr-sup"), "dr-sup", None)
    note.revise(meta(3), {"plan": "risk assessed"})
    note.sign(meta(4), requires_cosign=True)
    note.cosign(meta(5, actor="dr-sup"), "dr-sup", "ok")
    assert (note.status, note.is_final, note.cosignature and note.cosignature.supervisor) == (
        "cosigned",
        True,
        "dr-sup",
    )


@pytest.mark.parametrize(
    ("format_", "content"),
    [("SOAP", {}), ("memo", SOAP), ("DAP", SOAP), ("free", {"text": ""}), ("SOAP", "text")],
)
def test_bad_notes_are_refused(format_: str, content: object) -> None:
    with pytest.raises(ValidationError):
        Note.draft(meta(), uuid4(), uuid4(), uuid4(), uuid4(), format_, content, [])  # type: ignore[arg-type]


def test_note_events_have_topics_carry_the_client_and_replay() -> None:
    note = draft()
    note.sign(meta(1), requires_cosign=True)
    note.return_for_revision(meta(2, actor="dr-sup"), "dr-sup", "again")
    note.revise(meta(3), SOAP)
    note.sign(meta(4), requires_cosign=True)
    note.cosign(meta(5, actor="dr-sup"), "dr-sup", None)
    note.append_addendum(meta(6), uuid4(), "t", "r")
    events = note.collect_events()

    assert {type(e).__name__ for e in events} == NOTE_EVENTS
    for event in events:
        assert get_topic(type(event)) == f"touchstone.records.{type(event).__name__}.v1"
        assert resolve_topic(get_topic(type(event))) is type(event)
        assert vars(event)["client_id"] == note.client_id
    assert resolve_topic(Note.TOPIC) is Note
    assert project_aggregate(None, events) == note
    assert Snapshot.take(note).mutate(None) == note


def test_a_psychotherapy_note_is_always_labelled_and_carries_its_client() -> None:
    note = PsychotherapyNote.record(meta(), uuid4(), uuid4(), uuid4(), "process", at())
    [event] = note.collect_events()
    assert (note.author, note.labels) == (CLINICIAN, ["PSYTHPN"])
    assert get_topic(type(event)) == "touchstone.records.PsychotherapyNoteRecorded.v1"
    assert resolve_topic(PsychotherapyNote.TOPIC) is PsychotherapyNote
    assert vars(event)["client_id"] == note.client_id
    assert project_aggregate(None, [event]) == note
    for text, when in (("", at()), ("t", at().replace(tzinfo=None))):
        with pytest.raises(ValidationError):
            PsychotherapyNote.record(meta(), uuid4(), uuid4(), uuid4(), text, when)
