"""Decisions about notes are expressible in the consent contract: resource types, actions, the author fact."""

from __future__ import annotations

import json
from uuid import uuid4

import pytest

from services.records.adapters.consent_gate import _request_body
from services.records.application.access import AccessRequest, Action, Actor, Resource

ACTOR = Actor("dr-sup", "practice-a", frozenset({"supervisor"}), None, "TREAT", "token")


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("create", Resource("note", None, frozenset({"MH"}), frozenset({"notes"}))),
        ("read", Resource("note", uuid4(), frozenset(), frozenset({"notes"}))),
        ("cosign", Resource("note", uuid4(), frozenset(), frozenset({"notes"}))),
        ("return", Resource("note", uuid4(), frozenset(), frozenset({"notes"}))),
        ("read", Resource("psychotherapy_note", uuid4(), frozenset({"PSYTHPN"}))),
    ],
)
def test_note_decisions_are_put_to_the_consent_service(action: Action, resource: Resource) -> None:
    request = AccessRequest(ACTOR, action, uuid4(), resource, "TREAT", frozenset({"dr-kim"}), author="dr-kim")
    body = json.loads(_request_body(request))
    assert (body["action"], body["resource"]["type"], body["facts"]["author"]) == (
        action,
        resource.type,
        "dr-kim",
    )
