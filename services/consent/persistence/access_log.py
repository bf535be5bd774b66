"""The access log's tables: one append-only log per tenant, its sequencer and its signed checkpoints.

An entry is numbered by its tenant's row in ``consent_log_heads``, in the transaction that stores the
decision: the row is locked, advanced by the number of entries and the entries inserted with the numbers
it gave, so numbers are gap-free (a rolled-back save gives its numbers back) and one tenant's entries are
numbered by one sequencer however many processes decide. The stored leaf is the entry's RFC 8785
canonical JSON with its ``seq``; its Merkle leaf hash is stored beside it. PostgreSQL (and SQLite) refuse
UPDATE, DELETE and TRUNCATE on the log table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any
from uuid import UUID

from services.consent.application.ports import LogFilter, LogRow, StoredCheckpoint
from services.storekit.dialect import Dialect
from services.storekit.migrations import Migration
from services.tlog.canonical import canonical
from services.tlog.merkle import leaf_hash

APPEND_ONLY = "the access log is append-only"
LOG_MIGRATION = Migration(
    2,
    "the access log: entries, the sequencer per tenant, signed checkpoints",
    (
        "CREATE TABLE {t}consent_access_log ("
        " tenant text NOT NULL, seq {bigint} NOT NULL, decision_id {uuid} NOT NULL,"
        " time {time} NOT NULL, client_id {uuid}, actor text NOT NULL, outcome text NOT NULL,"
        " purpose text NOT NULL, leaf {bytes} NOT NULL, leaf_hash {bytes} NOT NULL,"
        " PRIMARY KEY (tenant, seq))",
        "CREATE INDEX consent_access_log_client ON {t}consent_access_log (tenant, client_id, seq)",
        "CREATE INDEX consent_access_log_actor ON {t}consent_access_log (tenant, actor, seq)",
        "CREATE TABLE {t}consent_log_heads (tenant text PRIMARY KEY, size {bigint} NOT NULL)",
        "CREATE TABLE {t}consent_log_checkpoints ("
        " tenant text NOT NULL, size {bigint} NOT NULL, root {bytes} NOT NULL, note text NOT NULL,"
        " signed_at {time} NOT NULL, PRIMARY KEY (tenant, size))",
    ),
    postgres=(
        "CREATE FUNCTION {t}consent_access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS"
        f" $$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$",
        "CREATE TRIGGER consent_access_log_no_change BEFORE UPDATE OR DELETE ON {t}consent_access_log"
        " FOR EACH ROW EXECUTE FUNCTION {t}consent_access_log_append_only()",
        "CREATE TRIGGER consent_access_log_no_truncate BEFORE TRUNCATE ON {t}consent_access_log"
        " FOR EACH STATEMENT EXECUTE FUNCTION {t}consent_access_log_append_only()",
    ),
    sqlite=(
        "CREATE TRIGGER consent_access_log_no_update BEFORE UPDATE ON consent_access_log"
        f" BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END",
        "CREATE TRIGGER consent_access_log_no_delete BEFORE DELETE ON consent_access_log"
        f" BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END",
    ),
)


class AccessLogTables:
    def __init__(self, dialect: Dialect, transaction: Callable[[], AbstractContextManager[Any]]) -> None:
        self.dialect = dialect
        self.transaction = transaction

    # --- the sequencer (in the transaction of the decisions) ----------------------------------------------
    def lock_heads(self, curs: Any, tenants: set[str]) -> None:
        """Take the tenants' sequencer rows in one order, so two writers never wait on each other."""
        for tenant in sorted(tenants):
            curs.execute(
                self.dialect.sql(
                    "INSERT INTO {t}consent_log_heads VALUES (%s, 0)"
                    " ON CONFLICT (tenant) DO UPDATE SET size = consent_log_heads.size"
                ),
                (tenant,),
            )

    def append(self, curs: Any, rows: list[LogRow]) -> None:
        d = self.dialect
        for tenant in sorted({row.tenant for row in rows}):
            mine = [row for row in rows if row.tenant == tenant]
            curs.execute(
                d.sql("INSERT INTO {t}consent_log_heads VALUES (%s, 0) ON CONFLICT DO NOTHING"), (tenant,)
            )
            curs.execute(
                d.sql("UPDATE {t}consent_log_heads SET size = size + %s WHERE tenant = %s RETURNING size"),
                (len(mine), tenant),
            )
            first = int(curs.fetchone()["size"]) - len(mine)
            params = []
            for seq, row in enumerate(mine, start=first):
                leaf = canonical({**row.entry, "seq": seq})
                entry = row.entry
                client = entry["client_id"]
                params.append(
                    (
                        tenant,
                        seq,
                        d.uuid(row.decision_id),
                        d.time(_time(entry["time"])),
                        d.uuid(UUID(client)) if client else None,
                        entry["actor"],
                        entry["outcome"],
                        entry["purpose_of_use"],
                        leaf,
                        leaf_hash(leaf),
                    )
                )
            insert = f"INSERT INTO {{t}}consent_access_log VALUES ({', '.join(['%s'] * 10)})"
            curs.executemany(d.sql(insert), params)

    # --- reading ----------------------------------------------------------------------------------------
    def size(self, tenant: str) -> int:
        with self.transaction() as curs:
            curs.execute(
                self.dialect.sql("SELECT size FROM {t}consent_log_heads WHERE tenant = %s"), (tenant,)
            )
            row = curs.fetchone()
        return int(row["size"]) if row else 0

    def heads(self) -> list[tuple[str, int]]:
        with self.transaction() as curs:
            curs.execute(self.dialect.sql("SELECT tenant, size FROM {t}consent_log_heads ORDER BY tenant"))
            return [(r["tenant"], int(r["size"])) for r in curs.fetchall()]

    def entries(self, tenant: str, where: LogFilter, after: int, limit: int) -> list[bytes]:
        """Leaves (canonical JSON bytes) matching the filter, in sequence order after ``after``."""
        d = self.dialect
        clauses, params = ["tenant = %s", "seq > %s"], [tenant, after]
        for column, value in (
            ("client_id", d.uuid(where.client_id) if where.client_id else None),
            ("actor", where.actor),
            ("outcome", where.outcome),
            ("purpose", where.purpose),
        ):
            if value is not None:
                clauses.append(f"{column} = %s")
                params.append(value)
        if where.since is not None:
            clauses.append("time >= %s")
            params.append(d.time(where.since))
        if where.until is not None:
            clauses.append("time < %s")
            params.append(d.time(where.until))
        query = "SELECT leaf FROM {t}consent_access_log WHERE " + " AND ".join(clauses)
        with self.transaction() as curs:
            curs.execute(d.sql(query + " ORDER BY seq LIMIT %s"), (*params, limit))
            return [bytes(r["leaf"]) for r in curs.fetchall()]

    def leaves(self, tenant: str, start: int, end: int, batch: int = 5000) -> Iterator[bytes]:
        """The leaves ``start <= seq < end`` in order, read in batches (exports can be long)."""
        d = self.dialect
        while start < end:
            with self.transaction() as curs:
                curs.execute(
                    d.sql(
                        "SELECT leaf FROM {t}consent_access_log WHERE tenant = %s AND seq >= %s AND seq < %s"
                        " ORDER BY seq LIMIT %s"
                    ),
                    (tenant, start, end, batch),
                )
                rows = [bytes(r["leaf"]) for r in curs.fetchall()]
            if not rows:
                return
            yield from rows
            start += len(rows)

    def leaf_hashes(self, tenant: str, start: int, end: int) -> list[bytes]:
        d = self.dialect
        with self.transaction() as curs:
            curs.execute(
                d.sql(
                    "SELECT leaf_hash FROM {t}consent_access_log WHERE tenant = %s AND seq >= %s AND seq < %s"
                    " ORDER BY seq"
                ),
                (tenant, start, end),
            )
            return [bytes(r["leaf_hash"]) for r in curs.fetchall()]

    # --- checkpoints ------------------------------------------------------------------------------------
    def latest_checkpoint(self, tenant: str) -> StoredCheckpoint | None:
        with self.transaction() as curs:
            curs.execute(
                self.dialect.sql(
                    "SELECT size, root, note, signed_at FROM {t}consent_log_checkpoints WHERE tenant = %s"
                    " ORDER BY size DESC LIMIT 1"
                ),
                (tenant,),
            )
            row = curs.fetchone()
        if row is None:
            return None
        return StoredCheckpoint(
            tenant, int(row["size"]), bytes(row["root"]), row["note"], _time(row["signed_at"])
        )

    def checkpoints(self, tenant: str) -> list[str]:
        with self.transaction() as curs:
            curs.execute(
                self.dialect.sql(
                    "SELECT note FROM {t}consent_log_checkpoints WHERE tenant = %s ORDER BY size"
                ),
                (tenant,),
            )
            return [r["note"] for r in curs.fetchall()]

    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        d = self.dialect
        with self.transaction() as curs:
            curs.execute(
                d.sql(
                    "INSERT INTO {t}consent_log_checkpoints VALUES (%s, %s, %s, %s, %s)"
                    " ON CONFLICT DO NOTHING"
                ),
                (
                    checkpoint.tenant,
                    checkpoint.size,
                    checkpoint.root,
                    checkpoint.note,
                    d.time(checkpoint.signed_at),
                ),
            )


def _time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
