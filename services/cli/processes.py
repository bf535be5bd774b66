"""Running both services side by side as one unit, the way a developer expects `serve` to behave.

One Ctrl-C stops both, a crash of either stops the other, and the exit code says whether anything failed, so
that scripts and CI notice a service that died at start-up instead of a half-running system.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType

# SIGHUP too: a closed terminal must not leave the services running in their own sessions.
_FORWARDED = tuple(
    sig for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if sig is not None
)
_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class ServiceCommand:
    name: str
    argv: Sequence[str]


@dataclass
class Outcome:
    """How the run ended: the exit code for the CLI, and what to tell the user about it."""

    exit_code: int
    first_exited: str | None = None
    stop_signal: int | None = None
    return_codes: dict[str, int] = field(default_factory=dict)


class _Supervisor:
    def __init__(self, env: Mapping[str, str], stop_timeout: float) -> None:
        self._env = dict(env)
        self._stop_timeout = stop_timeout
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.received: int | None = None

    def on_signal(self, signum: int, _frame: FrameType | None) -> None:
        """Forward the signal once; children run in their own sessions so they do not get Ctrl-C twice."""
        self.received = signum
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signum)

    def start(self, command: ServiceCommand) -> None:
        self.children[command.name] = subprocess.Popen(
            list(command.argv), env=self._env, start_new_session=True
        )
        if self.received is not None:
            self.children[command.name].send_signal(self.received)

    def wait_for_first_exit(self) -> str | None:
        """The name of the first child to exit on its own, or None when a signal asked everyone to stop."""
        while self.received is None:
            for name, child in self.children.items():
                if child.poll() is not None:
                    return name
            time.sleep(_POLL_SECONDS)
        return None

    def stop_all(self) -> None:
        """Ask politely, then insist: a service stuck in shutdown must not hang the terminal.

        After a forwarded signal the children are already shutting down; a second signal would make uvicorn
        abandon its graceful shutdown, so only children that were not signalled get SIGTERM.
        """
        if self.received is None:
            for child in self.children.values():
                if child.poll() is None:
                    child.terminate()
        deadline = time.monotonic() + self._stop_timeout
        for child in self.children.values():
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def run_services(
    commands: Sequence[ServiceCommand], env: Mapping[str, str], stop_timeout: float = 10.0
) -> Outcome:
    """Start every command, wait until one exits or a signal arrives, then stop the rest."""
    supervisor = _Supervisor(env, stop_timeout)
    previous = {sig: signal.signal(sig, supervisor.on_signal) for sig in _FORWARDED}
    first_exited: str | None = None
    try:
        for command in commands:
            supervisor.start(command)
        first_exited = supervisor.wait_for_first_exit()
    finally:
        supervisor.stop_all()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    codes = {name: child.returncode for name, child in supervisor.children.items()}
    return _outcome(codes, first_exited, supervisor.received)


def _outcome(codes: dict[str, int], first_exited: str | None, stop_signal: int | None) -> Outcome:
    """Non-zero when a service failed, or when one stopped by itself: a server is not meant to finish."""
    if first_exited is not None:
        code = _shell_code(codes[first_exited]) or 1
        return Outcome(code, first_exited, stop_signal, codes)
    # uvicorn re-raises the signal it was stopped by once its shutdown is complete, hence -signal.
    stopped_cleanly = all(code in (0, -(stop_signal or 0)) for code in codes.values())
    return Outcome(0 if stopped_cleanly else 1, None, stop_signal, codes)


def _shell_code(return_code: int) -> int:
    """A child killed by signal N reports -N; shells say 128 + N."""
    return 128 - return_code if return_code < 0 else return_code
