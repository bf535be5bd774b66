"""Signed notes and checkpoints (c2sp.org/signed-note, c2sp.org/tlog-checkpoint), from the spec's examples."""

from __future__ import annotations

import base64
import re
from hashlib import sha256

import pytest
from cryptography.hazmat.primitives import serialization

from services.tlog.merkle import leaf_hash
from services.tlog.note import (
    Checkpoint,
    NoteError,
    Verifier,
    open_checkpoint,
    open_note,
    sign_checkpoint,
    sign_note,
)
from tests.unit.tlog.logs import ORIGIN, signer

# The example of c2sp.org/signed-note ("Verifier keys").
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n"
    "\u2014 example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)
ROOT = leaf_hash(b"some tree")


def checkpoint(size: int = 10, origin: str = ORIGIN) -> Checkpoint:
    return Checkpoint(origin, size, ROOT)


def raw_public(key_name: str = ORIGIN, seed: int = 1) -> bytes:
    return (
        signer(key_name, seed)
        .verifier()
        .public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def test_the_spec_example_verifies() -> None:
    verifier = Verifier.from_vkey(SPEC_VKEY)
    assert open_note(SPEC_NOTE, [verifier]) == "This is an example message.\n"
    assert verifier.vkey() == SPEC_VKEY
    with pytest.raises(NoteError, match="does not verify"):
        open_note(SPEC_NOTE.replace("example message", "exemplary message"), [verifier])


def test_key_id_is_the_spec_formula() -> None:
    public = base64.b64decode(SPEC_VKEY.split("+")[2])[1:]
    assert sha256(b"example.com/foo\n\x01" + public).digest()[:4].hex() == "530d903a"
    assert Verifier.from_vkey(SPEC_VKEY).key_id.hex() == "530d903a"
    # and for a key of ours, computed here from the formula, not by the code under test
    expected = sha256(ORIGIN.encode() + b"\n" + b"\x01" + raw_public()).digest()[:4]
    assert signer().key_id == expected
    encoded = base64.b64encode(bytes([1]) + raw_public()).decode()
    assert signer().vkey() == f"{ORIGIN}+{expected.hex()}+{encoded}"


def test_checkpoint_round_trip_and_exact_format() -> None:
    note = sign_checkpoint(checkpoint(), signer())
    body = f"{ORIGIN}\n10\n{base64.b64encode(ROOT).decode()}\n"
    assert checkpoint().body() == body
    assert note.startswith(body + "\n\u2014 " + ORIGIN + " ")
    assert re.fullmatch(r"[A-Za-z0-9+/]{91}=\n", note.removeprefix(body + "\n\u2014 " + ORIGIN + " "))
    signature = base64.b64decode(note.split(" ")[-1])
    assert signature[:4] == signer().key_id and len(signature) == 68
    assert open_checkpoint(note, [signer().verifier()], ORIGIN) == checkpoint()
    assert open_checkpoint(note, [Verifier.from_vkey(signer().vkey())]) == checkpoint()


def test_extension_lines_round_trip() -> None:
    extended = Checkpoint(ORIGIN, 3, ROOT, ("ext one", "ext two"))
    assert open_checkpoint(sign_checkpoint(extended, signer()), [signer().verifier()]) == extended


@pytest.mark.parametrize(
    ("old", "new"),
    [(f"{ORIGIN}\n10\n", f"{ORIGIN}\n11\n"), ("\n10\n", "\n9\n"), (ORIGIN, ORIGIN + "x")],
    ids=["size", "size-down", "origin"],
)
def test_a_tampered_body_is_rejected(old: str, new: str) -> None:
    note = sign_checkpoint(checkpoint(), signer())
    with pytest.raises(NoteError, match="does not verify"):
        open_checkpoint(note.replace(old, new, 1), [signer().verifier()])


def test_a_tampered_root_is_rejected() -> None:
    note = sign_checkpoint(checkpoint(), signer())
    other = base64.b64encode(leaf_hash(b"another tree")).decode()
    with pytest.raises(NoteError, match="does not verify"):
        open_checkpoint(note.replace(base64.b64encode(ROOT).decode(), other), [signer().verifier()])


def test_a_tampered_signature_is_rejected() -> None:
    note = sign_checkpoint(checkpoint(), signer())
    text, line = note.rsplit("\u2014 ", 1)
    name, encoded = line.split(" ")
    raw = bytearray(base64.b64decode(encoded))
    raw[10] ^= 1
    forged = f"{text}\u2014 {name} {base64.b64encode(raw).decode()}\n"
    with pytest.raises(NoteError, match="does not verify"):
        open_checkpoint(forged, [signer().verifier()])


def test_unknown_keys_are_ignored_but_one_known_signature_is_needed() -> None:
    stranger = signer("witness.example/w1", seed=9)
    only_stranger = sign_checkpoint(checkpoint(), stranger)
    with pytest.raises(NoteError, match="no signature by a known key"):
        open_checkpoint(only_stranger, [signer().verifier()])
    both = sign_checkpoint(checkpoint(), stranger, signer())
    assert open_checkpoint(both, [signer().verifier()]) == checkpoint()
    # the same name with another key (so another key ID) is another key
    impostor = sign_checkpoint(checkpoint(), signer(ORIGIN, seed=2))
    with pytest.raises(NoteError, match="no signature by a known key"):
        open_checkpoint(impostor, [signer().verifier()])


def test_a_bad_signature_by_a_known_key_rejects_the_note_even_beside_a_good_one() -> None:
    good = sign_checkpoint(checkpoint(), signer())
    bad_line = sign_checkpoint(checkpoint(size=11), signer()).rsplit("\n\n", 1)[1]
    with pytest.raises(NoteError, match="does not verify"):
        open_checkpoint(good + bad_line, [signer().verifier()])


def test_keys_rotate_by_signing_with_both() -> None:
    old, new = signer(seed=1), signer(seed=2)
    note = sign_checkpoint(checkpoint(), new, old)
    assert open_checkpoint(note, [old.verifier()]) == checkpoint()
    assert open_checkpoint(note, [new.verifier()]) == checkpoint()


def test_the_wrong_origin_is_rejected() -> None:
    note = sign_checkpoint(checkpoint(origin="touchstone.test/access-log/other"), signer())
    with pytest.raises(NoteError, match=r"not 'touchstone\.test"):
        open_checkpoint(note, [signer().verifier()], ORIGIN)


def signed(text: str) -> str:
    return sign_note(text, [signer()])


ROOT64 = base64.b64encode(ROOT).decode()


@pytest.mark.parametrize(
    ("note", "reason"),
    [
        (signed(f"{ORIGIN}\n10\n{ROOT64}\n").replace("\n\n", "\n"), "blank line"),
        (signed(f"{ORIGIN}\n10\n{ROOT64}\n")[:-1], "newline"),
        (signed(f"{ORIGIN}\n10\n{ROOT64}\n").replace("\u2014", "-"), "em dash"),
        (signed(f"{ORIGIN}\n10\n{ROOT64}\n").replace("\n", "\r\n"), "control character"),
        (signed(f"{ORIGIN}\n010\n{ROOT64}\n"), "leading zeros"),
        (signed(f"{ORIGIN}\n-1\n{ROOT64}\n"), "tree size"),
        (signed(f"{ORIGIN}\n+1\n{ROOT64}\n"), "tree size"),
        (signed(f"{ORIGIN}\n\uff11\n{ROOT64}\n"), "tree size"),  # a fullwidth digit
        (signed(f"{ORIGIN}\n{2**64}\n{ROOT64}\n"), "tree size"),
        (signed(f"{ORIGIN}\n10\n{ROOT64[:-1]}\n"), "base64"),
        (signed(f"{ORIGIN}\n10\n{base64.b64encode(ROOT[:31]).decode()}\n"), "32 bytes"),
        (signed(f"{ORIGIN}\n10\n"), "three lines"),
        (signed(f"\n10\n{ROOT64}\n"), "origin"),
        (signed(f"{ORIGIN}\n10\n{ROOT64}\n\next\n"), "non-empty"),
        (sign_note("text\n", [signer()] * 65), "more than 64"),
    ],
)
def test_malformed_notes_are_rejected(note: str, reason: str) -> None:
    with pytest.raises(NoteError, match=reason):
        open_checkpoint(note, [signer().verifier()])


def test_non_canonical_base64_is_rejected() -> None:
    note = signed(f"{ORIGIN}\n10\n{ROOT64}\n")
    encoded = note.rsplit(" ", 1)[1][:-1]
    respelled = encoded[:-2] + chr(ord(encoded[-2]) + 1) + "="  # the same bytes, other padding bits
    assert base64.b64decode(respelled) == base64.b64decode(encoded)
    with pytest.raises(NoteError, match="canonical base64"):
        open_note(note.replace(encoded, respelled), [signer().verifier()])


@pytest.mark.parametrize(
    "vkey",
    [
        SPEC_VKEY.replace("530d903a", "530d903b"),  # not the key's ID
        SPEC_VKEY.replace("530d903a", "530D903A"),
        SPEC_VKEY.replace("+Aeky", "+Ajky"),  # signature type 0x02
        SPEC_VKEY[:-4],
        "example.com/foo+530d903a",
        "example com+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
    ],
)
def test_bad_verifier_keys_are_rejected(vkey: str) -> None:
    with pytest.raises(NoteError):
        Verifier.from_vkey(vkey)


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\u00a0b", "a\tb"])
def test_key_names_without_spaces_or_plus(name: str) -> None:
    with pytest.raises(ValueError):
        signer(name)


def test_a_signer_does_not_show_its_key() -> None:
    assert "PRIVATE" not in repr(signer()) and signer().vkey() in repr(signer())


def test_verifier_keys_whose_base64_holds_a_plus_sign_round_trip() -> None:
    """Base64 uses "+": only the first two separate the name and the key id."""
    for seed in range(1, 256):
        vkey = signer(ORIGIN, seed).vkey()
        if "+" in vkey.split("+", 2)[2]:
            assert Verifier.from_vkey(vkey).vkey() == vkey
            return
    raise AssertionError("no seed gave a key with '+' in its base64")
