"""``python -m bench.access_log``: the access log under load on PostgreSQL, and how fast an export verifies,
beside baselines measured in the same run.

What it does, in order (bench/README.md says how to read the figures):

1. **bare insert** (``bench.baseline:create_insert_app``): an ``async def`` FastAPI endpoint that parses a
   JSON body and inserts one row per request through psycopg's ``AsyncConnectionPool``, one client, then
   ``--concurrency`` clients (req/s, p50/p99): an append without Touchstone in the way. It runs first and
   again last; the run with less other work on the machine is the baseline (both are in the table);
2. **the consent service** (``services.consent.api.app:create_app``, group commit) on a fresh schema:
   ``POST /v1/decisions`` as a care-team clinician (a permit, an access-log entry each), one client, then
   ``--concurrency`` clients: decisions/s, log appends/s (the log's growth inside the window, read from its
   sequencer row), p50/p99; then every 2xx answer's decision id is looked up in the log, whose seq must run
   0..n-1 without a gap; then the log is exported through the auditor's API (``touchstone audit export``'s
   code) once a signed checkpoint covers it;
3. **the one-commit variant** (``bench.stubs:create_consent_one_commit``): the same service whose saves each
   commit alone (the library's path, no group commit), same scenarios and log check, on its own schema;
4. **verify**: ``services.tlog.verify.verify_export`` over the exported file, and over a synthetic log of
   ``--synthetic`` entries shaped like the exported ones (checkpoints every ``--checkpoint-every``), median of
   ``--verify-runs``; and ``touchstone audit verify`` on the synthetic log as a process (start-up included);
5. the bare insert again; the table, the targets and where the time went; everything as JSON in
   bench/results/access-log-<ts>.json.

Targets (printed, never asserted): appends/s at ``--concurrency`` clients >= half the bare insert's req/s and
>= 2x the one-commit variant's; decision p99 at ``--concurrency`` clients <= 2x the bare insert's p99; verify
>= 100,000 entries/s. Everything it creates (processes, schemas, a temporary directory) is removed at the end.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import itertools
import json
import os
import platform
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from psycopg import sql

from bench import loadgen
from bench.baseline import INSERT_DSN, INSERT_POOL, INSERT_TABLE, create_table
from bench.consent import Meter, many_clients, one_client
from bench.loadgen import LoadResult, Req, open_connections
from bench.procs import ServerFailed, Uvicorn, background_cores, cpu_speed_probe
from bench.records import (
    BenchFailed,
    DbCounters,
    check_database,
    drop_schemas,
    git_describe,
    run_async,
    service_env,
    summarize,
    version_of,
    with_schema,
)
from bench.seed import TENANT, Practice
from services.cli import audit
from services.identity.dev import DevKeys
from services.tlog.canonical import canonical
from services.tlog.merkle import CompactRange, leaf_hash
from services.tlog.note import Checkpoint, Signer, Verifier, sign_checkpoint
from services.tlog.verify import verify_export

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
INSERT_FACTORY = "bench.baseline:create_insert_app"
CONSENT_FACTORY = "services.consent.api.app:create_app"
ONE_COMMIT_FACTORY = "bench.stubs:create_consent_one_commit"
CLINICIAN = "dr-bench-log"
AUDITOR = "bench-auditor"
QUIET_CORES = 0.25
APPEND_SHARE_OF_BARE = 0.5  # appends/s >= this share of the bare insert's req/s
APPEND_OVER_ONE_COMMIT = 2.0  # appends/s >= this multiple of the one-commit variant's
P99_OVER_BARE = 2.0  # decision p99 <= this multiple of the bare insert's p99 (same concurrency)
VERIFY_PER_S = 100_000
GROUP, ONE_COMMIT, BARE = "consent, group commit", "consent, one commit per save", "bare async insert"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m bench.access_log",
        description="Measure access-log appends (consent decisions), their latency and offline verification "
        "on PostgreSQL, beside a bare async insert endpoint and a one-commit-per-decision consent service.",
    )
    ap.add_argument("--quick", action="store_true", help="2 s windows, 50 requests, a 50,000-entry log")
    ap.add_argument("--duration", type=float, default=None, help="measured seconds of each window (10)")
    ap.add_argument("--warmup", type=float, default=None, help="warm-up seconds before each window (2)")
    ap.add_argument("--concurrency", type=int, default=32, help="concurrent clients (32)")
    ap.add_argument("--requests", type=int, default=None, help="measured one-client requests (500)")
    ap.add_argument("--synthetic", type=int, default=None, help="entries of the synthetic log (300,000)")
    ap.add_argument(
        "--checkpoint-every", type=int, default=1000, help="synthetic log: a checkpoint every N entries"
    )
    ap.add_argument("--verify-runs", type=int, default=None, help="verify runs, the median counts (3)")
    ap.add_argument("--insert-pool", type=int, default=10, help="connections of the bare insert app (10)")
    ap.add_argument("--client", choices=["h1", "httpx"], default="h1", help="load generator connections")
    ap.add_argument(
        "--dsn",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DSN),
        help="PostgreSQL; scratch schemas bench_<random>* are made, then dropped (BENCH_DATABASE_URL)",
    )
    ap.add_argument(
        "--wait-quiet", type=float, default=0.0, metavar="SECONDS", help="wait for a quiet machine"
    )
    ap.add_argument(
        "--output", type=Path, default=None, help="JSON file (bench/results/access-log-<ts>.json)"
    )
    args = ap.parse_args(argv)
    quick = args.quick
    args.duration = args.duration if args.duration is not None else (2.0 if quick else 10.0)
    args.warmup = args.warmup if args.warmup is not None else (0.5 if quick else 2.0)
    args.requests = args.requests if args.requests is not None else (50 if quick else 500)
    args.synthetic = args.synthetic if args.synthetic is not None else (50_000 if quick else 300_000)
    args.verify_runs = args.verify_runs if args.verify_runs is not None else (1 if quick else 3)
    args.seq_warmup = 10 if quick else 50
    if min(args.concurrency, args.requests, args.synthetic, args.checkpoint_every, args.verify_runs) < 1:
        ap.error("--concurrency, --requests, --synthetic, --checkpoint-every, --verify-runs must be >= 1")
    return args


# --- load -----------------------------------------------------------------------------------------
class Acks:
    """A check of every 2xx decision: it must be a permit; its decision id is kept, to find it in the log."""

    def __init__(self) -> None:
        self.ids: set[str] = set()

    def __call__(self, body: bytes) -> str | None:
        at = body.find(b'"decision_id":"')
        if at < 0 or b'"decision":"permit"' not in body:
            return "not a permit with a decision_id"
        self.ids.add(body[at + 15 : at + 51].decode())
        return None


class AppendMeter(Meter):
    """Meter, plus the log's size (its sequencer row) at the window's edges: appends inside the window."""

    def __init__(self, heads: Callable[[], int], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.heads = heads
        self.sizes: dict[str, int] = {}

    def edge(self, edge: str) -> None:
        self.sizes[edge] = self.heads()
        super().edge(edge)

    def finish(self, result: LoadResult) -> None:
        super().finish(result)
        grown = self.sizes.get("end", 0) - self.sizes.get("start", 0)
        result.extra["appends_in_window"] = grown
        result.extra["appends_per_s"] = round(grown / result.window, 1) if result.window else None


def decision_reqs(practice: Practice, count: int = 64) -> list[Req]:
    """The clinician on the care team reads an episode of one of ``count`` clients: a permit each."""
    return [
        practice.post(
            "/v1/decisions",
            CLINICIAN,
            {
                "client_id": str(uuid.uuid4()),
                "action": "read",
                "resource": {"type": "episode", "id": str(uuid.uuid4())},
                "facts": {"care_team": [CLINICIAN]},
            },
        )
        for _ in range(count)
    ]


def insert_scenarios(args: argparse.Namespace, server: Uvicorn, when: str) -> list[dict[str, Any]]:
    host = f"127.0.0.1:{server.port}"
    body = json.dumps({"client_id": str(uuid.uuid4()), "action": "read", "resource": {"type": "episode"}})
    req = Req.make("POST", "/append", host, {"Content-Type": "application/json"}, body.encode())
    counters = DbCounters(args.dsn)

    async def go() -> list[dict[str, Any]]:
        single = (await open_connections(args.client, "127.0.0.1", server.port, 1))[0]
        conns = await open_connections(args.client, "127.0.0.1", server.port, args.concurrency)
        try:
            meter = Meter(server.all_pids, None, counters, args.dsn, activity=False)
            one = await one_client(f"{BARE} ({when}), 1 client", single, lambda n: req, args, meter)
            meter = Meter(server.all_pids, None, counters, args.dsn, activity=True)
            name = f"{BARE} ({when}), {len(conns)} clients"
            many = await many_clients(name, conns, lambda i: req, args, meter)
            return [summarize(one), summarize(many)]
        finally:
            for c in [single, *conns]:
                await c.close()

    try:
        return run_async(go())
    finally:
        counters.close()


def decision_scenarios(
    args: argparse.Namespace, server: Uvicorn, keys: DevKeys, schema: str, label: str
) -> dict[str, Any]:
    host = f"127.0.0.1:{server.port}"
    counters = DbCounters(args.dsn)
    size_query = sql.SQL("SELECT size FROM {} WHERE tenant = %s").format(
        sql.Identifier(schema, "consent_log_heads")
    )

    def heads() -> int:
        row = counters.conn.execute(size_query, (TENANT,)).fetchone()
        return int(row[0]) if row else 0

    async def go() -> dict[str, Any]:
        reqs = decision_reqs(Practice(host, keys))
        turn = itertools.count()
        acks = Acks()
        single = (await open_connections(args.client, "127.0.0.1", server.port, 1))[0]
        conns = await open_connections(args.client, "127.0.0.1", server.port, args.concurrency)
        try:
            meter = Meter(server.all_pids, None, counters, args.dsn, activity=False)
            name = f"{label}: POST /v1/decisions, 1 client"
            one = await one_client(name, single, lambda n: reqs[n % len(reqs)], args, meter, acks)
            meter = AppendMeter(heads, server.all_pids, None, counters, args.dsn, activity=True)
            name = f"{label}: POST /v1/decisions, {len(conns)} clients"
            make = lambda i: reqs[next(turn) % len(reqs)]  # noqa: E731
            many = await many_clients(name, conns, make, args, meter, acks)
        finally:
            for c in [single, *conns]:
                await c.close()
        return {"scenarios": [summarize(one), summarize(many)], "log": log_check(counters.conn, schema, acks)}

    try:
        return run_async(go())
    finally:
        counters.close()


def log_check(conn: psycopg.Connection[Any], schema: str, acks: Acks) -> dict[str, Any]:
    """Every acknowledged decision is in the log, whose seq runs 0..n-1 without a gap."""
    rows = conn.execute(
        sql.SQL("SELECT seq, decision_id FROM {} WHERE tenant = %s ORDER BY seq").format(
            sql.Identifier(schema, "consent_access_log")
        ),
        (TENANT,),
    ).fetchall()
    head = conn.execute(
        sql.SQL("SELECT size FROM {} WHERE tenant = %s").format(sql.Identifier(schema, "consent_log_heads")),
        (TENANT,),
    ).fetchone()
    logged = {str(decision) for _, decision in rows}
    gaps = sum(1 for n, (seq, _) in enumerate(rows) if seq != n)
    missing = acks.ids - logged
    return {
        "entries": len(rows),
        "sequencer_size": int(head[0]) if head else 0,
        "seq_out_of_place": gaps,
        "acknowledged": len(acks.ids),
        "acknowledged_missing": len(missing),
        "logged_without_a_2xx": len(logged - acks.ids),
        "ok": not missing and gaps == 0 and head is not None and int(head[0]) == len(rows),
    }


# --- export and verify ----------------------------------------------------------------------------
def export_log(base_url: str, token: str, at_least: int, target: Path) -> dict[str, Any]:
    """Once a signed checkpoint covers ``at_least`` entries: the export, as `touchstone audit export` does."""
    files = audit.ExportFiles.beside(target)
    deadline = time.monotonic() + 30
    with audit.consent_client(base_url, token) as client:
        while True:
            answer = client.get("/v1/access-log/checkpoint")  # each poll is an entry of the log too
            if answer.status_code == 200 and int(answer.text.split("\n")[1]) >= at_least:
                break
            if time.monotonic() > deadline:
                raise BenchFailed(
                    f"no checkpoint covering {at_least} entries after 30 s: {answer.text[:200]}"
                )
            time.sleep(0.5)
        t0 = time.perf_counter()
        done = audit.export_log(client, files)
        seconds = time.perf_counter() - t0
    return {
        "entries": done.entries,
        "bytes": done.size_bytes,
        "bytes_per_entry": round(done.size_bytes / max(done.entries, 1), 1),
        "checkpoints": done.checkpoints,
        "export_seconds": round(seconds, 3),
        "export_entries_per_s": round(done.entries / seconds, 1) if seconds else None,
        "files": files,
    }


def time_verify(path: Path, verifiers: list[Verifier], notes: list[str], runs: int) -> dict[str, Any]:
    """verify_export streaming the file, ``runs`` times; the median counts."""
    seconds, report = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        with path.open("rb") as lines:
            report = verify_export(lines, verifiers, notes)
        seconds.append(time.perf_counter() - t0)
    assert report is not None
    median = statistics.median(seconds)
    return {
        "entries": report.entries,
        "checkpoints": len(notes),
        "checkpoints_checked": report.checkpoints_checked,
        "ok": report.ok,
        "problem": report.problem,
        "bytes": path.stat().st_size,
        "seconds": [round(s, 3) for s in seconds],
        "entries_per_s": round(report.entries / median, 1) if median else None,
    }


def synthetic_log(template: dict[str, Any], size: int, every: int, target: Path) -> tuple[list[str], Signer]:
    """``size`` entries like ``template`` (fresh ids, times, seq), a signed checkpoint every ``every``.

    Written with orjson's sorted compact output, which is RFC 8785 for these ASCII, float-free entries (the
    first lines are compared with the reference here, and verify_export checks every line anyway).
    """
    rng = random.Random(1)
    signer = Signer("bench.synthetic/access-log", Ed25519PrivateKey.generate())
    origin, tree, notes = f"bench.synthetic/access-log/{template['tenant']}", CompactRange(), []
    with target.open("wb") as out:
        for seq in range(size):
            entry = {
                **template,
                "seq": seq,
                "decision_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "client_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "request_id": f"{rng.getrandbits(64):016x}",
                "time": f"2026-06-01T{seq // 3600 % 24:02d}:{seq // 60 % 60:02d}:{seq % 60:02d}.000000Z",
            }
            line = orjson.dumps(entry, option=orjson.OPT_SORT_KEYS)
            if seq < 10 and line != canonical(entry):
                raise BenchFailed("orjson's sorted output is not RFC 8785 for this entry shape")
            out.write(line + b"\n")
            tree.append(leaf_hash(line))
            if (seq + 1) % every == 0 or seq + 1 == size:
                notes.append(sign_checkpoint(Checkpoint(origin, seq + 1, tree.root()), signer))
    return notes, signer


def verify_cli(path: Path, signer: Signer, notes: list[str]) -> dict[str, Any]:
    """``touchstone audit verify`` as a process, start-up included (the way an auditor runs it)."""
    keys, checkpoints = Path(f"{path}.keys"), Path(f"{path}.checkpoints")
    keys.write_text(signer.vkey() + "\n")
    checkpoints.write_text(json.dumps(notes))
    command = Path(sys.executable).with_name("touchstone")
    t0 = time.perf_counter()
    done = subprocess.run(
        [str(command), "audit", "verify", str(path), "--keys-file", str(keys)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    seconds = time.perf_counter() - t0
    entries = sum(1 for _ in path.open("rb"))
    return {
        "exit_code": done.returncode,
        "verdict": done.stdout.splitlines()[0] if done.stdout else done.stderr[-300:],
        "entries": entries,
        "seconds": round(seconds, 3),
        "entries_per_s": round(entries / seconds, 1),
    }


def verify_scenarios(args: argparse.Namespace, exported: dict[str, Any], tmp: Path) -> dict[str, Any]:
    files: audit.ExportFiles = exported.pop("files")
    anchors = audit.load_anchors([], files.keys, files.checkpoints, None, None)
    runs = args.verify_runs
    out: dict[str, Any] = {
        "exported": time_verify(files.entries, anchors.verifiers, anchors.checkpoints, runs)
    }
    _say(f"  exported log: {out['exported']['entries_per_s']:,.0f} entries/s")
    template = json.loads(files.entries.open("rb").readline())
    synthetic = tmp / "synthetic.ndjson"
    t0 = time.perf_counter()
    notes, signer = synthetic_log(template, args.synthetic, args.checkpoint_every, synthetic)
    out["synthetic_build_seconds"] = round(time.perf_counter() - t0, 2)
    out["synthetic"] = time_verify(synthetic, [signer.verifier()], notes, args.verify_runs)
    _say(f"  synthetic log: {out['synthetic']['entries_per_s']:,.0f} entries/s")
    out["cli"] = verify_cli(synthetic, signer, notes)
    _say(f"  touchstone audit verify: {out['cli']['entries_per_s']:,.0f} entries/s, {out['cli']['verdict']}")
    return out


# --- the run --------------------------------------------------------------------------------------
def start(factory: str, env: dict[str, str], log: Path, servers: list[Uvicorn]) -> Uvicorn:
    server = Uvicorn(factory, service_env(env), 1, log, ROOT)
    servers.append(server)
    server.start()
    server.wait_ready()
    return server


def wait_quiet(args: argparse.Namespace, report: dict[str, Any], phase: str) -> None:
    """Before each phase: up to ``--wait-quiet`` seconds for other work on the machine to stop."""
    deadline = time.monotonic() + args.wait_quiet
    busy = background_cores(2.0)
    while busy > QUIET_CORES and time.monotonic() < deadline:
        _say(f"waiting for a quiet machine: {busy:.2f} cores busy")
        busy = background_cores(5.0)
    report["background_cores"][phase] = round(busy, 3)
    if busy > QUIET_CORES:
        _say(f"WARNING: {busy:.2f} cores busy with other work before {phase}: figures will be low and noisy")


def bare_phase(args: argparse.Namespace, tmp: Path, table: str, when: str, servers: list[Uvicorn]) -> Any:
    _say(f"bare async insert app (pool {args.insert_pool}) on {table}, {when} ...")
    env = {INSERT_DSN: args.dsn, INSERT_TABLE: table, INSERT_POOL: str(args.insert_pool)}
    bare = start(INSERT_FACTORY, env, tmp / f"insert-{when}.log", servers)
    try:
        rows = insert_scenarios(args, bare, when)
    finally:
        bare.stop()
    _progress(rows)
    return rows


def measure(
    args: argparse.Namespace, tmp: Path, schema: str, report: dict[str, Any], servers: list[Uvicorn]
) -> None:
    """The bare insert first and last (the quieter of the two is the baseline), the services between."""
    table = create_table(args.dsn, schema, "bare_log")
    wait_quiet(args, report, "bare insert, first")
    report["bare_insert"] = bare_phase(args, tmp, table, "first", servers)
    keys = DevKeys(tmp / "var")
    common = {
        "TOUCHSTONE_ENV": "development",
        "TOUCHSTONE_VAR_DIR": str(tmp / "var"),
        "TOUCHSTONE_JWKS": str(keys.ensure().jwks),
        "TOUCHSTONE_LOG_LEVEL": "WARNING",
        "TOUCHSTONE_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    for part, factory, label in (
        ("group", CONSENT_FACTORY, GROUP),
        ("one_commit", ONE_COMMIT_FACTORY, ONE_COMMIT),
    ):
        wait_quiet(args, report, part)
        service_schema = f"{schema}_{part}"
        report["schemas"].append(service_schema)
        _say(f"{label}, schema {service_schema} ...")
        env = {**common, "TOUCHSTONE_CONSENT_DATABASE_URL": with_schema(args.dsn, service_schema)}
        consent = start(factory, env, tmp / f"consent-{part}.log", servers)
        try:
            report[part] = decision_scenarios(args, consent, keys, service_schema, label)
            _progress(report[part]["scenarios"])
            if part == "group":
                _say("export through the auditor's API, once a checkpoint covers the decisions ...")
                token = keys.mint("auditor", TENANT, AUDITOR, ttl_seconds=3600)
                entries = report[part]["log"]["entries"]
                exported = export_log(consent.base_url, token, entries, tmp / "exported.ndjson")
                report["export"] = {k: v for k, v in exported.items() if k != "files"}
        finally:
            consent.stop()
        report[part]["log_warnings"] = _log_warnings(consent)
        if part == "group":
            wait_quiet(args, report, "verify")
            _say("verify ...")
            report["verify"] = verify_scenarios(args, exported, tmp)
    wait_quiet(args, report, "bare insert, last")
    report["bare_insert_last"] = bare_phase(args, tmp, table, "last", servers)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    schema = f"bench_{secrets.token_hex(4)}"
    tmp = Path(tempfile.mkdtemp(prefix="touchstone-bench-log-"))
    servers: list[Uvicorn] = []
    started = datetime.now(UTC)
    report: dict[str, Any] = {
        "benchmark": "access_log",
        "started_at": started.isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "versions": {
            p: version_of(p) for p in ("fastapi", "uvicorn", "eventsourcing", "psycopg", "psycopg-pool")
        },
        "git": git_describe(),
        "settings": {
            **{k: v for k, v in vars(args).items() if k not in ("output", "dsn")},
            "event_loop": loadgen.loop_name(),
            "uvicorn": "1 worker, --log-level info --no-access-log",
        },
        "schemas": [schema],
        "background_cores": {},
    }
    code = 0
    try:
        report["postgres"] = check_database(args.dsn)
        _say(f"PostgreSQL {report['postgres']}; scratch schemas {schema}*; temp {tmp}")
        report["cpu_speed_probe_ms"] = {"start": cpu_speed_probe()}
        measure(args, tmp, schema, report, servers)
    except (BenchFailed, ServerFailed) as exc:
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
        code = 130
    finally:
        for server in servers:
            with contextlib.suppress(Exception):
                server.stop()
        if code != 0:
            for server in servers:
                report.setdefault("server_logs", {})[server.log_path.name] = server.log_tail(30)
        try:
            drop_schemas(args.dsn, report["schemas"])
        except psycopg.Error as exc:
            print(f"could not drop schemas {report['schemas']}: {exc}", file=sys.stderr)
        shutil.rmtree(tmp, ignore_errors=True)
    report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    report.setdefault("cpu_speed_probe_ms", {})["end"] = cpu_speed_probe()
    print(render(report))
    if code == 0 and problems(report):
        code = 1
    output = args.output or RESULTS_DIR / f"access-log-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"\nJSON: {output}")
    return code


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _progress(rows: list[dict[str, Any]]) -> None:
    for s in rows:
        lat = s["latency_ms"]
        _say(f"  {s['name']}: {s['rate_per_s']:,.0f} req/s, p50 {lat['p50']} ms, p99 {lat['p99']} ms")


def _log_warnings(server: Uvicorn) -> list[str]:
    lines = server.log_tail(400).splitlines()
    return [line for line in lines if "[warning" in line or "[error" in line or "Traceback" in line][-30:]


# --- the table ------------------------------------------------------------------------------------
def problems(report: dict[str, Any]) -> list[str]:
    """Errors, a log that lost or misnumbered an acknowledged decision, a verify that failed."""
    out = [f"run failed: {report['failure']}"] if report.get("failure") else []
    for row in _rows(report):
        if row.get("errors"):
            out.append(f"{row['name']}: {row['errors']} {row.get('error_samples', [])[:2]}")
    for part in ("group", "one_commit"):
        log = report.get(part, {}).get("log")
        if log and not log["ok"]:
            out.append(f"{part}: the log check failed: {log}")
    for what, result in report.get("verify", {}).items():
        if isinstance(result, dict) and (result.get("ok") is False or result.get("exit_code", 0) != 0):
            out.append(f"verify {what}: {result.get('problem') or result.get('verdict')}")
    return out


def _rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        *report.get("bare_insert", []),
        *report.get("group", {}).get("scenarios", []),
        *report.get("one_commit", {}).get("scenarios", []),
        *report.get("bare_insert_last", []),
    ]


def _f(value: float | None, fmt: str = "{:,.0f}") -> str:
    return "-" if value is None else fmt.format(value)


def _row(row: dict[str, Any]) -> str:
    lat, cpu = row["latency_ms"], row.get("cpu") or {}
    split = (
        f"{cpu['server_ms_per_req']:.2f}|{cpu['bench_ms_per_req']:.2f}|{cpu['postgres_ms_per_req']:.2f}"
        if cpu
        else "-"
    )
    commits = _f(cpu.get("db_commits_per_req"), "{:.2f}")
    cores = f"{cpu['machine_cores']:.2f}({cpu['other_cores']:.2f})" if cpu else "-"
    noisy = " NOISY" if cpu and cpu["other_cores"] > QUIET_CORES else ""
    return (
        f"{row['name'][:62]:62} {_f(row['rate_per_s']):>7} {_f(row.get('appends_per_s')):>9} "
        f"{_f(lat['p50'], '{:.2f}'):>7} {_f(lat['p99'], '{:.2f}'):>7} {sum(row['errors'].values()):>6}  "
        f"{split:>17} {commits:>8} {cores:>11} {_f(row.get('cpu_speed_probe_ms'), '{:.1f}'):>5}{noisy}"
    )


def render(report: dict[str, Any]) -> str:
    s = report["settings"]
    head = (
        f"{'what':62} {'rate/s':>7} {'appends/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}  "
        f"{'CPU ms srv|gen|pg':>17} {'commits':>8} {'cores(oth)':>11} {'probe':>5}"
    )
    lines = [
        "",
        f"Touchstone access-log benchmark — {report['started_at']} — {report['machine']['cpus']} CPUs, "
        f"PostgreSQL {report.get('postgres', '?')}, 1 uvicorn worker each; windows {s['duration']:g} s after "
        f"{s['warmup']:g} s warm-up; 1-client rows {s['requests']} requests; the load generator shares the"
        " cores",
        "cores busy with other work before each phase: "
        + ", ".join(f"{k} {v:.2f}" for k, v in report.get("background_cores", {}).items())
        + "; CPU speed probe (ms): "
        + ", ".join(f"{k} {v}" for k, v in report.get("cpu_speed_probe_ms", {}).items()),
        "",
        head,
        "-" * len(head),
        *(_row(row) for row in _rows(report)),
    ]
    verify = report.get("verify", {})
    for key, what in (
        ("exported", "verify_export, the exported log"),
        ("synthetic", "verify_export, synthetic"),
    ):
        v = verify.get(key)
        if v:
            name = f"{what} ({v['entries']:,} entries, {v['checkpoints']:,} checkpoints)"
            lines.append(f"{name[:62]:62} {_f(v['entries_per_s']):>7} entries/s (median of {v['seconds']} s)")
    if verify.get("cli"):
        v = verify["cli"]
        name = f"touchstone audit verify (a process), synthetic, {v['entries']:,}"
        lines.append(
            f"{name[:62]:62} {_f(v['entries_per_s']):>7} entries/s ({v['seconds']} s, start-up included)"
        )
    lines += ["-" * len(head), *verdicts(report)]
    found = problems(report)
    if found:
        lines += ["", "PROBLEMS:", *(f"  {p}" for p in found)]
    return "\n".join(lines)


def _find(report: dict[str, Any], part: str, one: bool) -> dict[str, Any] | None:
    """The one-client or concurrent row of a part; of the bare insert's two runs, the quieter one."""
    if part != "bare":
        rows = report.get(part, {}).get("scenarios", [])
        return rows[0 if one else 1] if len(rows) == 2 else None
    runs = [r[0 if one else 1] for r in (report.get("bare_insert"), report.get("bare_insert_last")) if r]
    return min(runs, key=lambda r: (r.get("cpu") or {}).get("other_cores", 9.0), default=None)


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def verdicts(report: dict[str, Any]) -> list[str]:
    n = report["settings"]["concurrency"]
    bare, group, single = (_find(report, p, one=False) for p in ("bare", "group", "one_commit"))
    out = []
    if bare and group and single:
        appends = group.get("appends_per_s") or 0.0
        single_appends = single.get("appends_per_s") or 0.0
        share = appends / bare["rate_per_s"] if bare["rate_per_s"] else 0.0
        times = appends / single_appends if single_appends else float("inf")
        out.append(
            f"log appends/s, {n} clients: {appends:,.0f} = {100 * share:.0f}% of the bare insert's "
            f"{bare['rate_per_s']:,.0f} req/s (target >= {100 * APPEND_SHARE_OF_BARE:.0f}%): "
            f"{_verdict(share >= APPEND_SHARE_OF_BARE)}"
        )
        out.append(
            f"  = {times:.2f}x the one-commit variant's {single_appends:,.0f} appends/s (target >= "
            f"{APPEND_OVER_ONE_COMMIT:g}x): {_verdict(times >= APPEND_OVER_ONE_COMMIT)}"
        )
        p99, bare_p99 = group["latency_ms"]["p99"], bare["latency_ms"]["p99"]
        ratio = p99 / bare_p99 if bare_p99 else float("inf")
        out.append(
            f"decision p99, {n} clients: {p99:.2f} ms = {ratio:.2f}x the bare insert's {bare_p99:.2f} ms "
            f"(target <= {P99_OVER_BARE:g}x): {_verdict(ratio <= P99_OVER_BARE)}; one-commit variant "
            f"{single['latency_ms']['p99']:.2f} ms"
        )
    bare1, group1, single1 = (_find(report, p, one=True) for p in ("bare", "group", "one_commit"))
    if bare1 and group1 and single1:
        out.append(
            f"decision p50 / p99, 1 client: {_lat(group1)}; one-commit variant {_lat(single1)}; bare insert "
            f"{_lat(bare1)}"
        )
    verify = report.get("verify", {})
    rates = {k: verify[k]["entries_per_s"] for k in ("exported", "synthetic", "cli") if k in verify}
    if rates:
        out.append(
            "verify: "
            + ", ".join(f"{k} {v:,.0f} entries/s" for k, v in rates.items())
            + f" (target >= {VERIFY_PER_S:,}/s for verify_export): "
            + _verdict(all(v >= VERIFY_PER_S for k, v in rates.items() if k != "cli"))
        )
    out += _log_lines(report) + _where_time_goes(report, n)
    return out


def _lat(row: dict[str, Any]) -> str:
    return f"{row['latency_ms']['p50']:.2f} / {row['latency_ms']['p99']:.2f} ms"


def _log_lines(report: dict[str, Any]) -> list[str]:
    out = []
    for part, label in (("group", GROUP), ("one_commit", ONE_COMMIT)):
        log = report.get(part, {}).get("log")
        if log:
            gaps = log["seq_out_of_place"]
            out.append(
                f"log check, {label}: {log['entries']:,} entries, seq 0..{log['entries'] - 1} "
                + ("without a gap" if not gaps else f"with {gaps} OUT OF PLACE")
                + f", sequencer {log['sequencer_size']:,}; {log['acknowledged']:,} acknowledged decisions, "
                f"{log['acknowledged_missing']} of them missing; {log['logged_without_a_2xx']} logged "
                f"without a 2xx: {'OK' if log['ok'] else 'FAILED'}"
            )
    exported = report.get("export")
    if exported:
        out.append(
            f"export through the API: {exported['entries']:,} entries, {exported['bytes_per_entry']:g} bytes"
            " each, "
            f"{exported['checkpoints']} checkpoints, {exported['export_entries_per_s']:,.0f} entries/s"
        )
    return out


def _where_time_goes(report: dict[str, Any], n: int) -> list[str]:
    out = []
    for part, label in (("bare", f"{BARE} (the quieter run)"), ("group", GROUP), ("one_commit", ONE_COMMIT)):
        row = _find(report, part, one=False)
        cpu = (row or {}).get("cpu") or {}
        if not row or not cpu:
            continue
        activity = row.get("pg_backends_avg") or {}
        top = ", ".join(f"{v:g} {k}" for k, v in list(activity.items())[:4])
        out.append(
            f"{label}, {n} clients: CPU per request server {cpu['server_ms_per_req']:.2f} ms, PostgreSQL "
            f"{cpu['postgres_ms_per_req']:.2f} ms, load generator {cpu['bench_ms_per_req']:.2f} ms; "
            f"{cpu.get('db_commits_per_req', 0):.2f} commits per request; machine "
            f"{cpu['machine_cores']:.2f} cores"
        )
        if top:
            out.append(f"      its PostgreSQL backends on average: {top}")
    return out


if __name__ == "__main__":
    sys.exit(main())
