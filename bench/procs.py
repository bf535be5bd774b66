"""The servers under test (uvicorn processes) and where the machine's CPU goes, read from /proc (Linux).

Only processes this benchmark starts are ever signalled, by their pid.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- /proc ----------------------------------------------------------------------------------------
def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm may hold spaces and parentheses: split after the last ')'
    head, _, tail = text.rpartition(")")
    return [head.split(" (", 1)[1], *tail.split()]


def cpu_speed_probe() -> float:
    """Milliseconds of a fixed pure-Python workload (best of 3): a yardstick of how fast this machine runs
    Python right now. Other tenants of the host slow it down without showing up in /proc (no steal time is
    reported), so a probe that drifts during a run explains figures that drift with it."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        total = 0
        for i in range(300_000):
            total += i % 7
        best = min(best, time.perf_counter() - t0)
    return round(1000 * best, 2)


def background_cores(seconds: float = 2.0) -> float:
    """Cores busy while this benchmark does nothing: other people's work on a shared machine."""
    before, t0 = machine_busy_seconds(), time.perf_counter()
    time.sleep(seconds)
    return (machine_busy_seconds() - before) / (time.perf_counter() - t0)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (its own, not its reaped children's)."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    # fields[0] is comm; utime and stime are the 14th and 15th fields of /proc/pid/stat
    return (int(fields[12]) + int(fields[13])) / CLOCK_TICKS


def all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def children_of(pid: int) -> list[int]:
    """Descendants of ``pid`` (any depth)."""
    parent_of: dict[int, int] = {}
    for p in all_pids():
        fields = _stat(p)
        if fields is not None:
            parent_of[p] = int(fields[2])
    found: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        kids = [p for p, parent in parent_of.items() if parent == current]
        found += kids
        frontier += kids
    return found


def pids_named(name: str) -> list[int]:
    result = []
    for p in all_pids():
        fields = _stat(p)
        if fields is not None and fields[0] == name:
            result.append(p)
    return result


def machine_busy_seconds() -> float:
    """All CPUs' non-idle time since boot, from /proc/stat."""
    first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in first]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    # guest time is already counted in user
    return (sum(values[:8]) - idle) / CLOCK_TICKS


@dataclass
class CpuSample:
    wall: float
    server: dict[int, float]
    bench: float
    postgres: dict[int, float]
    machine: float
    db: dict[str, int] = field(default_factory=dict)


class CpuMeter:
    """CPU of the server's processes, this process and the PostgreSQL processes that serve the server, sampled
    at window edges; ``db`` (optional) samples database counters (pg_stat_database) at the same moments.

    ``postgres_pids`` names the PostgreSQL processes to count (the backends of the server's connections and
    the shared background processes), so other people's work on the same PostgreSQL is left out. Processes
    that appear during the window count from zero; processes that exit during it are lost (pools keep theirs).
    """

    def __init__(
        self,
        server_pids: Callable[[], list[int]],
        postgres_pids: Callable[[list[int]], list[int]] | None = None,
        db: Callable[[], dict[str, int]] | None = None,
    ) -> None:
        self.server_pids = server_pids
        self.postgres_pids = postgres_pids
        self.db = db
        self.samples: dict[str, CpuSample] = {}

    def sample(self, label: str) -> None:
        server = self.server_pids()
        pg = self.postgres_pids(server) if self.postgres_pids is not None else []
        self.samples[label] = CpuSample(
            wall=time.perf_counter(),
            server={p: cpu_seconds(p) for p in server},
            bench=cpu_seconds(os.getpid()),
            postgres={p: cpu_seconds(p) for p in pg},
            machine=machine_busy_seconds(),
            db=self.db() if self.db is not None else {},
        )

    def split(self, requests: int) -> dict[str, float] | None:
        """CPU of the window: cores used by each party and milliseconds of CPU per request."""
        a, b = self.samples.get("start"), self.samples.get("end")
        if a is None or b is None or b.wall <= a.wall:
            return None
        wall = b.wall - a.wall
        per = max(requests, 1)
        used = {
            "server": sum(v - a.server.get(p, 0.0) for p, v in b.server.items()),
            "bench": b.bench - a.bench,
            "postgres": sum(v - a.postgres.get(p, 0.0) for p, v in b.postgres.items()),
            "machine": b.machine - a.machine,
        }
        out = {"wall_s": wall}
        for part, seconds in used.items():
            out[f"{part}_cores"] = seconds / wall
            out[f"{part}_ms_per_req"] = 1000 * seconds / per
        out["other_cores"] = (
            out["machine_cores"] - out["server_cores"] - out["bench_cores"] - out["postgres_cores"]
        )
        for key, end in b.db.items():
            if key in a.db:
                out[f"db_{key}_per_req"] = (end - a.db[key]) / per
        return out


def socket_inodes(pids: Iterable[int]) -> dict[int, int]:
    """socket inode -> pid, for the sockets the given processes hold."""
    pid_of_inode: dict[int, int] = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if target.startswith("socket:["):
                        pid_of_inode[int(target[8:-1])] = pid
    return pid_of_inode


def _tcp_rows() -> list[tuple[int, int, int]]:
    """(local port, remote port, inode) of every TCP socket."""
    rows = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()
                rows.append(
                    (int(cols[1].rsplit(":", 1)[1], 16), int(cols[2].rsplit(":", 1)[1], 16), int(cols[9]))
                )
    return rows


def client_ports_to(remote_port: int, pids: Iterable[int]) -> set[int]:
    """Local ports of the connections the given processes hold to ``remote_port`` (e.g. PostgreSQL's)."""
    inodes = socket_inodes(pids)
    return {local for local, remote, inode in _tcp_rows() if remote == remote_port and inode in inodes}


def socket_owner(port: int, client_ports: list[int | None], pids: list[int]) -> list[int | None]:
    """For each client connection (by its local port) the pid of the server process that accepted it."""
    inode_of_client_port = {remote: inode for local, remote, inode in _tcp_rows() if local == port}
    pid_of_inode = socket_inodes(pids)
    owners: list[int | None] = []
    for cp in client_ports:
        inode = inode_of_client_port.get(cp) if cp is not None else None
        owners.append(pid_of_inode.get(inode) if inode is not None else None)
    return owners


# --- uvicorn --------------------------------------------------------------------------------------
class ServerFailed(RuntimeError):
    pass


class Uvicorn:
    """``python -m uvicorn --factory <factory>`` on 127.0.0.1, output kept in a log file."""

    def __init__(
        self, factory: str, env: dict[str, str], workers: int, log_path: Path, cwd: Path | None = None
    ) -> None:
        self.factory = factory
        self.port = free_port()
        self.env = env
        self.workers = workers
        self.log_path = log_path
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            self.factory,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            # info shows uvicorn's own lifecycle lines (a worker killed and restarted by the supervisor's
            # health check); there is no per-request line: the access log is off
            "--log-level",
            "info",
            "--no-access-log",
        ]

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        try:
            self.proc = subprocess.Popen(
                self.argv(),
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
                start_new_session=True,
            )
        finally:
            log.close()

    def startups(self) -> int:
        """Workers that finished their start-up (uvicorn logs one line each at --log-level info)."""
        try:
            return self.log_path.read_text(errors="replace").count("Application startup complete")
        except OSError:
            return 0

    def worker_restarts(self) -> list[str]:
        """Lines where uvicorn's supervisor reports a worker died (it kills one that misses a 5 s ping)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        return [line for line in text.splitlines() if "died" in line or "failed to start" in line]

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def wait_ready(self, path: str = "/readyz", timeout: float = 90.0) -> None:
        """Until ``path`` answers 200 and, with several workers, every worker process exists."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        with httpx.Client(base_url=self.base_url, timeout=5.0) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise ServerFailed(
                        f"{self.factory} exited with {self.proc.returncode} before it was ready; "
                        f"log {self.log_path}:\n{self.log_tail()}"
                    )
                try:
                    response = client.get(path)
                    if response.status_code == 200:
                        started = self.startups()
                        if self.workers <= 1 or (
                            started >= self.workers and len(self.worker_pids()) >= self.workers
                        ):
                            return
                        last = f"{started} of {self.workers} workers started"
                    else:
                        last = f"{path} answered {response.status_code}: {response.text[:200]}"
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}"
                time.sleep(0.1)
        raise ServerFailed(
            f"{self.factory} not ready after {timeout:.0f} s ({last}); log:\n{self.log_tail()}"
        )

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: the server itself, or its worker children."""
        assert self.proc is not None
        if self.workers <= 1:
            return [self.proc.pid]
        # uvicorn's supervisor may also start a multiprocessing resource tracker; workers run python too
        return [p for p in children_of(self.proc.pid) if _is_uvicorn_worker(p)]

    def all_pids(self) -> list[int]:
        assert self.proc is not None
        return [self.proc.pid, *children_of(self.proc.pid)]

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        ours = {pid: start_time(pid) for pid in self.all_pids()}
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _kill_if_same(ours)
            self.proc.wait(5)
        # workers the supervisor failed to stop: ours (started by the process we started), same pid and
        # same start time, so never a process that reused the pid
        _kill_if_same(ours)


def start_time(pid: int) -> str | None:
    fields = _stat(pid)
    return fields[20] if fields is not None else None


def _kill_if_same(pids: dict[int, str | None]) -> None:
    for pid, started in pids.items():
        if started is not None and start_time(pid) == started:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def _is_uvicorn_worker(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"multiprocessing.resource_tracker" not in cmdline and b"semaphore_tracker" not in cmdline
