"""Givens for the tlog tests: signers, entries shaped like the consent service's, signed exports."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.tlog.canonical import canonical
from services.tlog.merkle import leaf_hash, root
from services.tlog.note import Checkpoint, Signer, sign_checkpoint

ORIGIN = "touchstone.test/access-log/practice-one"
TENANT = "practice-one"


def signer(name: str = ORIGIN, seed: int = 1) -> Signer:
    """A deterministic key, so that failures reproduce."""
    return Signer(name, Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32))


def entry(seq: int, rng: random.Random, tenant: str = TENANT) -> dict[str, Any]:
    """An access-log entry like the consent service's (contracts.consent_v1.AccessLogEntry)."""
    outcome = rng.choice(["permit", "deny"])
    return {
        "seq": seq,
        "tenant": tenant,
        "time": f"2026-06-01T12:{seq // 60 % 60:02d}:{seq % 60:02d}.{rng.randrange(10**6):06d}Z",
        "service": "consent",
        "decision_id": str(UUID(int=rng.getrandbits(128), version=4)),
        "request_id": f"req-{rng.getrandbits(48):012x}",
        "actor": rng.choice(["dr-ada", "dr-grace", "nurse-bea", "auditor-carl"]),
        "roles": [rng.choice(["clinician", "supervisor", "auditor"])],
        "actor_client_id": None,
        "client_id": str(UUID(int=rng.getrandbits(128), version=4)),
        "action": rng.choice(["read", "write"]),
        "resource": {"type": "episode", "id": f"ep-{rng.randrange(99)}", "labels": ["SUD"], "categories": []},
        "facts": {"care_team": ["dr-ada"], "care_team_supervisors": [], "author": None},
        "purpose_of_use": "TREAT",
        "outcome": outcome,
        "reason": "on the care team" if outcome == "permit" else "not on the care team",
        "rule": "care-team",
        "obligations": {"redact_labels": [], "redact_categories": [], "redisclosure_notice": False},
        "consents": [],
        "break_glass_id": None,
    }


@dataclass(frozen=True)
class SignedLog:
    lines: list[bytes]
    checkpoints: list[str]  # published, in size order
    signer: Signer

    def checkpoint(self, size: int, origin: str = ORIGIN) -> str:
        return checkpoint_note(self.lines[:size], self.signer, origin)


def checkpoint_note(lines: list[bytes], signer_: Signer, origin: str = ORIGIN) -> str:
    tree_root = root([leaf_hash(line) for line in lines])
    return sign_checkpoint(Checkpoint(origin, len(lines), tree_root), signer_)


def build_log(size: int, every: int, *, seed: int = 7, signer_: Signer | None = None) -> SignedLog:
    """``size`` canonical entries and a checkpoint after every ``every`` of them."""
    rng = random.Random(seed)
    signer_ = signer_ or signer()
    lines = [canonical(entry(seq, rng)) for seq in range(size)]
    notes = [checkpoint_note(lines[:n], signer_) for n in range(every, size + 1, every)]
    return SignedLog(lines, notes, signer_)
