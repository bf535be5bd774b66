"""The records application as the service builds it, on each test's database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.records.application.app import RecordsApplication
from services.records.settings import RecordsSettings
from tests.support import Database
from tests.support.integration_records import records_app
from tests.support.records import records_settings


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> RecordsSettings:
    return records_settings(database, tmp_path)


@pytest.fixture
def app(settings: RecordsSettings) -> Iterator[RecordsApplication]:
    with records_app(settings) as app:
        yield app
