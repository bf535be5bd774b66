"""A closed-loop HTTP/1.1 load generator that costs the machine as little CPU as Python allows.

On two cores the load generator competes with the server for CPU, so every microsecond it spends is a
microsecond the server does not get. The default client is a keep-alive HTTP/1.1 connection written as an
asyncio ``Protocol`` with the ``httptools`` response parser (both already installed with uvicorn), sending
request bytes built once. ``--client httpx`` swaps in one ``httpx.AsyncClient`` per connection, to cross-check
the figures (it costs several times more CPU per request).

Each connection runs one request at a time (closed loop): N connections are N concurrent users. Latency is
measured from writing the request to having parsed the whole response; throughput counts responses completed
inside the measurement window. Closed-loop latencies understate what an open arrival process would see
(coordinated omission): read p99 as "under this concurrency", not as a service-level latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httptools

uvloop: Any
try:  # installed with uvicorn[standard]; plain asyncio works too, only slower
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None

REQUEST_TIMEOUT = 30.0
MAX_ERROR_SAMPLES = 5


def new_event_loop() -> asyncio.AbstractEventLoop:
    return uvloop.new_event_loop() if uvloop is not None else asyncio.new_event_loop()


def loop_name() -> str:
    return "uvloop" if uvloop is not None else "asyncio"


@dataclass(frozen=True)
class Req:
    """One request; ``raw`` is its HTTP/1.1 bytes, built once."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    raw: bytes = b""

    @staticmethod
    def make(
        method: str, path: str, host: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> Req:
        items = tuple((headers or {}).items())
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "User-Agent: touchstone-bench"]
        lines += [f"{k}: {v}" for k, v in items]
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        return Req(method, path, items, body, raw)


class Connection(Protocol):
    async def request(self, req: Req, keep_body: bool = False) -> tuple[int, bytes]: ...
    def local_port(self) -> int | None: ...
    async def reopen(self) -> Connection: ...
    async def close(self) -> None: ...


class _H1Protocol(asyncio.Protocol):
    """One keep-alive connection; one request in flight at a time."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.keep_body = False
        self.parts: list[bytes] = []
        self.status = 0
        self.lost: BaseException | None = None

    # asyncio callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)
            if self.transport is not None:
                self.transport.close()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost = exc or ConnectionResetError("the server closed the connection")
        self._fail(self.lost)

    def _fail(self, exc: BaseException) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.parts = []

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        if self.keep_body or self.status >= 300:
            self.parts.append(body)

    def on_message_complete(self) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((self.status, b"".join(self.parts)))
        if not self.parser.should_keep_alive() and self.transport is not None:
            self.transport.close()


class H1Connection:
    """The default, cheap client connection."""

    def __init__(self, protocol: _H1Protocol, host: str, port: int) -> None:
        self._p = protocol
        self._where = (host, port)

    @staticmethod
    async def open(host: str, port: int) -> H1Connection:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(_H1Protocol, host, port)
        return H1Connection(protocol, host, port)

    async def reopen(self) -> H1Connection:
        await self.close()
        return await H1Connection.open(*self._where)

    async def request(self, req: Req, keep_body: bool = False) -> tuple[int, bytes]:
        p = self._p
        if p.transport is None or p.transport.is_closing():
            # closed while idle (uvicorn closes keep-alive connections after 5 s): nothing was sent, so
            # reconnecting is safe; the load loops never leave a connection idle that long
            _, self._p = await asyncio.get_running_loop().create_connection(_H1Protocol, *self._where)
            p = self._p
        waiter: asyncio.Future[tuple[int, bytes]] = asyncio.get_running_loop().create_future()
        p.waiter = waiter
        p.keep_body = keep_body
        assert p.transport is not None
        p.transport.write(req.raw)
        async with asyncio.timeout(REQUEST_TIMEOUT):
            return await waiter

    def local_port(self) -> int | None:
        if self._p.transport is None:
            return None
        sockname = self._p.transport.get_extra_info("sockname")
        return int(sockname[1]) if sockname else None

    async def close(self) -> None:
        if self._p.transport is not None:
            self._p.transport.close()


class HttpxConnection:
    """``--client httpx``: one AsyncClient holding one keep-alive connection."""

    def __init__(self, host: str, port: int) -> None:
        import httpx

        self._where = (host, port)
        base_url = f"http://{host}:{port}"
        self._client = httpx.AsyncClient(
            base_url=base_url,
            http1=True,
            http2=False,
            timeout=REQUEST_TIMEOUT,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )

    @staticmethod
    async def open(host: str, port: int) -> HttpxConnection:
        conn = HttpxConnection(host, port)
        await conn._client.get("/healthz")  # opens the connection now, like H1Connection.open
        return conn

    async def reopen(self) -> HttpxConnection:
        await self.close()
        return await HttpxConnection.open(*self._where)

    async def request(self, req: Req, keep_body: bool = False) -> tuple[int, bytes]:
        response = await self._client.request(
            req.method, req.path, headers=dict(req.headers), content=req.body or None
        )
        return response.status_code, (response.content if keep_body or response.status_code >= 300 else b"")

    def local_port(self) -> int | None:
        return None  # httpx does not expose its socket; worker balancing is skipped

    async def close(self) -> None:
        await self._client.aclose()


async def open_connections(kind: str, host: str, port: int, n: int) -> list[Connection]:
    opener = H1Connection.open if kind == "h1" else HttpxConnection.open
    return list(await asyncio.gather(*(opener(host, port) for _ in range(n))))


@dataclass
class LoadResult:
    """What one scenario measured; latencies are in seconds, of requests started inside the window."""

    name: str
    concurrency: int
    window: float = 0.0
    completed: int = 0  # 2xx responses completed inside the window
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)  # by status or exception type, whole run
    error_samples: list[str] = field(default_factory=list)
    total_requests: int = 0  # every response or failure, warm-up included
    succeeded: int = 0  # 2xx responses, warm-up included
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.completed / self.window if self.window > 0 else 0.0

    def percentile(self, q: float) -> float | None:
        return percentile(self.latencies, q)

    def note_error(self, key: str, sample: str) -> None:
        self.errors[key] += 1
        if len(self.error_samples) < MAX_ERROR_SAMPLES:
            self.error_samples.append(sample[:300])


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


MakeReq = Callable[[int], Req]  # connection index -> the next request on it
# Optional check of a 2xx answer's body: None when it is right, else why not (then counted as an error, not a
# success). With a check, the connections keep every body, which costs the generator a little more.
Check = Callable[[bytes], str | None]


async def closed_loop(
    name: str,
    conns: list[Connection],
    make_req: MakeReq,
    warmup: float,
    duration: float,
    on_window: Callable[[str], None] | None = None,
    check: Check | None = None,
) -> LoadResult:
    """Every connection sends requests back to back for ``warmup + duration`` seconds.

    ``on_window("start")`` and ``on_window("end")`` are called at the window's edges (to sample CPU);
    ``check``, when given, is applied to the body of every 2xx answer (see :data:`Check`).
    """
    keep = check is not None
    loop = asyncio.get_running_loop()
    result = LoadResult(name, len(conns))
    start = time.perf_counter()
    window_start = start + warmup
    window_end = window_start + duration
    samples: list[tuple[float, float]] = []  # (started, finished) of 2xx responses

    async def user(i: int) -> None:
        conn = conns[i]
        perf = time.perf_counter
        while True:
            t0 = perf()
            if t0 >= window_end:
                return
            req = make_req(i)
            try:
                status, body = await conn.request(req, keep)
            except (OSError, TimeoutError, httptools.HttpParserError) as exc:
                result.total_requests += 1
                result.note_error(type(exc).__name__, f"{req.method} {req.path}: {exc!r}")
                await asyncio.sleep(0.05)
                with contextlib.suppress(OSError):
                    conns[i] = conn = await conn.reopen()
                continue
            t1 = perf()
            result.total_requests += 1
            wrong = check(body) if check is not None and 200 <= status < 300 else None
            if wrong is not None:
                result.note_error(
                    f"{status} {wrong}", f"{req.method} {req.path} -> {status} {wrong}: {body[:240]!r}"
                )
            elif 200 <= status < 300:
                result.succeeded += 1
                samples.append((t0, t1))
            else:
                result.note_error(str(status), f"{req.method} {req.path} -> {status}: {body[:240]!r}")

    handles = []
    if on_window is not None:
        now_loop, now_perf = loop.time(), time.perf_counter()
        handles.append(loop.call_at(now_loop + (window_start - now_perf), on_window, "start"))
        handles.append(loop.call_at(now_loop + (window_end - now_perf), on_window, "end"))
    try:
        await asyncio.gather(*(user(i) for i in range(len(conns))))
    finally:
        for h in handles:
            h.cancel()
    result.window = duration
    result.completed = sum(1 for t0, t1 in samples if window_start <= t1 < window_end)
    result.latencies = [t1 - t0 for t0, t1 in samples if t0 >= window_start]
    return result


async def sequential(
    name: str,
    conn: Connection,
    make_req: Callable[[int], Req],
    warmup_requests: int,
    requests: int,
    check: Check | None = None,
) -> LoadResult:
    """One connection, one request after another: latency of a single user (``check`` as in closed_loop)."""
    result = LoadResult(name, 1)
    keep = check is not None
    perf = time.perf_counter
    started = None
    for n in range(warmup_requests + requests):
        if n == warmup_requests:
            started = perf()
        req = make_req(n)
        t0 = perf()
        try:
            status, body = await conn.request(req, keep)
        except (OSError, TimeoutError, httptools.HttpParserError) as exc:
            result.total_requests += 1
            result.note_error(type(exc).__name__, f"{req.method} {req.path}: {exc!r}")
            conn = await conn.reopen()
            continue
        t1 = perf()
        result.total_requests += 1
        wrong = check(body) if check is not None and 200 <= status < 300 else None
        if wrong is not None:
            result.note_error(
                f"{status} {wrong}", f"{req.method} {req.path} -> {status} {wrong}: {body[:240]!r}"
            )
            status = 0  # not a success
        elif not 200 <= status < 300:
            result.note_error(str(status), f"{req.method} {req.path} -> {status}: {body[:240]!r}")
        else:
            result.succeeded += 1
        if n >= warmup_requests and 200 <= status < 300:
            result.latencies.append(t1 - t0)
            result.completed += 1
    result.window = perf() - (started or perf())
    return result
