"""`touchstone serve` as a user runs it: both services as real processes, a journey over real HTTP, Ctrl-C.

Once on the test's PostgreSQL schema (TOUCHSTONE_RECORDS_DATABASE_URL) and once on the embedded default
(SQLite files under TOUCHSTONE_VAR_DIR). Tokens come from `touchstone token`, as in the README.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
from psycopg import sql

from tests.support import PgDatabase

TENANT = "e2e-practice"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
STARTED = "2026-01-05T09:00:00+01:00"


def touchstone_command() -> str:
    """The `touchstone` script of the environment running the tests."""
    script = Path(sys.executable).with_name("touchstone")
    found = str(script) if script.exists() else shutil.which("touchstone")
    assert found, "the touchstone command is not installed in this environment"
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def service_env(var_dir: Path, **settings: str) -> dict[str, str]:
    """The caller's environment without any TOUCHSTONE_ setting of theirs, plus the test's."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("TOUCHSTONE_")}
    return {**env, "TOUCHSTONE_VAR_DIR": str(var_dir), **settings}


def descendants(root: int) -> list[int]:
    """Every live process below ``root`` (Linux /proc); the services run in sessions of their own."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        with suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


@dataclass
class Serving:
    process: subprocess.Popen[bytes]
    records: str
    consent: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@contextmanager
def touchstone_serve(tmp_path: Path, env: dict[str, str]) -> Iterator[Serving]:
    """Start `touchstone serve` on free ports; whatever happens, no process of it outlives the test."""
    records_port, consent_port = free_port(), free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [touchstone_command(), "serve", "--records-port", str(records_port),
             "--consent-port", str(consent_port)],
            env=env, cwd=tmp_path, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    services: set[int] = set()
    try:
        local = "http://127.0.0.1:{}".format
        serving = Serving(process, local(records_port), local(consent_port), log)
        wait_until_ready(serving)
        services.update(descendants(process.pid))
        yield serving
    finally:
        services.update(descendants(process.pid))
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: the CLI's group is the CLI alone
        ports = {str(records_port), str(consent_port)}
        for pid in services:  # each service runs in a session (and process group) of its own
            if serves_on(pid, ports):
                with suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
        process.wait(timeout=10)


def serves_on(pid: int, ports: set[str]) -> bool:
    """Whether ``pid`` is still one of the test's uvicorn processes (and not a recycled pid)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    words = [word.decode(errors="replace") for word in argv]
    return "uvicorn" in words and bool(ports.intersection(words))


def wait_until_ready(serving: Serving) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    bases = (serving.records, serving.consent)
    pending = [f"{base}{probe}" for base in bases for probe in ("/healthz", "/readyz")]
    while pending:
        assert serving.process.poll() is None, f"serve exited early:\n{serving.output()}"
        assert time.monotonic() < deadline, f"not ready after {START_TIMEOUT}s: {pending}\n{serving.output()}"
        with suppress(httpx.TransportError):
            if httpx.get(pending[0], timeout=2).status_code == 200:
                pending.pop(0)
                continue
        time.sleep(0.2)


def mint(env: dict[str, str], role: str, sub: str) -> str:
    minted = subprocess.run(
        [touchstone_command(), "token", "--role", role, "--tenant", TENANT, "--sub", sub],
        env=env, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert minted.returncode == 0, minted.stderr
    return minted.stdout.strip()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def practitioner_client_episode_session(serving: Serving, env: dict[str, str]) -> None:
    admin, ada = bearer(mint(env, "admin", "admin-1")), bearer(mint(env, "clinician", "dr-ada"))
    with httpx.Client(base_url=serving.records, timeout=10) as http:
        practitioner = {"id": "dr-ada", "display_name": "Dr Ada", "roles": ["clinician"]}
        assert http.post("/v1/practitioners", json=practitioner, headers=admin).status_code == 201
        identifiers = [{"system": "urn:e2e:mrn", "value": "e2e-1"}]
        client = http.post(
            "/v1/clients", headers=ada, json={"identifiers": identifiers, "name": {"family": "Doe"}}
        )
        assert client.status_code == 201, client.text
        assert http.get(client.headers["location"], headers=ada).status_code == 200
        opening = {"clinician": "dr-ada", "reason_for_referral": "low mood", "started_at": STARTED}
        episode = http.post(f"/v1/clients/{client.json()['id']}/episodes", headers=ada, json=opening)
        assert episode.status_code == 201, episode.text
        session = http.post(f"{episode.headers['location']}/sessions", headers=ada, json={
            "occurred_at": "2026-01-12T09:00:00+01:00", "duration_minutes": 50, "modality": "video",
            "attendees": ["dr-ada"]})  # fmt: skip
        assert session.status_code == 201, session.text
        assert session.headers["etag"] == '"2"'
        read = http.get(episode.headers["location"], headers=ada).json()
        assert [s["id"] for s in read["sessions"]] == [session.json()["id"]]
        assert http.get("/v1/episodes/" + read["id"]).status_code == 401  # no token, no record


def stop_with_ctrl_c(serving: Serving) -> None:
    services = descendants(serving.process.pid)
    assert len(services) >= 2, "expected a records and a consent process"
    serving.process.send_signal(signal.SIGINT)
    try:
        code = serving.process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        message = f"serve still running {STOP_TIMEOUT}s after SIGINT:\n{serving.output()}"
        raise AssertionError(message) from None
    assert code == 0, serving.output()
    assert [pid for pid in services if Path(f"/proc/{pid}").exists()] == []
    for base in (serving.records, serving.consent):
        with suppress(httpx.TransportError):
            raise AssertionError(f"{base} still answers: {httpx.get(base + '/healthz', timeout=2)}")


def stored_events(database: PgDatabase) -> int:
    """Rows in the schema's event table (the library names it after the application)."""
    with psycopg.connect(database.dsn, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_name LIKE %s",
            (database.schema, "%\\_events"),
        ).fetchall()
        assert len(tables) == 1, f"expected one event table in {database.schema}, found {tables}"
        query = sql.SQL("SELECT count(*) FROM {}.{}").format(
            sql.Identifier(database.schema), sql.Identifier(tables[0][0])
        )
        row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0


def test_serve_on_postgresql_journey_then_ctrl_c(tmp_path: Path, pg_schema: PgDatabase) -> None:
    env = service_env(tmp_path / "var", TOUCHSTONE_RECORDS_DATABASE_URL=pg_schema.url)
    with touchstone_serve(tmp_path, env) as serving:
        practitioner_client_episode_session(serving, env)
        stop_with_ctrl_c(serving)
    assert stored_events(pg_schema) == 4  # practitioner, client, episode opened, session held
    assert not (tmp_path / "var" / "records.sqlite").exists()


def test_serve_on_the_embedded_default_journey_then_ctrl_c(tmp_path: Path) -> None:
    env = service_env(tmp_path / "var")
    with touchstone_serve(tmp_path, env) as serving:
        practitioner_client_episode_session(serving, env)
        stop_with_ctrl_c(serving)
    assert (tmp_path / "var" / "records.sqlite").stat().st_size > 0
