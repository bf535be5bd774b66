"""The composition root: builds the records application with its concrete adapters."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from services.records.adapters.consent_gate import HttpConsentGate
from services.records.application.access import AccessGate
from services.records.application.app import RecordsApplication
from services.records.application.core import Clock, utc_now
from services.records.persistence.keys import DatabaseKeyRing, MasterKey
from services.records.persistence.mapper import ClientSealingMapper
from services.records.settings import RecordsSettings
from services.storekit.eventstore import setup_lock


class IdentifierDigest:
    """Client identifiers are indexed by a keyed digest, so the index holds no identifier in clear."""

    def __init__(self, master_key: bytes) -> None:
        self._key = hmac.new(master_key, b"touchstone/records/identifier-index/v1", hashlib.sha256).digest()

    def __call__(self, tenant: str, system: str, value: str) -> bytes:
        message = "\x1f".join((tenant, system, value)).encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()


def build_records(
    settings: RecordsSettings, *, gate: AccessGate | None = None, clock: Clock = utc_now
) -> RecordsApplication:
    env = settings.eventsourcing_env()
    master_key = settings.master_key_bytes()
    with setup_lock(env, "records"):
        app = RecordsApplication(env, gate=gate or access_gate(settings), clock=clock)
    tables: Any = app.recorder.tables  # type: ignore[attr-defined]
    keyring = DatabaseKeyRing(tables, MasterKey(master_key))
    mapper = app.mapper
    if not isinstance(mapper, ClientSealingMapper):
        raise RuntimeError("the records application must use the client-sealing mapper")
    mapper.keyring = keyring
    app.overdue_after_days, app.practice_time_zone = settings.note_overdue_days, settings.practice_time_zone
    app.attach(index=tables, keys=keyring, identifier_digest=IdentifierDigest(master_key))
    return app


def access_gate(settings: RecordsSettings) -> AccessGate:
    """The consent service: no access without a decision, and no decision it has not logged."""
    if not settings.consent_url:
        raise ValueError("the records service needs the consent service: set TOUCHSTONE_CONSENT_URL")
    return HttpConsentGate(settings.consent_url, settings.consent_timeout_seconds)
