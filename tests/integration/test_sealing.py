"""PHI is sealed per client in the real databases; destroying a client's key erases that client only.

DESIGN.md, "Storage and events": PHI-bearing event state is encrypted (AES-GCM) with a per-client data key;
destroying a client's key erases that client's events while the streams, versions and log entries stay.
mapper.py: the aggregate id, version and topic are the associated data, so a sealed state cannot move.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid4

import pytest
from cryptography.exceptions import InvalidTag

from services.records.api import render
from services.records.application.app import RecordsApplication
from services.records.application.commands import IdempotentWrite
from services.records.application.errors import Erased, NotFound
from services.records.application.ports import IdempotencyScope
from services.records.persistence.mapper import SEALED
from services.records.settings import RecordsSettings
from tests.support import Database, SqliteDatabase
from tests.support.integration_records import (
    ADA,
    ADMIN,
    OCCURRED,
    OTHER_TENANT,
    TENANT,
    RawDatabase,
    command,
    hold_session,
    open_episode,
    practice,
    records_app,
    register_client,
    register_practitioner,
    state_of,
)

CLIENT_TOPICS = ("touchstone.records.Client", "touchstone.records.Episode")


def marker(label: str) -> str:
    return f"{label}{uuid4().hex[:16]}"


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode()


def tables_holding(raw: RawDatabase, text: str) -> list[str]:
    """Every table with a row in which ``text`` appears, in any column, as bytes or as text."""
    needle = text.encode()
    return [
        table
        for table in raw.tables()
        if any(
            needle in _as_bytes(value) for row in raw.rows(f'SELECT * FROM {{t}}"{table}"') for value in row
        )
    ]


def files_holding(database: Database, text: str) -> list[str]:
    """The SQLite database's files (main file, WAL, shared memory) whose raw bytes contain ``text``."""
    assert isinstance(database, SqliteDatabase)
    files = [p for p in database.path.parent.iterdir() if p.name.startswith(database.path.name)]
    assert database.path in files
    return [p.name for p in files if text.encode() in p.read_bytes()]


def stored_state(raw: RawDatabase, aggregate_id: UUID, version: int) -> bytes:
    return bytes(
        raw.scalar(
            f"SELECT state FROM {{t}}{raw.events_table} WHERE originator_id = %s AND originator_version = %s",
            (raw.uuid(aggregate_id), version),
        )
    )


def store_state(raw: RawDatabase, aggregate_id: UUID, version: int, state: bytes) -> None:
    raw.execute(
        f"UPDATE {{t}}{raw.events_table} SET state = %s WHERE originator_id = %s AND originator_version = %s",
        (state, raw.uuid(aggregate_id), version),
    )


def test_no_table_and_no_file_holds_phi_in_clear(app: RecordsApplication, database: Database) -> None:
    family, mrn, statement = marker("Family"), marker("MRN"), marker("Goal")
    display_name = marker("Dr ")  # the directory is not client data: stored in clear, and must be found
    app.register_practitioner(command(ADMIN), ADA.sub, display_name, ["clinician"], None, False)
    client_id = UUID(str(register_client(app, family=family, identifier=mrn).aggregate_id))
    episode_id = open_episode(app, client_id)
    app.set_goal(command(ADA), episode_id, statement, [], date(2026, 6, 1), OCCURRED, [])
    app.take_snapshot(client_id)  # snapshots carry the whole state: they must be sealed too
    app.take_snapshot(episode_id)
    raw = RawDatabase(database, app)

    assert tables_holding(raw, display_name) == [raw.events_table]  # the scans do find text in clear
    if isinstance(database, SqliteDatabase):
        assert files_holding(database, display_name) != []
    for phi in (family, mrn, statement):
        assert tables_holding(raw, phi) == [], phi
        if isinstance(database, SqliteDatabase):
            assert files_holding(database, phi) == [], phi

    assert app.get_practitioner(ADA, ADA.sub).display_name == display_name
    assert app.get_client(ADA, client_id).name.family == family
    assert [g.statement for g in app.get_episode(ADA, episode_id).episode.goals.values()] == [statement]
    rows = raw.rows(f"SELECT topic, state FROM {{t}}{raw.events_table}")
    rows += raw.rows(f"SELECT topic, state FROM {{t}}{raw.snapshots_table}")
    assert len([topic for topic, _ in rows if "Snapshot" in topic]) == 2
    for topic, state in rows:
        sealed = bytes(state).startswith(SEALED)
        assert sealed == (not topic.startswith("touchstone.records.Practitioner")), topic


def test_destroying_a_key_erases_that_client_and_no_other(
    app: RecordsApplication, settings: RecordsSettings, database: Database
) -> None:
    erased_client, erased_episode = practice(app)
    kept_client, kept_episode = practice(app)
    hold_session(app, erased_episode)
    kept_before = state_of(app.get_episode(ADA, kept_episode).episode)
    assert app.get_client(ADA, erased_client).id == erased_client  # now cached in this process
    raw = RawDatabase(database, app)
    streams = f"SELECT originator_id, originator_version FROM {{t}}{raw.events_table} ORDER BY 1, 2"
    events_before = raw.rows(streams)
    as_of_before = raw.rows("SELECT originator_id, version, recorded_at FROM {t}records_as_of ORDER BY 1, 2")

    with pytest.raises(NotFound):
        app.destroy_client_key(OTHER_TENANT, erased_client)  # another tenant's erasure cannot reach it
    assert app.destroy_client_key(TENANT, erased_client) is True
    assert app.destroy_client_key(TENANT, erased_client) is False

    with records_app(settings) as other_process:  # nothing cached there
        for reader in (app, other_process):
            with pytest.raises(Erased):
                reader.get_client(ADA, erased_client)
            with pytest.raises(Erased):
                reader.get_episode(ADA, erased_episode)
            with pytest.raises(Erased):
                reader.get_episode(ADA, erased_episode, version=1)
            with pytest.raises(Erased):
                reader.client_episodes(ADA, erased_client, None, 10)
            assert state_of(reader.get_episode(ADA, kept_episode).episode) == kept_before
            assert reader.get_client(ADA, kept_client).id == kept_client
        with pytest.raises(Erased):
            hold_session(app, erased_episode)

    assert raw.rows(streams) == events_before  # the streams and their versions stay
    assert (
        raw.rows("SELECT originator_id, version, recorded_at FROM {t}records_as_of ORDER BY 1, 2")
        == as_of_before
    )
    key_row = raw.rows(
        "SELECT wrapped_key, destroyed_at FROM {t}records_client_keys WHERE client_id = %s",
        (raw.uuid(erased_client),),
    )
    assert len(key_row) == 1 and key_row[0][0] is None and key_row[0][1] is not None


@pytest.mark.parametrize(
    "position",
    [0, len(SEALED), len(SEALED) + 16, len(SEALED) + 28, -1],
    ids=["prefix", "client-id", "nonce", "ciphertext", "tag"],
)
def test_a_flipped_byte_makes_the_read_fail_never_return_wrong_data(
    app: RecordsApplication, settings: RecordsSettings, database: Database, position: int
) -> None:
    _, episode_id = practice(app)
    hold_session(app, episode_id)
    raw = RawDatabase(database, app)
    original = stored_state(raw, episode_id, 2)
    tampered = bytearray(original)
    tampered[position] ^= 0x01
    store_state(raw, episode_id, 2, bytes(tampered))

    with records_app(settings) as reader:
        # Any exception will do (InvalidTag; a deserialisation error when the prefix is hit; NotFound when
        # the client id is, as no key is found): what must never happen is a read that returns.
        with pytest.raises(Exception):  # noqa: B017
            reader.get_episode(ADA, episode_id)
        with pytest.raises(Exception):  # noqa: B017
            app.get_episode(ADA, episode_id, version=2)  # not from the cache: from the stored events
        assert reader.repository.get(episode_id, version=1).version == 1  # the rest of the stream is intact

        store_state(raw, episode_id, 2, original)
        assert reader.get_episode(ADA, episode_id).episode.version == 2


def test_a_sealed_state_moved_to_another_version_fails_to_decrypt(
    app: RecordsApplication, settings: RecordsSettings, database: Database
) -> None:
    _, episode_id = practice(app)
    hold_session(app, episode_id)
    hold_session(app, episode_id)  # versions 2 and 3: same client key, same topic
    raw = RawDatabase(database, app)
    store_state(raw, episode_id, 3, stored_state(raw, episode_id, 2))

    with records_app(settings) as reader, pytest.raises(InvalidTag):
        reader.get_episode(ADA, episode_id)


def test_a_sealed_state_moved_to_another_stream_fails_to_decrypt(
    app: RecordsApplication, settings: RecordsSettings, database: Database
) -> None:
    client_id, first = practice(app)
    second = open_episode(app, client_id)  # the same client, so the same key
    hold_session(app, first)
    hold_session(app, second)
    raw = RawDatabase(database, app)
    store_state(raw, second, 2, stored_state(raw, first, 2))

    with records_app(settings) as reader:
        assert reader.get_episode(ADA, first).episode.version == 2
        with pytest.raises(InvalidTag):
            reader.get_episode(ADA, second)


def test_an_idempotent_registration_leaves_no_phi_in_clear(
    app: RecordsApplication, database: Database
) -> None:
    # Integrators register clients with an Idempotency-Key; the response the API stores for a replay is
    # rendered by the API itself and holds the client's name and identifiers.
    register_practitioner(app)
    family, mrn = marker("Family"), marker("MRN")
    scope = IdempotencyScope(TENANT, ADA.sub, "POST", "/v1/clients", uuid4().hex)
    claim = IdempotentWrite(scope, uuid4().hex)
    claim.render = render.created(render.client, lambda w: f"/v1/clients/{w.aggregate_id}")
    assert app.index.claim_idempotency(scope, "request-hash", claim.claim_token, 60) is None
    written = register_client(app, family=family, identifier=mrn, idempotency=claim)
    assert claim.completed
    raw = RawDatabase(database, app)
    for phi in (family, mrn):
        assert tables_holding(raw, phi) == [], phi

    kept = app.index.claim_idempotency(scope, "request-hash", uuid4().hex, 60)
    assert kept is not None and kept.completed is not None
    assert family.encode() in app.replay(scope, kept).body  # the replay is the response, unsealed
    app.destroy_client_key(TENANT, written.aggregate_id)
    with pytest.raises(Erased):  # and erasure reaches it too
        app.replay(scope, kept)
