#!/usr/bin/env python3
"""Set up and run Touchstone on a machine that has only Python 3.11+.

    python3 dev.py serve [ARGS]   start both services (SQLite files under ./var unless configured otherwise)
    python3 dev.py test [ARGS]    run the test suite (pytest; ARGS are passed through; on 2 xdist workers
                                  unless ARGS choose -n, --dist, -p no:xdist, --pdb or --trace)
    python3 dev.py lint           ruff, mypy and the import-linter contracts

Each command first makes sure that ./.venv exists (python -m venv), that it holds the uv pinned in uv.lock
(pip install), and that it matches uv.lock exactly (uv sync --frozen). Only pip and uv use the network, and
only to reach the package index. Standard library only, from any working directory. The syntax stays readable
by Python 3.7 so that an older interpreter still prints the version message instead of a SyntaxError.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import NoReturn

MIN_PYTHON = (3, 11)
ROOT = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(ROOT, ".venv")
WINDOWS = os.name == "nt"
BIN = os.path.join(VENV, "Scripts" if WINDOWS else "bin")
EXE = ".exe" if WINDOWS else ""


def main(argv: list[str]) -> int:
    if sys.version_info < MIN_PYTHON:
        wanted, found = ".".join(map(str, MIN_PYTHON)), sys.version.split()[0]
        fail(f"Touchstone needs Python {wanted} or newer; {sys.executable} is Python {found}.")
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__.strip())
        return 0 if argv else 2
    command, args = argv[0], argv[1:]
    commands = {"serve": serve, "test": test, "lint": lint}
    if command not in commands:
        print(f"dev.py: unknown command {command!r} (serve, test or lint)", file=sys.stderr)
        return 2
    os.chdir(ROOT)
    env = environment()
    bootstrap(env)
    return commands[command](args, env)


def fail(message: str) -> NoReturn:
    print(f"dev.py: {message}", file=sys.stderr)
    sys.exit(1)


def step(message: str) -> None:
    print(f"dev.py: {message} ...", file=sys.stderr, flush=True)


def tool(name: str) -> str:
    return os.path.join(BIN, name + EXE)


def environment() -> dict[str, str]:
    """The children's environment: this checkout's .venv, and no interpreter downloads by uv."""
    env = dict(os.environ)
    env.update(
        UV_PROJECT_ENVIRONMENT=VENV,
        UV_PYTHON_DOWNLOADS="never",
        VIRTUAL_ENV=VENV,
        PATH=BIN + os.pathsep + env.get("PATH", ""),
    )
    env.pop("PYTHONHOME", None)
    return env


def bootstrap(env: dict[str, str]) -> None:
    if not os.path.exists(tool("python")):
        step("creating .venv")
        hint = "could not create .venv (on Debian or Ubuntu: apt install python3-venv)"
        check([sys.executable, "-m", "venv", VENV], env, hint)
    if not os.path.exists(tool("uv")):
        version = locked_version("uv")
        step(f"installing uv {version} into .venv")
        if subprocess.run([tool("python"), "-m", "pip", "--version"], capture_output=True).returncode:
            check([tool("python"), "-m", "ensurepip", "--default-pip"], env, "no pip in .venv", quiet=True)
        pip = [tool("python"), "-m", "pip", "install", "--disable-pip-version-check", "--quiet"]
        check([*pip, f"uv=={version}"], env, "could not install uv with pip")
        step("installing the locked dependencies (uv sync --frozen)")
    check([tool("uv"), "sync", "--frozen", "--quiet"], env, "uv sync --frozen failed", quiet=True)


def locked_version(package: str) -> str:
    import tomllib

    with open(os.path.join(ROOT, "uv.lock"), "rb") as lock:
        entries = tomllib.load(lock).get("package", [])
    versions = [entry["version"] for entry in entries if entry.get("name") == package]
    if not versions:
        fail(f"uv.lock has no [[package]] entry for {package!r}")
    return str(versions[0])


def check(cmd: list[str], env: dict[str, str], message: str, quiet: bool = False) -> None:
    """Run a set-up step; a quiet one shows its output only when it fails."""
    result = subprocess.run(cmd, env=env, capture_output=quiet, text=True)
    if result.returncode != 0:
        if quiet:
            sys.stderr.write(result.stdout + result.stderr)
        fail(f"{message} (exit code {result.returncode})")


def run(cmd: list[str], env: dict[str, str]) -> int:
    """Become the command, so exit codes and signals pass straight through (Windows: wait for it)."""
    sys.stdout.flush()
    sys.stderr.flush()
    if WINDOWS:
        return subprocess.call(cmd, env=env)
    os.execve(cmd[0], cmd, env)


def serve(args: list[str], env: dict[str, str]) -> int:
    return run([tool("touchstone"), "serve", *args], env)


def test(args: list[str], env: dict[str, str]) -> int:
    return run([tool("python"), "-m", "pytest", *xdist_defaults(args), *args], env)


def xdist_defaults(args: list[str]) -> list[str]:
    """``-n 2`` unless the arguments decide otherwise or pytest-xdist is not installed."""
    if decides_workers(args):
        return []
    probe = [tool("python"), "-c", "import importlib.util as u; print(u.find_spec('xdist') is not None)"]
    found = subprocess.run(probe, capture_output=True, text=True).stdout.strip() == "True"
    return ["-n", "2"] if found else []


def decides_workers(args: list[str]) -> bool:
    """Whether the arguments name the workers, or ask for something xdist workers cannot do (a debugger)."""
    for index, arg in enumerate(args):
        following = args[index + 1] if index + 1 < len(args) else ""
        if arg.split("=", 1)[0] in ("--numprocesses", "--dist", "--pdb", "--trace"):
            return True
        if arg.startswith("-n") and not arg.startswith("--"):
            return True
        if arg == "-pno:xdist" or (arg == "-p" and following == "no:xdist"):
            return True
    return False


def lint(args: list[str], env: dict[str, str]) -> int:
    if args:
        print("dev.py: lint takes no arguments", file=sys.stderr)
        return 2
    checks = [
        [tool("ruff"), "check", "."],
        [tool("ruff"), "format", "--check", "."],
        [tool("mypy"), "services", "contracts"],
        [tool("lint-imports")],
    ]
    failed = 0
    for cmd in checks:
        step(" ".join([os.path.basename(cmd[0]), *cmd[1:]]))
        failed = failed or subprocess.call(cmd, env=env)
    return failed


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
