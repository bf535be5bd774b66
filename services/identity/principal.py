"""Who is calling: the verified claims of a bearer token turned into a `Principal`.

Claims are checked here rather than trusted downstream, so that the records and consent services can rely
on every `Principal` they receive: a tenant is always present (tenants are walls), a client always names
their own record, and the purpose of use is always set.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.identity.errors import InvalidToken

# HL7 v3 PurposeOfUse codes used when a token does not say why it is used. The order matters: a principal with
# several roles gets the default of the first of its roles in this table (clinical purposes before oversight).
DEFAULT_PURPOSE_OF_USE: dict[str, str] = {
    "clinician": "TREAT",
    "supervisor": "TREAT",
    "client": "PATRQT",
    "integrator": "TREAT",
    "privacy_officer": "HCOMPL",
    "auditor": "HCOMPL",
    "admin": "HSYSADMIN",
}

KNOWN_ROLES: frozenset[str] = frozenset(DEFAULT_PURPOSE_OF_USE)

# Purpose codes are short HL7 codes; anything else is refused so that it cannot smuggle text into logs.
_PURPOSE_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class Principal:
    """The verified caller. `token` is kept so the records service can forward it to the consent service."""

    sub: str
    tenant: str
    roles: frozenset[str]
    client_id: str | None
    purpose_of_use: str
    # The raw token is a bearer credential: keep it out of reprs, tracebacks and debug logs.
    token: str = field(repr=False)


def principal_from_claims(claims: Mapping[str, Any], token: str) -> Principal:
    """Build a `Principal` from claims whose signature, issuer, audience and times are already verified."""
    roles = _roles(claims)
    return Principal(
        sub=_required_text(claims, "sub"),
        tenant=_required_text(claims, "tenant"),
        roles=roles,
        client_id=_client_id(claims, roles),
        purpose_of_use=_purpose_of_use(claims, roles),
        token=token,
    )


def _required_text(claims: Mapping[str, Any], name: str) -> str:
    if name not in claims or claims[name] is None:
        raise InvalidToken("missing_claim")
    value = claims[name]
    if not isinstance(value, str) or not value.strip():
        raise InvalidToken("bad_claims")
    return value


def _roles(claims: Mapping[str, Any]) -> frozenset[str]:
    """Known roles only: an identity provider may add roles of its own, which mean nothing here."""
    if claims.get("roles") is None:
        raise InvalidToken("missing_claim")
    raw = claims["roles"]
    if not isinstance(raw, list):
        raise InvalidToken("bad_claims")
    roles = frozenset(role for role in raw if isinstance(role, str) and role in KNOWN_ROLES)
    if not roles:
        raise InvalidToken("bad_claims")
    return roles


def _client_id(claims: Mapping[str, Any], roles: frozenset[str]) -> str | None:
    """A client's token must name their record; for other roles the claim is ignored.

    OAuth access tokens (RFC 9068) use `client_id` for the OAuth client, so for a clinician or an integrator
    it says nothing about whose record they may see, and keeping it would invite that mistake downstream.
    """
    if "client" not in roles:
        return None
    return _required_text(claims, "client_id")


def _purpose_of_use(claims: Mapping[str, Any], roles: frozenset[str]) -> str:
    raw = claims.get("purpose_of_use")
    if raw is None:
        return next(purpose for role, purpose in DEFAULT_PURPOSE_OF_USE.items() if role in roles)
    if not isinstance(raw, str) or not _PURPOSE_CODE.fullmatch(raw):
        raise InvalidToken("bad_claims")
    return raw
