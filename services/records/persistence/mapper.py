"""A mapper that encrypts each client's events with that client's own data key.

The library's ``Cipher`` never sees which aggregate an event belongs to; a mapper does. Events that
carry a ``client_id`` (clients, episodes, and their snapshots) are sealed with AES-GCM under the
client's key, with the aggregate id, version and topic as associated data, so a stored event cannot be
moved to another stream or position unnoticed. Events without a client (the practitioner directory)
are stored as plain JSON. Destroying the client's key leaves the streams, versions and the as_of index
intact but makes the content unreadable.
"""

from __future__ import annotations

import os
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent

from services.records.persistence.keys import NONCE_BYTES, DatabaseKeyRing

SEALED = b"\x01TS1"  # cannot begin a JSON document
_HEADER = len(SEALED) + 16 + NONCE_BYTES


class ClientSealingMapper(Mapper[UUID]):
    keyring: DatabaseKeyRing | None = None  # set by the composition root once the recorder exists

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        stored = super().to_stored_event(domain_event)
        client_id = _client_of(domain_event)
        if client_id is None:
            return stored
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys().aead(client_id).encrypt(nonce, stored.state, _aad(stored))
        return StoredEvent(
            originator_id=stored.originator_id,
            originator_version=stored.originator_version,
            topic=stored.topic,
            state=SEALED + client_id.bytes + nonce + sealed,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        state = bytes(stored_event.state)
        if state.startswith(SEALED):
            client_id = UUID(bytes=state[len(SEALED) : len(SEALED) + 16])
            nonce = state[len(SEALED) + 16 : _HEADER]
            plain = self._keys().aead(client_id).decrypt(nonce, state[_HEADER:], _aad(stored_event))
            stored_event = StoredEvent(
                originator_id=stored_event.originator_id,
                originator_version=stored_event.originator_version,
                topic=stored_event.topic,
                state=plain,
            )
        return super().to_domain_event(stored_event)

    def _keys(self) -> DatabaseKeyRing:
        if self.keyring is None:
            raise RuntimeError("the mapper's key ring was not wired by the composition root")
        return self.keyring


def _client_of(event: Any) -> UUID | None:
    client_id = getattr(event, "client_id", None)
    if client_id is None and isinstance(getattr(event, "state", None), dict):
        client_id = event.state.get("client_id")
    return client_id if isinstance(client_id, UUID) else None


def _aad(stored: StoredEvent) -> bytes:
    return f"{stored.originator_id}:{stored.originator_version}:{stored.topic}".encode()
