"""Settings of the records service: the only reader of the environment (prefix ``TOUCHSTONE_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.storekit.eventstore import Recorders, eventstore_env
from services.storekit.master_key import master_key_bytes

DEV_ISSUER = "touchstone-dev"
DEV_AUDIENCE = "touchstone"
RECORDERS = Recorders(
    postgres="services.records.persistence.recorders:PostgresRecordsRecorder",
    sqlite="services.records.persistence.recorders:SQLiteRecordsRecorder",
)


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
        configured = self.master_key.get_secret_value() if self.master_key is not None else None
        return master_key_bytes(configured, self.var_dir)

    def eventsourcing_env(self) -> dict[str, str]:
        """The eventsourcing library's settings for this database (never read from os.environ)."""
        try:
            store = eventstore_env(
                self.records_database_url,
                default_sqlite=self.var_dir / "records.sqlite",
                recorders=RECORDERS,
                schema=self.records_database_schema,
                pool_size=self.db_pool_size,
                max_overflow=self.db_max_overflow,
            )
        except ValueError:
            raise ValueError(
                "TOUCHSTONE_RECORDS_DATABASE_URL must be a postgresql:// or sqlite:/// URL"
            ) from None
        return {
            **store,
            "MAPPER_TOPIC": "services.records.persistence.mapper:ClientSealingMapper",
            # Cached aggregates are fast-forwarded from the database on every get, so never stale.
            "AGGREGATE_CACHE_MAXSIZE": str(self.aggregate_cache_size),
        }
