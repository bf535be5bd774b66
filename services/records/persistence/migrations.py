"""Versioned migrations for the records service's own tables (everything that is not an event).

Each migration is applied once, in order, in its own transaction, and recorded in
``records_schema_migrations``. On PostgreSQL an advisory lock keeps two starting processes from
racing; on SQLite the writer lock does the same.
"""

from __future__ import annotations

from services.storekit.dialect import Dialect
from services.storekit.migrations import Migration, Transaction, apply_migrations

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "client keys, as_of index, idempotency keys, client identifiers, episodes by client",
        (
            "CREATE TABLE {t}records_client_keys ("
            " client_id {uuid} PRIMARY KEY, tenant text NOT NULL, wrapped_key {bytes},"
            " created_at {time} NOT NULL, destroyed_at {time})",
            "CREATE TABLE {t}records_as_of ("
            " originator_id {uuid} NOT NULL, version {bigint} NOT NULL, recorded_at {time} NOT NULL,"
            " PRIMARY KEY (originator_id, version))",
            "CREATE INDEX records_as_of_time ON {t}records_as_of (originator_id, recorded_at)",
            "CREATE TABLE {t}records_idempotency ("
            " tenant text NOT NULL, actor text NOT NULL, method text NOT NULL, path text NOT NULL,"
            " key text NOT NULL, request_hash text NOT NULL, claim_token text NOT NULL,"
            " state text NOT NULL, claimed_at {time} NOT NULL, response_status integer,"
            " response_headers text, response_body {bytes},"
            " PRIMARY KEY (tenant, actor, method, path, key))",
            "CREATE TABLE {t}records_client_identifiers ("
            " tenant text NOT NULL, digest {bytes} NOT NULL, client_id {uuid} NOT NULL,"
            " PRIMARY KEY (tenant, digest))",
            "CREATE TABLE {t}records_client_episodes ("
            " tenant text NOT NULL, client_id {uuid} NOT NULL, episode_id {uuid} NOT NULL,"
            " PRIMARY KEY (tenant, client_id, episode_id))",
        ),
    ),
    Migration(
        2,
        "kept idempotent responses name their client (sealed with its key); expiry by claim time",
        (
            "ALTER TABLE {t}records_idempotency ADD COLUMN client_id {uuid}",
            "CREATE INDEX records_idempotency_claimed ON {t}records_idempotency (claimed_at)",
        ),
    ),
    Migration(
        3,
        "amendment requests by due time, for the list of open requests past due",
        (
            "CREATE TABLE {t}records_amendment_requests ("
            " request_id {uuid} PRIMARY KEY, tenant text NOT NULL, client_id {uuid} NOT NULL,"
            " target_id {uuid} NOT NULL, due_at {time} NOT NULL, closed_at {time})",
            "CREATE INDEX records_amendment_requests_due ON {t}records_amendment_requests (tenant, due_at)",
        ),
    ),
    Migration(
        4,
        "progress notes by author and drafting time, for the list of unsigned notes overdue",
        (
            "CREATE TABLE {t}records_notes ("
            " note_id {uuid} PRIMARY KEY, tenant text NOT NULL, author text NOT NULL,"
            " drafted_at {time} NOT NULL, signed_at {time})",
            "CREATE INDEX records_notes_unsigned ON {t}records_notes (tenant, drafted_at)",
        ),
    ),
)


def migrate(dialect: Dialect, transaction: Transaction) -> list[int]:
    """Apply the records migrations not yet applied; return the versions applied now."""
    return apply_migrations(dialect, transaction, MIGRATIONS, ledger="records_schema_migrations")
