"""Bearer tokens built by hand, to test how the records API refuses bad ones."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from services.identity.dev import DEV_AUDIENCE, DEV_ISSUER, dev_kid
from tests.support.records import TENANT, RecordsApi


def dev_signing_key(api: RecordsApi) -> ec.EllipticCurvePrivateKey:
    """The development signing key the app trusts (var_dir/dev-keys/signing-key.pem)."""
    key = serialization.load_pem_private_key(api.keys.ensure().signing_key.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def claims(
    sub: str = "dr-ada", role: str = "clinician", tenant: str = TENANT, **changes: Any
) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": DEV_ISSUER,
        "aud": DEV_AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "sub": sub,
        "tenant": tenant,
        "roles": [role],
        **changes,
    }


def signed(
    api: RecordsApi,
    body: dict[str, Any],
    key: ec.EllipticCurvePrivateKey | None = None,
    kid: str | None = None,
) -> str:
    """Signed with ``key`` (default: the trusted dev key), under the trusted key's kid unless told."""
    trusted = dev_signing_key(api)
    return jwt.encode(
        body, key or trusted, algorithm="ES256", headers={"kid": kid or dev_kid(trusted.public_key())}
    )


def unsigned(api: RecordsApi, body: dict[str, Any]) -> str:
    """``alg: none``: a header and claims with an empty signature."""
    kid = dev_kid(dev_signing_key(api).public_key())
    header = {"alg": "none", "typ": "JWT", "kid": kid}
    return f"{_b64(header)}.{_b64(body)}."


def foreign_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
