"""C2SP signed notes (c2sp.org/signed-note) and log checkpoints (c2sp.org/tlog-checkpoint), Ed25519 only.

A checkpoint is the note text ``origin \\n size \\n base64(root) \\n`` signed by the log's key, so anyone with
the public key (a *vkey*, ``name+keyid+base64(0x01 || key)``) can hold the log to the tree it signed. The
formats are the ones Go's golang.org/x/mod/sumdb/note and the transparency-dev tools speak, so checkpoints
can be checked, witnessed or monitored with standard tools.

Parsing is strict: a note that is not exactly in the format is rejected rather than repaired, because a
verifier that guesses can be led to accept a text nobody signed. Signatures by unknown keys are ignored (keys
rotate, witnesses cosign); a signature by a known key that fails rejects the whole note.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass
from hashlib import sha256

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.tlog.keys import SigningKeyError, generate_signing_key, load_signing_key

__all__ = [
    "Checkpoint",
    "NoteError",
    "Signer",
    "SigningKeyError",
    "Verifier",
    "generate_signing_key",
    "key_id",
    "load_signing_key",
    "open_checkpoint",
    "open_note",
    "sign_checkpoint",
    "sign_note",
]

ED25519 = 0x01  # the signature type byte of Ed25519 notes
SIGNATURE_PREFIX = "\u2014 "  # em dash, space
MAX_SIGNATURES = 64  # the spec asks verifiers to accept at least 16
MAX_NOTE_CHARS = 1_000_000
_MAX_TREE_SIZE = 2**64 - 1
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_KEY_ID_HEX = re.compile(r"[0-9a-f]{8}")
_RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


class NoteError(ValueError):
    """A note or checkpoint that is malformed or not signed by a known key; the message says why."""


def key_id(name: str, public_key: bytes) -> bytes:
    """SHA-256(name || 0x0A || 0x01 || 32-byte public key)[:4], the Ed25519 key ID of c2sp.org/signed-note."""
    return sha256(name.encode("utf-8") + b"\n" + bytes([ED25519]) + public_key).digest()[:4]


class Verifier:
    """A public key under its name: checks the signatures that carry its name and key ID."""

    def __init__(self, name: str, public_key: Ed25519PublicKey) -> None:
        _check_name(name)
        self.name = name
        self.public_key = public_key
        self.key_id = key_id(name, public_key.public_bytes(*_RAW))

    @classmethod
    def from_vkey(cls, text: str) -> Verifier:
        """Parse ``<name>+<hex key ID>+<base64(0x01 || public key)>``; the key ID must be the key's own."""
        parts = text.strip().split("+", 2)  # the base64 key itself may hold "+"
        if len(parts) != 3:
            raise NoteError("a verifier key has three parts: name+keyid+key")
        name, hex_id, encoded = parts
        if not _KEY_ID_HEX.fullmatch(hex_id):
            raise NoteError("a verifier key's ID is 8 lowercase hex digits")
        raw = _b64decode(encoded, "the verifier key")
        if len(raw) != 33 or raw[0] != ED25519:
            raise NoteError("the verifier key is not an Ed25519 key (0x01 and 32 bytes)")
        try:
            verifier = cls(name, Ed25519PublicKey.from_public_bytes(raw[1:]))
        except ValueError as error:
            raise NoteError(f"the verifier key is unusable: {error}") from None
        if verifier.key_id.hex() != hex_id:
            raise NoteError(f"the verifier key's ID {hex_id} is not the ID of its name and key")
        return verifier

    def vkey(self) -> str:
        raw = bytes([ED25519]) + self.public_key.public_bytes(*_RAW)
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(raw).decode('ascii')}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            self.public_key.verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True

    def __repr__(self) -> str:
        return f"Verifier({self.vkey()!r})"


class Signer:
    """A private key under its name (the vkey's name). The log's key name SHOULD be the checkpoint origin."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self._verifier = Verifier(name, private_key.public_key())
        self.name = name
        self.key_id = self._verifier.key_id
        self._private_key = private_key

    def vkey(self) -> str:
        return self._verifier.vkey()

    def verifier(self) -> Verifier:
        return self._verifier

    def sign(self, message: bytes) -> bytes:
        return self._private_key.sign(message)

    def __repr__(self) -> str:  # never the private key
        return f"Signer({self.vkey()!r})"


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: its origin (the log's name), tree size and root hash (c2sp.org/tlog-checkpoint)."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()  # opaque extra lines; this log writes none

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin or _CONTROL.search(self.origin):
            raise ValueError("a checkpoint origin is one non-empty line")
        if not 0 <= self.size <= _MAX_TREE_SIZE:
            raise ValueError(f"a tree size lies within 0..2**64-1, not {self.size}")
        if len(self.root_hash) != 32:
            raise ValueError(f"a root hash has 32 bytes, not {len(self.root_hash)}")
        if any(not line or "\n" in line or _CONTROL.search(line) for line in self.extensions):
            raise ValueError("checkpoint extension lines are non-empty single lines")

    def body(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode("ascii")]
        return "".join(f"{line}\n" for line in (*lines, *self.extensions))


def sign_note(text: str, signers: Iterable[Signer]) -> str:
    """The note: ``text`` (ending in a newline), a blank line, one signature line per signer."""
    if not text.endswith("\n") or _CONTROL.search(text):
        raise ValueError("a note text ends with a newline and has no other control characters")
    message = text.encode("utf-8")
    lines = [
        f"{SIGNATURE_PREFIX}{s.name} {base64.b64encode(s.key_id + s.sign(message)).decode('ascii')}\n"
        for s in signers
    ]
    if not lines:
        raise ValueError("a note needs at least one signature")
    return text + "\n" + "".join(lines)


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer, *cosigners: Signer) -> str:
    """The checkpoint as a signed note; during a key rotation sign with the old and the new key."""
    return sign_note(checkpoint.body(), (signer, *cosigners))


def open_note(note: str, verifiers: Iterable[Verifier]) -> str:
    """The text of a note that a known key signed; raises :class:`NoteError` otherwise."""
    text, signatures = _split_note(note)
    known = {(v.name, v.key_id): v for v in verifiers}
    message = text.encode("utf-8")
    verified = False
    for name, signature in signatures:
        verifier = known.get((name, signature[:4]))
        if verifier is None:
            continue  # an unknown key (another witness, a rotated key): ignored, as the spec requires
        if not verifier.verify(message, signature[4:]):
            raise NoteError(f"the signature by {name} (key {signature[:4].hex()}) does not verify")
        verified = True
    if not verified:
        names = ", ".join(sorted({f"{name}+{sig[:4].hex()}" for name, sig in signatures}))
        raise NoteError(f"no signature by a known key (signed by {names})")
    return text


def open_checkpoint(note_text: str, verifiers: Iterable[Verifier], origin: str | None = None) -> Checkpoint:
    """The checkpoint of a note signed by a known key, for the expected origin if one is given."""
    checkpoint = parse_checkpoint(open_note(note_text, verifiers))
    if origin is not None and checkpoint.origin != origin:
        raise NoteError(f"the checkpoint is for the log {checkpoint.origin!r}, not {origin!r}")
    return checkpoint


def parse_checkpoint(text: str) -> Checkpoint:
    """The checkpoint a (verified) note text holds; raises :class:`NoteError` unless it is well-formed."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("a checkpoint has at least three lines, each ending in a newline")
    origin, size, encoded_root, *extensions = lines[:-1]
    if len(size) > 20 or not _DECIMAL.fullmatch(size) or int(size) > _MAX_TREE_SIZE:
        raise NoteError("the checkpoint's tree size is not a decimal number without leading zeros")
    root_hash = _b64decode(encoded_root, "the checkpoint's root hash")
    try:
        return Checkpoint(origin, int(size), root_hash, tuple(extensions))
    except ValueError as error:
        raise NoteError(str(error)) from None


def _split_note(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    if len(note) > MAX_NOTE_CHARS:
        raise NoteError(f"the note is longer than {MAX_NOTE_CHARS} characters")
    if _CONTROL.search(note):
        raise NoteError("the note holds a control character other than newline")
    try:
        note.encode("utf-8")
    except UnicodeEncodeError:
        raise NoteError("the note is not valid UTF-8") from None
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("the note has no blank line before its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block.endswith("\n"):
        raise NoteError("the note's last signature line does not end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"the note has more than {MAX_SIGNATURES} signatures")
    return text, [_signature_line(line) for line in lines]


def _signature_line(line: str) -> tuple[str, bytes]:
    if not line.startswith(SIGNATURE_PREFIX):
        raise NoteError("a signature line starts with an em dash (U+2014) and a space")
    name, space, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
    if not space:
        raise NoteError("a signature line is: em dash, space, key name, space, signature")
    try:
        _check_name(name)
    except ValueError as error:
        raise NoteError(str(error)) from None
    signature = _b64decode(encoded, "a signature")
    if len(signature) < 5:
        raise NoteError("a signature is a 4-byte key ID and the signature proper")
    return name, signature


def _check_name(name: str) -> None:
    if not name or "+" in name or any(c.isspace() for c in name) or _CONTROL.search(name):
        raise ValueError(f"a key name is non-empty, without spaces or '+': {name!r}")


def _b64decode(encoded: str, what: str) -> bytes:
    """Strict standard base64: one encoding per value, so a signed text cannot be re-spelled."""
    try:
        raw = base64.b64decode(encoded.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise NoteError(f"{what} is not standard base64") from None
    if base64.b64encode(raw).decode("ascii") != encoded:
        raise NoteError(f"{what} is not in canonical base64")
    return raw
