"""Bearer JWT verification: one pinned asymmetric algorithm, keys from a JWKS, at most 60 s of leeway.

Every check that can be done before touching a key is done first and mapped to its own reason, so a refused
token is explained precisely without ever quoting it. PyJWT's own exception messages are never re-raised or
chained (`from None`): some of them repeat header or claim values.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import jwt
from jwt import PyJWK
from jwt import exceptions as jwt_errors

from services.identity.errors import InvalidToken, Reason
from services.identity.keys import open_key_source
from services.identity.principal import Principal, principal_from_claims

# Asymmetric only: with a shared secret, anyone who can verify a token could also mint one.
ALLOWED_ALGORITHMS: frozenset[str] = frozenset({"ES256", "EdDSA", "RS256", "PS256"})
MAX_LEEWAY_SECONDS = 60
REQUIRED_CLAIMS: tuple[str, ...] = ("iss", "aud", "exp", "sub")
DEV_KID_PREFIX = "dev-"
# Real access tokens are a few KiB; a bound keeps a hostile header from costing base64 and JSON work.
MAX_TOKEN_LENGTH = 16 * 1024
VERIFIED_CACHE_SECONDS = 60.0
VERIFIED_CACHE_SIZE = 10_000

# Most specific first: several PyJWT errors subclass DecodeError.
_REASONS: tuple[tuple[type[Exception], Reason], ...] = (
    (jwt_errors.InvalidSignatureError, "bad_signature"),
    (jwt_errors.InvalidAlgorithmError, "bad_signature"),
    (jwt_errors.ExpiredSignatureError, "expired"),
    (jwt_errors.ImmatureSignatureError, "not_yet_valid"),
    (jwt_errors.InvalidIssuerError, "wrong_issuer"),
    (jwt_errors.InvalidAudienceError, "wrong_audience"),
    (jwt_errors.MissingRequiredClaimError, "missing_claim"),
    (jwt_errors.InvalidKeyError, "unknown_key"),
    (jwt_errors.InvalidSubjectError, "bad_claims"),
    (jwt_errors.InvalidIssuedAtError, "bad_claims"),
    (jwt_errors.InvalidJTIError, "bad_claims"),
)


class TokenVerifier:
    """Turns an `Authorization` header into a `Principal`, or raises `InvalidToken`.

    Misconfiguration (a symmetric or unknown algorithm, leeway above 60 s, an unreadable JWKS file) raises
    `ValueError` here, at start-up, rather than as a 401 on every request.
    """

    def __init__(
        self,
        jwks: str,
        issuer: str,
        audience: str,
        algorithm: str = "ES256",
        leeway_seconds: int = 60,
        production: bool = False,
    ) -> None:
        if algorithm not in ALLOWED_ALGORITHMS:
            raise ValueError(f"JWT algorithm must be one of {sorted(ALLOWED_ALGORITHMS)}")
        if not 0 <= leeway_seconds <= MAX_LEEWAY_SECONDS:
            raise ValueError(f"JWT leeway must be between 0 and {MAX_LEEWAY_SECONDS} seconds")
        if not issuer or not audience:
            raise ValueError("JWT issuer and audience must be set")
        self._issuer = issuer
        self._audience = audience
        self._algorithm = algorithm
        self._leeway = leeway_seconds
        self._production = production
        self._keys = open_key_source(jwks, algorithm)
        self._verified: dict[str, tuple[Principal, float]] = {}
        self._verified_lock = threading.Lock()

    @property
    def algorithm(self) -> str:
        return self._algorithm

    def verify(self, authorization_header: str | None) -> Principal:
        """Verify a bearer token; the `Principal` keeps the raw token so it can be forwarded."""
        token = bearer_token(authorization_header)
        cached = self._verified.get(token)
        if cached is not None and time.time() < cached[1]:
            return cached[0]
        key = self._keys.signing_key(self._checked_kid(token))
        claims = self._verified_claims(token, key)
        principal = principal_from_claims(claims, token)
        self._remember(token, principal, float(claims["exp"]))
        return principal

    def _remember(self, token: str, principal: Principal, expires_at: float) -> None:
        """Integrators send one token many times: a verified token is kept until it expires, at most
        ``VERIFIED_CACHE_SECONDS`` (so a key removed from the JWKS stops working within that time)."""
        with self._verified_lock:
            if len(self._verified) >= VERIFIED_CACHE_SIZE:
                self._verified.pop(next(iter(self._verified)), None)  # the oldest entry
            self._verified[token] = (principal, min(expires_at, time.time() + VERIFIED_CACHE_SECONDS))

    def _checked_kid(self, token: str) -> str:
        """Refuse on the unverified header alone what no key could make acceptable."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt_errors.PyJWTError:
            raise InvalidToken("malformed") from None
        alg = header.get("alg")
        if not isinstance(alg, str) or not alg:
            raise InvalidToken("malformed")
        if alg.lower() == "none":
            raise InvalidToken("unsigned")
        if alg != self._algorithm:
            # Includes HS256 "signed" with our public key: algorithm confusion never reaches a key.
            raise InvalidToken("bad_signature")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("unknown_key")
        if self._production and kid.startswith(DEV_KID_PREFIX):
            raise InvalidToken("dev_key_refused")
        return kid

    def _verified_claims(self, token: str, key: PyJWK) -> dict[str, Any]:
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[self._algorithm],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": list(REQUIRED_CLAIMS), "enforce_minimum_key_length": True},
            )
        except jwt_errors.PyJWTError as error:
            raise InvalidToken(_reason_for(error)) from None
        if not isinstance(claims, dict):
            raise InvalidToken("malformed")
        return claims


def bearer_token(authorization_header: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header (the scheme is case-insensitive, RFC 9110)."""
    if authorization_header is None or not authorization_header.strip():
        raise InvalidToken("missing")
    parts = authorization_header.split()
    if len(parts) != 2 or parts[0].lower() != "bearer" or len(parts[1]) > MAX_TOKEN_LENGTH:
        raise InvalidToken("malformed")
    return parts[1]


def _reason_for(error: jwt_errors.PyJWTError) -> Reason:
    for error_type, reason in _REASONS:
        if isinstance(error, error_type):
            return reason
    return "malformed"
