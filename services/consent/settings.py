"""Settings of the consent service: the only place it reads the environment (``TOUCHSTONE_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SQLITE_SCHEME = "sqlite:///"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class ConsentSettings(BaseSettings):
    # Errors must not quote values: a database URL can hold a password.
    model_config = SettingsConfigDict(env_prefix="TOUCHSTONE_", extra="ignore", hide_input_in_errors=True)

    env: Literal["development", "production"] = "development"
    consent_database_url: str | None = None
    var_dir: Path = Path("var")
    jwks: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("consent_database_url")
    @classmethod
    def _known_database(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith((SQLITE_SCHEME, *POSTGRES_SCHEMES)):
            # Only the scheme is quoted back: the rest of a URL can hold a password.
            scheme = url.split(":", 1)[0]
            raise ValueError(f"unsupported database URL scheme {scheme!r}: use sqlite:/// or postgresql://")
        return url

    @model_validator(mode="after")
    def _production_needs_identity(self) -> ConsentSettings:
        # Outside development there is no development key to fall back on: refuse to start half-configured.
        missing = [name for name in ("jwks", "jwt_issuer", "jwt_audience") if getattr(self, name) is None]
        if self.env == "production" and missing:
            names = ", ".join(f"TOUCHSTONE_{name.upper()}" for name in missing)
            raise ValueError(f"production needs {names}")
        return self

    @property
    def database_url(self) -> str:
        """The configured database, or the embedded SQLite file ``<var_dir>/consent.sqlite``."""
        if self.consent_database_url is not None:
            return self.consent_database_url
        return SQLITE_SCHEME + str(self.var_dir / "consent.sqlite")
