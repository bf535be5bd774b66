"""``python -m bench.records``: throughput and latency of the records service on PostgreSQL, in one run.

What it does, in order (see bench/README.md for how to read the figures):

1. raw INSERT baseline: psycopg_pool, ``--insert-threads`` threads, single-row INSERT transactions;
2. for each ``--workers`` value: a bare FastAPI app under the same uvicorn settings and load generator
   (``async def`` and ``def`` endpoints), then the records service as a real uvicorn process on a fresh
   schema: seed a practice, GET an episode of ``--events`` events (one client), POST sessions with
   ``--concurrency`` users on as many episodes, the same on one shared episode, and (unless
   ``--no-idempotency``) on their own episodes with an ``Idempotency-Key`` each;
3. print a table with each figure as a share of the raw INSERT rate and against the targets, and write it
   as JSON to bench/results/records-<timestamp>.json. ``--profile`` adds an in-process cProfile and
   per-stage timing of POST and GET (bench/profile.py).

Everything it creates (processes, schemas, a temporary directory) is removed at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import importlib.metadata
import itertools
import json
import math
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg import sql

from bench import loadgen
from bench.baseline import InsertResult, raw_insert
from bench.loadgen import Connection, H1Connection, LoadResult, Req, closed_loop, open_connections, sequential
from bench.procs import (
    CpuMeter,
    ServerFailed,
    Uvicorn,
    background_cores,
    client_ports_to,
    cpu_speed_probe,
    socket_owner,
)
from bench.seed import SeedFailed, call, clinician, seed_practice
from services.identity.dev import DevKeys

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
WRITE_TARGET = 0.08  # writes >= 8 % of the raw INSERT rate
GET_P99_TARGET_MS = 20.0
QUIET_CORES = 0.25  # busy cores before the run above which the figures are flagged as noisy
# Records alone: decisions by an in-process stand-in that permits (bench.stubs); bench.consent measures the
# records service with its consent hop.
RECORDS_FACTORY = "bench.stubs:create_records_without_hop"
BARE_FACTORY = "bench.baseline:create_bare_app"
T = TypeVar("T")


class BenchFailed(RuntimeError):
    pass


# --- arguments ------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m bench.records",
        description="Measure the records service on PostgreSQL beside raw INSERT and bare FastAPI baselines.",
    )
    ap.add_argument(
        "--duration",
        type=float,
        default=None,
        help="measured seconds of each write scenario (default 10; baselines run half, at least 1 s)",
    )
    ap.add_argument(
        "--warmup", type=float, default=None, help="warm-up seconds before each window (default 2)"
    )
    ap.add_argument(
        "--workers",
        default="1",
        help="uvicorn workers of the servers under test; a comma list such as 1,2 runs each (default 1)",
    )
    ap.add_argument(
        "--quick", action="store_true", help="a short run for smoke checks (2 s windows, 50 GETs)"
    )
    ap.add_argument(
        "--concurrency", type=int, default=16, help="concurrent users of the write scenarios (16)"
    )
    ap.add_argument("--insert-threads", type=int, default=4, help="threads of the raw INSERT baseline (4)")
    ap.add_argument("--events", type=int, default=1000, help="events in the episode the GET reads (1000)")
    ap.add_argument("--get-requests", type=int, default=None, help="measured GETs (default 500; quick 50)")
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
        "--no-idempotency", action="store_true", help="skip the POST with Idempotency-Key scenario"
    )
    ap.add_argument(
        "--profile",
        action="store_true",
        help="also profile POST and GET in-process (cProfile + stage timers) and report where time goes",
    )
    ap.add_argument(
        "--output", type=Path, default=None, help="JSON file (default bench/results/records-<ts>.json)"
    )
    args = ap.parse_args(argv)
    args.duration = args.duration if args.duration is not None else (2.0 if args.quick else 10.0)
    args.warmup = args.warmup if args.warmup is not None else (0.5 if args.quick else 2.0)
    args.get_requests = args.get_requests if args.get_requests is not None else (50 if args.quick else 500)
    args.get_warmup = 10 if args.quick else 50
    args.baseline_duration = max(1.0, args.duration / 2)
    try:
        args.worker_counts = [int(w) for w in str(args.workers).split(",") if w.strip()]
    except ValueError:
        ap.error("--workers takes a number or a comma list of numbers")
    if not args.worker_counts or min(args.worker_counts) < 1:
        ap.error("--workers must be at least 1")
    if args.concurrency < 1 or args.insert_threads < 1 or args.events < 2:
        ap.error("--concurrency and --insert-threads must be >= 1, --events >= 2")
    return args


# --- small helpers --------------------------------------------------------------------------------
def run_async(coro: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=loadgen.new_event_loop) as runner:
        return runner.run(coro)


def with_schema(dsn: str, schema: str) -> str:
    return f"{dsn}{'&' if '?' in dsn else '?'}schema={schema}"


def service_env(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment without any TOUCHSTONE_* setting of the caller's, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOUCHSTONE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return {**env, **extra}


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def version_of(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "?"


class DbCounters:
    """pg_stat_database counters of the benchmark's database, read on a connection of our own."""

    def __init__(self, dsn: str) -> None:
        self.conn = psycopg.connect(dsn, autocommit=True)
        self.pg_port = int(psycopg.conninfo.conninfo_to_dict(dsn).get("port") or 5432)

    def __call__(self) -> dict[str, int]:
        row = self.conn.execute(
            "SELECT xact_commit, xact_rollback, tup_inserted FROM pg_stat_database"
            " WHERE datname = current_database()"
        ).fetchone()
        assert row is not None
        return {"commits": int(row[0]), "rollbacks": int(row[1]), "rows_inserted": int(row[2])}

    def postgres_pids(self, server_pids: list[int]) -> list[int]:
        """The backends of the server's connections, and PostgreSQL's shared background processes."""
        ports = client_ports_to(self.pg_port, server_pids)
        rows = self.conn.execute("SELECT pid, backend_type, client_port FROM pg_stat_activity").fetchall()
        return [
            int(pid)
            for pid, kind, port in rows
            if (kind is not None and kind != "client backend") or (port is not None and int(port) in ports)
        ]

    def close(self) -> None:
        self.conn.close()


class ActivitySampler:
    """What the server's PostgreSQL backends are doing, sampled every ``interval`` seconds in a thread
    during a window: the average number of backends per (state, wait event). ``active`` +
    ``Lock:relation`` is waiting for a table lock; ``idle in transaction`` + ``Client:ClientRead`` is a
    transaction (maybe holding the events table's lock) waiting for the application's next statement."""

    def __init__(self, dsn: str, pg_port: int, server_pids: Callable[[], list[int]], interval: float = 0.05):
        self.dsn, self.pg_port, self.server_pids, self.interval = dsn, pg_port, server_pids, interval
        self.counts: Counter[str] = Counter()
        self.samples = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def on_window(self, edge: str) -> None:
        if edge == "start":
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        else:
            self._stop.set()

    def _run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            ports: list[int] = []
            refreshed = 0.0
            while not self._stop.is_set():
                if time.monotonic() - refreshed > 1.0:
                    ports = sorted(client_ports_to(self.pg_port, self.server_pids()))
                    refreshed = time.monotonic()
                rows = conn.execute(
                    "SELECT state, wait_event_type, wait_event, count(*) FROM pg_stat_activity"
                    " WHERE backend_type = 'client backend' AND client_port = ANY(%s) GROUP BY 1, 2, 3",
                    (ports,),
                ).fetchall()
                self.samples += 1
                for state, wtype, wevent, count in rows:
                    key = f"{state}" + (f" / {wtype}:{wevent}" if wtype else "")
                    self.counts[key] += int(count)
                self._stop.wait(self.interval)

    def result(self) -> dict[str, float]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        n = max(self.samples, 1)
        return {k: round(v / n, 2) for k, v in self.counts.most_common()}


async def balance(conns: list[Connection], server: Uvicorn, timeout: float = 20.0) -> dict[str, int]:
    """Spread keep-alive connections evenly over uvicorn's workers.

    Workers share one listening socket and the first to wake accepts a whole burst, so 16 connections opened
    at once often land on one worker. Connections on a worker holding more than its share are reopened until
    every worker holds its share (checked through /proc), or ``timeout`` passes (then the spread is reported).
    """
    workers = server.worker_pids()
    if server.workers <= 1 or not conns or any(c.local_port() is None for c in conns):
        return {str(w): len(conns) for w in workers[:1]} if server.workers <= 1 else {}
    share_hi = math.ceil(len(conns) / len(workers))
    share_lo = len(conns) // len(workers)
    deadline = time.monotonic() + timeout
    counts: Counter[int | None] = Counter()
    while time.monotonic() < deadline:
        workers = server.worker_pids()
        owners = socket_owner(server.port, [c.local_port() for c in conns], workers)
        counts = Counter(owners)
        if None in counts:  # not accepted yet
            await asyncio.sleep(0.05)
            continue
        if len(workers) >= server.workers and all(share_lo <= counts.get(w, 0) <= share_hi for w in workers):
            break
        busiest = max(workers, key=lambda w: counts.get(w, 0))
        i = owners.index(busiest)
        conns[i] = await conns[i].reopen()
        await asyncio.sleep(0.02)
    return {str(k): v for k, v in counts.items()}


# --- scenarios ------------------------------------------------------------------------------------
def summarize(result: LoadResult, baseline_rate: float | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": result.name,
        "concurrency": result.concurrency,
        "window_s": round(result.window, 3),
        "completed": result.completed,
        "rate_per_s": round(result.rate, 1),
        "latency_ms": {
            "p50": _r(ms(result.percentile(50))),
            "p90": _r(ms(result.percentile(90))),
            "p99": _r(ms(result.percentile(99))),
            "max": _r(ms(max(result.latencies) if result.latencies else None)),
            "mean": _r(ms(sum(result.latencies) / len(result.latencies)) if result.latencies else None),
            "samples": len(result.latencies),
        },
        "requests_total": result.total_requests,
        "succeeded_total": result.succeeded,
        "errors": dict(result.errors),
        "error_samples": result.error_samples,
        **result.extra,
    }
    if baseline_rate:
        out["share_of_raw_insert"] = round(result.rate / baseline_rate, 4)
    return out


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def insert_summary(result: InsertResult) -> dict[str, Any]:
    from bench.loadgen import percentile

    return {
        "name": f"raw INSERT, psycopg_pool, {result.threads} threads",
        "threads": result.threads,
        "window_s": result.window,
        "transactions": result.transactions,
        "rate_per_s": round(result.rate, 1),
        "latency_ms": {
            "p50": _r(ms(percentile(result.latencies, 50))),
            "p99": _r(ms(percentile(result.latencies, 99))),
            "samples": len(result.latencies),
        },
        "errors": result.errors,
    }


def bare_scenarios(args: argparse.Namespace, server: Uvicorn, baseline_rate: float) -> list[dict[str, Any]]:
    host = f"127.0.0.1:{server.port}"

    async def go() -> list[dict[str, Any]]:
        conns = await open_connections(args.client, "127.0.0.1", server.port, args.concurrency)
        spread = await balance(conns, server)
        out = []
        try:
            for path, label in (("/ping", "async def"), ("/ping-sync", "def")):
                req = Req.make("GET", path, host)
                probe = cpu_speed_probe()
                meter = CpuMeter(server.all_pids)
                name = f"bare FastAPI GET ({label}), {server.workers} worker(s)"
                result = await closed_loop(
                    name, conns, _always(req), args.warmup, args.baseline_duration, meter.sample
                )
                result.extra["cpu"] = meter.split(result.completed)
                result.extra["cpu_speed_probe_ms"] = probe
                result.extra["connections_per_worker"] = spread
                out.append(summarize(result, baseline_rate))
        finally:
            for c in conns:
                await c.close()
        return out

    return run_async(go())


def records_scenarios(
    args: argparse.Namespace, server: Uvicorn, keys: DevKeys, baseline_rate: float, dsn: str, run_id: str
) -> dict[str, Any]:
    host = f"127.0.0.1:{server.port}"
    counters = DbCounters(dsn)

    async def go() -> dict[str, Any]:
        out: dict[str, Any] = {"scenarios": []}
        seed_conn = await H1Connection.open("127.0.0.1", server.port)
        t0 = time.perf_counter()
        practice = await seed_practice(seed_conn, host, keys, args.concurrency, args.events)
        out["seed_seconds"] = round(time.perf_counter() - t0, 2)
        first = practice.clinicians[0]

        # GET of the long episode, one user
        get_conn = (await open_connections(args.client, "127.0.0.1", server.port, 1))[0]
        get_req = practice.get(f"/v1/episodes/{practice.read_episode}", first)
        probe = cpu_speed_probe()
        meter = CpuMeter(server.all_pids, postgres_pids=counters.postgres_pids, db=counters)
        result = await sequential(
            f"GET episode of {args.events} events, 1 user",
            get_conn,
            lambda n: get_req,
            args.get_warmup,
            args.get_requests,
        )
        # the sequential run has no window callback: sample around a second, measured pass
        meter.sample("start")
        again = await sequential("cpu pass", get_conn, lambda n: get_req, 0, max(20, args.get_requests // 5))
        meter.sample("end")
        result.extra["cpu"] = meter.split(again.completed)
        result.extra["cpu_speed_probe_ms"] = probe
        status, body = await get_conn.request(get_req, keep_body=True)
        if status != 200:
            raise SeedFailed(f"GET {get_req.path} answered {status}: {body[:300]!r}")
        result.extra["response_bytes"] = len(body)
        await get_conn.close()
        get_summary = summarize(result, baseline_rate)
        p99 = get_summary["latency_ms"]["p99"]
        get_summary["target"] = {
            "p99_ms_below": GET_P99_TARGET_MS,
            "met": p99 is not None and p99 < GET_P99_TARGET_MS,
        }
        out["scenarios"].append(get_summary)

        # the write scenarios share one set of connections
        conns = await open_connections(args.client, "127.0.0.1", server.port, args.concurrency)
        spread = await balance(conns, server)
        n = len(conns)
        own = [practice.hold_session(practice.episodes[i], clinician(i)) for i in range(n)]
        shared = [practice.hold_session(practice.shared_episode, clinician(i)) for i in range(n)]
        keys_seq = itertools.count()

        def idempotent(i: int) -> Req:
            key = f"bench-{run_id}-{next(keys_seq)}"
            return practice.hold_session(practice.episodes[i], clinician(i), extra={"Idempotency-Key": key})

        # (name, request maker, which episodes, users, share of --duration, has a target); the shared-episode
        # run comes after the others, and is followed by a shorter run on separate episodes again, because
        # conflicts on one episode can leave damage behind on pooled connections (see README)
        plans: list[tuple[str, Callable[[int], Req], str, int, float, bool]] = [
            ("POST sessions, 1 user (latency without contention)", lambda i: own[i], "own", 1, 1.0, False),
            (f"POST sessions, {n} users on {n} episodes", lambda i: own[i], "own", n, 1.0, True),
        ]
        if not args.no_idempotency:
            plans.append(
                (
                    f"POST sessions + Idempotency-Key, {n} users on {n} episodes",
                    idempotent,
                    "own",
                    n,
                    1.0,
                    True,
                )
            )
        plans += [
            (f"POST sessions, {n} users on 1 shared episode", lambda i: shared[i], "shared", n, 1.0, True),
            (
                f"POST sessions, {n} on {n} episodes, after the shared run",
                lambda i: own[i],
                "own",
                n,
                0.5,
                False,
            ),
        ]
        versions_before = await _versions(seed_conn, practice)
        try:
            for name, make, which, users, share, has_target in plans:
                probe = cpu_speed_probe()
                meter = CpuMeter(server.all_pids, postgres_pids=counters.postgres_pids, db=counters)
                activity = ActivitySampler(args.dsn, counters.pg_port, server.all_pids)

                def edges(edge: str, meter: CpuMeter = meter, activity: ActivitySampler = activity) -> None:
                    meter.sample(edge)
                    activity.on_window(edge)

                using = conns if users == len(conns) else conns[:users]
                window = max(1.0, args.duration * share)
                result = await closed_loop(name, using, make, args.warmup, window, edges)
                result.extra["pg_backends_avg"] = activity.result()
                result.extra["cpu_speed_probe_ms"] = probe
                conns[:users] = using  # connections replaced after an error
                result.extra["cpu"] = meter.split(result.completed)
                result.extra["connections_per_worker"] = spread
                versions_after = await _versions(seed_conn, practice)
                result.extra["lost_events"] = _lost(which, versions_before, versions_after, result.succeeded)
                versions_before = versions_after
                summary = summarize(result, baseline_rate)
                if has_target:
                    summary["target"] = {
                        "share_of_raw_insert_at_least": WRITE_TARGET,
                        "met": summary.get("share_of_raw_insert", 0) >= WRITE_TARGET,
                    }
                out["scenarios"].append(summary)
        finally:
            for c in conns:
                await c.close()
            await seed_conn.close()
        return out

    async def _versions(conn: Connection, practice: Any) -> dict[str, int]:
        found = {}
        for episode_id, sub in [
            *zip(practice.episodes, practice.clinicians, strict=True),
            (practice.shared_episode, first_of(practice)),
        ]:
            found[episode_id] = (await call(conn, practice.get(f"/v1/episodes/{episode_id}", sub)))["version"]
        found["shared"] = found[practice.shared_episode]
        found["own"] = sum(found[e] for e in practice.episodes)
        return found

    try:
        return run_async(go())
    finally:
        counters.close()


def _always(req: Req) -> Callable[[int], Req]:
    return lambda i: req


def first_of(practice: Any) -> str:
    return str(practice.clinicians[0])


def _lost(which: str, before: dict[str, int], after: dict[str, int], succeeded: int) -> int:
    """201s the clients saw minus events the episodes gained: must be 0 (no write may be lost)."""
    return succeeded - (after[which] - before[which])


# --- the run --------------------------------------------------------------------------------------
def check_database(dsn: str) -> str:
    try:
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            return str(row[0]) if row else "?"
    except psycopg.Error as exc:
        raise BenchFailed(f"cannot reach PostgreSQL at {dsn}: {exc}") from None


def drop_schemas(dsn: str, schemas: list[str]) -> list[str]:
    dropped = []
    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        for schema in schemas:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
            dropped.append(schema)
    return dropped


def git_describe() -> dict[str, Any]:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=5
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=5,
        )
        changed = [line[3:] for line in dirty.stdout.splitlines() if line.strip()]
        return {"commit": head.stdout.strip() or None, "dirty": bool(changed), "modified_files": changed}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


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
            "events": args.events,
            "get_requests": args.get_requests,
            "client": args.client,
            "event_loop": loadgen.loop_name(),
            "workers": args.worker_counts,
            "quick": args.quick,
            "uvicorn": "--log-level warning --no-access-log (uvloop + httptools when installed)",
        },
        "targets": {"write_share_of_raw_insert": WRITE_TARGET, "get_p99_ms": GET_P99_TARGET_MS},
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
        if report["background_cores_before"] > QUIET_CORES:
            _say(
                f"WARNING: {report['background_cores_before']:.2f} cores were busy before the run started"
                " (other work on this machine): figures will be low and noisy"
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
        keys = DevKeys(tmp / "var")
        jwks = keys.ensure().jwks
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
                _say(f"  {s['name']}: {s['rate_per_s']:,.0f} req/s")
            schema = f"{base_schema}_w{workers}"
            schemas.append(schema)
            env = service_env(
                {
                    "TOUCHSTONE_ENV": "development",
                    "TOUCHSTONE_RECORDS_DATABASE_URL": with_schema(args.dsn, schema),
                    "TOUCHSTONE_VAR_DIR": str(tmp / "var"),
                    "TOUCHSTONE_JWKS": str(jwks),
                    "TOUCHSTONE_LOG_LEVEL": "WARNING",
                    # explicit, so that several workers never each create a different development master key
                    "TOUCHSTONE_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
                }
            )
            _say(f"records service, {workers} worker(s), schema {schema}: seeding and measuring ...")
            records = Uvicorn(RECORDS_FACTORY, env, workers, tmp / f"records-w{workers}.log", ROOT)
            servers.append(records)
            records.start()
            records.wait_ready()
            try:
                run["records"] = records_scenarios(args, records, keys, baseline, args.dsn, run_id)
            finally:
                records.stop()
            run["worker_restarts"] = {"bare": bare.worker_restarts(), "records": records.worker_restarts()}
            warnings = [
                line
                for line in records.log_tail(400).splitlines()
                if "[warning" in line or "[error" in line or "Traceback" in line
            ]
            if warnings:
                run["records_log_warnings"] = warnings[-30:]
        if args.profile:
            from bench import profile

            _say("in-process profile of POST and GET ...")
            schema = f"{base_schema}_profile"
            schemas.append(schema)
            report["profile"] = profile.run(
                with_schema(args.dsn, schema),
                tmp / "profile",
                args.events,
                output_dir=RESULTS_DIR,
                stamp=started.strftime("%Y%m%dT%H%M%SZ"),
            )
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
    output = args.output or RESULTS_DIR / f"records-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"\nJSON: {output}")
    return code


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def count_errors(report: dict[str, Any]) -> int:
    total = 0
    for run in report.get("runs", []):
        for s in [*run.get("bare", []), *run.get("records", {}).get("scenarios", [])]:
            total += sum(s.get("errors", {}).values()) + max(s.get("lost_events", 0) or 0, 0)
        total += sum(len(lines) for lines in run.get("worker_restarts", {}).values())
    return total


# --- the table ------------------------------------------------------------------------------------
def _f(value: float | None, fmt: str = "{:,.0f}") -> str:
    return "-" if value is None else fmt.format(value)


def render_table(report: dict[str, Any]) -> str:
    raw = report["raw_insert"]
    base = raw["rate_per_s"]
    s = report["settings"]
    lines = [
        "",
        f"Touchstone records benchmark — {report['started_at']} — {report['machine']['cpus']} CPUs, "
        f"PostgreSQL {report.get('postgres', '?')}, Python {report['machine']['python']}",
        f"load generator: {s['client']} on {s['event_loop']}, same process, same 2 cores as the server "
        f"(it competes for CPU); windows {s['duration_s']:g} s (baselines {s['baseline_duration_s']:g} s) "
        f"after {s['warmup_s']:g} s warm-up",
        "",
        f"background load before the run: {report.get('background_cores_before', math.nan):.2f} cores busy"
        " (other people's work on this machine; 'other' below is the same during each window)",
        "CPU speed probe (ms of a fixed Python loop, lower is faster; a drift means the host slowed down): "
        + ", ".join(f"{k} {v}" for k, v in report.get("cpu_speed_probe_ms", {}).items()),
        "",
        f"{'what':58} {'rate/s':>9} {'% raw':>7} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}  "
        f"{'CPU ms/req srv|gen|pg':>22} {'cores(other)':>12} {'probe':>6}  target",
        "-" * 158,
        f"{raw['name']:58} {_f(raw['rate_per_s']):>9} {'100.0%':>7} "
        f"{_f(raw['latency_ms']['p50'], '{:.2f}'):>8} {_f(raw['latency_ms']['p99'], '{:.2f}'):>8} "
        f"{sum(raw['errors'].values()):>6}",
    ]
    for run in report.get("runs", []):
        rows = [*run.get("bare", []), *run.get("records", {}).get("scenarios", [])]
        lines.append(f"-- uvicorn --workers {run['workers']} " + "-" * 135)
        for row in rows:
            lines.append(_row(row))
        seed = run.get("records", {}).get("seed_seconds")
        if seed is not None:
            lines.append(f"   (seeding took {seed} s)")
    lines.append("-" * 158)
    lines += _verdicts(report, base)
    problems = _problems(report)
    if problems:
        lines += ["", "ERRORS:", *problems]
    if "profile" in report:
        lines += ["", *report["profile"].get("summary_lines", [])]
    return "\n".join(lines)


def _row(row: dict[str, Any]) -> str:
    lat = row["latency_ms"]
    cpu = row.get("cpu") or {}
    cpu_text = (
        f"{cpu['server_ms_per_req']:.2f}|{cpu['bench_ms_per_req']:.2f}|{cpu['postgres_ms_per_req']:.2f}"
        if cpu
        else "-"
    )
    cores = f"{cpu['machine_cores']:.2f}({cpu['other_cores']:.2f})" if cpu else "-"
    share = row.get("share_of_raw_insert")
    target = row.get("target")
    verdict = ""
    if target:
        verdict = ("PASS" if target["met"] else "MISS") + (
            f" (>= {target['share_of_raw_insert_at_least']:.0%})"
            if "share_of_raw_insert_at_least" in target
            else f" (p99 < {target['p99_ms_below']:g} ms)"
        )
    if cpu and cpu["other_cores"] > QUIET_CORES:
        verdict += " NOISY"
    errors = sum(row.get("errors", {}).values())
    lost = row.get("lost_events")
    if lost:  # > 0: acknowledged but missing; < 0: stored although the client got an error
        verdict += f" LOST {lost}" if lost > 0 else f" STORED-ON-ERROR {-lost}"
    share_text = _f(None if share is None else 100 * share, "{:.1f}%")
    return (
        f"{row['name'][:58]:58} {_f(row['rate_per_s']):>9} {share_text:>7} "
        f"{_f(lat['p50'], '{:.2f}'):>8} {_f(lat['p99'], '{:.2f}'):>8} {errors:>6}  "
        f"{cpu_text:>22} {cores:>12} {_f(row.get('cpu_speed_probe_ms'), '{:.1f}'):>6}  {verdict}"
    )


def _verdicts(report: dict[str, Any], base: float) -> list[str]:
    out = [
        f"raw INSERT baseline: {base:,.0f} tx/s. Targets: writes >= {WRITE_TARGET:.0%} of it "
        f"(>= {WRITE_TARGET * base:,.0f} req/s); GET of a {report['settings']['events']:,}-event episode "
        f"p99 < {GET_P99_TARGET_MS:g} ms."
    ]
    for run in report.get("runs", []):
        bare = {("async" if "async" in b["name"] else "sync"): b for b in run.get("bare", [])}
        ceiling = bare.get("async", {}).get("rate_per_s")
        for row in run.get("records", {}).get("scenarios", []):
            rate = row["rate_per_s"]
            share = row.get("share_of_raw_insert", 0)
            beside = f"; bare FastAPI async def: {ceiling:,.0f} req/s" if ceiling else ""
            if row["name"].startswith("GET"):
                out.append(
                    f"  w{run['workers']} {row['name']}: p50 {row['latency_ms']['p50']:.2f} ms, "
                    f"p99 {row['latency_ms']['p99']:.2f} ms ({'PASS' if row['target']['met'] else 'MISS'}); "
                    f"{rate:,.0f} req/s = {100 * share:.1f}% of raw insert{beside}"
                )
            elif "target" in row:
                out.append(
                    f"  w{run['workers']} {row['name']}: {rate:,.0f} req/s = {100 * share:.1f}% of raw "
                    f"insert ({'PASS' if row['target']['met'] else 'MISS'}){beside}"
                )
            activity = row.get("pg_backends_avg")
            if activity:
                top = ", ".join(f"{v:g} {k}" for k, v in list(activity.items())[:4])
                label = "its" if "target" in row else f"{row['name']}:"
                out.append(f"      {label} PostgreSQL backends on average: {top}")
    return out


def _problems(report: dict[str, Any]) -> list[str]:
    out = []
    for run in report.get("runs", []):
        for row in [*run.get("bare", []), *run.get("records", {}).get("scenarios", [])]:
            if row.get("errors"):
                out.append(f"  w{run['workers']} {row['name']}: {row['errors']}")
                out += [f"      {sample}" for sample in row.get("error_samples", [])]
            lost = row.get("lost_events") or 0
            if lost > 0:
                out.append(f"  w{run['workers']} {row['name']}: {lost} acknowledged writes missing")
            elif lost < 0:
                out.append(
                    f"  w{run['workers']} {row['name']}: {-lost} events stored for requests that got an error"
                )
        for kind, lines in run.get("worker_restarts", {}).items():
            for line in lines:
                out.append(f"  w{run['workers']} {kind}: uvicorn restarted a worker: {line.strip()[:160]}")
    if report.get("failure"):
        out.append(f"  run failed: {report['failure']}")
    return out


if __name__ == "__main__":
    sys.exit(main())
