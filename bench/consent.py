"""``python -m bench.consent``: latency and throughput of access decisions, and of a records read that asks
for one (the consent hop), on PostgreSQL, in one run beside the same baselines as ``bench.records``.

What it does, in order (see bench/README.md for how to read the figures):

1. raw INSERT baseline (``bench.baseline.raw_insert``): psycopg_pool, ``--insert-threads`` threads;
2. for each ``--workers`` value: a bare FastAPI app (``bench.baseline.create_bare_app``) under the same
   uvicorn settings and load generator, one client then ``--concurrency`` clients;
3. the consent service as a real uvicorn process on a fresh schema: a privacy officer grants a disclosure
   consent to an integrator for ``--clients`` clients, then ``POST /v1/decisions`` as that integrator, one
   client (latency) then ``--concurrency`` clients (decisions/s); every answer must be 200 with a permit, and
   every permit must have been stored (the consent events table gains one row per decision);
4. the records service as a real uvicorn process on a schema of its own, pointed at that consent service
   (``TOUCHSTONE_CONSENT_URL``): seed a practitioner, a client, an episode with ``--sessions`` sessions and
   two goals (some entries labelled SUD) and a disclosure consent of that client for the integrator, then
   ``GET /v1/episodes/{id}`` as the care-team clinician and as the integrator (whose answer is redacted), one
   client then ``--concurrency`` clients; then (unless ``--no-stubs``) the same records database and reads
   with two stand-ins for the consent service (bench/stubs.py): a hop to a stub that permits at once, and
   records without any hop (an in-process gate that permits), to take the hop's cost apart;
5. print a table with the targets (decision p99 < 10 ms, records GET with the hop p99 < 30 ms, one client)
   and write everything as JSON to bench/results/consent-<timestamp>.json.

Everything it creates (processes, schemas, a temporary directory) is removed at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import math
import os
import platform
import secrets
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench import loadgen
from bench.baseline import raw_insert
from bench.loadgen import (
    Check,
    Connection,
    H1Connection,
    LoadResult,
    Req,
    closed_loop,
    open_connections,
    sequential,
)
from bench.procs import CpuMeter, ServerFailed, Uvicorn, background_cores, cpu_speed_probe
from bench.records import (
    ActivitySampler,
    BenchFailed,
    DbCounters,
    balance,
    check_database,
    drop_schemas,
    git_describe,
    insert_summary,
    run_async,
    service_env,
    summarize,
    version_of,
    with_schema,
)
from bench.seed import ADMIN, Practice, SeedFailed, call, clinician
from services.identity.dev import DevKeys

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
DECISION_P99_TARGET_MS = 10.0  # POST /v1/decisions, one client
GET_P99_TARGET_MS = 30.0  # records GET /v1/episodes/{id} with the consent hop, one client
QUIET_CORES = 0.25
CONSENT_FACTORY = "services.consent.api.app:create_app"
RECORDS_FACTORY = "services.records.api.app:create_app"
BARE_FACTORY = "bench.baseline:create_bare_app"
STUB_CONSENT_FACTORY = "bench.stubs:create_stub_consent_app"
NO_HOP_RECORDS_FACTORY = "bench.stubs:create_records_without_hop"
INTEGRATOR = "bench-integrator"
PRIVACY_OFFICER = "bench-privacy"
CATEGORIES = ["episodes", "goals", "sessions"]
SUD_EVERY = 4  # every 4th session of the read episode is labelled SUD (and one of its two goals)
CONSENT_EVENTS = "consent_events"  # the consent application's events table (ConsentApplication.name)


# --- arguments ------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m bench.consent",
        description="Measure consent decisions and records reads through the consent hop on PostgreSQL, "
        "beside raw INSERT and bare FastAPI baselines.",
    )
    ap.add_argument(
        "--duration",
        type=float,
        default=None,
        help="measured seconds of each concurrent scenario (default 10; the raw INSERT baseline runs half)",
    )
    ap.add_argument("--warmup", type=float, default=None, help="warm-up seconds before each window (2)")
    ap.add_argument(
        "--workers",
        default="1",
        help="uvicorn workers of every server under test; a comma list such as 1,2 runs each (default 1)",
    )
    ap.add_argument(
        "--quick", action="store_true", help="a short run for smoke checks (2 s windows, 50 requests)"
    )
    ap.add_argument("--concurrency", type=int, default=16, help="concurrent clients (16)")
    ap.add_argument("--insert-threads", type=int, default=4, help="threads of the raw INSERT baseline (4)")
    ap.add_argument(
        "--requests",
        type=int,
        default=None,
        help="measured requests of each one-client scenario (default 500; quick 50)",
    )
    ap.add_argument(
        "--clients",
        type=int,
        default=16,
        help="clients with a disclosure consent the decisions ask about, in turn (16)",
    )
    ap.add_argument(
        "--sessions", type=int, default=20, help="sessions in the episode the records GET reads (20)"
    )
    ap.add_argument(
        "--no-stubs",
        action="store_true",
        help="skip the records GET through a hop to a stub consent service and without any hop (bench.stubs)",
    )
    ap.add_argument(
        "--client",
        choices=["h1", "httpx"],
        default="h1",
        help="load generator connections: h1 (asyncio+httptools, cheap) or httpx.AsyncClient",
    )
    ap.add_argument(
        "--dsn",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DSN),
        help="PostgreSQL to use; scratch schemas bench_<random>* are made, then dropped (BENCH_DATABASE_URL)",
    )
    ap.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="first wait up to SECONDS for the machine to be quiet (< 0.25 busy cores): for shared hosts",
    )
    ap.add_argument(
        "--output", type=Path, default=None, help="JSON file (default bench/results/consent-<ts>.json)"
    )
    args = ap.parse_args(argv)
    args.duration = args.duration if args.duration is not None else (2.0 if args.quick else 10.0)
    args.warmup = args.warmup if args.warmup is not None else (0.5 if args.quick else 2.0)
    args.requests = args.requests if args.requests is not None else (50 if args.quick else 500)
    args.seq_warmup = 10 if args.quick else 50
    args.baseline_duration = max(1.0, args.duration / 2)
    try:
        args.worker_counts = [int(w) for w in str(args.workers).split(",") if w.strip()]
    except ValueError:
        ap.error("--workers takes a number or a comma list of numbers")
    if not args.worker_counts or min(args.worker_counts) < 1:
        ap.error("--workers must be at least 1")
    if (
        min(args.concurrency, args.insert_threads, args.clients, args.requests) < 1
        or args.sessions < SUD_EVERY
    ):
        ap.error(
            f"--concurrency, --insert-threads, --clients, --requests must be >= 1, --sessions >= {SUD_EVERY}"
        )
    return args


# --- measuring ------------------------------------------------------------------------------------
class Meter:
    """CPU of a window: the servers under test together (``server``), the consent service's share of it,
    this process (the load generator), the PostgreSQL processes serving the servers; and what their
    PostgreSQL backends were doing (sampled every 50 ms), when ``counters`` is given."""

    def __init__(
        self,
        server_pids: Callable[[], list[int]],
        consent_pids: Callable[[], list[int]] | None,
        counters: DbCounters | None,
        dsn: str,
        activity: bool,
    ) -> None:
        pg = counters.postgres_pids if counters is not None else None
        self.all = CpuMeter(server_pids, postgres_pids=pg, db=counters)
        self.consent = CpuMeter(consent_pids) if consent_pids is not None else None
        self.activity = (
            ActivitySampler(dsn, counters.pg_port, server_pids) if activity and counters is not None else None
        )

    def edge(self, edge: str) -> None:
        self.all.sample(edge)
        if self.consent is not None:
            self.consent.sample(edge)
        if self.activity is not None:
            self.activity.on_window(edge)

    def finish(self, result: LoadResult) -> None:
        cpu = self.all.split(result.completed)
        if cpu is not None and self.consent is not None:
            part = self.consent.split(result.completed)
            if part is not None:
                cpu["consent_cores"] = part["server_cores"]
                cpu["consent_ms_per_req"] = part["server_ms_per_req"]
        result.extra["cpu"] = cpu
        if self.activity is not None:
            result.extra["pg_backends_avg"] = self.activity.result()


async def one_client(
    name: str,
    conn: Connection,
    make: Callable[[int], Req],
    args: argparse.Namespace,
    meter: Meter,
    check: Check | None = None,
) -> LoadResult:
    """Warm-up requests, then ``--requests`` measured ones, one after another; CPU sampled around those."""
    probe = cpu_speed_probe()
    warm = await sequential(f"{name} (warm-up)", conn, make, 0, args.seq_warmup, check)
    meter.edge("start")
    result = await sequential(name, conn, make, 0, args.requests, check)
    meter.edge("end")
    meter.finish(result)
    result.errors.update(warm.errors)
    result.error_samples = (warm.error_samples + result.error_samples)[: loadgen.MAX_ERROR_SAMPLES]
    result.total_requests += warm.total_requests
    result.succeeded += warm.succeeded
    result.extra["cpu_speed_probe_ms"] = probe
    return result


async def many_clients(
    name: str,
    conns: list[Connection],
    make: Callable[[int], Req],
    args: argparse.Namespace,
    meter: Meter,
    check: Check | None = None,
    duration: float | None = None,
) -> LoadResult:
    probe = cpu_speed_probe()
    result = await closed_loop(name, conns, make, args.warmup, duration or args.duration, meter.edge, check)
    meter.finish(result)
    result.extra["cpu_speed_probe_ms"] = probe
    return result


def with_target(summary: dict[str, Any], p99_below: float) -> dict[str, Any]:
    p99 = summary["latency_ms"]["p99"]
    summary["target"] = {"p99_ms_below": p99_below, "met": p99 is not None and p99 < p99_below}
    return summary


# --- the bare FastAPI baseline --------------------------------------------------------------------
def bare_scenarios(args: argparse.Namespace, server: Uvicorn, baseline_rate: float) -> list[dict[str, Any]]:
    host = f"127.0.0.1:{server.port}"

    async def go() -> list[dict[str, Any]]:
        out = []
        single = (await open_connections(args.client, "127.0.0.1", server.port, 1))[0]
        conns = await open_connections(args.client, "127.0.0.1", server.port, args.concurrency)
        spread = await balance(conns, server)
        try:
            for path, label in (("/ping", "async def"), ("/ping-sync", "def")):
                req = Req.make("GET", path, host)
                meter = Meter(server.all_pids, None, None, args.dsn, activity=False)
                result = await one_client(
                    f"bare FastAPI GET ({label}), 1 client", single, _always(req), args, meter
                )
                out.append(summarize(result, baseline_rate))
                meter = Meter(server.all_pids, None, None, args.dsn, activity=False)
                name = f"bare FastAPI GET ({label}), {len(conns)} clients"
                result = await many_clients(
                    name, conns, _always(req), args, meter, duration=args.baseline_duration
                )
                result.extra["connections_per_worker"] = spread
                out.append(summarize(result, baseline_rate))
        finally:
            for c in [single, *conns]:
                await c.close()
        return out

    return run_async(go())


# --- the consent service --------------------------------------------------------------------------
def grant_body(client_id: str, today: datetime) -> dict[str, Any]:
    """A disclosure consent for the integrator (GrantConsent, contracts/consent_v1.py)."""
    return {
        "client_id": client_id,
        "kind": "disclosure",
        "grantee": {"kind": "integrator", "id": INTEGRATOR},
        "purposes": ["TREAT"],
        "categories": CATEGORIES,
        "period": {"start": (today - timedelta(days=30)).isoformat()},
        "signer": {"role": "client"},
        "signed_on": (today - timedelta(days=30)).date().isoformat(),
    }


def decision_body(client_id: str) -> dict[str, Any]:
    """DecisionRequest: the integrator reads an episode holding SUD-labelled entries."""
    return {
        "client_id": client_id,
        "action": "read",
        "resource": {"type": "episode", "id": str(uuid.uuid4()), "labels": ["SUD"], "categories": CATEGORIES},
    }


async def grant(conn: Connection, consent: Practice, client_id: str) -> str:
    body = grant_body(client_id, datetime.now(UTC))
    granted = await call(
        conn, consent.post("/v1/consents", PRIVACY_OFFICER, body, role="privacy_officer"), 201
    )
    if granted.get("status") != "active":
        raise SeedFailed(f"a granted consent is {granted.get('status')!r}, not active")
    return str(granted["id"])


def is_permit(body: bytes) -> str | None:
    """Every decision the benchmark asks for must be a permit that redacts SUD (orjson writes no spaces)."""
    if b'"decision":"permit"' in body and b'"redact_labels":["SUD"]' in body:
        return None
    try:
        doc = json.loads(body)
    except ValueError:
        return "not JSON"
    if doc.get("decision") != "permit":
        return f"decision {doc.get('decision')!r} ({doc.get('rule')})"
    return f"redact_labels {doc.get('obligations', {}).get('redact_labels')!r}"


class DecisionLog:
    """Rows of the consent events table in a schema: every decision is one event, stored before it is
    answered, so a scenario's 2xx answers must equal the rows it added."""

    def __init__(self, conn: psycopg.Connection[Any], schema: str) -> None:
        self.conn = conn
        self.query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, CONSENT_EVENTS))

    def count(self) -> int:
        row = self.conn.execute(self.query).fetchone()
        return int(row[0]) if row else 0


def consent_scenarios(
    args: argparse.Namespace, server: Uvicorn, keys: DevKeys, baseline_rate: float, schema: str
) -> dict[str, Any]:
    host = f"127.0.0.1:{server.port}"
    counters = DbCounters(args.dsn)

    async def go() -> dict[str, Any]:
        out: dict[str, Any] = {"scenarios": []}
        practice = Practice(host, keys)
        seed_conn = await H1Connection.open("127.0.0.1", server.port)
        t0 = time.perf_counter()
        clients = [str(uuid.uuid4()) for _ in range(args.clients)]
        out["consents"] = [await grant(seed_conn, practice, c) for c in clients]
        out["seed_seconds"] = round(time.perf_counter() - t0, 2)
        reqs = [
            practice.post("/v1/decisions", INTEGRATOR, decision_body(c), role="integrator") for c in clients
        ]
        first = await call(seed_conn, reqs[0])
        if is_permit(json.dumps(first, separators=(",", ":")).encode()) is not None:
            raise SeedFailed(f"the integrator's decision is not a permit redacting SUD: {first}")
        out["sample_decision"] = {k: first[k] for k in ("decision", "rule", "obligations", "consents")}
        log = DecisionLog(counters.conn, schema)

        single = (await open_connections(args.client, "127.0.0.1", server.port, 1))[0]
        conns = await open_connections(args.client, "127.0.0.1", server.port, args.concurrency)
        spread = await balance(conns, server)
        try:
            before = log.count()
            meter = Meter(server.all_pids, None, counters, args.dsn, activity=False)
            result = await one_client(
                "consent POST /v1/decisions, 1 client",
                single,
                lambda n: reqs[n % len(reqs)],
                args,
                meter,
                is_permit,
            )
            result.extra["unlogged_decisions"] = result.succeeded - (log.count() - before)
            out["scenarios"].append(with_target(summarize(result, baseline_rate), DECISION_P99_TARGET_MS))

            before = log.count()
            meter = Meter(server.all_pids, None, counters, args.dsn, activity=True)
            result = await many_clients(
                f"consent POST /v1/decisions, {len(conns)} clients",
                conns,
                lambda i: reqs[i % len(reqs)],
                args,
                meter,
                is_permit,
            )
            result.extra["unlogged_decisions"] = result.succeeded - (log.count() - before)
            result.extra["connections_per_worker"] = spread
            out["scenarios"].append(summarize(result, baseline_rate))
            out["decisions_stored"] = log.count()
        finally:
            for c in [seed_conn, single, *conns]:
                await c.close()
        return out

    try:
        return run_async(go())
    finally:
        counters.close()


# --- records with the consent hop -----------------------------------------------------------------
async def seed_episode(
    conn: Connection, records: Practice, consent: Practice, consent_conn: Connection, sessions: int
) -> dict[str, Any]:
    """A practitioner, a client of theirs, an episode of ``sessions`` sessions (every SUD_EVERY-th labelled
    SUD) and two goals (one labelled SUD), through the records API; a disclosure consent of that client
    for the integrator, through the consent API."""
    sub = clinician(0)
    body: dict[str, Any] = {"id": sub, "display_name": "Dr Bench 0", "roles": ["clinician"]}
    await call(conn, records.post("/v1/practitioners", ADMIN, body, role="admin"), 201)
    client = await call(
        conn,
        records.post(
            "/v1/clients",
            sub,
            {
                "identifiers": [{"system": "urn:bench:mrn", "value": os.urandom(8).hex()}],
                "name": {"family": "Bench", "given": ["Alex"]},
                "birth_date": "1990-04-01",
                "time_zone": "Europe/Berlin",
            },
        ),
        201,
    )
    episode = await call(
        conn,
        records.post(
            f"/v1/clients/{client['id']}/episodes",
            sub,
            {
                "clinician": sub,
                "care_team": [],
                "reason_for_referral": "low mood",
                "started_at": "2026-01-05T09:00:00+01:00",
            },
        ),
        201,
    )
    eid = str(episode["id"])
    sud_sessions = 0
    for i in range(sessions):
        labels = ["SUD"] if i % SUD_EVERY == SUD_EVERY - 1 else []
        sud_sessions += bool(labels)
        body = {
            "occurred_at": "2026-01-12T10:00:00+01:00",
            "duration_minutes": 50,
            "modality": "in_person",
            "attendees": [sub],
            "labels": labels,
        }
        await call(conn, records.post(f"/v1/episodes/{eid}/sessions", sub, body), 201)
    for statement, labels in (("sleep through the night", []), ("cut down drinking", ["SUD"])):
        body = {"statement": statement, "occurred_at": "2026-01-12T10:00:00+01:00", "labels": labels}
        await call(conn, records.post(f"/v1/episodes/{eid}/goals", sub, body), 201)
    consent_id = await grant(consent_conn, consent, str(client["id"]))
    return {
        "client_id": str(client["id"]),
        "episode_id": eid,
        "clinician": sub,
        "consent_id": consent_id,
        "version": 1 + sessions + 2,
        "sessions": sessions,
        "sud_sessions": sud_sessions,
        "goals": 2,
        "sud_goals": 1,
    }


def check_reads(
    clinician_view: dict[str, Any], integrator_view: dict[str, Any] | None, seeded: dict[str, Any]
) -> None:
    """The clinician sees everything; the integrator everything but the SUD-labelled entries."""
    problems = []
    if clinician_view["version"] != seeded["version"]:
        problems.append(f"clinician: version {clinician_view['version']}, expected {seeded['version']}")
    if (len(clinician_view["sessions"]), len(clinician_view["goals"])) != (
        seeded["sessions"],
        seeded["goals"],
    ):
        problems.append(
            f"clinician: {len(clinician_view['sessions'])} sessions, {len(clinician_view['goals'])} goals"
        )
    if clinician_view["redacted_labels"]:
        problems.append(f"clinician: redacted_labels {clinician_view['redacted_labels']}")
    if integrator_view is not None:
        want = (seeded["sessions"] - seeded["sud_sessions"], seeded["goals"] - seeded["sud_goals"])
        got = (len(integrator_view["sessions"]), len(integrator_view["goals"]))
        if got != want:
            problems.append(f"integrator: {got} sessions/goals, expected {want}")
        if integrator_view["redacted_labels"] != ["SUD"]:
            problems.append(f"integrator: redacted_labels {integrator_view['redacted_labels']}")
        if any("SUD" in e["labels"] for e in [*integrator_view["sessions"], *integrator_view["goals"]]):
            problems.append("integrator: an SUD-labelled entry was not redacted")
    if problems:
        raise SeedFailed("the episode does not read as seeded: " + "; ".join(problems))


def body_has(marker: bytes, what: str) -> Check:
    def check(body: bytes) -> str | None:
        return None if marker in body else f"no {what}"

    return check


FULL_VIEW = body_has(b'"redacted_labels":[]', "unredacted view")
REDACTED_VIEW = body_has(b'"redacted_labels":["SUD"]', "SUD redaction")


REAL_HOP = "consent hop"
STUB_HOP = "hop to a stub consent"
NO_HOP = "no hop (stub gate)"


def records_scenarios(
    args: argparse.Namespace,
    server: Uvicorn,
    consent_server: Uvicorn | None,
    keys: DevKeys,
    baseline_rate: float,
    label: str,
    consent_schema: str | None = None,
    seeded: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Seed (when ``seeded`` is None: needs the real consent service), then the clinician's and the
    integrator's GET of the episode, each with one client and with ``--concurrency``. ``consent_server`` is
    the consent service or its stand-in (its CPU is shown apart), None for records without a hop;
    ``consent_schema``, the real consent service's, to count the decisions each GET stored."""
    host = f"127.0.0.1:{server.port}"
    counters = DbCounters(args.dsn)

    def pids() -> list[int]:
        return [*server.all_pids(), *(consent_server.all_pids() if consent_server is not None else [])]

    consent_pids = consent_server.all_pids if consent_server is not None else None

    async def go() -> dict[str, Any]:
        out: dict[str, Any] = {"scenarios": []}
        records = Practice(host, keys)
        seed_conn = await H1Connection.open("127.0.0.1", server.port)
        nonlocal seeded
        if seeded is None:
            assert consent_server is not None
            consent = Practice(f"127.0.0.1:{consent_server.port}", keys)
            consent_conn = await H1Connection.open("127.0.0.1", consent_server.port)
            t0 = time.perf_counter()
            try:
                seeded = await seed_episode(seed_conn, records, consent, consent_conn, args.sessions)
            finally:
                await consent_conn.close()
            out["seed_seconds"] = round(time.perf_counter() - t0, 2)
        out["seeded"] = seeded
        path = f"/v1/episodes/{seeded['episode_id']}"
        views = [
            ("clinician", seeded["clinician"], "care-team clinician", FULL_VIEW),
            ("integrator", INTEGRATOR, "integrator, redacted", REDACTED_VIEW),
        ]
        reqs = {role: records.get(path, sub, role=role) for role, sub, _, _ in views}
        found: dict[str, Any] = {}
        out["response_bytes"] = {}
        for role, req in reqs.items():
            status, body = await seed_conn.request(req, keep_body=True)
            if status != 200:
                raise SeedFailed(f"GET {req.path} as the {role} answered {status}: {body[:300]!r}")
            found[role] = json.loads(body)
            out["response_bytes"][role] = len(body)
        check_reads(found["clinician"], found.get("integrator"), seeded)
        log = DecisionLog(counters.conn, consent_schema) if consent_schema else None

        single = (await open_connections(args.client, "127.0.0.1", server.port, 1))[0]
        conns = await open_connections(args.client, "127.0.0.1", server.port, args.concurrency)
        spread = await balance(conns, server)
        try:
            for role, _, who, check in views:
                req = reqs[role]
                before = log.count() if log else 0
                meter = Meter(pids, consent_pids, counters, args.dsn, activity=False)
                name = f"records GET episode ({who}), {label}, 1 client"
                result = await one_client(name, single, _always(req), args, meter, check)
                if log:
                    result.extra["decisions_logged_per_request"] = _per(
                        log.count() - before, result.total_requests
                    )
                summary = summarize(result, baseline_rate)
                out["scenarios"].append(
                    with_target(summary, GET_P99_TARGET_MS) if role == "clinician" and log else summary
                )

                before = log.count() if log else 0
                meter = Meter(pids, consent_pids, counters, args.dsn, activity=True)
                name = f"records GET episode ({who}), {label}, {len(conns)} clients"
                result = await many_clients(name, conns, _always(req), args, meter, check)
                if log:
                    result.extra["decisions_logged_per_request"] = _per(
                        log.count() - before, result.total_requests
                    )
                result.extra["connections_per_worker"] = spread
                out["scenarios"].append(summarize(result, baseline_rate))
        finally:
            for c in [seed_conn, single, *conns]:
                await c.close()
        return out

    try:
        return run_async(go())
    finally:
        counters.close()


def _per(n: int, d: int) -> float | None:
    return round(n / d, 3) if d else None


# --- the run --------------------------------------------------------------------------------------
def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def progress(s: dict[str, Any]) -> str:
    lat = s["latency_ms"]
    return f"  {s['name']}: {s['rate_per_s']:,.0f} req/s, p50 {lat['p50']} ms, p99 {lat['p99']} ms"


def _always(req: Req) -> Callable[[int], Req]:
    return lambda n: req


def _log_warnings(server: Uvicorn) -> list[str]:
    return [
        line
        for line in server.log_tail(400).splitlines()
        if "[warning" in line or "[error" in line or "Traceback" in line
    ][-30:]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    run_id = secrets.token_hex(4)
    base_schema = f"bench_{run_id}"
    schemas = [base_schema]
    tmp = Path(tempfile.mkdtemp(prefix="touchstone-bench-"))
    servers: list[Uvicorn] = []
    started = datetime.now(UTC)
    report: dict[str, Any] = {
        "benchmark": "consent",
        "started_at": started.isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "versions": {
            p: version_of(p)
            for p in (
                "fastapi",
                "starlette",
                "uvicorn",
                "eventsourcing",
                "psycopg",
                "psycopg-pool",
                "pydantic",
                "httptools",
                "uvloop",
                "httpx",
            )
        },
        "git": git_describe(),
        "settings": {
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "baseline_duration_s": args.baseline_duration,
            "concurrency": args.concurrency,
            "insert_threads": args.insert_threads,
            "requests": args.requests,
            "warmup_requests": args.seq_warmup,
            "clients": args.clients,
            "sessions": args.sessions,
            "client": args.client,
            "event_loop": loadgen.loop_name(),
            "workers": args.worker_counts,
            "quick": args.quick,
            "stubs": not args.no_stubs,
            "uvicorn": "--log-level info --no-access-log (uvloop + httptools when installed)",
        },
        "targets": {
            "decision_p99_ms_1_client": DECISION_P99_TARGET_MS,
            "records_get_hop_p99_ms_1_client": GET_P99_TARGET_MS,
        },
        "runs": [],
    }
    code = 0
    try:
        report["postgres"] = check_database(args.dsn)
        _say(f"PostgreSQL {report['postgres']} at {args.dsn}; scratch schemas {base_schema}*; temp {tmp}")
        deadline = time.monotonic() + args.wait_quiet
        busy = background_cores(2.0)
        while busy > QUIET_CORES and time.monotonic() < deadline:
            _say(f"waiting for a quiet machine: {busy:.2f} cores busy")
            busy = background_cores(5.0)
        report["background_cores_before"] = round(busy, 3)
        report["cpu_speed_probe_ms"] = {"start": cpu_speed_probe()}
        if busy > QUIET_CORES:
            _say(
                f"WARNING: {busy:.2f} cores were busy before the run started (other work on this machine):"
                " figures will be low and noisy"
            )
        _say(f"raw INSERT baseline: {args.insert_threads} threads, {args.baseline_duration:g} s ...")
        inserted = raw_insert(
            args.dsn, base_schema, args.insert_threads, min(args.warmup, 1.0), args.baseline_duration
        )
        report["raw_insert"] = insert_summary(inserted)
        if inserted.errors or inserted.transactions == 0:
            raise BenchFailed(f"the raw INSERT baseline failed: {inserted.errors}")
        baseline = inserted.rate
        _say(f"  {baseline:,.0f} tx/s")
        var = tmp / "var"
        keys = DevKeys(var)
        jwks = keys.ensure().jwks
        # one explicit key for every process, so that several workers never each make their own
        master_key = base64.b64encode(secrets.token_bytes(32)).decode()
        common = {
            "TOUCHSTONE_ENV": "development",
            "TOUCHSTONE_VAR_DIR": str(var),
            "TOUCHSTONE_JWKS": str(jwks),
            "TOUCHSTONE_LOG_LEVEL": "WARNING",
            "TOUCHSTONE_MASTER_KEY": master_key,
        }
        for workers in args.worker_counts:
            run: dict[str, Any] = {"workers": workers}
            report["runs"].append(run)
            report["cpu_speed_probe_ms"][f"before w{workers}"] = cpu_speed_probe()
            _say(f"bare FastAPI, {workers} worker(s) ...")
            bare = Uvicorn(BARE_FACTORY, service_env({}), workers, tmp / f"bare-w{workers}.log", ROOT)
            servers.append(bare)
            bare.start()
            bare.wait_ready()
            try:
                run["bare"] = bare_scenarios(args, bare, baseline)
            finally:
                bare.stop()
            for s in run["bare"]:
                _say(progress(s))

            consent_schema = f"{base_schema}_consent_w{workers}"
            records_schema = f"{base_schema}_records_w{workers}"
            schemas += [consent_schema, records_schema]
            consent_env = service_env(
                {**common, "TOUCHSTONE_CONSENT_DATABASE_URL": with_schema(args.dsn, consent_schema)}
            )
            _say(f"consent service, {workers} worker(s), schema {consent_schema}: seeding and measuring ...")
            consent = Uvicorn(CONSENT_FACTORY, consent_env, workers, tmp / f"consent-w{workers}.log", ROOT)
            servers.append(consent)
            consent.start()
            consent.wait_ready()
            run["consent"] = consent_scenarios(args, consent, keys, baseline, consent_schema)
            for s in run["consent"]["scenarios"]:
                _say(progress(s))

            records_env = {**common, "TOUCHSTONE_RECORDS_DATABASE_URL": with_schema(args.dsn, records_schema)}
            _say(f"records service with the consent hop, {workers} worker(s), schema {records_schema} ...")
            records = Uvicorn(
                RECORDS_FACTORY,
                service_env({**records_env, "TOUCHSTONE_CONSENT_URL": consent.base_url}),
                workers,
                tmp / f"records-hop-w{workers}.log",
                ROOT,
            )
            servers.append(records)
            records.start()
            records.wait_ready()
            try:
                run["records_hop"] = records_scenarios(
                    args, records, consent, keys, baseline, REAL_HOP, consent_schema
                )
            finally:
                records.stop()
                consent.stop()
            for s in run["records_hop"]["scenarios"]:
                _say(progress(s))
            restarts = {
                "bare": bare.worker_restarts(),
                "consent": consent.worker_restarts(),
                "records_hop": records.worker_restarts(),
            }
            warnings = {"consent": _log_warnings(consent), "records_hop": _log_warnings(records)}

            if not args.no_stubs:
                seeded = run["records_hop"]["seeded"]
                _say(f"records through a hop to a stub consent service, {workers} worker(s), same schema ...")
                stub = Uvicorn(
                    STUB_CONSENT_FACTORY, service_env({}), workers, tmp / f"stub-w{workers}.log", ROOT
                )
                servers.append(stub)
                stub.start()
                stub.wait_ready()
                via_stub = Uvicorn(
                    RECORDS_FACTORY,
                    service_env({**records_env, "TOUCHSTONE_CONSENT_URL": stub.base_url}),
                    workers,
                    tmp / f"records-stub-w{workers}.log",
                    ROOT,
                )
                servers.append(via_stub)
                via_stub.start()
                via_stub.wait_ready()
                try:
                    run["records_stub_hop"] = records_scenarios(
                        args, via_stub, stub, keys, baseline, STUB_HOP, seeded=seeded
                    )
                finally:
                    via_stub.stop()
                    stub.stop()
                for s in run["records_stub_hop"]["scenarios"]:
                    _say(progress(s))

                _say(f"records without a hop (in-process stub gate), {workers} worker(s), same schema ...")
                no_hop = Uvicorn(
                    NO_HOP_RECORDS_FACTORY,
                    service_env(records_env),
                    workers,
                    tmp / f"records-nohop-w{workers}.log",
                    ROOT,
                )
                servers.append(no_hop)
                no_hop.start()
                no_hop.wait_ready()
                try:
                    run["records_no_hop"] = records_scenarios(
                        args, no_hop, None, keys, baseline, NO_HOP, seeded=seeded
                    )
                finally:
                    no_hop.stop()
                for s in run["records_no_hop"]["scenarios"]:
                    _say(progress(s))
                restarts.update(
                    stub=stub.worker_restarts(),
                    records_stub_hop=via_stub.worker_restarts(),
                    records_no_hop=no_hop.worker_restarts(),
                )
                warnings.update(
                    records_stub_hop=_log_warnings(via_stub), records_no_hop=_log_warnings(no_hop)
                )
            run["worker_restarts"] = restarts
            warnings = {k: v for k, v in warnings.items() if v}
            if warnings:
                run["log_warnings"] = warnings
    except (BenchFailed, ServerFailed, SeedFailed) as exc:
        report["failure"] = str(exc)
        print(f"\nFAILED: {exc}", file=sys.stderr)
        code = 2
    except Exception as exc:  # anything unexpected: reported, then cleaned up like the rest
        import traceback

        report["failure"] = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
        code = 2
    except KeyboardInterrupt:
        report["failure"] = "interrupted"
        print("\ninterrupted; cleaning up", file=sys.stderr)
        code = 130
    finally:
        for server in servers:
            with contextlib.suppress(Exception):
                server.stop()
        if code != 0:
            for server in servers:
                tail = server.log_tail(30)
                if tail.strip() and tail != "(no log)":
                    report.setdefault("server_logs", {})[server.log_path.name] = tail
                    print(f"\n--- {server.log_path.name} (last lines) ---\n{tail}", file=sys.stderr)
        try:
            report["dropped_schemas"] = drop_schemas(args.dsn, schemas)
        except psycopg.Error as exc:
            print(f"could not drop schemas {schemas}: {exc}", file=sys.stderr)
        shutil.rmtree(tmp, ignore_errors=True)
    report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    report.setdefault("cpu_speed_probe_ms", {})["end"] = cpu_speed_probe()
    if "raw_insert" in report:
        print(render_table(report))
    errors = count_errors(report)
    if errors and code == 0:
        code = 1
    output = args.output or RESULTS_DIR / f"consent-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"\nJSON: {output}")
    return code


def _rows(run: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        *run.get("bare", []),
        *run.get("consent", {}).get("scenarios", []),
        *run.get("records_hop", {}).get("scenarios", []),
        *run.get("records_stub_hop", {}).get("scenarios", []),
        *run.get("records_no_hop", {}).get("scenarios", []),
    ]


def count_errors(report: dict[str, Any]) -> int:
    total = 0
    for run in report.get("runs", []):
        for s in _rows(run):
            total += sum(s.get("errors", {}).values()) + max(s.get("unlogged_decisions", 0) or 0, 0)
        total += sum(len(lines) for lines in run.get("worker_restarts", {}).values())
    return total


# --- the table ------------------------------------------------------------------------------------
def _f(value: float | None, fmt: str = "{:,.0f}") -> str:
    return "-" if value is None else fmt.format(value)


WIDTH = 174


def render_table(report: dict[str, Any]) -> str:
    raw = report["raw_insert"]
    s = report["settings"]
    lines = [
        "",
        f"Touchstone consent benchmark — {report['started_at']} — {report['machine']['cpus']} CPUs, "
        f"PostgreSQL {report.get('postgres', '?')}, Python {report['machine']['python']}",
        f"load generator: {s['client']} on {s['event_loop']}, same process, same 2 cores as the servers "
        f"(it competes for CPU); windows {s['duration_s']:g} s (bare FastAPI {s['baseline_duration_s']:g} s)"
        f" after {s['warmup_s']:g} s warm-up; 1-client rows: {s['warmup_requests']} warm-up +"
        f" {s['requests']} measured requests",
        "",
        f"background load before the run: {report.get('background_cores_before', math.nan):.2f} cores busy"
        " (other people's work on this machine; 'other' below is the same during each window)",
        "CPU speed probe (ms of a fixed Python loop, lower is faster; a drift means the host slowed down): "
        + ", ".join(f"{k} {v}" for k, v in report.get("cpu_speed_probe_ms", {}).items()),
        "",
        f"{'what':80} {'rate/s':>7} {'% raw':>6} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}  "
        f"{'CPU ms/req srv(consent)|gen|pg':>30} {'cores(other)':>12} {'probe':>5}  target",
        "-" * WIDTH,
        f"{raw['name']:80} {_f(raw['rate_per_s']):>7} {'100.0%':>6} "
        f"{_f(raw['latency_ms']['p50'], '{:.2f}'):>7} {_f(raw['latency_ms']['p99'], '{:.2f}'):>7} "
        f"{sum(raw['errors'].values()):>6}",
    ]
    for run in report.get("runs", []):
        lines.append(f"-- uvicorn --workers {run['workers']} " + "-" * (WIDTH - 23))
        for row in _rows(run):
            lines.append(_row(row))
        for part in ("consent", "records_hop"):
            seed = run.get(part, {}).get("seed_seconds")
            if seed is not None:
                lines.append(f"   ({part.replace('_', ' ')} seeding took {seed} s)")
    lines.append("-" * WIDTH)
    lines += _verdicts(report)
    problems = _problems(report)
    if problems:
        lines += ["", "ERRORS:", *problems]
    logged = _log_lines(report)
    if logged:
        lines += ["", "SERVER LOG WARNINGS:", *logged]
    return "\n".join(lines)


def _row(row: dict[str, Any]) -> str:
    lat = row["latency_ms"]
    cpu = row.get("cpu") or {}
    if cpu:
        srv = f"{cpu['server_ms_per_req']:.2f}"
        if "consent_ms_per_req" in cpu:
            srv += f"({cpu['consent_ms_per_req']:.2f})"
        cpu_text = f"{srv}|{cpu['bench_ms_per_req']:.2f}|{cpu['postgres_ms_per_req']:.2f}"
        cores = f"{cpu['machine_cores']:.2f}({cpu['other_cores']:.2f})"
    else:
        cpu_text = cores = "-"
    share = row.get("share_of_raw_insert")
    target = row.get("target")
    verdict = ""
    if target:
        verdict = ("PASS" if target["met"] else "MISS") + f" (p99 < {target['p99_ms_below']:g} ms)"
    if cpu and cpu["other_cores"] > QUIET_CORES:
        verdict += " NOISY"
    unlogged = row.get("unlogged_decisions")
    if unlogged:
        verdict += f" UNLOGGED {unlogged}" if unlogged > 0 else f" LOGGED-ON-ERROR {-unlogged}"
    errors = sum(row.get("errors", {}).values())
    share_text = _f(None if share is None else 100 * share, "{:.1f}%")
    return (
        f"{row['name'][:80]:80} {_f(row['rate_per_s']):>7} {share_text:>6} "
        f"{_f(lat['p50'], '{:.2f}'):>7} {_f(lat['p99'], '{:.2f}'):>7} {errors:>6}  "
        f"{cpu_text:>30} {cores:>12} {_f(row.get('cpu_speed_probe_ms'), '{:.1f}'):>5}  {verdict}"
    )


def _find(rows: list[dict[str, Any]], *words: str) -> dict[str, Any] | None:
    return next((r for r in rows if all(w in r["name"] for w in words)), None)


def _lat(row: dict[str, Any] | None) -> str:
    if row is None:
        return "-"
    return f"p50 {row['latency_ms']['p50']:.2f} / p99 {row['latency_ms']['p99']:.2f} ms"


def _verdicts(report: dict[str, Any]) -> list[str]:
    base = report["raw_insert"]["rate_per_s"]
    n = report["settings"]["concurrency"]
    out = [
        f"raw INSERT baseline: {base:,.0f} tx/s, {_lat(report['raw_insert'])}. Targets (one client): "
        f"decision p99 < {DECISION_P99_TARGET_MS:g} ms; records GET with the consent hop p99 < "
        f"{GET_P99_TARGET_MS:g} ms."
    ]
    for run in report.get("runs", []):
        w = f"  w{run['workers']}"
        bare = run.get("bare", [])
        bare1 = _find(bare, "(def)", "1 client")
        bare_n = _find(bare, "(def)", f"{n} clients")
        bare_async_n = _find(bare, "async def", f"{n} clients")
        beside1 = f"; bare FastAPI def, 1 client: {_lat(bare1)}" if bare1 else ""
        beside_n = (
            f"; bare FastAPI def / async def, {n} clients: {bare_n['rate_per_s']:,.0f} / "
            f"{bare_async_n['rate_per_s']:,.0f} req/s"
            if bare_n and bare_async_n
            else ""
        )
        rows = _rows(run)
        for row in rows:
            if row["name"].startswith("bare"):
                continue
            if "1 client" in row["name"]:
                verdict = ""
                if row.get("target"):
                    verdict = " (" + ("PASS" if row["target"]["met"] else "MISS") + ")"
                out.append(f"{w} {row['name']}: {_lat(row)}{verdict}{beside1}")
            else:
                share = row.get("share_of_raw_insert", 0)
                out.append(
                    f"{w} {row['name']}: {row['rate_per_s']:,.0f} req/s = {100 * share:.1f}% of raw insert, "
                    f"{_lat(row)}{beside_n}"
                )
            cpu = row.get("cpu") or {}
            if "consent_ms_per_req" in cpu:
                out.append(
                    "      CPU per request: records "
                    f"{cpu['server_ms_per_req'] - cpu['consent_ms_per_req']:.2f} ms, consent "
                    f"{cpu['consent_ms_per_req']:.2f} ms, PostgreSQL {cpu['postgres_ms_per_req']:.2f} ms, "
                    f"load generator {cpu['bench_ms_per_req']:.2f} ms"
                )
            logged = row.get("decisions_logged_per_request")
            if logged is not None:
                out.append(f"      access-log entries (consent events) stored per records GET: {logged:g}")
            activity = row.get("pg_backends_avg")
            if activity:
                top = ", ".join(f"{v:g} {k}" for k, v in list(activity.items())[:4])
                out.append(f"      PostgreSQL backends of the servers on average: {top}")
        out += _hop_lines(w, rows, n)
    return out


def _hop_lines(w: str, rows: list[dict[str, Any]], n: int) -> list[str]:
    """The clinician's records GET taken apart: no hop, a hop to a stub, the real consent service."""
    out = []
    one = [_find(rows, "clinician", f"{label}, 1 client") for label in (NO_HOP, STUB_HOP, REAL_HOP)]
    none, stub, real = one
    if none and stub and real:

        def d(a: dict[str, Any], b: dict[str, Any], q: str) -> float:
            return float(a["latency_ms"][q] - b["latency_ms"][q])

        base = f"{none['latency_ms']['p50']:.2f} / {none['latency_ms']['p99']:.2f} ms"

        out.append(
            f"{w} a one-client records GET (clinician), p50 / p99: no hop {base}; the HTTP hop "
            f"(to a stub) adds {d(stub, none, 'p50'):+.2f} / {d(stub, none, 'p99'):+.2f} ms; the consent "
            f"service's decision adds {d(real, stub, 'p50'):+.2f} / {d(real, stub, 'p99'):+.2f} ms more"
        )
    many = [_find(rows, "clinician", f"{label}, {n} clients") for label in (NO_HOP, STUB_HOP, REAL_HOP)]
    none, stub, real = many
    if none and stub and real and none["rate_per_s"]:
        pct = [100 * r["rate_per_s"] / none["rate_per_s"] for r in (stub, real)]
        out.append(
            f"{w} {n} clients, records GET (clinician): no hop {none['rate_per_s']:,.0f} req/s, hop to a "
            f"stub {stub['rate_per_s']:,.0f} req/s ({pct[0]:.0f}%), real consent {real['rate_per_s']:,.0f} "
            f"req/s ({pct[1]:.0f}%)"
        )
    return out


def _problems(report: dict[str, Any]) -> list[str]:
    out = []
    for run in report.get("runs", []):
        for row in _rows(run):
            if row.get("errors"):
                out.append(f"  w{run['workers']} {row['name']}: {row['errors']}")
                out += [f"      {sample}" for sample in row.get("error_samples", [])]
            unlogged = row.get("unlogged_decisions") or 0
            if unlogged > 0:
                out.append(
                    f"  w{run['workers']} {row['name']}: {unlogged} answered decisions missing from the log"
                )
            elif unlogged < 0:
                out.append(
                    f"  w{run['workers']} {row['name']}: {-unlogged} decisions stored for requests that"
                    " got an error"
                )
        for kind, lines in run.get("worker_restarts", {}).items():
            for line in lines:
                out.append(f"  w{run['workers']} {kind}: uvicorn restarted a worker: {line.strip()[:160]}")
    if report.get("failure"):
        out.append(f"  run failed: {report['failure']}")
    return out


def _log_lines(report: dict[str, Any]) -> list[str]:
    """Warnings and errors the servers logged (not counted as errors: the JSON has up to 30 of each)."""
    out = []
    for run in report.get("runs", []):
        for kind, lines in run.get("log_warnings", {}).items():
            out.append(
                f"  w{run['workers']} {kind}: {len(lines)} line(s), the last: {lines[-1].strip()[:200]}"
            )
    return out


if __name__ == "__main__":
    sys.exit(main())
