"""The consent service's health endpoints and start-up, on its embedded SQLite default and on PostgreSQL.

Like the records service, the consent app opens its database when it starts (lifespan): a database that
cannot be reached at start-up stops the start with the driver's error (which names the host and port, never
the password); a database lost afterwards makes ``/readyz`` answer 503.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from contracts.problem import PROBLEM_JSON
from services.consent.api.app import create_app, openapi_document
from services.consent.settings import ConsentSettings
from services.identity.dev import DevKeys
from tests.support import Database, PgDatabase, SqliteDatabase
from tests.support.consent import consent_settings

# Nothing listens on port 1: the connection is refused at once.
UNREACHABLE_POSTGRES = "postgresql://postgres:s3cret-pw@127.0.0.1:1/x"


@contextmanager
def consent_client(database: Database, var_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(consent_settings(database, var_dir))) as client:
        yield client


@pytest.fixture
def sqlite_client(sqlite_db: SqliteDatabase, tmp_path: Path) -> Iterator[TestClient]:
    with consent_client(sqlite_db, tmp_path / "var") as client:
        yield client


def test_healthz(sqlite_client: TestClient) -> None:
    response = sqlite_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_on_sqlite(sqlite_client: TestClient, sqlite_db: SqliteDatabase) -> None:
    response = sqlite_client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}
    assert sqlite_db.path.exists()


def test_readyz_on_postgres(pg_schema: PgDatabase, tmp_path: Path) -> None:
    with consent_client(pg_schema, tmp_path) as client:
        response = client.get("/readyz")
        assert response.status_code == 200
        assert response.json() == {"status": "ready"}


def test_readyz_is_503_problem_when_the_database_is_lost_after_start(
    pg_schema: PgDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def lost() -> None:
        raise psycopg.OperationalError('connection to server at "10.0.0.7", port 5432 failed: refused')

    with consent_client(pg_schema, tmp_path) as client:
        monkeypatch.setattr(client.app.state.consent.index, "ping", lost)  # type: ignore[attr-defined]
        response = client.get("/readyz", headers={"X-Request-ID": "ready-1"})

    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["retry-after"]
    body = response.json()
    assert body["type"] == "urn:touchstone:problem:service-unavailable"
    assert body["instance"] == "urn:touchstone:request:ready-1"
    # Neither the driver's message nor the database address reaches the caller.
    assert "10.0.0.7" not in response.text
    assert "refused" not in response.text.lower()


def test_an_unreachable_postgres_stops_the_start_without_leaking_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = ConsentSettings(
        var_dir=tmp_path,
        consent_database_url=UNREACHABLE_POSTGRES,
        jwks=str(DevKeys(tmp_path).ensure().jwks),
        log_level="DEBUG",
    )
    app = create_app(settings)

    with pytest.raises(psycopg.OperationalError) as failed, TestClient(app):
        pass

    message = str(failed.value)
    assert "127.0.0.1" in message and "port 1" in message  # the operator learns where it failed
    printed = "".join(traceback.format_exception(failed.value))
    logged = capsys.readouterr()
    for text in (message, printed, logged.out, logged.err):
        assert "s3cret-pw" not in text


def test_default_database_is_sqlite_under_var_dir(tmp_path: Path) -> None:
    settings = ConsentSettings(env="development", var_dir=tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path}/consent.sqlite"


def test_creating_the_app_does_not_touch_the_database(tmp_path: Path) -> None:
    create_app(ConsentSettings(env="development", var_dir=tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_production_refuses_to_start_without_identity_or_master_key() -> None:
    with pytest.raises(
        ValueError, match="TOUCHSTONE_JWKS, TOUCHSTONE_MASTER_KEY, TOUCHSTONE_LOG_SIGNING_KEY"
    ):
        ConsentSettings(env="production", jwks=None, jwt_issuer="iss", jwt_audience="aud")
    with pytest.raises(ValueError, match="TOUCHSTONE_JWT_ISSUER"):
        ConsentSettings(
            env="production", jwks="https://idp/jwks", master_key="a" * 44, log_signing_key="/run/log.key"
        )


def test_unknown_database_scheme_is_refused_without_echoing_the_url() -> None:
    with pytest.raises(ValueError, match="'mysql'") as refused:
        ConsentSettings(consent_database_url="mysql://user:s3cret@db/consent")
    assert "s3cret" not in str(refused.value)


def test_openapi_document_has_health_and_consent_endpoints() -> None:
    document = openapi_document()
    assert (document["info"]["title"], document["info"]["version"]) == ("Touchstone consent", "0.1.0")
    assert {"/healthz", "/readyz", "/v1/consents", "/v1/decisions", "/v1/break-glass"} <= set(
        document["paths"]
    )
    assert PROBLEM_JSON in document["paths"]["/readyz"]["get"]["responses"]["503"]["content"]
