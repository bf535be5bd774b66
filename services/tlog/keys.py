"""The log's Ed25519 signing key: read from configuration or a file, or made for development.

The key is kept outside the database (DESIGN.md, "The access log"): whoever can rewrite the log's table must
not also be able to sign a checkpoint of the rewritten log. A configured value is either the key itself
(PKCS#8 PEM, or base64 of the 32-byte RFC 8032 seed) or the path of a file holding one of those. Error
messages never repeat the value: it may be the secret itself.
"""

from __future__ import annotations

import base64
import binascii
import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

_SEED_SIZE = 32
_PEM_START = "-----BEGIN"


class SigningKeyError(ValueError):
    """A signing key that cannot be read; the message never contains the key."""


def load_signing_key(text_or_path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """The key a configuration value holds, or names: PKCS#8 PEM, base64 of the seed, or a file of either."""
    if isinstance(text_or_path, os.PathLike):
        return _from_file(Path(text_or_path))
    value = text_or_path.strip()
    if value.startswith(_PEM_START):
        return _from_pem(value.encode("ascii", "replace"))
    seed = _seed(value)
    if seed is not None:
        return Ed25519PrivateKey.from_private_bytes(seed)
    return _from_file(Path(text_or_path))


def generate_signing_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """A new key, written as PKCS#8 PEM to ``path`` (mode 0600), for development.

    The file appears complete or not at all (written aside, then linked into place), so a process that finds
    it never reads half a key; an existing file is never replaced (FileExistsError), which also settles a
    race between two processes making the same key: the loser reads the winner's file.
    """
    target = Path(path)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    descriptor, scratch = tempfile.mkstemp(dir=target.parent, prefix=".signing-key-")  # mode 0600
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
            file.flush()
            os.fsync(file.fileno())
        os.link(scratch, target)
    finally:
        os.unlink(scratch)
    return key


def _from_file(path: Path) -> Ed25519PrivateKey:
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise SigningKeyError(
            "the signing key is neither PKCS#8 PEM, nor base64 of a 32-byte seed, nor an existing file"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise SigningKeyError(f"cannot read the signing key file {path}: {type(error).__name__}") from None
    if text.startswith(_PEM_START):
        return _from_pem(text.encode("ascii"))
    seed = _seed(text)
    if seed is None:
        raise SigningKeyError(f"the file {path} holds neither a PKCS#8 PEM key nor base64 of a 32-byte seed")
    return Ed25519PrivateKey.from_private_bytes(seed)


def _from_pem(pem: bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise SigningKeyError("the signing key is encrypted; give it unencrypted (PKCS#8)") from None
    except ValueError:
        raise SigningKeyError("the signing key is not a readable PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"the signing key is a {type(key).__name__}, not an Ed25519 key")
    return key


def _seed(value: str) -> bytes | None:
    try:
        seed = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return seed if len(seed) == _SEED_SIZE else None
