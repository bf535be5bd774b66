"""The consent service's health endpoints, on its embedded SQLite default and on real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from contracts.problem import PROBLEM_JSON
from services.consent.api.app import create_app, openapi_document
from services.consent.settings import ConsentSettings
from tests.support import SqliteDatabase

# Nothing listens on port 1: the connection is refused at once.
UNREACHABLE_POSTGRES = "postgresql://postgres@127.0.0.1:1/x"


@contextmanager
def consent_client(database_url: str) -> Iterator[TestClient]:
    settings = ConsentSettings(env="development", consent_database_url=database_url)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def sqlite_client(sqlite_db: SqliteDatabase) -> Iterator[TestClient]:
    with consent_client(sqlite_db.url) as client:
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


def test_readyz_is_503_problem_when_postgres_is_down() -> None:
    with consent_client(UNREACHABLE_POSTGRES) as client:
        response = client.get("/readyz", headers={"X-Request-ID": "ready-1"})
        assert response.status_code == 503
        assert response.headers["content-type"] == PROBLEM_JSON
        body = response.json()
        assert body["type"] == "urn:touchstone:problem:service-unavailable"
        assert body["instance"] == "urn:touchstone:request:ready-1"
        # Neither the driver's message nor the database address reaches the caller.
        assert "127.0.0.1" not in response.text
        assert "refused" not in response.text.lower()


def test_readyz_on_postgres(postgres_dsn: str) -> None:
    with consent_client(postgres_dsn) as client:
        response = client.get("/readyz")
        assert response.status_code == 200
        assert response.json() == {"status": "ready"}


def test_default_database_is_sqlite_under_var_dir(tmp_path: Path) -> None:
    settings = ConsentSettings(env="development", var_dir=tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path}/consent.sqlite"


def test_creating_the_app_does_not_touch_the_database(tmp_path: Path) -> None:
    create_app(ConsentSettings(env="development", var_dir=tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_production_refuses_to_start_without_identity_settings() -> None:
    with pytest.raises(ValueError, match="TOUCHSTONE_JWKS"):
        ConsentSettings(env="production", jwks=None, jwt_issuer="iss", jwt_audience="aud")


def test_unknown_database_scheme_is_refused_without_echoing_the_url() -> None:
    with pytest.raises(ValueError, match="'mysql'") as refused:
        ConsentSettings(consent_database_url="mysql://user:s3cret@db/consent")
    assert "s3cret" not in str(refused.value)


def test_openapi_document_has_health_endpoints() -> None:
    document = openapi_document()
    assert document["info"] == {"title": "Touchstone consent", "version": "0.1.0"}
    assert {"/healthz", "/readyz"} <= set(document["paths"])
    assert PROBLEM_JSON in document["paths"]["/readyz"]["get"]["responses"]["503"]["content"]
