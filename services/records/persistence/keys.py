"""Per-client data keys: AES-256-GCM keys wrapped by the master key, destroyable one client at a time.

A new key is usable in this process at once (it encrypts the client's first events) and its wrapped
form commits with those events (``CommitRows.new_key``). Unwrapped keys are cached briefly; destroying a
key evicts it here, and other processes stop using it when their cache entry expires.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.records.application.ports import ClientKeyDestroyed, NewClientKey
from services.records.persistence.tables import RecordTables

NONCE_BYTES = 12
CACHE_SECONDS = 30.0


class MasterKey:
    """Wraps and unwraps data keys; the associated data binds a wrapped key to its client and tenant."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the master key must be 32 bytes (base64 of 32 random bytes)")
        self._aead = AESGCM(key)

    def wrap(self, data_key: bytes, tenant: str, client_id: UUID) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data_key, _aad(tenant, client_id))

    def unwrap(self, wrapped: bytes, tenant: str, client_id: UUID) -> bytes:
        return self._aead.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _aad(tenant, client_id))


def _aad(tenant: str, client_id: UUID) -> bytes:
    return client_id.bytes + tenant.encode()


class DatabaseKeyRing:
    """The :class:`~services.records.application.ports.KeyRing` kept in ``records_client_keys``."""

    def __init__(self, tables: RecordTables, master: MasterKey) -> None:
        self._tables = tables
        self._master = master
        self._lock = threading.Lock()
        self._cache: dict[UUID, tuple[AESGCM, float]] = {}
        self._pending: dict[UUID, AESGCM] = {}

    def new_key(self, tenant: str, client_id: UUID) -> NewClientKey:
        data_key = AESGCM.generate_key(bit_length=256)
        with self._lock:
            self._pending[client_id] = AESGCM(data_key)
        return NewClientKey(tenant, client_id, self._master.wrap(data_key, tenant, client_id))

    def forget_pending(self, client_id: UUID) -> None:
        with self._lock:
            self._pending.pop(client_id, None)

    def aead(self, client_id: UUID) -> AESGCM:
        """The client's cipher, or :class:`ClientKeyDestroyed`."""
        with self._lock:
            cached = self._cache.get(client_id)
            if cached is not None and cached[1] > time.monotonic():
                return cached[0]
            pending = self._pending.get(client_id)
        if pending is not None and not self._is_stored(client_id):
            return pending
        aead = AESGCM(self._load(client_id))
        with self._lock:
            self._pending.pop(client_id, None)
            self._cache[client_id] = (aead, time.monotonic() + CACHE_SECONDS)
        return aead

    def seal(self, client_id: UUID, plaintext: bytes, context: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self.aead(client_id).encrypt(nonce, plaintext, context)

    def unseal(self, client_id: UUID, sealed: bytes, context: bytes) -> bytes:
        return self.aead(client_id).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context)

    def check(self, client_id: UUID) -> None:
        self.aead(client_id)

    def destroy(self, client_id: UUID) -> bool:
        d = self._tables.dialect
        with self._tables.transaction() as curs:
            curs.execute(
                d.sql(
                    "UPDATE {t}records_client_keys SET wrapped_key = NULL, destroyed_at = %s"
                    " WHERE client_id = %s AND wrapped_key IS NOT NULL RETURNING client_id"
                ),
                (d.time(datetime.now(UTC)), d.uuid(client_id)),
            )
            destroyed = curs.fetchone() is not None
        with self._lock:
            self._cache.pop(client_id, None)
            self._pending.pop(client_id, None)
        return destroyed

    def tenant_of(self, client_id: UUID) -> str | None:
        row = self._row(client_id)
        return None if row is None else str(row["tenant"])

    def _is_stored(self, client_id: UUID) -> bool:
        return self._row(client_id) is not None

    def _load(self, client_id: UUID) -> bytes:
        row = self._row(client_id)
        if row is None or row["wrapped_key"] is None:
            raise ClientKeyDestroyed(client_id)
        return self._master.unwrap(bytes(row["wrapped_key"]), row["tenant"], client_id)

    def _row(self, client_id: UUID) -> Any:
        d = self._tables.dialect
        with self._tables.transaction() as curs:
            curs.execute(
                d.sql("SELECT tenant, wrapped_key FROM {t}records_client_keys WHERE client_id = %s"),
                (d.uuid(client_id),),
            )
            row = curs.fetchone()
        return row
