"""The `touchstone` command: development tokens, `serve` planning and supervision, OpenAPI files."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import stat
import sys
import threading
import time
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jwt
import pytest
from typer.testing import CliRunner

from services.cli import serve as serving
from services.cli.main import app
from services.cli.processes import ServiceCommand, run_services
from services.cli.settings import CliSettings
from services.identity import InvalidToken, TokenVerifier
from services.identity.dev import DEV_AUDIENCE, DEV_ISSUER, DevKeys

runner = CliRunner()
CLINICIAN = ["token", "--role", "clinician", "--tenant", "demo", "--sub", "dr-ada"]


def dev_env(var_dir: Path, **extra: str) -> dict[str, str]:
    # TOUCHSTONE_ENV is set explicitly so a production shell cannot change what the test means.
    return {"TOUCHSTONE_VAR_DIR": str(var_dir), "TOUCHSTONE_ENV": "development", **extra}


def dev_verifier(var_dir: Path) -> TokenVerifier:
    return TokenVerifier(str(var_dir / "dev-keys" / "jwks.json"), DEV_ISSUER, DEV_AUDIENCE)


def test_token_prints_only_a_token_the_verifier_accepts(tmp_path: Path) -> None:
    result = runner.invoke(app, CLINICIAN, env=dev_env(tmp_path))

    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1
    principal = dev_verifier(tmp_path).verify(f"Bearer {result.stdout.strip()}")
    assert (principal.sub, principal.tenant, principal.roles) == ("dr-ada", "demo", frozenset({"clinician"}))
    assert principal.purpose_of_use == "TREAT"


def test_token_for_a_client_carries_client_id_ttl_and_purpose(tmp_path: Path) -> None:
    args = ["token", "--role", "client", "--tenant", "demo", "--sub", "c-sub"]
    args += ["--client-id", "c-1", "--ttl", "120", "--purpose", "PATRQT"]

    result = runner.invoke(app, args, env=dev_env(tmp_path))

    token = result.stdout.strip()
    principal = dev_verifier(tmp_path).verify(f"Bearer {token}")
    assert (principal.client_id, principal.purpose_of_use) == ("c-1", "PATRQT")
    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload["exp"] - payload["iat"] == 120
    assert payload["iss"] == "touchstone-dev" and payload["aud"] == "touchstone"


def test_token_is_refused_in_production(tmp_path: Path) -> None:
    result = runner.invoke(app, CLINICIAN, env=dev_env(tmp_path, TOUCHSTONE_ENV="production"))

    assert result.exit_code == 2
    assert result.stdout == ""
    assert "production" in result.stderr
    assert not (tmp_path / "dev-keys").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["token", "--role", "superuser", "--tenant", "demo", "--sub", "x"],
        ["token", "--role", "client", "--tenant", "demo", "--sub", "x"],
        [*CLINICIAN, "--ttl", "0"],
    ],
)
def test_token_refuses_what_no_verifier_would_accept(tmp_path: Path, args: list[str]) -> None:
    result = runner.invoke(app, args, env=dev_env(tmp_path))
    assert result.exit_code == 2
    assert result.stdout == ""


def test_invalid_settings_are_named_not_echoed(tmp_path: Path) -> None:
    result = runner.invoke(app, CLINICIAN, env=dev_env(tmp_path, TOUCHSTONE_ENV="prod-secret-value"))
    assert result.exit_code == 2
    assert "TOUCHSTONE_ENV" in result.stderr
    assert "prod-secret-value" not in result.output


def test_dev_keys_are_created_once_and_reused(tmp_path: Path) -> None:
    first = runner.invoke(app, CLINICIAN, env=dev_env(tmp_path)).stdout.strip()
    key_file = tmp_path / "dev-keys" / "signing-key.pem"
    jwks_file = tmp_path / "dev-keys" / "jwks.json"
    key_bytes, jwks_stamp = key_file.read_bytes(), jwks_file.stat().st_mtime_ns

    second = runner.invoke(app, CLINICIAN, env=dev_env(tmp_path)).stdout.strip()

    assert key_file.read_bytes() == key_bytes
    assert jwks_file.stat().st_mtime_ns == jwks_stamp
    assert jwt.get_unverified_header(first)["kid"] == jwt.get_unverified_header(second)["kid"]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    dev_verifier(tmp_path).verify(f"Bearer {first}")


def test_the_dev_kid_is_dev_plus_the_rfc7638_thumbprint(tmp_path: Path) -> None:
    paths = DevKeys(tmp_path).ensure()
    jwk = jwt.PyJWKSet.from_json(paths.jwks.read_text()).keys[0]
    assert jwk.key_id is not None and jwk.key_id.startswith("dev-")
    members = json.loads(paths.jwks.read_text())["keys"][0]
    canonical = json.dumps({m: members[m] for m in ("crv", "kty", "x", "y")}, separators=(",", ":"))
    digest = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()
    assert jwk.key_id == f"dev-{digest}"
    assert (jwk.algorithm_name, jwk.public_key_use) == ("ES256", "sig")


def test_concurrent_first_use_agrees_on_one_key(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        tokens = list(pool.map(lambda n: DevKeys(tmp_path).mint("clinician", "demo", f"dr-{n}"), range(16)))

    verifier = dev_verifier(tmp_path)
    assert all(verifier.verify(f"Bearer {token}") for token in tokens)
    assert sorted(p.name for p in (tmp_path / "dev-keys").iterdir()) == ["jwks.json", "signing-key.pem"]


def test_a_restored_jwks_is_rewritten_from_the_key(tmp_path: Path) -> None:
    paths = DevKeys(tmp_path).ensure()
    paths.jwks.write_text('{"keys": []}')
    token = DevKeys(tmp_path).mint("auditor", "demo", "aud-1")
    assert dev_verifier(tmp_path).verify(f"Bearer {token}").purpose_of_use == "HCOMPL"


def dev_settings(tmp_path: Path, **values: Any) -> CliSettings:
    defaults: dict[str, Any] = {
        "env": "development",
        "var_dir": tmp_path / "var",
        "jwks": None,
        "jwt_issuer": None,
        "jwt_audience": None,
        "jwt_algorithm": None,
        "consent_url": None,
    }
    return CliSettings(**{**defaults, **values})


def test_serve_in_development_points_the_services_at_the_dev_jwks(tmp_path: Path) -> None:
    plan = serving.plan(dev_settings(tmp_path), "127.0.0.1", 8000, 8001)

    assert plan.dev_keys is not None and plan.dev_keys.jwks.exists()
    assert plan.service_env == {
        "TOUCHSTONE_JWKS": str(plan.dev_keys.jwks.resolve()),
        "TOUCHSTONE_JWT_ISSUER": "touchstone-dev",
        "TOUCHSTONE_JWT_AUDIENCE": "touchstone",
        "TOUCHSTONE_JWT_ALGORITHM": "ES256",
        "TOUCHSTONE_CONSENT_URL": "http://127.0.0.1:8001",
    }
    argv = {command.name: list(command.argv) for command in plan.commands}
    assert argv["records"][1:] == [
        "-m", "uvicorn", "--factory", "services.records.api.app:create_app",
        "--host", "127.0.0.1", "--port", "8000",
    ]  # fmt: skip
    assert argv["consent"][4:] == [
        "services.consent.api.app:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        "8001",
    ]


def test_serve_keeps_what_the_operator_set(tmp_path: Path) -> None:
    settings = dev_settings(tmp_path, jwt_issuer="https://idp", consent_url="http://consent:9000")
    env = serving.plan(settings, "0.0.0.0", 8000, 8001).service_env
    assert (env["TOUCHSTONE_JWT_ISSUER"], env["TOUCHSTONE_CONSENT_URL"]) == (
        "https://idp",
        "http://consent:9000",
    )
    assert serving.local_url("0.0.0.0", 8001) == "http://127.0.0.1:8001"
    assert serving.local_url("::", 8001) == "http://[::1]:8001"


def test_serve_in_production_needs_the_operators_identity_provider(tmp_path: Path) -> None:
    with pytest.raises(serving.MissingProductionSettings, match="TOUCHSTONE_JWKS"):
        serving.plan(dev_settings(tmp_path, env="production"), "127.0.0.1", 8000, 8001)

    settings = dev_settings(
        tmp_path, env="production", jwks="https://idp/jwks", jwt_issuer="i", jwt_audience="a"
    )
    plan = serving.plan(settings, "127.0.0.1", 8000, 8001)
    assert plan.dev_keys is None
    assert "TOUCHSTONE_JWT_ALGORITHM" not in plan.service_env
    assert not (tmp_path / "var" / "dev-keys").exists()


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_when_one_service_fails_the_other_is_stopped_and_the_code_is_non_zero() -> None:
    started = time.monotonic()
    outcome = run_services(
        [
            ServiceCommand("records", python("import time; time.sleep(60)")),
            ServiceCommand("consent", python("import sys, time; time.sleep(0.3); sys.exit(3)")),
        ],
        env=dict(os.environ),
    )
    assert (outcome.exit_code, outcome.first_exited) == (3, "consent")
    assert outcome.return_codes["records"] != 0  # terminated, not left running
    assert time.monotonic() - started < 20


def test_a_service_that_stops_by_itself_is_a_failure() -> None:
    outcome = run_services([ServiceCommand("records", python("pass"))], env=dict(os.environ))
    assert outcome.exit_code == 1


def test_a_signal_is_forwarded_and_both_stop_cleanly() -> None:
    sleeper = python("import time; time.sleep(60)")
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        outcome = run_services(
            [ServiceCommand("records", sleeper), ServiceCommand("consent", sleeper)], env=dict(os.environ)
        )
    finally:
        timer.cancel()
    assert outcome.stop_signal == signal.SIGTERM
    assert outcome.exit_code == 0
    assert set(outcome.return_codes.values()) == {-signal.SIGTERM}


@pytest.fixture
def fake_documents(monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, Any]]:
    """Stand-ins for the services' `openapi_document()`, so this test needs neither service to import."""
    documents: dict[str, dict[str, Any]] = {
        "records": {"openapi": "3.1.0", "info": {"title": "records", "version": "1"}, "paths": {}},
        "consent": {"openapi": "3.1.0", "info": {"title": "consent", "version": "1"}, "paths": {}},
    }
    for service, document in documents.items():
        module = types.ModuleType(f"services.{service}.api.app")
        module.openapi_document = lambda document=document: document  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, module.__name__, module)
    return documents


def test_openapi_writes_sorted_documents_and_check_passes(
    tmp_path: Path, fake_documents: dict[str, dict[str, Any]]
) -> None:
    result = runner.invoke(app, ["openapi", "--directory", str(tmp_path)])

    assert result.exit_code == 0, result.output
    text = (tmp_path / "records.json").read_text()
    assert text.startswith('{\n  "info": {') and text.endswith("}\n")
    assert runner.invoke(app, ["openapi", "--check", "--directory", str(tmp_path)]).exit_code == 0


def test_openapi_check_names_the_file_that_differs(
    tmp_path: Path, fake_documents: dict[str, dict[str, Any]]
) -> None:
    runner.invoke(app, ["openapi", "--directory", str(tmp_path)])
    fake_documents["consent"]["paths"] = {"/v1/consents": {}}

    result = runner.invoke(app, ["openapi", "--check", "--directory", str(tmp_path)])

    assert result.exit_code == 1
    assert "consent.json" in result.stderr and "records.json" not in result.stderr


def test_the_dev_token_is_refused_by_a_production_verifier(tmp_path: Path) -> None:
    token = runner.invoke(app, CLINICIAN, env=dev_env(tmp_path)).stdout.strip()
    production = TokenVerifier(
        str(tmp_path / "dev-keys" / "jwks.json"), DEV_ISSUER, DEV_AUDIENCE, production=True
    )
    with pytest.raises(InvalidToken) as refused:
        production.verify(f"Bearer {token}")
    assert refused.value.reason == "dev_key_refused"
