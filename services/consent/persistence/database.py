"""Reaching the consent database: for readiness now, for the event store later."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import psycopg

from services.consent.settings import SQLITE_SCHEME

CONNECT_TIMEOUT_SECONDS = 2


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL (``sqlite:////abs/path`` for an absolute one), else None."""
    return Path(url.removeprefix(SQLITE_SCHEME)) if url.startswith(SQLITE_SCHEME) else None


def ping_database(url: str) -> bool:
    """True when the database answers a query; raises the driver's error when it does not.

    Called on every readiness probe, so it opens and closes its own short connection rather than
    holding one that could go stale.
    """
    path = sqlite_path(url)
    if path is not None:
        # The embedded database is the service's own to create, as on a fresh checkout.
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(path, timeout=CONNECT_TIMEOUT_SECONDS)) as connection:
            connection.execute("SELECT 1").fetchone()
        return True
    with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_SECONDS, autocommit=True) as connection:
        connection.execute("SELECT 1").fetchone()
    return True
