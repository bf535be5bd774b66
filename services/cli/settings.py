"""The `touchstone` command's settings: the only place the CLI reads the environment.

The services read their own settings; the CLI reads the few variables it decides on (where `./var` is,
which ports, whether this is production) and the ones it hands to the services it starts unless the operator
set them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class CliSettings(BaseSettings):
    """Environment variables prefixed `TOUCHSTONE_`; other services' variables are ignored, not refused."""

    model_config = SettingsConfigDict(env_prefix="TOUCHSTONE_", extra="ignore")

    env: Literal["development", "production"] = "development"
    var_dir: Path = Path("var")
    records_port: int = Field(default=8000, ge=1, le=65535)
    consent_port: int = Field(default=8001, ge=1, le=65535)
    host: str = "127.0.0.1"
    # Set by the operator, or given development defaults by `touchstone serve`.
    jwks: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_algorithm: str | None = None
    consent_url: str | None = None
    # A bearer token for commands that call a service (`touchstone audit export`).
    token: SecretStr | None = None

    @property
    def production(self) -> bool:
        return self.env == "production"


def inherited_environment() -> dict[str, str]:
    """The environment the services are started with: PATH, database URLs, keys, all passed through as is."""
    return dict(os.environ)
