"""Settings of the records service: the only reader of the environment (prefix ``TOUCHSTONE_``)."""

from __future__ import annotations

import base64
import contextlib
import os
import re
import secrets
from pathlib import Path
from typing import Literal
from urllib.parse import ParseResult, parse_qs, unquote, urlencode, urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from psycopg.conninfo import conninfo_to_dict
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_ISSUER = "touchstone-dev"
DEV_AUDIENCE = "touchstone"
RECORDERS = "services.records.persistence.recorders"


class RecordsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TOUCHSTONE_", extra="ignore")

    env: Literal["development", "production"] = "development"
    var_dir: Path = Path("var")
    records_database_url: str | None = None
    records_database_schema: str | None = None
    jwks: str | None = None
    jwt_issuer: str = DEV_ISSUER
    jwt_audience: str = DEV_AUDIENCE
    jwt_algorithm: str = "ES256"
    master_key: SecretStr | None = None
    # Where the consent service decides every access; records does not start without it.
    consent_url: str | None = None
    consent_timeout_seconds: float = Field(2.0, gt=0)
    log_level: str = "INFO"
    db_pool_size: int = 5
    db_max_overflow: int = 35
    aggregate_cache_size: int = 200
    # Unsigned progress notes are overdue after this many whole days, counted in the practice's time zone.
    note_overdue_days: int = Field(3, ge=0, le=365)
    practice_time_zone: str = Field("UTC", description="IANA time zone of the practice, e.g. Europe/Berlin")

    @field_validator("practice_time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a known IANA time zone") from None
        return value

    @model_validator(mode="after")
    def _refuse_development_defaults_in_production(self) -> RecordsSettings:
        if self.env == "production":
            missing = [
                name
                for name, value in (
                    ("TOUCHSTONE_JWKS", self.jwks),
                    ("TOUCHSTONE_MASTER_KEY", self.master_key),
                    ("TOUCHSTONE_CONSENT_URL", self.consent_url),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"production needs {', '.join(missing)}")
            if self.jwt_issuer == DEV_ISSUER:
                raise ValueError("production refuses the development issuer; set TOUCHSTONE_JWT_ISSUER")
        return self

    @property
    def production(self) -> bool:
        return self.env == "production"

    def jwks_source(self) -> str:
        return self.jwks or str(self.var_dir / "dev-keys" / "jwks.json")

    def master_key_bytes(self) -> bytes:
        """The master key; in development one is made on first use under ``var_dir``."""
        if self.master_key is not None:
            return _decode_key(self.master_key.get_secret_value())
        path = self.var_dir / "dev-master.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(base64.b64encode(secrets.token_bytes(32)).decode())
            tmp.chmod(0o600)
            # link, not replace: when several workers start at once, the first key made is everyone's
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
            tmp.unlink()
        return _decode_key(path.read_text().strip())

    def eventsourcing_env(self) -> dict[str, str]:
        """The eventsourcing library's settings for this database (never read from os.environ)."""
        topics = {
            "MAPPER_TOPIC": "services.records.persistence.mapper:ClientSealingMapper",
            # Cached aggregates are fast-forwarded from the database on every get, so never stale.
            "AGGREGATE_CACHE_MAXSIZE": str(self.aggregate_cache_size),
        }
        url = urlparse(self.records_database_url or "")
        if url.scheme in ("", "sqlite"):
            # sqlite:///relative/file or sqlite:////absolute/file, as SQLAlchemy spells them
            path = Path(unquote(url.path[1:])) if url.path else self.var_dir / "records.sqlite"
            path.parent.mkdir(parents=True, exist_ok=True)
            return {
                **topics,
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(path),
                "SQLITE_LOCK_TIMEOUT": "10",
                "APPLICATION_RECORDER_TOPIC": f"{RECORDERS}:SQLiteRecordsRecorder",
            }
        if url.scheme not in ("postgresql", "postgres"):
            raise ValueError("TOUCHSTONE_RECORDS_DATABASE_URL must be a postgresql:// or sqlite:/// URL")
        return {**topics, **self._postgres_env(url)}

    def _postgres_env(self, url: ParseResult) -> dict[str, str]:
        params = parse_qs(url.query)
        schema = self.records_database_schema or params.pop("schema", [None])[0]
        # libpq parses the rest (percent-encoded socket directories, passwords, options)
        conninfo = conninfo_to_dict(url._replace(query=urlencode(params, doseq=True)).geturl())
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": str(conninfo.get("dbname") or "postgres"),
            "POSTGRES_HOST": str(conninfo.get("host") or "localhost"),
            "POSTGRES_PORT": str(conninfo.get("port") or 5432),
            "POSTGRES_USER": str(conninfo.get("user") or "postgres"),
            "POSTGRES_PASSWORD": str(conninfo.get("password") or ""),
            "POSTGRES_SCHEMA": schema or _search_path(str(conninfo.get("options") or "")),
            "POSTGRES_LOCK_TIMEOUT": "5",
            "POSTGRES_CONNECT_TIMEOUT": "5",
            "POSTGRES_POOL_SIZE": str(self.db_pool_size),
            "POSTGRES_MAX_OVERFLOW": str(self.db_max_overflow),
            "APPLICATION_RECORDER_TOPIC": f"{RECORDERS}:PostgresRecordsRecorder",
        }


def _search_path(options: str) -> str:
    """The schema named by libpq's ``options=-csearch_path=x``; else ``public``."""
    match = re.search(r"-c\s*search_path=([A-Za-z0-9_]+)", options)
    return match.group(1) if match else "public"


def _decode_key(text: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except ValueError:
        raise ValueError("TOUCHSTONE_MASTER_KEY must be base64 of 32 random bytes") from None
    if len(key) != 32:
        raise ValueError("TOUCHSTONE_MASTER_KEY must be base64 of 32 random bytes")
    return key
