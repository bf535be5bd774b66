"""The signing key: configured as PEM, as a base64 seed or as a file of either; made for development."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.tlog.note import Signer, SigningKeyError, generate_signing_key, load_signing_key

SEED = bytes(range(32))
KEY = Ed25519PrivateKey.from_private_bytes(SEED)
PEM = KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
SEED64 = base64.b64encode(SEED).decode()


def same_key(key: Ed25519PrivateKey) -> bool:
    return Signer("k", key).vkey() == Signer("k", KEY).vkey()


@pytest.mark.parametrize("value", [PEM, SEED64, f"  {SEED64}\n", PEM.strip()])
def test_a_value(value: str) -> None:
    assert same_key(load_signing_key(value))


@pytest.mark.parametrize("content", [PEM, SEED64 + "\n"])
def test_a_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "log.key"
    path.write_text(content)
    assert same_key(load_signing_key(str(path)))
    assert same_key(load_signing_key(path))


def test_a_development_key_is_private_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "dev-keys" / "log-signing.key"
    key = generate_signing_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Signer("k", load_signing_key(str(path))).vkey() == Signer("k", key).vkey()
    with pytest.raises(FileExistsError):
        generate_signing_key(path)
    assert Signer("k", load_signing_key(path)).vkey() == Signer("k", key).vkey()
    assert [p.name for p in path.parent.iterdir()] == ["log-signing.key"]  # no scratch file left


def test_errors_never_show_the_value(tmp_path: Path) -> None:
    secret = "c2VjcmV0LWJ1dC1ub3QtYS1zZWVk"  # base64, but not of 32 bytes
    with pytest.raises(SigningKeyError) as raised:
        load_signing_key(secret)
    assert secret not in str(raised.value)
    with pytest.raises(SigningKeyError, match="not a readable PEM"):
        load_signing_key("-----BEGIN PRIVATE KEY-----\nnonsense\n-----END PRIVATE KEY-----\n")
    garbage = tmp_path / "garbage.key"
    garbage.write_text("not a key")
    with pytest.raises(SigningKeyError, match="neither"):
        load_signing_key(garbage)


def test_other_keys_are_refused() -> None:
    ecdsa = generate_private_key(SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(SigningKeyError, match="not an Ed25519 key"):
        load_signing_key(ecdsa.decode())
    encrypted = KEY.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    )
    with pytest.raises(SigningKeyError, match="encrypted"):
        load_signing_key(encrypted.decode())
