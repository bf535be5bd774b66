"""The consent service's API and persistence tests: the app on PostgreSQL (a schema per test) under a
TestClient, on a clock the test moves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import PgDatabase
from tests.support.consent import ConsentApi, MutableClock, consent_settings, running_consent


@pytest.fixture
def clock() -> MutableClock:
    return MutableClock()


@pytest.fixture
def consent_api(pg_schema: PgDatabase, tmp_path: Path, clock: MutableClock) -> Iterator[ConsentApi]:
    with running_consent(consent_settings(pg_schema, tmp_path), clock) as running:
        yield running
