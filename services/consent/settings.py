"""Settings of the consent service: the only place it reads the environment (``TOUCHSTONE_*``)."""

from __future__ import annotations

import base64
import contextlib
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.storekit.eventstore import Recorders, eventstore_env
from services.storekit.master_key import derive_key, master_key_bytes
from services.tlog.note import generate_signing_key

SQLITE_SCHEME = "sqlite:///"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
DEV_ISSUER = "touchstone-dev"
DEV_AUDIENCE = "touchstone"
RECORDERS = Recorders(
    postgres="services.consent.persistence.recorders:PostgresConsentRecorder",
    sqlite="services.consent.persistence.recorders:SQLiteConsentRecorder",
)


class ConsentSettings(BaseSettings):
    # Errors must not quote values: a database URL can hold a password.
    model_config = SettingsConfigDict(env_prefix="TOUCHSTONE_", extra="ignore", hide_input_in_errors=True)

    env: Literal["development", "production"] = "development"
    consent_database_url: str | None = None
    var_dir: Path = Path("var")
    jwks: str | None = None
    jwt_issuer: str = DEV_ISSUER
    jwt_audience: str = DEV_AUDIENCE
    jwt_algorithm: str = "ES256"
    master_key: SecretStr | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    db_pool_size: int = 5
    db_max_overflow: int = 35
    # The access log: its Ed25519 signing key (a file, PKCS#8 PEM or base64 of the 32-byte seed; never in
    # the database), the name the key signs under, the tenants' log names and when checkpoints are signed.
    log_signing_key: SecretStr | None = None
    log_key_name: str = "touchstone-access-log"
    log_origin_prefix: str = "touchstone.local/access-log"
    log_previous_keys: str = Field(
        "", description="verifier keys of rotated-out signing keys, comma-separated"
    )
    checkpoint_every_entries: int = Field(1000, ge=1)
    checkpoint_every_seconds: float = Field(5.0, gt=0)

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
        if self.env == "production":
            missing = [
                name for name in ("jwks", "master_key", "log_signing_key") if getattr(self, name) is None
            ]
            if missing:
                names = ", ".join(f"TOUCHSTONE_{name.upper()}" for name in missing)
                raise ValueError(f"production needs {names}")
            if self.jwt_issuer == DEV_ISSUER:
                raise ValueError("production refuses the development issuer; set TOUCHSTONE_JWT_ISSUER")
        return self

    @property
    def production(self) -> bool:
        return self.env == "production"

    def jwks_source(self) -> str:
        return self.jwks or str(self.var_dir / "dev-keys" / "jwks.json")

    def log_signing_key_source(self) -> str:
        """The configured key, or the development key file (made on first use) under ``var_dir``."""
        if self.log_signing_key is not None:
            return self.log_signing_key.get_secret_value()
        path = self.var_dir / "dev-keys" / "log-signing.key"
        if not path.exists():
            with contextlib.suppress(FileExistsError):  # another process made it first: theirs is ours
                generate_signing_key(path)
        return str(path)

    @property
    def database_url(self) -> str:
        """The configured database, or the embedded SQLite file ``<var_dir>/consent.sqlite``."""
        if self.consent_database_url is not None:
            return self.consent_database_url
        return SQLITE_SCHEME + str(self.var_dir / "consent.sqlite")

    def eventsourcing_env(self) -> dict[str, str]:
        """The library's settings: the database, our recorders, and AES-GCM for every stored event.

        Events hold free text (break-glass reasons, review notes, revocation reasons), so they are
        encrypted with a key derived from the master key; the index tables hold only ids and codes.
        """
        configured = self.master_key.get_secret_value() if self.master_key else None
        cipher_key = derive_key(master_key_bytes(configured, self.var_dir), "touchstone/consent/events/v1")
        return {
            **eventstore_env(
                self.database_url,
                default_sqlite=self.var_dir / "consent.sqlite",
                recorders=RECORDERS,
                pool_size=self.db_pool_size,
                max_overflow=self.db_max_overflow,
            ),
            "CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher",
            "CIPHER_KEY": base64.b64encode(cipher_key).decode(),
        }
