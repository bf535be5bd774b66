"""Identity: bearer JWT verification against a JWKS, and (in `services.identity.dev`) development keys.

A named package with one purpose, shared by the records and consent services, which both verify the caller's
token themselves.
"""

from services.identity.errors import REASONS, InvalidToken, KeySetUnavailable, Reason
from services.identity.principal import DEFAULT_PURPOSE_OF_USE, KNOWN_ROLES, Principal
from services.identity.verifier import ALLOWED_ALGORITHMS, MAX_LEEWAY_SECONDS, TokenVerifier

__all__ = [
    "ALLOWED_ALGORITHMS",
    "DEFAULT_PURPOSE_OF_USE",
    "KNOWN_ROLES",
    "MAX_LEEWAY_SECONDS",
    "REASONS",
    "InvalidToken",
    "KeySetUnavailable",
    "Principal",
    "Reason",
    "TokenVerifier",
]
