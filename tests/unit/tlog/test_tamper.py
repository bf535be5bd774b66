"""Randomized tampering: 240 reproducible trials, each damaging an honest export once, each caught.

The export has 500 entries, the log published a checkpoint after every 64 (up to 448), and the auditor saved
the checkpoint at 500. Every trial seeds its own ``random.Random``, so a failing trial reruns alone with the
same damage. Besides being caught, each report must point at (or before) the damaged entry, and as exactly
as the kind of damage allows.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import pytest

from services.tlog.canonical import canonical
from services.tlog.verify import Report, verify_export
from tests.unit.tlog.logs import ORIGIN, SignedLog, build_log, entry, signer

SIZE, EVERY, TRIALS, SEED = 500, 64, 240, 20260601
Tamper = Callable[[list[bytes], random.Random], int]  # damages the lines, returns the first damaged seq


@pytest.fixture(scope="module")
def log() -> SignedLog:
    return build_log(SIZE, every=EVERY)


def delete(lines: list[bytes], rng: random.Random) -> int:
    at = rng.randrange(len(lines))
    del lines[at]
    return at


def swap(lines: list[bytes], rng: random.Random) -> int:
    i, j = sorted(rng.sample(range(len(lines)), 2))
    lines[i], lines[j] = lines[j], lines[i]
    return i


def duplicate(lines: list[bytes], rng: random.Random) -> int:
    at = rng.randrange(len(lines))
    lines.insert(at + 1, lines[at])
    return at


def flip_in_string(lines: list[bytes], rng: random.Random) -> int:
    """One character of a string value changed to another: still valid, still canonical JSON."""
    at = rng.randrange(len(lines))
    value = json.loads(lines[at])
    holder, key = rng.choice(string_slots(value))
    text = holder[key]
    i = rng.choice([n for n, c in enumerate(text) if c.isalnum()])
    holder[key] = text[:i] + rng.choice([c for c in "abcdefxyz0123456789" if c != text[i]]) + text[i + 1 :]
    changed = canonical(value)
    assert sum(a != b for a, b in zip(changed, lines[at], strict=True)) == 1  # one byte, in place
    lines[at] = changed
    return at


def string_slots(value: Any) -> list[tuple[Any, Any]]:
    """(container, key) of every string value with a letter or digit, except the entry's tenant."""
    slots: list[tuple[Any, Any]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        if isinstance(item, str) and any(c.isalnum() for c in item) and key != "tenant":
            slots.append((value, key))
        elif isinstance(item, dict | list):
            slots.extend(string_slots(item))
    return slots


def flip_anywhere(lines: list[bytes], rng: random.Random) -> int:
    at = rng.randrange(len(lines))
    line = bytearray(lines[at])
    line[rng.randrange(len(line))] ^= 1 << rng.randrange(8)
    lines[at] = bytes(line)
    return at


def edit_and_rehash(lines: list[bytes], rng: random.Random) -> int:
    """A field changed and the line written again in canonical form, as a forger with the database would."""
    at = rng.randrange(len(lines))
    value = json.loads(lines[at])
    field, new = rng.choice(
        [("outcome", "permit" if value["outcome"] == "deny" else "deny"), ("actor", "dr-mallory"),
         ("purpose_of_use", "ETREAT"), ("reason", value["reason"] + "."), ("consents", ["forged"])]
    )  # fmt: skip
    lines[at] = canonical({**value, field: new})
    return at


def forged_insert(lines: list[bytes], rng: random.Random) -> int:
    """A new canonical entry with the seq of its position; half the time the rest renumbered to match."""
    at = rng.randrange(len(lines))
    lines.insert(at, canonical(entry(at, rng)))
    if rng.random() < 0.5:
        for seq in range(at + 1, len(lines)):
            lines[seq] = canonical({**json.loads(lines[seq]), "seq": seq})
    return at


def truncate(lines: list[bytes], rng: random.Random) -> int:
    keep = rng.randrange(len(lines))
    del lines[keep:]
    return keep


TAMPERS: list[Tamper] = [
    delete, swap, duplicate, flip_in_string, flip_anywhere, edit_and_rehash, forged_insert, truncate
]  # fmt: skip


def test_the_honest_export_passes(log: SignedLog) -> None:
    report = verify_export(log.lines, [signer().verifier()], log.checkpoints, saved=log.checkpoint(SIZE))
    assert report == Report(True, SIZE, 8, None, None, SIZE, log.checkpoint(SIZE))


@pytest.mark.parametrize("trial", range(TRIALS))
def test_tampering_is_caught(log: SignedLog, trial: int) -> None:
    rng = random.Random(SEED + trial)
    tamper = TAMPERS[trial % len(TAMPERS)]
    lines = list(log.lines)
    damaged = tamper(lines, rng)
    assert lines != log.lines
    report = verify_export(lines, [signer().verifier()], log.checkpoints, log.checkpoint(SIZE), ORIGIN)
    assert not report.ok, f"{tamper.__name__} at {damaged} went unnoticed"
    assert report.problem and report.first_bad_seq is not None
    assert report.first_bad_seq <= damaged, report.problem
    if tamper in (delete, swap, duplicate, truncate):
        assert report.first_bad_seq == damaged, report.problem
    elif tamper in (flip_in_string, edit_and_rehash):  # only a root can tell: the range after a good one
        assert report.first_bad_seq == damaged // EVERY * EVERY, report.problem
        assert "do not hash to the root" in report.problem
    elif tamper is forged_insert:
        assert report.first_bad_seq in (damaged, damaged // EVERY * EVERY), report.problem


def test_every_kind_of_tampering_was_tried() -> None:
    assert TRIALS >= 200 and TRIALS % len(TAMPERS) == 0
