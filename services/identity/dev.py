"""Development keys and tokens, so that a fresh checkout runs without an identity provider.

The key id starts with "dev-", which production verifiers refuse, so a development token can never open a
production record even if the development JWKS were configured there by mistake.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from services.identity.principal import KNOWN_ROLES
from services.identity.verifier import DEV_KID_PREFIX

DEV_ISSUER = "touchstone-dev"
DEV_AUDIENCE = "touchstone"
DEV_ALGORITHM = "ES256"


@dataclass(frozen=True)
class DevKeyPaths:
    signing_key: Path
    jwks: Path


class DevKeys:
    """An EC P-256 signing key under `var_dir/dev-keys`, created on first use and reused afterwards."""

    def __init__(self, var_dir: Path) -> None:
        self._directory = Path(var_dir) / "dev-keys"
        self._paths = DevKeyPaths(self._directory / "signing-key.pem", self._directory / "jwks.json")

    def ensure(self) -> DevKeyPaths:
        """Create the key and its JWKS if missing; safe when several processes start at once.

        The key is published with a hard link, which never overwrites: the first process wins and every other
        one adopts its key. The JWKS is derived from the key on disk, so racing writers write identical bytes.
        """
        self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not self._paths.signing_key.exists():
            _publish_once(self._paths.signing_key, _new_private_key_pem())
        jwks = _jwks_bytes(self._private_key())
        if _read_or_none(self._paths.jwks) != jwks:
            _replace_atomically(self._paths.jwks, jwks, mode=0o644)
        return self._paths

    def mint(
        self,
        role: str,
        tenant: str,
        sub: str,
        client_id: str | None = None,
        ttl_seconds: int = 3600,
        purpose_of_use: str | None = None,
    ) -> str:
        """A signed development token; refuses what a verifier would refuse, so mistakes show up here."""
        _check_mint_arguments(role, tenant, sub, client_id, ttl_seconds)
        self.ensure()
        private_key = self._private_key()
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": DEV_ISSUER,
            "aud": DEV_AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + ttl_seconds,
            "sub": sub,
            "tenant": tenant,
            "roles": [role],
        }
        optional = {"client_id": client_id, "purpose_of_use": purpose_of_use}
        claims.update({name: value for name, value in optional.items() if value is not None})
        headers = {"kid": dev_kid(private_key.public_key())}
        return jwt.encode(claims, private_key, algorithm=DEV_ALGORITHM, headers=headers)

    def _private_key(self) -> ec.EllipticCurvePrivateKey:
        key = serialization.load_pem_private_key(self._paths.signing_key.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise ValueError(f"{self._paths.signing_key} is not an EC P-256 private key")
        return key


def dev_kid(public_key: ec.EllipticCurvePublicKey) -> str:
    """The prefix "dev-" plus the RFC 7638 thumbprint, so the kid names the key and changes with it."""
    members = _public_jwk_members(public_key)
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":")).encode()
    return DEV_KID_PREFIX + _b64url(hashlib.sha256(canonical).digest())


def _check_mint_arguments(role: str, tenant: str, sub: str, client_id: str | None, ttl_seconds: int) -> None:
    if role not in KNOWN_ROLES:
        raise ValueError(f"unknown role; expected one of {sorted(KNOWN_ROLES)}")
    if not tenant or not sub:
        raise ValueError("tenant and sub must not be empty")
    if role == "client" and not client_id:
        raise ValueError("a client token needs a client_id")
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")


def _public_jwk_members(public_key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    """The required members of an EC public JWK (RFC 7518 6.2.1), the ones a thumbprint covers."""
    numbers = public_key.public_numbers()
    size = (public_key.curve.key_size + 7) // 8
    return {
        "crv": "P-256",
        "kty": "EC",
        "x": _b64url(numbers.x.to_bytes(size, "big")),
        "y": _b64url(numbers.y.to_bytes(size, "big")),
    }


def _jwks_bytes(private_key: ec.EllipticCurvePrivateKey) -> bytes:
    public_key = private_key.public_key()
    jwk = {**_public_jwk_members(public_key), "kid": dev_kid(public_key), "alg": DEV_ALGORITHM, "use": "sig"}
    return (json.dumps({"keys": [jwk]}, indent=2, sort_keys=True) + "\n").encode()


def _new_private_key_pem() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _write_temp(directory: Path, content: bytes, mode: int) -> Path:
    """A complete, flushed file next to its destination, so that publishing it is a single rename or link."""
    descriptor, name = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        os.fchmod(descriptor, mode)
        os.write(descriptor, content)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return Path(name)


def _publish_once(path: Path, content: bytes) -> None:
    """Publish `content` at `path` unless another process already has; never replaces an existing file."""
    temp = _write_temp(path.parent, content, mode=0o600)
    try:
        with contextlib.suppress(FileExistsError):
            os.link(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def _replace_atomically(path: Path, content: bytes, mode: int) -> None:
    temp = _write_temp(path.parent, content, mode=mode)
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
