"""The eventsourcing library's settings for a database URL, and a lock for setting up its tables.

A service names its database with one URL: ``sqlite:///relative/file`` or ``sqlite:////absolute/file`` (as
SQLAlchemy spells them; the embedded default) or ``postgresql://...``, whose schema is chosen by
``?schema=`` or libpq's ``options=-csearch_path=...``. The library is never left to read ``os.environ``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlencode, urlparse

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict


@dataclass(frozen=True)
class Recorders:
    """The application recorders (``module:Class`` topics) a service uses on each database."""

    postgres: str
    sqlite: str


def eventstore_env(
    url: str | None,
    *,
    default_sqlite: Path,
    recorders: Recorders,
    schema: str | None = None,
    pool_size: int = 5,
    max_overflow: int = 35,
) -> dict[str, str]:
    parsed = urlparse(url or "")
    if parsed.scheme in ("", "sqlite"):
        path = Path(unquote(parsed.path[1:])) if parsed.path else default_sqlite
        path.parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(path),
            "SQLITE_LOCK_TIMEOUT": "10",
            "APPLICATION_RECORDER_TOPIC": recorders.sqlite,
        }
    if parsed.scheme not in ("postgresql", "postgres"):
        raise ValueError("a database URL must be postgresql:// or sqlite:///")
    params = parse_qs(parsed.query)
    schema = schema or params.pop("schema", [None])[0]
    # libpq parses the rest (percent-encoded socket directories, passwords, options)
    conninfo = conninfo_to_dict(parsed._replace(query=urlencode(params, doseq=True)).geturl())
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(conninfo.get("dbname") or "postgres"),
        "POSTGRES_HOST": str(conninfo.get("host") or "localhost"),
        "POSTGRES_PORT": str(conninfo.get("port") or 5432),
        "POSTGRES_USER": str(conninfo.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(conninfo.get("password") or ""),
        "POSTGRES_SCHEMA": schema or search_path(str(conninfo.get("options") or "")),
        "POSTGRES_LOCK_TIMEOUT": "5",
        "POSTGRES_CONNECT_TIMEOUT": "5",
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(max_overflow),
        "APPLICATION_RECORDER_TOPIC": recorders.postgres,
    }


def search_path(options: str) -> str:
    """The schema named by libpq's ``options=-csearch_path=x``; else ``public``."""
    match = re.search(r"-c\s*search_path=([A-Za-z0-9_]+)", options)
    return match.group(1) if match else "public"


@contextmanager
def setup_lock(env: dict[str, str], name: str) -> Iterator[None]:
    """Replicas starting together create the schema, tables and migrations one at a time.

    PostgreSQL's ``CREATE ... IF NOT EXISTS`` is not safe against a concurrent twin (it can fail on the
    catalog's unique index), so the whole set-up runs under a session advisory lock of its own.
    """
    if env["PERSISTENCE_MODULE"] != "eventsourcing.postgres":
        yield
        return
    schema = env["POSTGRES_SCHEMA"]
    with psycopg.connect(
        dbname=env["POSTGRES_DBNAME"],
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"],
        autocommit=True,
        connect_timeout=5,
    ) as conn:
        key = f"{schema}/{name}-setup"
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (key,))
        try:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (key,))
