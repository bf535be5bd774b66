"""API tests run the records app on PostgreSQL (a schema per test) under a TestClient."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.records.application.access import AccessGate
from tests.support import PgDatabase
from tests.support.records import RecordsApi, records_settings, running_records


@pytest.fixture
def gate() -> AccessGate | None:
    """The app's access gate; None: the one its settings choose. A module overrides it to script decisions."""
    return None


@pytest.fixture
def api(pg_schema: PgDatabase, tmp_path: Path, gate: AccessGate | None) -> Iterator[RecordsApi]:
    with running_records(records_settings(pg_schema, tmp_path), gate=gate) as running:
        yield running


@pytest.fixture
def eid(api: RecordsApi) -> str:
    """An open episode of dr-ada's, who is in the directory with a client of hers."""
    _, episode = api.practice("dr-ada")
    return str(episode["id"])
