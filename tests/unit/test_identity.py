"""Bearer JWT verification: each way a token can be wrong is refused with its reason, never its content."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from services.identity import (
    DEFAULT_PURPOSE_OF_USE,
    KNOWN_ROLES,
    InvalidToken,
    KeySetUnavailable,
    Principal,
    TokenVerifier,
)
from services.identity.dev import DevKeys

ISSUER = "https://idp.example.test"
AUDIENCE = "touchstone"
KID = "key-1"
SECRET_LOOKING = "Jane-Doe-1970-01-01"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_jwk(
    key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey, kid: str, alg: str
) -> dict[str, Any]:
    algorithm = jwt.get_algorithm_by_name(alg)
    jwk: dict[str, Any] = json.loads(algorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "alg": alg, "use": "sig"}


def write_jwks(path: Path, *jwks: dict[str, Any]) -> str:
    path.write_text(json.dumps({"keys": list(jwks)}))
    return str(path)


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 300,
        "sub": "dr-ada",
        "tenant": "demo",
        "roles": ["clinician"],
    }
    base.update(overrides)
    return {name: value for name, value in base.items() if value is not None}


def sign(key: Any, payload: dict[str, Any], kid: str | None = KID, alg: str = "ES256", **headers: Any) -> str:
    all_headers = {"kid": kid, **headers} if kid is not None else headers
    return jwt.encode(payload, key, algorithm=alg, headers=all_headers)


def hand_made(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    head = b64url(json.dumps(header).encode())
    body = b64url(json.dumps(payload).encode())
    return f"{head}.{body}.{b64url(signature)}"


@pytest.fixture
def signing_key() -> ec.EllipticCurvePrivateKey:
    return ec_key()


@pytest.fixture
def jwks_path(tmp_path: Path, signing_key: ec.EllipticCurvePrivateKey) -> str:
    return write_jwks(tmp_path / "jwks.json", public_jwk(signing_key, KID, "ES256"))


@pytest.fixture
def verifier(jwks_path: str) -> TokenVerifier:
    return TokenVerifier(jwks_path, ISSUER, AUDIENCE)


def refusal(verifier: TokenVerifier, header: str | None) -> InvalidToken:
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(header)
    return caught.value


def test_a_valid_token_gives_its_principal(verifier: TokenVerifier, signing_key: Any) -> None:
    token = sign(signing_key, claims())

    principal = verifier.verify(f"Bearer {token}")

    assert principal == Principal(
        sub="dr-ada",
        tenant="demo",
        roles=frozenset({"clinician"}),
        client_id=None,
        purpose_of_use="TREAT",
        token=token,
    )
    assert token not in repr(principal)


def test_the_scheme_is_case_insensitive(verifier: TokenVerifier, signing_key: Any) -> None:
    assert verifier.verify(f"bearer {sign(signing_key, claims())}").sub == "dr-ada"


@pytest.mark.parametrize("header", [None, "", "   "])
def test_no_token_is_missing(verifier: TokenVerifier, header: str | None) -> None:
    assert refusal(verifier, header).reason == "missing"


@pytest.mark.parametrize(
    "header",
    ["Bearer not-a-jwt", "Bearer a.b.c", "Basic dXNlcjpwYXNz", "Bearer", "Bearer one two", "Token x.y.z"],
)
def test_anything_but_a_bearer_jwt_is_malformed(verifier: TokenVerifier, header: str) -> None:
    assert refusal(verifier, header).reason == "malformed"


def test_a_wrong_scheme_with_a_good_token_is_malformed(verifier: TokenVerifier, signing_key: Any) -> None:
    assert refusal(verifier, f"Basic {sign(signing_key, claims())}").reason == "malformed"


def test_an_oversized_token_is_malformed(verifier: TokenVerifier) -> None:
    assert refusal(verifier, "Bearer " + "a" * 20_000).reason == "malformed"


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_is_unsigned(verifier: TokenVerifier, alg: str) -> None:
    token = hand_made({"alg": alg, "kid": KID, "typ": "JWT"}, claims())
    assert refusal(verifier, f"Bearer {token}").reason == "unsigned"


def test_hs256_signed_with_the_public_key_is_refused(
    verifier: TokenVerifier, signing_key: ec.EllipticCurvePrivateKey
) -> None:
    """Algorithm confusion: the public key is public, so an HMAC over it proves nothing."""
    public_pem = signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    unsigned = hand_made({"alg": "HS256", "kid": KID, "typ": "JWT"}, claims()).rsplit(".", 1)[0]
    mac = hmac.new(public_pem, unsigned.encode(), hashlib.sha256).digest()
    assert refusal(verifier, f"Bearer {unsigned}.{b64url(mac)}").reason == "bad_signature"


def test_another_algorithm_than_the_pinned_one_is_refused(tmp_path: Path, signing_key: Any) -> None:
    """Even when the JWKS also holds a key for that algorithm: exactly one algorithm is accepted."""
    eddsa_key = ed25519.Ed25519PrivateKey.generate()
    jwks = write_jwks(
        tmp_path / "jwks.json", public_jwk(signing_key, KID, "ES256"), public_jwk(eddsa_key, "ed", "EdDSA")
    )
    es256_verifier = TokenVerifier(jwks, ISSUER, AUDIENCE, algorithm="ES256")

    for kid in ("ed", KID):
        token = sign(eddsa_key, claims(), kid=kid, alg="EdDSA")
        assert refusal(es256_verifier, f"Bearer {token}").reason == "bad_signature"


def test_an_eddsa_verifier_accepts_eddsa_tokens(tmp_path: Path) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    jwks = write_jwks(tmp_path / "jwks.json", public_jwk(key, KID, "EdDSA"))
    eddsa_verifier = TokenVerifier(jwks, ISSUER, AUDIENCE, algorithm="EdDSA")
    assert eddsa_verifier.verify(f"Bearer {sign(key, claims(), alg='EdDSA')}").tenant == "demo"


def test_a_token_signed_by_another_key_with_the_same_kid_is_refused(verifier: TokenVerifier) -> None:
    assert refusal(verifier, f"Bearer {sign(ec_key(), claims())}").reason == "bad_signature"


def test_a_tampered_payload_is_refused(verifier: TokenVerifier, signing_key: Any) -> None:
    head, _, signature = sign(signing_key, claims()).split(".")
    forged_body = b64url(json.dumps(claims(tenant="other-practice")).encode())
    assert refusal(verifier, f"Bearer {head}.{forged_body}.{signature}").reason == "bad_signature"


def test_an_unknown_kid_is_refused(verifier: TokenVerifier, signing_key: Any) -> None:
    assert refusal(verifier, f"Bearer {sign(signing_key, claims(), kid='key-2')}").reason == "unknown_key"


def test_a_token_without_kid_is_refused(verifier: TokenVerifier, signing_key: Any) -> None:
    assert refusal(verifier, f"Bearer {sign(signing_key, claims(), kid=None)}").reason == "unknown_key"


def test_two_keys_in_one_jwks_are_chosen_by_kid(tmp_path: Path) -> None:
    first, second = ec_key(), ec_key()
    jwks = write_jwks(
        tmp_path / "jwks.json", public_jwk(first, "first", "ES256"), public_jwk(second, "second", "ES256")
    )
    verifier = TokenVerifier(jwks, ISSUER, AUDIENCE)

    assert verifier.verify(f"Bearer {sign(first, claims(sub='a'), kid='first')}").sub == "a"
    assert verifier.verify(f"Bearer {sign(second, claims(sub='b'), kid='second')}").sub == "b"
    crossed = sign(first, claims(), kid="second")
    assert refusal(verifier, f"Bearer {crossed}").reason == "bad_signature"


def test_a_rotated_jwks_file_is_picked_up_without_a_restart(tmp_path: Path, signing_key: Any) -> None:
    path = tmp_path / "jwks.json"
    verifier = TokenVerifier(write_jwks(path, public_jwk(signing_key, KID, "ES256")), ISSUER, AUDIENCE)
    rotated = ec_key()
    write_jwks(path, public_jwk(signing_key, KID, "ES256"), public_jwk(rotated, "key-2", "ES256"))

    assert verifier.verify(f"Bearer {sign(rotated, claims(), kid='key-2')}").sub == "dr-ada"


def test_expired_beyond_the_leeway_is_refused(verifier: TokenVerifier, signing_key: Any) -> None:
    token = sign(signing_key, claims(exp=int(time.time()) - 90))
    assert refusal(verifier, f"Bearer {token}").reason == "expired"


def test_expired_within_the_leeway_is_accepted(verifier: TokenVerifier, signing_key: Any) -> None:
    token = sign(signing_key, claims(exp=int(time.time()) - 30))
    assert verifier.verify(f"Bearer {token}").sub == "dr-ada"


def test_without_leeway_an_expired_token_is_refused(jwks_path: str, signing_key: Any) -> None:
    strict = TokenVerifier(jwks_path, ISSUER, AUDIENCE, leeway_seconds=0)
    token = sign(signing_key, claims(exp=int(time.time()) - 5))
    assert refusal(strict, f"Bearer {token}").reason == "expired"


def test_a_token_from_the_future_is_not_yet_valid(verifier: TokenVerifier, signing_key: Any) -> None:
    token = sign(signing_key, claims(nbf=int(time.time()) + 300))
    assert refusal(verifier, f"Bearer {token}").reason == "not_yet_valid"


def test_a_wrong_issuer_is_refused(verifier: TokenVerifier, signing_key: Any) -> None:
    token = sign(signing_key, claims(iss="https://evil.example.test"))
    assert refusal(verifier, f"Bearer {token}").reason == "wrong_issuer"


@pytest.mark.parametrize("audience", ["another-api", ["another-api", "third"]])
def test_a_wrong_audience_is_refused(verifier: TokenVerifier, signing_key: Any, audience: Any) -> None:
    token = sign(signing_key, claims(aud=audience))
    assert refusal(verifier, f"Bearer {token}").reason == "wrong_audience"


def test_an_audience_list_naming_us_is_accepted(verifier: TokenVerifier, signing_key: Any) -> None:
    token = sign(signing_key, claims(aud=["other", AUDIENCE]))
    assert verifier.verify(f"Bearer {token}").sub == "dr-ada"


@pytest.mark.parametrize("claim", ["sub", "exp", "iss", "aud", "tenant", "roles"])
def test_a_missing_required_claim_is_refused(verifier: TokenVerifier, signing_key: Any, claim: str) -> None:
    payload = claims()
    del payload[claim]
    assert refusal(verifier, f"Bearer {sign(signing_key, payload)}").reason == "missing_claim"


@pytest.mark.parametrize(
    "overrides",
    [
        {"tenant": ""},
        {"tenant": 42},
        {"sub": ""},
        {"roles": "clinician"},
        {"roles": []},
        {"roles": ["superuser", "root"]},
        {"purpose_of_use": "TREAT; DROP TABLE"},
        {"purpose_of_use": 7},
        {"roles": ["client"], "client_id": ""},
    ],
)
def test_invalid_claims_are_refused(
    verifier: TokenVerifier, signing_key: Any, overrides: dict[str, Any]
) -> None:
    assert refusal(verifier, f"Bearer {sign(signing_key, claims(**overrides))}").reason == "bad_claims"


def test_unknown_roles_are_ignored(verifier: TokenVerifier, signing_key: Any) -> None:
    token = sign(signing_key, claims(roles=["clinician", "superuser", 3]))
    assert verifier.verify(f"Bearer {token}").roles == frozenset({"clinician"})


def test_a_client_token_needs_a_client_id(verifier: TokenVerifier, signing_key: Any) -> None:
    token = sign(signing_key, claims(roles=["client"]))
    assert refusal(verifier, f"Bearer {token}").reason == "missing_claim"


def test_a_client_token_names_the_client(verifier: TokenVerifier, signing_key: Any) -> None:
    principal = verifier.verify(f"Bearer {sign(signing_key, claims(roles=['client'], client_id='c-1'))}")
    assert (principal.client_id, principal.purpose_of_use) == ("c-1", "PATRQT")


def test_client_id_is_ignored_for_other_roles(verifier: TokenVerifier, signing_key: Any) -> None:
    token = sign(signing_key, claims(roles=["integrator"], client_id="oauth-client-7"))
    assert verifier.verify(f"Bearer {token}").client_id is None


@pytest.mark.parametrize("role", sorted(KNOWN_ROLES))
def test_purpose_of_use_defaults_by_role(verifier: TokenVerifier, signing_key: Any, role: str) -> None:
    token = sign(signing_key, claims(roles=[role], client_id="c-1"))
    assert verifier.verify(f"Bearer {token}").purpose_of_use == DEFAULT_PURPOSE_OF_USE[role]


def test_the_default_purpose_table_is_the_documented_one() -> None:
    assert DEFAULT_PURPOSE_OF_USE == {
        "clinician": "TREAT",
        "supervisor": "TREAT",
        "client": "PATRQT",
        "integrator": "TREAT",
        "privacy_officer": "HCOMPL",
        "auditor": "HCOMPL",
        "admin": "HSYSADMIN",
    }


def test_an_explicit_purpose_of_use_wins(verifier: TokenVerifier, signing_key: Any) -> None:
    token = sign(signing_key, claims(purpose_of_use="ETREAT"))
    assert verifier.verify(f"Bearer {token}").purpose_of_use == "ETREAT"


def test_several_roles_take_the_first_default_in_the_table(verifier: TokenVerifier, signing_key: Any) -> None:
    token = sign(signing_key, claims(roles=["admin", "supervisor"]))
    assert verifier.verify(f"Bearer {token}").purpose_of_use == "TREAT"


def test_a_development_key_is_refused_in_production(tmp_path: Path) -> None:
    paths = DevKeys(tmp_path).ensure()
    token = DevKeys(tmp_path).mint("clinician", "demo", "dr-ada")
    production = TokenVerifier(str(paths.jwks), "touchstone-dev", "touchstone", production=True)
    development = TokenVerifier(str(paths.jwks), "touchstone-dev", "touchstone")

    assert refusal(production, f"Bearer {token}").reason == "dev_key_refused"
    assert development.verify(f"Bearer {token}").sub == "dr-ada"


def test_a_dev_kid_is_refused_in_production_whatever_the_key(tmp_path: Path) -> None:
    key = ec_key()
    jwks = write_jwks(tmp_path / "jwks.json", public_jwk(key, "dev-abc", "ES256"))
    production = TokenVerifier(jwks, ISSUER, AUDIENCE, production=True)
    assert refusal(production, f"Bearer {sign(key, claims(), kid='dev-abc')}").reason == "dev_key_refused"


@pytest.mark.parametrize("leeway", [61, 3600, -1])
def test_leeway_outside_0_to_60_seconds_is_refused(jwks_path: str, leeway: int) -> None:
    with pytest.raises(ValueError, match="leeway"):
        TokenVerifier(jwks_path, ISSUER, AUDIENCE, leeway_seconds=leeway)


@pytest.mark.parametrize("algorithm", ["HS256", "HS512", "none", "ES384", ""])
def test_only_the_allowed_asymmetric_algorithms_can_be_pinned(jwks_path: str, algorithm: str) -> None:
    with pytest.raises(ValueError, match="algorithm"):
        TokenVerifier(jwks_path, ISSUER, AUDIENCE, algorithm=algorithm)


def test_a_jwks_file_without_keys_for_the_pinned_algorithm_is_refused(jwks_path: str) -> None:
    with pytest.raises(ValueError, match="no usable RS256"):
        TokenVerifier(jwks_path, ISSUER, AUDIENCE, algorithm="RS256")


def test_a_missing_jwks_file_is_refused_at_construction(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="JWKS"):
        TokenVerifier(str(tmp_path / "absent.json"), ISSUER, AUDIENCE)


def test_refusals_never_repeat_the_token_or_its_claims(verifier: TokenVerifier) -> None:
    forged = sign(ec_key(), claims(sub=SECRET_LOOKING, tenant=SECRET_LOOKING), kid=SECRET_LOOKING)
    cases = [f"Bearer {forged}", f"Basic {SECRET_LOOKING}", f"Bearer {SECRET_LOOKING}"]
    for header in cases:
        error = refusal(verifier, header)
        for text in (str(error), repr(error), *map(str, error.args)):
            assert SECRET_LOOKING not in text
            assert forged not in text
        # PyJWT's own messages can quote the kid or claims: they must not ride along as a chained exception.
        assert error.__cause__ is None
        assert error.__suppress_context__ or error.__context__ is None


def test_an_invalid_reason_cannot_be_raised() -> None:
    with pytest.raises(ValueError):
        InvalidToken("because")  # type: ignore[arg-type]


@pytest.fixture
def jwks_server(signing_key: ec.EllipticCurvePrivateKey) -> Iterator[str]:
    body = json.dumps({"keys": [public_jwk(signing_key, KID, "ES256")]}).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


def test_keys_can_come_from_a_jwks_url(jwks_server: str, signing_key: Any) -> None:
    verifier = TokenVerifier(jwks_server, ISSUER, AUDIENCE)
    assert verifier.verify(f"Bearer {sign(signing_key, claims())}").tenant == "demo"
    assert refusal(verifier, f"Bearer {sign(signing_key, claims(), kid='nope')}").reason == "unknown_key"


def test_an_unreachable_jwks_url_fails_closed(signing_key: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    verifier = TokenVerifier(f"http://127.0.0.1:{closed_port}/jwks.json", ISSUER, AUDIENCE)

    error = refusal(verifier, f"Bearer {sign(signing_key, claims())}")

    assert isinstance(error, KeySetUnavailable)
    assert error.reason == "unknown_key"


def test_a_remembered_token_is_refused_once_it_expires(jwks_path: str, signing_key: Any) -> None:
    strict = TokenVerifier(jwks_path, ISSUER, AUDIENCE, leeway_seconds=0)
    token = sign(signing_key, claims(exp=int(time.time()) + 2))
    first = strict.verify(f"Bearer {token}")
    assert strict.verify(f"Bearer {token}") is first  # verified once, then remembered
    time.sleep(max(0.0, first_expiry(token) - time.time()) + 0.2)
    assert refusal(strict, f"Bearer {token}").reason == "expired"


def first_expiry(token: str) -> float:
    return float(jwt.decode(token, options={"verify_signature": False})["exp"])
