"""Baselines: what this machine does without Touchstone in the way.

- ``raw_insert``: single-row INSERT transactions (BEGIN, INSERT, COMMIT) through a ``psycopg_pool``
  ``ConnectionPool``, one thread per connection, into a scratch table. Every records write is at least one
  such transaction, so it is the yardstick the write targets are expressed against.
- ``create_bare_app``: a FastAPI app with nothing but an ``async def`` and a ``def`` endpoint returning a
  small JSON, served by the same uvicorn settings as the records service, so the HTTP ceiling is visible.
- ``create_insert_app``: a bare ``async def`` POST endpoint that parses its JSON body and inserts one row per
  request through psycopg's ``AsyncConnectionPool`` (one transaction each): what an append costs without
  Touchstone (no token, no policy, no event, no sequencer, no Merkle leaf). ``bench.access_log`` uses it.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fastapi import FastAPI, Request
from psycopg import sql
from psycopg_pool import AsyncConnectionPool, ConnectionPool
from starlette.responses import Response

from bench.loadgen import percentile


@dataclass
class InsertResult:
    threads: int
    window: float
    transactions: int
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.transactions / self.window if self.window > 0 else 0.0


def raw_insert(
    dsn: str, schema: str, threads: int = 4, warmup: float = 0.5, duration: float = 5.0
) -> InsertResult:
    """Transactions/s of ``INSERT INTO <schema>.scratch`` (one row each) from ``threads`` threads."""
    table = sql.Identifier(schema, "scratch")
    with ConnectionPool(dsn, min_size=threads, max_size=threads, open=True, timeout=10) as pool:
        with pool.connection() as conn:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (id bigserial PRIMARY KEY, payload bytea NOT NULL,"
                    " created_at timestamptz NOT NULL DEFAULT now())"
                ).format(table)
            )
            insert = sql.SQL("INSERT INTO {} (payload) VALUES (%s)").format(table).as_string(conn)
        pool.wait(timeout=10)
        payload = os.urandom(200)  # about the size of a sealed SessionHeld event
        start = time.perf_counter()
        window_start, window_end = start + warmup, start + warmup + duration
        per_thread: list[list[tuple[float, float]]] = [[] for _ in range(threads)]
        errors: dict[str, int] = {}
        lock = threading.Lock()

        def worker(i: int) -> None:
            samples = per_thread[i]
            perf = time.perf_counter
            while True:
                t0 = perf()
                if t0 >= window_end:
                    return
                try:
                    # the pool's context commits on exit: BEGIN (implicit), INSERT, COMMIT
                    with pool.connection() as conn:
                        conn.execute(insert, (payload,), prepare=True)
                except Exception as exc:  # counted and reported, never hidden
                    with lock:
                        errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    time.sleep(0.01)
                    continue
                samples.append((t0, perf()))

        workers = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    samples = [s for ss in per_thread for s in ss]
    return InsertResult(
        threads=threads,
        window=duration,
        transactions=sum(1 for _, t1 in samples if window_start <= t1 < window_end),
        latencies=[t1 - t0 for t0, t1 in samples if t0 >= window_start],
        errors=errors,
    )


def p(result: InsertResult, q: float) -> float | None:
    return percentile(result.latencies, q)


# --- the bare HTTP app ----------------------------------------------------------------------------
def create_bare_app() -> FastAPI:
    """``uvicorn --factory bench.baseline:create_bare_app``: no middleware, no database, no auth."""
    app = FastAPI(title="bench bare app", openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"status": "ok", "service": "bare"}

    @app.get("/ping-sync")
    def ping_sync() -> dict[str, str]:
        return {"status": "ok", "service": "bare"}

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


# --- the bare insert app --------------------------------------------------------------------------
INSERT_DSN = (
    "BENCH_INSERT_DSN"  # the database, with ?options=-csearch_path=... not needed: the table is named
)
INSERT_TABLE = "BENCH_INSERT_TABLE"  # schema.table, made by the benchmark: (id bigserial, payload bytea)
INSERT_POOL = "BENCH_INSERT_POOL"  # connections (default 10)
INSERT_PAYLOAD = "BENCH_INSERT_PAYLOAD_BYTES"  # bytes of each row (default 700, about an access-log leaf)


def create_table(dsn: str, schema: str, table: str) -> str:
    """The scratch table of the insert app (in ``schema``, made if missing); returns ``schema.table``."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (id bigserial PRIMARY KEY, payload bytea NOT NULL,"
                " created_at timestamptz NOT NULL DEFAULT now())"
            ).format(sql.Identifier(schema, table))
        )
    return f"{schema}.{table}"


def create_insert_app() -> FastAPI:
    """``uvicorn --factory bench.baseline:create_insert_app``: ``POST /append`` inserts one row, answers."""
    dsn, (schema, table) = os.environ[INSERT_DSN], os.environ[INSERT_TABLE].split(".", 1)
    size = int(os.environ.get(INSERT_POOL, "10"))
    payload = os.urandom(int(os.environ.get(INSERT_PAYLOAD, "700")))
    insert = sql.SQL("INSERT INTO {} (payload) VALUES (%s) RETURNING id").format(
        sql.Identifier(schema, table)
    )
    pool = AsyncConnectionPool(dsn, min_size=size, max_size=size, open=False, timeout=10)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await pool.open(wait=True)
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(
        title="bench insert app", openapi_url=None, docs_url=None, redoc_url=None, lifespan=lifespan
    )

    @app.post("/append")
    async def append(request: Request) -> Response:
        body = json.loads(await request.body())  # parsed like a decision request, then dropped
        async with pool.connection() as conn:  # BEGIN, INSERT, COMMIT on leaving
            cursor = await conn.execute(insert, (payload,), prepare=True)
            row = await cursor.fetchone()
        answer = {"id": row[0] if row else None, "fields": len(body)}
        return Response(json.dumps(answer), media_type="application/json")

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
