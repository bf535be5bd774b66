"""Where the time of a POST session and of a GET episode goes, measured in-process (``--profile``, or
``python -m bench.profile``).

The records app is built with ``create_app(settings)`` on a scratch schema and called through ASGI directly
(no uvicorn, no sockets), one request at a time, with FastAPI's thread pool replaced by a direct call
(``anyio.to_thread.run_sync`` patched in this process only), so that everything a request does runs on one
thread where the timers and cProfile can see it. What it measures (bench/README.md has more):

1. stage timers: wall and CPU time of named steps (JWT verification, loading the aggregate, the access
   decision, the domain command, encoding and encrypting the event, the database transaction and how long
   it holds the events table's lock, snapshots, rendering, logging and metrics), per request, with the
   garbage collector's pauses; then CPU per request without timers, inline and with the real thread pool;
2. cProfile of the same loops (its overhead inflates Python-heavy code; read it for the ranking, the timers
   for the milliseconds), written to bench/results/profile-<ts>-{post,get}.pstats and .txt;
3. the GET body rebuilt as plain dicts + orjson (a what-if), and one snapshot of a 1,000-event episode
   taken apart (replay, encode + encrypt, size);
4. a contention probe: 16 threads writing sessions to one episode through the application layer, with every
   exception's type and message counted (the HTTP layer reduces them to 500/503 without a message), then
   200 writes to another episode to see whether anything was left broken.

Nothing of the service is changed; the patches live in this process and are undone afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import cProfile
import functools
import gc
import inspect
import io
import json
import os
import pstats
import re
import secrets
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import anyio.to_thread

from bench.loadgen import percentile

TENANT = "bench"
OCCURRED_AT = "2026-01-12T10:00:00+01:00"
SESSION = {"occurred_at": OCCURRED_AT, "duration_minutes": 50, "modality": "in_person"}


# --- driving the ASGI app in-process --------------------------------------------------------------
class AsgiClient:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, bytes]:
        raw_headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        if body:
            raw_headers.append((b"content-length", str(len(body)).encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": raw_headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        sent = False
        status = 0
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, b"".join(chunks)

    async def ok(self, method: str, path: str, headers: dict[str, str], body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else b""
        hdrs = {**headers, **({"content-type": "application/json"} if body is not None else {})}
        status, out = await self.request(method, path, hdrs, data)
        if not 200 <= status < 300:
            raise RuntimeError(f"{method} {path} answered {status}: {out[:300]!r}")
        return json.loads(out) if out else None


_REAL_RUN_SYNC = anyio.to_thread.run_sync


@contextlib.contextmanager
def real_threadpool() -> Iterator[None]:
    """Inside ``inline_threadpool``: FastAPI's real thread pool again, as in the server."""
    inlined = anyio.to_thread.run_sync
    anyio.to_thread.run_sync = _REAL_RUN_SYNC
    try:
        yield
    finally:
        anyio.to_thread.run_sync = inlined


@contextlib.contextmanager
def inline_threadpool() -> Iterator[None]:
    """Run what FastAPI would send to a worker thread on the calling thread instead."""
    original = anyio.to_thread.run_sync

    async def run_sync(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return func(*args)

    anyio.to_thread.run_sync = run_sync  # type: ignore[assignment]
    try:
        yield
    finally:
        anyio.to_thread.run_sync = original


# --- stage timers ---------------------------------------------------------------------------------
class StageTimers:
    """Wraps named callables (class attributes or module functions) to add up their wall and CPU time."""

    def __init__(self) -> None:
        self.wall: defaultdict[str, float] = defaultdict(float)
        self.cpu: defaultdict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self._undo: list[Callable[[], None]] = []
        self._depth = threading.local()

    def wrap(self, owner: Any, attr: str, label: str) -> None:
        own = attr in vars(owner)
        original = inspect.getattr_static(owner, attr)
        func = original.__func__ if isinstance(original, staticmethod | classmethod) else original
        timers = self

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def awrapper(*args: Any, **kwargs: Any) -> Any:
                t0, c0 = time.perf_counter(), time.thread_time()
                try:
                    return await func(*args, **kwargs)
                finally:
                    timers._add(label, time.perf_counter() - t0, time.thread_time() - c0)

            wrapped: Any = awrapper
        else:

            @functools.wraps(func)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                t0, c0 = time.perf_counter(), time.thread_time()
                try:
                    return func(*args, **kwargs)
                finally:
                    timers._add(label, time.perf_counter() - t0, time.thread_time() - c0)

            wrapped = wrapper
        if isinstance(original, staticmethod):
            wrapped = staticmethod(wrapped)
        elif isinstance(original, classmethod):
            wrapped = classmethod(wrapped)
        setattr(owner, attr, wrapped)
        if own:
            self._undo.append(lambda: setattr(owner, attr, original))
        else:  # inherited: remove the wrapper and the base's method shows through again
            self._undo.append(lambda: delattr(owner, attr))

    def _add(self, label: str, wall: float, cpu: float) -> None:
        self.wall[label] += wall
        self.cpu[label] += cpu
        self.calls[label] += 1

    def reset(self) -> None:
        self.wall.clear()
        self.cpu.clear()
        self.calls.clear()

    def undo(self) -> None:
        while self._undo:
            self._undo.pop()()


def install_timers(timers: StageTimers, records: Any) -> None:
    """The steps worth naming; nested ones are indented in the report (times are inclusive). Recorders are
    wrapped on the classes the running application really uses, so overrides are measured too."""
    import fastapi.routing
    import psycopg_pool
    import pydantic
    import structlog.stdlib

    from services.identity.verifier import TokenVerifier
    from services.records.api import render
    from services.records.application.core import RecordsCore
    from services.records.domain.base import RecordAggregate
    from services.records.domain.episode import Episode
    from services.records.persistence.keys import DatabaseKeyRing
    from services.records.persistence.mapper import ClientSealingMapper
    from services.records.persistence.tables import RecordTables
    from services.restkit.middleware import RequestContextMiddleware

    w = timers.wrap
    w(TokenVerifier, "verify", "A0 JWT verification (ES256; in the auth middleware or a dependency)")
    w(fastapi.routing, "solve_dependencies", "A FastAPI: parse + validate request, run dependencies")
    w(fastapi.routing, "run_endpoint_function", "B endpoint function")
    w(RecordsCore, "_load", "B.1 load aggregate (repository.get)")
    events_recorder = type(records.recorder)
    w(events_recorder, "select_events", "B.1.a SELECT new events (pool checkout + round trip)")
    if records.snapshots is not None and type(records.snapshots.recorder) is not events_recorder:
        w(type(records.snapshots.recorder), "select_events", "B.1.a' SELECT snapshot")
    w(ClientSealingMapper, "to_domain_event", "B.1.b decrypt + decode stored events")
    w(RecordAggregate, "__deepcopy__", "B.1.c copy aggregate out of the cache")
    w(RecordsCore, "_decide", "B.2 access decision")
    w(Episode, "hold_session", "B.3 domain command (SessionHeld)")
    app_class = type(records)  # the concrete application, so its overrides are the ones timed
    w(app_class, "save", "B.4 save")
    w(ClientSealingMapper, "to_stored_event", "B.4.a encode + encrypt event(s)")
    w(events_recorder, "insert_events", "B.4.b DB transaction (commit rows, LOCK TABLE, INSERT, COMMIT)")
    lock_held(timers, events_recorder, "B.4.b.ii events table locked: from LOCK TABLE to the end of COMMIT")
    w(RecordTables, "write_commit_rows", "B.4.b.i commit rows (as_of, idempotency) in the transaction")
    w(app_class, "_take_snapshots", "B.4.c snapshots (every 50th event)")
    w(
        app_class,
        "take_snapshot",
        "B.4.c.i take_snapshot (replay since last snapshot + encode all state)",
    )
    w(psycopg_pool.ConnectionPool, "check_connection", "B.y pool pre-ping round trip (POSTGRES_PRE_PING=y)")
    w(DatabaseKeyRing, "aead", "B.x client key lookup (cached)")
    w(render, "json_response", "B.6 serialise the GET body into a Response (render.json_response)")
    w(render, "episode", "B.5 build the Episode document or model (render.episode)")
    w(render, "stored", "B.5 render the write response (render.stored)")
    w(RequestContextMiddleware, "_record", "C request metrics + request log line")
    w(structlog.stdlib.BoundLogger, "info", "C.1 structlog .info() (dropped at WARNING, processed anyway)")
    w(pydantic.BaseModel, "model_dump_json", "x pydantic model_dump_json (anywhere, if still used)")


def lock_held(timers: StageTimers, recorder: type, label: str) -> None:
    """Time from the library's LOCK TABLE (``_lock_table``) to the return of ``insert_events`` (after COMMIT):
    how long each write holds the events table's EXCLUSIVE lock, during which no other write can insert."""
    stamp = threading.local()
    original_lock = inspect.getattr_static(recorder, "_lock_table")
    original_insert = inspect.getattr_static(recorder, "insert_events")

    def _lock_table(self: Any, *args: Any, **kwargs: Any) -> Any:
        stamp.t0, stamp.c0 = time.perf_counter(), time.thread_time()
        return original_lock(self, *args, **kwargs)

    def insert_events(self: Any, *args: Any, **kwargs: Any) -> Any:
        stamp.t0 = None
        try:
            return original_insert(self, *args, **kwargs)
        finally:
            if getattr(stamp, "t0", None) is not None:
                timers._add(label, time.perf_counter() - stamp.t0, time.thread_time() - stamp.c0)

    def undo(attr: str, original: Any, own: bool) -> Callable[[], None]:
        if own:
            return lambda: setattr(recorder, attr, original)
        return lambda: delattr(recorder, attr)

    for attr, func, original in (
        ("_lock_table", _lock_table, original_lock),
        ("insert_events", insert_events, original_insert),
    ):
        own = attr in vars(recorder)
        setattr(recorder, attr, func)
        timers._undo.append(undo(attr, original, own))


def timer_report(
    timers: StageTimers, requests: int, total_wall: float, total_cpu: float
) -> list[dict[str, Any]]:
    rows = [
        {
            "stage": "TOTAL per request (ASGI call, in-process)",
            "calls_per_req": 1.0,
            "wall_ms": 1000 * total_wall / requests,
            "cpu_ms": 1000 * total_cpu / requests,
        }
    ]
    for label in sorted(timers.wall):
        rows.append(
            {
                "stage": label,
                "calls_per_req": timers.calls[label] / requests,
                "wall_ms": 1000 * timers.wall[label] / requests,
                "cpu_ms": 1000 * timers.cpu[label] / requests,
            }
        )
    return rows


def format_rows(title: str, rows: list[dict[str, Any]]) -> list[str]:
    out = [title, f"  {'stage':84} {'calls':>6} {'wall ms':>8} {'CPU ms':>8}"]
    for r in rows:
        depth = r["stage"].split(" ", 1)[0].count(".")
        name = ("  " * depth) + r["stage"]
        out.append(f"  {name[:84]:84} {r['calls_per_req']:>6.2f} {r['wall_ms']:>8.3f} {r['cpu_ms']:>8.3f}")
    return out


# --- the measurements -----------------------------------------------------------------------------
async def _loop(
    client: AsgiClient,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    n: int,
    expect: int,
    latencies: list[float] | None = None,
) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.thread_time()
    perf = time.perf_counter
    for _ in range(n):
        r0 = perf()
        status, out = await client.request(method, path, headers, body)
        if latencies is not None:
            latencies.append(perf() - r0)
        if status != expect:
            raise RuntimeError(f"{method} {path} answered {status}: {out[:300]!r}")
    return time.perf_counter() - t0, time.thread_time() - c0


def _profile_text(prof: cProfile.Profile, sort: str, limit: int) -> str:
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(sort).print_stats(limit)
    return buf.getvalue()


def _top(prof: cProfile.Profile, requests: int, limit: int = 12) -> list[dict[str, Any]]:
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    rows = []
    for (filename, line, name), (_cc, nc, tt, ct, _callers) in stats.items():
        rows.append(
            {
                "function": f"{_short(filename)}:{line}({name})",
                "calls_per_req": nc / requests,
                "tottime_ms": 1000 * tt / requests,
                "cumtime_ms": 1000 * ct / requests,
            }
        )
    rows.sort(key=lambda r: r["tottime_ms"], reverse=True)
    return rows[:limit]


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/work/main/", "lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


class GcPauses:
    """Pauses of Python's cyclic garbage collector (``gc.callbacks``), by generation."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((int(info["generation"]), time.perf_counter() - self._started))

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def report(self, requests: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for gen in (0, 1, 2):
            times = [t for g, t in self.pauses if g == gen]
            out[f"gen{gen}"] = {
                "collections": len(times),
                "ms_per_request": round(1000 * sum(times) / max(requests, 1), 3),
                "max_ms": round(1000 * max(times), 2) if times else 0.0,
            }
        return out


def snapshot_anatomy(records: Any, episode_id: UUID, version: int) -> dict[str, Any]:
    """What one snapshot of an episode at ``version`` costs, without storing it: the replay from the nearest
    snapshot below, taking the snapshot (copying all state) and encoding + encrypting it."""
    t0, c0 = time.perf_counter(), time.thread_time()
    aggregate = records.repository.get(episode_id, version=version)
    t1, c1 = time.perf_counter(), time.thread_time()
    snapshot_class = getattr(type(aggregate), "Snapshot", type(records).snapshot_class)
    snapshot = snapshot_class.take(aggregate)
    c2 = time.thread_time()
    stored = records.snapshots.mapper.to_stored_event(snapshot)
    t3, c3 = time.perf_counter(), time.thread_time()
    return {
        "version": version,
        "replay_wall_ms": round(1000 * (t1 - t0), 2),
        "replay_cpu_ms": round(1000 * (c1 - c0), 2),
        "take_cpu_ms": round(1000 * (c2 - c1), 2),
        "encode_encrypt_cpu_ms": round(1000 * (c3 - c2), 2),
        "stored_bytes": len(stored.state),
        "total_wall_ms": round(1000 * (t3 - t0), 2),
    }


def render_what_if(records: Any, episode_id: UUID, sub: str, repeat: int = 50) -> dict[str, Any]:
    """How long the GET body takes as the service builds it, and built as plain dicts serialised by orjson
    (a what-if, not the service's code; checked to give the same JSON document)."""
    import orjson

    from services.records.api import render
    from services.records.application.access import Actor

    read = records.get_episode(Actor(sub, TENANT, frozenset({"clinician"}), None, "TREAT"), episode_id)
    e = read.episode
    if e.patterns or e.goals or e.reflections or e.measures or e.discharge is not None:
        return {"skipped": "the what-if only covers episodes with sessions alone"}

    def as_dicts() -> bytes:
        sessions = [
            {
                "id": s.id,
                "labels": list(s.labels),
                "occurred_at": s.occurred_at,
                "recorded_at": s.recorded_at,
                "recorded_by": s.recorded_by,
                "version": s.created_version,
                "duration_minutes": s.duration_minutes,
                "modality": s.modality,
                "attendees": list(s.attendees),
                "status": "cancelled" if s.is_cancelled else "held",
            }
            for s in read.entries("sessions")
        ]
        return orjson.dumps(
            {
                "id": e.id,
                "client_id": e.client_id,
                "status": "closed" if e.is_closed else "open",
                "clinician": e.clinician,
                "care_team": list(e.care_team),
                "reason_for_referral": e.reason_for_referral,
                "presenting_concerns": list(e.presenting_concerns),
                "started_at": e.opened_at,
                "labels": list(e.labels),
                "sessions": sessions,
                "patterns": [],
                "goals": [],
                "reflections": [],
                "measures": [],
                "discharge": None,
                "version": e.version,
                "recorded_at": e.modified_on,
                "redacted_labels": sorted(read.obligations.redact_labels),
                "redacted_categories": sorted(read.obligations.redact_categories),
                "redisclosure_notice": read.obligations.redisclosure_notice,
            },
            option=orjson.OPT_UTC_Z,
        )

    def service() -> bytes:
        return bytes(render.json_response(render.episode(read), e.version).body)

    def timed(fn: Callable[[], bytes]) -> tuple[float, bytes]:
        out = fn()
        t0 = time.thread_time()
        for _ in range(repeat):
            fn()
        return 1000 * (time.thread_time() - t0) / repeat, out

    service_ms, service_body = timed(service)
    model_ms, _ = timed(lambda: (render.episode(read), b"")[1])
    dicts_ms, dicts_body = timed(as_dicts)
    return {
        "sessions": len(e.sessions),
        "service_render_cpu_ms": round(service_ms, 3),
        "of_which_build_document_cpu_ms": round(model_ms, 3),
        "dicts_orjson_cpu_ms": round(dicts_ms, 3),
        "same_json_document": json.loads(service_body) == json.loads(dicts_body),
        "bytes": len(service_body),
    }


def _describe(exc: BaseException) -> str:
    """Type and message of an exception and of its cause, and the innermost frame of ours or the library's."""
    cause = exc.__cause__ or exc.__context__
    key = f"{type(exc).__module__}.{type(exc).__name__}: {str(exc)[:160]}"
    if cause is not None:
        key += f" <- {type(cause).__module__}.{type(cause).__name__}: {str(cause)[:160]}"
    key = re.sub(r'"_pg3_\d+"', '"_pg3_N"', key)  # one line per kind, not per statement
    tb = (cause or exc).__traceback__
    frames = [f for f in traceback.extract_tb(tb) if "eventsourcing" in f.filename or "records" in f.filename]
    if frames:
        key += f" [in {_short(frames[-1].filename)}:{frames[-1].lineno} {frames[-1].name}]"
    return key


def contention_probe(
    records: Any, episode_id: UUID, after_episode_id: UUID, clinicians: list[str], seconds: float
) -> dict[str, Any]:
    """Threads writing to one episode through the application layer; exceptions counted with messages.

    Afterwards, one thread writes 200 sessions to another episode (no contention at all): errors there are
    damage the contention left behind on pooled connections."""
    from services.records.application.access import Actor
    from services.records.application.commands import Command
    from services.records.application.core import RecordsCore

    errors: Counter[str] = Counter()
    done: Counter[str] = Counter()
    saves: Counter[str] = Counter()
    lock = threading.Lock()
    original_save = RecordsCore._save

    def counting_save(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            saves["attempts"] += 1
        try:
            return original_save(self, *args, **kwargs)
        except Exception as exc:
            with lock:
                saves[f"failed: {type(exc).__name__}"] += 1
            raise

    RecordsCore._save = counting_save  # type: ignore[method-assign]
    stop = time.monotonic() + seconds
    from datetime import datetime

    def worker(sub: str) -> None:
        actor = Actor(sub, TENANT, frozenset({"clinician"}), None, "TREAT")
        while time.monotonic() < stop:
            try:
                records.hold_session(
                    Command(actor, f"probe-{secrets.token_hex(4)}"),
                    episode_id,
                    datetime.fromisoformat(OCCURRED_AT),
                    50,
                    "in_person",
                    [sub],
                    [],
                )
                with lock:
                    done["ok"] += 1
            except Exception as exc:
                key = _describe(exc)
                with lock:
                    errors[key] += 1

    threads = [threading.Thread(target=worker, args=(c,)) for c in clinicians]
    t0 = time.perf_counter()
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        RecordsCore._save = original_save  # type: ignore[method-assign]
    wall = time.perf_counter() - t0
    after: Counter[str] = Counter()
    actor = Actor(clinicians[0], TENANT, frozenset({"clinician"}), None, "TREAT")
    for _ in range(200):
        try:
            records.hold_session(
                Command(actor, f"after-{secrets.token_hex(4)}"),
                after_episode_id,
                datetime.fromisoformat(OCCURRED_AT),
                50,
                "in_person",
                [clinicians[0]],
                [],
            )
            after["ok"] += 1
        except Exception as exc:
            after[_describe(exc)] += 1
    return {
        "threads": len(clinicians),
        "seconds": round(wall, 2),
        "succeeded": done["ok"],
        "rate_per_s": round(done["ok"] / wall, 1),
        "save_attempts": saves["attempts"],
        "save_attempts_per_success": round(saves["attempts"] / max(done["ok"], 1), 2),
        "save_failures": {k: v for k, v in saves.items() if k != "attempts"},
        "errors": dict(errors.most_common()),
        "afterwards_one_thread_200_writes_to_another_episode": dict(after.most_common()),
    }


def run(
    dsn: str,
    work_dir: Path,
    events: int = 1000,
    output_dir: Path | None = None,
    stamp: str = "",
    posts: int = 400,
    gets: int = 100,
    probe_seconds: float = 4.0,
) -> dict[str, Any]:
    """Measure; returns a JSON-able dict with ``summary_lines`` for the table."""
    from services.identity.dev import DevKeys
    from services.records.api.app import create_app
    from services.records.settings import RecordsSettings

    work_dir.mkdir(parents=True, exist_ok=True)
    keys = DevKeys(work_dir)
    settings = RecordsSettings(
        env="development",
        var_dir=work_dir,
        records_database_url=dsn,
        jwks=str(keys.ensure().jwks),
        master_key=base64.b64encode(secrets.token_bytes(32)).decode(),
        log_level="WARNING",
    )
    app = create_app(settings)
    stamp = stamp or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    output_dir = output_dir or Path(__file__).resolve().parent / "results"
    output_dir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {}

    def auth(role: str, sub: str) -> dict[str, str]:
        return {"authorization": f"Bearer {keys.mint(role, TENANT, sub, ttl_seconds=6 * 3600)}"}

    async def main() -> None:
        client = AsgiClient(app)
        async with app.router.lifespan_context(app):
            clinicians = [f"dr-prof-{i:02d}" for i in range(16)]
            admin = auth("admin", "bench-admin")
            for sub in clinicians:
                await client.ok(
                    "POST",
                    "/v1/practitioners",
                    admin,
                    {"id": sub, "display_name": sub, "roles": ["clinician"]},
                )
            doc = auth("clinician", clinicians[0])

            async def episode(care_team: list[str]) -> str:
                c = await client.ok(
                    "POST",
                    "/v1/clients",
                    doc,
                    {
                        "identifiers": [{"system": "urn:bench:mrn", "value": os.urandom(8).hex()}],
                        "name": {"family": "Bench", "given": ["Alex"]},
                        "birth_date": "1990-04-01",
                        "time_zone": "Europe/Berlin",
                    },
                )
                e = await client.ok(
                    "POST",
                    f"/v1/clients/{c['id']}/episodes",
                    doc,
                    {
                        "clinician": clinicians[0],
                        "care_team": care_team,
                        "reason_for_referral": "low mood",
                        "started_at": "2026-01-05T09:00:00+01:00",
                    },
                )
                return str(e["id"])

            read_ep, shared_ep = await episode([]), await episode(clinicians)
            # a fresh episode for each POST loop, so that each starts from the same length (snapshots cost
            # more as an episode grows)
            write_eps = [await episode([]) for _ in range(5)]
            write_ep = write_eps[0]
            body = json.dumps({**SESSION, "attendees": [clinicians[0]]}).encode()
            post_headers = {**doc, "content-type": "application/json"}
            await _loop(
                client, "POST", f"/v1/episodes/{read_ep}/sessions", post_headers, body, events - 1, 201
            )
            # warm-up of both paths
            await _loop(client, "POST", f"/v1/episodes/{write_ep}/sessions", post_headers, body, 50, 201)
            await _loop(client, "GET", f"/v1/episodes/{read_ep}", doc, b"", 10, 200)

            timers = StageTimers()
            install_timers(timers, app.state.records)
            try:
                for name, method, path, headers, data, n, expect in (
                    ("post", "POST", f"/v1/episodes/{write_eps[1]}/sessions", post_headers, body, posts, 201),
                    ("get", "GET", f"/v1/episodes/{read_ep}", doc, b"", gets, 200),
                ):
                    timers.reset()
                    latencies: list[float] = []
                    with GcPauses() as pauses:
                        wall, cpu = await _loop(client, method, path, headers, data, n, expect, latencies)
                    rows = timer_report(timers, n, wall, cpu)
                    result[name] = {
                        "requests": n,
                        "stages": rows,
                        "latency_ms": {
                            q: round(1000 * (percentile(latencies, v) or 0), 3)
                            for q, v in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))
                        },
                        "gc": pauses.report(n),
                    }
            finally:
                timers.undo()
            # the same, with FastAPI's real thread pool: CPU of the whole process (all threads)
            for name, method, path, headers, data, n, expect in (
                ("post", "POST", f"/v1/episodes/{write_eps[2]}/sessions", post_headers, body, posts, 201),
                ("get", "GET", f"/v1/episodes/{read_ep}", doc, b"", gets, 200),
            ):
                with real_threadpool():
                    p0, w0 = time.process_time(), time.perf_counter()
                    await _loop(client, method, path, headers, data, n, expect)
                    p1, w1 = time.process_time(), time.perf_counter()
                result[name]["with_thread_pool"] = {
                    "process_cpu_ms": round(1000 * (p1 - p0) / n, 3),
                    "wall_ms": round(1000 * (w1 - w0) / n, 3),
                }
                # and inline again, without timers, for the same comparison (on a fresh episode too)
                if method == "POST":
                    path = f"/v1/episodes/{write_eps[3]}/sessions"
                p0, w0 = time.process_time(), time.perf_counter()
                await _loop(client, method, path, headers, data, n, expect)
                p1, w1 = time.process_time(), time.perf_counter()
                result[name]["inline_no_timers"] = {
                    "process_cpu_ms": round(1000 * (p1 - p0) / n, 3),
                    "wall_ms": round(1000 * (w1 - w0) / n, 3),
                }
            # cProfile (no timers installed)
            for name, method, path, headers, data, n, expect in (
                ("post", "POST", f"/v1/episodes/{write_eps[4]}/sessions", post_headers, body, posts, 201),
                ("get", "GET", f"/v1/episodes/{read_ep}", doc, b"", gets, 200),
            ):
                prof = cProfile.Profile()
                prof.enable()
                await _loop(client, method, path, headers, data, n, expect)
                prof.disable()
                base = output_dir / f"profile-{stamp}-{name}"
                prof.dump_stats(str(base) + ".pstats")
                base.with_suffix(".txt").write_text(
                    _profile_text(prof, "tottime", 45) + "\n\n" + _profile_text(prof, "cumulative", 70)
                )
                result[name]["cprofile_top_tottime"] = _top(prof, n)
                result[name]["cprofile_files"] = [str(base) + ".pstats", str(base.with_suffix(".txt"))]
            result["get"]["render_what_if"] = render_what_if(app.state.records, UUID(read_ep), clinicians[0])
            result["snapshot_at_1000_events"] = snapshot_anatomy(app.state.records, UUID(read_ep), events - 1)
            # contention on one episode, through the application layer, real threads
            result["contention_probe"] = await asyncio.get_running_loop().run_in_executor(
                None,
                contention_probe,
                app.state.records,
                UUID(shared_ep),
                UUID(write_ep),
                clinicians,
                probe_seconds,
            )

    with inline_threadpool():
        asyncio.run(main())
    lines = ["Where time goes (in-process, one request at a time, no HTTP server; bench/profile.py):"]
    for name, title in (
        ("post", "POST /v1/episodes/{id}/sessions"),
        ("get", f"GET /v1/episodes/{{id}} ({events} events)"),
    ):
        lat = result[name]["latency_ms"]
        lines += format_rows(
            f" {title}, {result[name]['requests']} requests, latency p50 {lat['p50']} ms p90 {lat['p90']} ms"
            f" p99 {lat['p99']} ms max {lat['max']} ms (timers on):",
            result[name]["stages"],
        )
        gcs = result[name]["gc"]
        lines.append(
            "  garbage collector pauses (timers on): "
            + ", ".join(
                f"gen{g}: {gcs[f'gen{g}']['collections']} x, {gcs[f'gen{g}']['ms_per_request']} ms/req, "
                f"max {gcs[f'gen{g}']['max_ms']} ms"
                for g in (0, 1, 2)
            )
        )
        inline, pooled = result[name]["inline_no_timers"], result[name]["with_thread_pool"]
        lines.append(
            f"  without timers: {inline['process_cpu_ms']} ms CPU/request on one thread; "
            f"{pooled['process_cpu_ms']} ms with FastAPI's thread pool (the difference is the thread hops)"
        )
        lines.append("  cProfile, top functions by own time (ms per request, inflated by profiling):")
        for row in result[name]["cprofile_top_tottime"][:10]:
            lines.append(
                f"    {row['tottime_ms']:7.3f} own {row['cumtime_ms']:8.3f} cum "
                f"{row['calls_per_req']:7.1f} calls  {row['function']}"
            )
    w = result["get"]["render_what_if"]
    if "skipped" not in w:
        lines.append(
            f" GET body what-if: the service renders {w['bytes']:,} bytes in {w['service_render_cpu_ms']} ms "
            f"CPU ({w['of_which_build_document_cpu_ms']} ms of it render.episode); plain dicts + orjson: "
            f"{w['dicts_orjson_cpu_ms']} ms (same JSON document: {w['same_json_document']})"
        )
    snap = result["snapshot_at_1000_events"]
    lines.append(
        f" one snapshot of the {events}-event episode (the 50th write of an episode pays it in its request): "
        f"replay from the previous snapshot, as the library's take_snapshot does, "
        f"{snap['replay_wall_ms']} ms wall / {snap['replay_cpu_ms']} ms CPU, "
        f"take {snap['take_cpu_ms']} ms, encode + encrypt {snap['encode_encrypt_cpu_ms']} ms CPU, "
        f"{snap['stored_bytes']:,} bytes"
    )
    probe = result["contention_probe"]
    lines.append(
        f" contention probe: {probe['threads']} threads on 1 episode for {probe['seconds']} s: "
        f"{probe['succeeded']} sessions ({probe['rate_per_s']}/s), {probe['save_attempts_per_success']} save "
        f"attempts per success; failures {probe['save_failures']}"
    )
    for message, count in list(probe["errors"].items())[:8]:
        lines.append(f"    {count:5d} x {message}")
    lines.append("  then 200 writes from one thread to another episode (no contention):")
    for message, count in probe["afterwards_one_thread_200_writes_to_another_episode"].items():
        lines.append(f"    {count:5d} x {message}")
    result["summary_lines"] = lines
    return result


def main(argv: list[str] | None = None) -> int:
    """Standalone: ``python -m bench.profile [--dsn ...]``; makes and drops its own scratch schema."""
    import psycopg
    from psycopg import sql

    ap = argparse.ArgumentParser(prog="python -m bench.profile")
    ap.add_argument(
        "--dsn", default=os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    ap.add_argument("--events", type=int, default=1000)
    ap.add_argument("--posts", type=int, default=400)
    ap.add_argument("--gets", type=int, default=100)
    ap.add_argument("--probe-seconds", type=float, default=4.0)
    args = ap.parse_args(argv)
    schema = f"bench_{secrets.token_hex(4)}_profile"
    dsn = f"{args.dsn}{'&' if '?' in args.dsn else '?'}schema={schema}"
    with tempfile.TemporaryDirectory(prefix="touchstone-profile-") as tmp:
        try:
            out = run(
                dsn,
                Path(tmp),
                args.events,
                posts=args.posts,
                gets=args.gets,
                probe_seconds=args.probe_seconds,
            )
        finally:
            with psycopg.connect(args.dsn, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    print("\n".join(out["summary_lines"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
