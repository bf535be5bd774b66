"""What `touchstone serve` starts, and with which settings, kept apart from the process handling.

In development the services are pointed at the development JWKS, so that `touchstone token` works against them
at once; in production nothing is invented: the operator's identity provider is required.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from services.cli.processes import ServiceCommand
from services.cli.settings import CliSettings
from services.identity.dev import DEV_ALGORITHM, DEV_AUDIENCE, DEV_ISSUER, DevKeyPaths, DevKeys

APP_FACTORIES: dict[str, str] = {
    "records": "services.records.api.app:create_app",
    "consent": "services.consent.api.app:create_app",
}
PRODUCTION_REQUIRED = ("TOUCHSTONE_JWKS", "TOUCHSTONE_JWT_ISSUER", "TOUCHSTONE_JWT_AUDIENCE")


class MissingProductionSettings(Exception):
    """Production needs the operator's identity provider; the message lists the variables, never values."""


@dataclass(frozen=True)
class ServePlan:
    commands: list[ServiceCommand]
    service_env: dict[str, str]
    dev_keys: DevKeyPaths | None


def plan(settings: CliSettings, host: str, records_port: int, consent_port: int) -> ServePlan:
    """Decide the commands and the variables the services get; creates `var_dir` and, in development, keys."""
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    dev_keys = None if settings.production else DevKeys(settings.var_dir).ensure()
    service_env = {
        "TOUCHSTONE_JWKS": settings.jwks or (str(dev_keys.jwks.resolve()) if dev_keys else ""),
        "TOUCHSTONE_JWT_ISSUER": settings.jwt_issuer or ("" if settings.production else DEV_ISSUER),
        "TOUCHSTONE_JWT_AUDIENCE": settings.jwt_audience or ("" if settings.production else DEV_AUDIENCE),
        "TOUCHSTONE_CONSENT_URL": settings.consent_url or local_url(host, consent_port),
    }
    if dev_keys and not settings.jwks and not settings.jwt_algorithm:
        service_env["TOUCHSTONE_JWT_ALGORITHM"] = DEV_ALGORITHM
    missing = [name for name in PRODUCTION_REQUIRED if not service_env[name]]
    if missing:
        raise MissingProductionSettings("production needs " + ", ".join(missing))
    ports = {"records": records_port, "consent": consent_port}
    commands = [
        ServiceCommand(name, uvicorn_argv(factory, host, ports[name]))
        for name, factory in APP_FACTORIES.items()
    ]
    return ServePlan(commands, service_env, dev_keys)


def uvicorn_argv(factory: str, host: str, port: int) -> list[str]:
    """The same interpreter as the CLI, so the services run in the CLI's virtual environment."""
    return [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", host, "--port", str(port)]


def local_url(host: str, port: int) -> str:
    """A URL the records service can call: a wildcard bind address is reached through loopback."""
    reachable = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    if ":" in reachable:
        reachable = f"[{reachable}]"
    return f"http://{reachable}:{port}"
