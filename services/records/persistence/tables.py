"""Reads and writes of the records service's own tables, for both databases.

``write_commit_rows`` runs inside the transaction that inserts the events (see ``recorders``), so the
as_of index, client identifiers, episode links, new client keys and idempotency completions commit
atomically with the events they describe.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from services.records.application.ports import (
    AmendmentRow,
    CommitRows,
    IdempotencyClaimLost,
    IdempotencyCompletion,
    IdempotencyRecord,
    IdempotencyScope,
    IdentifierTaken,
    NoteRow,
    StoredResponse,
)
from services.storekit.dialect import Dialect

IDEMPOTENCY_TTL = timedelta(hours=24)
_SCOPE = "tenant = %s AND actor = %s AND method = %s AND path = %s AND key = %s"


def _scope(scope: IdempotencyScope) -> tuple[str, ...]:
    return (scope.tenant, scope.actor, scope.method, scope.path, scope.key)


class RecordTables:
    """The queries; ``transaction()`` opens a committing transaction on the recorder's datastore."""

    def __init__(self, dialect: Dialect, transaction: Callable[[], AbstractContextManager[Any]]) -> None:
        self.dialect = dialect
        self.transaction = transaction

    # --- written with the events ----------------------------------------------------------------------
    def write_commit_rows(self, curs: Any, rows: CommitRows | None) -> None:
        if rows is None:
            return
        d = self.dialect
        if rows.new_key is not None:
            key = rows.new_key
            curs.execute(
                d.sql("INSERT INTO {t}records_client_keys VALUES (%s, %s, %s, %s, NULL)"),
                (d.uuid(key.client_id), key.tenant, key.wrapped_key, d.time(datetime.now(UTC))),
            )
        for claim in rows.identifiers:
            curs.execute(
                d.sql(
                    "INSERT INTO {t}records_client_identifiers VALUES (%s, %s, %s)"
                    " ON CONFLICT DO NOTHING RETURNING client_id"
                ),
                (claim.tenant, claim.digest, d.uuid(claim.client_id)),
            )
            if curs.fetchone() is None:
                raise IdentifierTaken()
        if rows.episode_link is not None:
            link = rows.episode_link
            curs.execute(
                d.sql("INSERT INTO {t}records_client_episodes VALUES (%s, %s, %s)"),
                (link.tenant, d.uuid(link.client_id), d.uuid(link.episode_id)),
            )
        if rows.as_of:
            curs.executemany(
                d.sql("INSERT INTO {t}records_as_of VALUES (%s, %s, %s)"),
                [(d.uuid(r.originator_id), r.version, d.time(r.recorded_at)) for r in rows.as_of],
            )
        if rows.amendment is not None:
            self._write_amendment(curs, rows.amendment)
        if rows.note is not None:
            self._write_note(curs, rows.note)
        if rows.idempotency is not None:
            self._complete_idempotency(curs, rows.idempotency)

    def _write_amendment(self, curs: Any, row: AmendmentRow) -> None:
        d = self.dialect
        closed = None if row.closed_at is None else d.time(row.closed_at)
        curs.execute(
            d.sql(
                "INSERT INTO {t}records_amendment_requests VALUES (%s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (request_id) DO UPDATE SET closed_at = excluded.closed_at"
            ),
            (d.uuid(row.request_id), row.tenant, d.uuid(row.client_id), d.uuid(row.target_id),
             d.time(row.due_at), closed),
        )  # fmt: skip

    def _complete_idempotency(self, curs: Any, done: IdempotencyCompletion) -> None:
        response = done.response
        curs.execute(
            self.dialect.sql(
                "UPDATE {t}records_idempotency SET state = 'completed', response_status = %s,"
                " response_headers = %s, response_body = %s, client_id = %s"
                f" WHERE {_SCOPE} AND claim_token = %s RETURNING key"
            ),
            (
                response.status,
                json.dumps(response.headers),
                response.body,
                None if done.client_id is None else self.dialect.uuid(done.client_id),
                *_scope(done.scope),
                done.claim_token,
            ),
        )
        if curs.fetchone() is None:
            raise IdempotencyClaimLost()

    # --- queries --------------------------------------------------------------------------------------
    def version_at(self, originator_id: UUID, as_of: datetime) -> int | None:
        d = self.dialect
        with self.transaction() as curs:
            curs.execute(
                d.sql(
                    "SELECT MAX(version) AS version FROM {t}records_as_of"
                    " WHERE originator_id = %s AND recorded_at <= %s"
                ),
                (d.uuid(originator_id), d.time(as_of)),
            )
            row = curs.fetchone()
        return None if row is None or row["version"] is None else int(row["version"])

    def client_by_identifier(self, tenant: str, digest: bytes) -> UUID | None:
        d = self.dialect
        with self.transaction() as curs:
            curs.execute(
                d.sql(
                    "SELECT client_id FROM {t}records_client_identifiers WHERE tenant = %s AND digest = %s"
                ),
                (tenant, digest),
            )
            row = curs.fetchone()
        return None if row is None else d.read_uuid(row["client_id"])

    def _write_note(self, curs: Any, row: NoteRow) -> None:
        d = self.dialect
        signed = None if row.signed_at is None else d.time(row.signed_at)
        curs.execute(
            d.sql(
                "INSERT INTO {t}records_notes VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (note_id) DO UPDATE SET signed_at = excluded.signed_at"
            ),
            (d.uuid(row.note_id), row.tenant, row.author, d.time(row.drafted_at), signed),
        )

    def unsigned_notes(
        self, tenant: str, drafted_before: datetime, author: str | None, after: UUID | None, limit: int
    ) -> Sequence[UUID]:
        d = self.dialect
        where, params = (
            "tenant = %s AND signed_at IS NULL AND drafted_at < %s",
            [tenant, d.time(drafted_before)],
        )
        if author is not None:
            where, params = where + " AND author = %s", [*params, author]
        return self._ids("records_notes", "note_id", where, params, after, limit)

    def amendments_of(self, tenant: str, target_id: UUID, after: UUID | None, limit: int) -> Sequence[UUID]:
        where, params = "tenant = %s AND target_id = %s", [tenant, self.dialect.uuid(target_id)]
        return self._ids("records_amendment_requests", "request_id", where, params, after, limit)

    def overdue_amendments(
        self, tenant: str, now: datetime, after: UUID | None, limit: int
    ) -> Sequence[UUID]:
        where, params = "tenant = %s AND closed_at IS NULL AND due_at < %s", [tenant, self.dialect.time(now)]
        return self._ids("records_amendment_requests", "request_id", where, params, after, limit)

    def episodes_of_client(
        self, tenant: str, client_id: UUID, after: UUID | None, limit: int
    ) -> Sequence[UUID]:
        where, params = "tenant = %s AND client_id = %s", [tenant, self.dialect.uuid(client_id)]
        return self._ids("records_client_episodes", "episode_id", where, params, after, limit)

    def _ids(
        self, table: str, column: str, where: str, params: list[Any], after: UUID | None, limit: int
    ) -> Sequence[UUID]:
        """A page of ids (keyset paging: those after ``after``, in order); table and column are ours."""
        d = self.dialect
        if after is not None:
            where, params = f"{where} AND {column} > %s", [*params, d.uuid(after)]
        statement = f"SELECT {column} FROM {{t}}{table} WHERE {where} ORDER BY {column} LIMIT %s"
        with self.transaction() as curs:
            curs.execute(d.sql(statement), [*params, limit])
            return [d.read_uuid(row[column]) for row in curs.fetchall()]

    # --- idempotency claims (their own short transactions) --------------------------------------------
    def claim_idempotency(
        self, scope: IdempotencyScope, request_hash: str, claim_token: str, stale_after_seconds: float
    ) -> IdempotencyRecord | None:
        """``None`` when claimed now; else the record that holds the key (in flight or completed)."""
        for _ in range(3):  # a row released between our INSERT and SELECT: try again
            found = self._try_claim(scope, request_hash, claim_token, stale_after_seconds)
            if found is None or isinstance(found, IdempotencyRecord):
                return found
        raise IdempotencyClaimLost()

    def _try_claim(
        self, scope: IdempotencyScope, request_hash: str, claim_token: str, stale_after_seconds: float
    ) -> IdempotencyRecord | bool | None:
        d = self.dialect
        now = datetime.now(UTC)
        with self.transaction() as curs:
            # Keys are kept 24 hours: whoever claims one also clears the expired ones (indexed by time).
            curs.execute(
                d.sql("DELETE FROM {t}records_idempotency WHERE claimed_at < %s"),
                (d.time(now - IDEMPOTENCY_TTL),),
            )
            curs.execute(
                d.sql(
                    "INSERT INTO {t}records_idempotency (tenant, actor, method, path, key, request_hash,"
                    " claim_token, state, claimed_at) VALUES (%s, %s, %s, %s, %s, %s, %s, 'in_flight', %s)"
                    " ON CONFLICT DO NOTHING RETURNING key"
                ),
                (*_scope(scope), request_hash, claim_token, d.time(now)),
            )
            if curs.fetchone() is not None:
                return None
            curs.execute(
                d.sql(
                    "UPDATE {t}records_idempotency SET request_hash = %s, claim_token = %s,"
                    " state = 'in_flight', claimed_at = %s, response_status = NULL,"
                    " response_headers = NULL, response_body = NULL"
                    f" WHERE {_SCOPE} AND ((state = 'in_flight' AND claimed_at < %s)"
                    " OR claimed_at < %s) RETURNING key"
                ),
                (
                    request_hash,
                    claim_token,
                    d.time(now),
                    *_scope(scope),
                    d.time(now - timedelta(seconds=stale_after_seconds)),
                    d.time(now - IDEMPOTENCY_TTL),
                ),
            )
            if curs.fetchone() is not None:
                return None
            curs.execute(d.sql(f"SELECT * FROM {{t}}records_idempotency WHERE {_SCOPE}"), _scope(scope))
            row = curs.fetchone()
        return False if row is None else _record(row)

    def release_idempotency(self, scope: IdempotencyScope, claim_token: str) -> None:
        with self.transaction() as curs:
            curs.execute(
                self.dialect.sql(
                    f"DELETE FROM {{t}}records_idempotency WHERE {_SCOPE}"
                    " AND claim_token = %s AND state = 'in_flight'"
                ),
                (*_scope(scope), claim_token),
            )

    def ping(self) -> None:
        with self.transaction() as curs:
            curs.execute("SELECT 1")
            curs.fetchone()


def _record(row: Any) -> IdempotencyRecord:
    if row["state"] != "completed":
        return IdempotencyRecord(row["request_hash"], None, row["claim_token"])
    response = StoredResponse(
        status=int(row["response_status"]),
        headers=json.loads(row["response_headers"]),
        body=bytes(row["response_body"]),
    )
    client_id = None if row["client_id"] is None else Dialect.read_uuid(row["client_id"])
    return IdempotencyRecord(row["request_hash"], response, None, client_id)
