"""Why a bearer token was refused, in words that are safe to log.

The reason vocabulary is fixed so that logs, metrics and problem documents can say *why* a caller got a 401
without repeating anything the caller sent: a token can carry names, e-mail addresses or other identifiers,
and a kid or claim value echoed into a log line is a leak waiting to happen.
"""

from __future__ import annotations

from typing import Literal, get_args

Reason = Literal[
    "missing",
    "malformed",
    "unsigned",
    "bad_signature",
    "unknown_key",
    "expired",
    "not_yet_valid",
    "wrong_issuer",
    "wrong_audience",
    "missing_claim",
    "bad_claims",
    "dev_key_refused",
]

REASONS: frozenset[str] = frozenset(get_args(Reason))

# Fixed sentences for problem `detail` and WWW-Authenticate `error_description`; never built from input.
_DESCRIPTIONS: dict[str, str] = {
    "missing": "no bearer token was sent",
    "malformed": "the Authorization header does not hold a well-formed bearer JWT",
    "unsigned": "unsigned tokens are not accepted",
    "bad_signature": "the token's signature or algorithm is not accepted",
    "unknown_key": "the token was not signed by a known key",
    "expired": "the token has expired",
    "not_yet_valid": "the token is not valid yet",
    "wrong_issuer": "the token was issued by an issuer that is not trusted",
    "wrong_audience": "the token was issued for another audience",
    "missing_claim": "the token lacks a required claim",
    "bad_claims": "the token's claims are not valid",
    "dev_key_refused": "development keys are refused in production",
}


class InvalidToken(Exception):
    """A bearer token was refused; `reason` says why, and nothing else about the token is kept."""

    def __init__(self, reason: Reason) -> None:
        if reason not in REASONS:
            # A typo here would silently widen the vocabulary that dashboards and clients rely on.
            raise ValueError("unknown InvalidToken reason")
        super().__init__(reason)
        self.reason: Reason = reason

    @property
    def description(self) -> str:
        """A fixed, human-readable sentence for the reason, safe for responses and logs."""
        return _DESCRIPTIONS[self.reason]

    def __str__(self) -> str:
        return f"invalid bearer token ({self.reason}): {self.description}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason!r})"


class KeySetUnavailable(InvalidToken):
    """The JWKS endpoint could not be reached, so no token can be checked.

    It is still an `InvalidToken` (the request fails closed with 401 wherever only that is handled), but an
    API that catches this subclass first can answer 503, which tells an integrator to retry rather than to log
    in again.
    """

    def __init__(self) -> None:
        super().__init__("unknown_key")

    def __reduce__(self) -> tuple[type[KeySetUnavailable], tuple[()]]:
        return (type(self), ())

    @property
    def description(self) -> str:
        return "the signing keys could not be fetched"
