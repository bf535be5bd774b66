"""The disclosure register's index: one row per disclosure, written in the transaction of its events.

Ids, codes, flags and times only; a disclosure entered by hand keeps its recipient, address, description,
purpose and basis in its (encrypted) event, and one registered from a decision is that decision.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any
from uuid import UUID

from services.consent.application.ports import DisclosureRow
from services.storekit.dialect import Dialect
from services.storekit.migrations import Migration

DISCLOSURE_MIGRATION = Migration(
    3,
    "the disclosure register: disclosures by client and time (ids, codes and flags only)",
    (
        "CREATE TABLE {t}consent_disclosures ("
        " id {uuid} PRIMARY KEY, tenant text NOT NULL, client_id {uuid} NOT NULL,"
        " disclosed_at {time} NOT NULL, source text NOT NULL, accountable boolean NOT NULL,"
        " purpose text, recipient text)",
        "CREATE INDEX consent_disclosures_client ON {t}consent_disclosures (tenant, client_id, disclosed_at)",
    ),
)
_COLUMNS = "id, tenant, client_id, disclosed_at, source, accountable, purpose, recipient"


class DisclosureTables:
    def __init__(self, dialect: Dialect, transaction: Callable[[], AbstractContextManager[Any]]) -> None:
        self.dialect = dialect
        self.transaction = transaction

    def insert(self, curs: Any, rows: list[DisclosureRow]) -> None:
        d = self.dialect
        for row in rows:
            curs.execute(
                d.sql(f"INSERT INTO {{t}}consent_disclosures ({_COLUMNS}) VALUES ({', '.join(['%s'] * 8)})"),
                (
                    d.uuid(row.id),
                    row.tenant,
                    d.uuid(row.client_id),
                    d.time(row.disclosed_at),
                    row.source,
                    row.accountable,
                    row.purpose,
                    row.recipient,
                ),
            )

    def of_client(
        self, tenant: str, client_id: UUID, start: datetime, end: datetime, accountable_only: bool
    ) -> list[DisclosureRow]:
        d = self.dialect
        only = " AND accountable = %s" if accountable_only else ""
        params: tuple[Any, ...] = (tenant, d.uuid(client_id), d.time(start), d.time(end))
        with self.transaction() as curs:
            curs.execute(
                d.sql(
                    f"SELECT {_COLUMNS} FROM {{t}}consent_disclosures WHERE tenant = %s AND client_id = %s"
                    f" AND disclosed_at >= %s AND disclosed_at < %s{only} ORDER BY disclosed_at, id"
                ),
                (*params, True) if accountable_only else params,
            )
            return [self._row(r) for r in curs.fetchall()]

    def one(self, tenant: str, disclosure_id: UUID) -> DisclosureRow | None:
        d = self.dialect
        with self.transaction() as curs:
            curs.execute(
                d.sql(f"SELECT {_COLUMNS} FROM {{t}}consent_disclosures WHERE tenant = %s AND id = %s"),
                (tenant, d.uuid(disclosure_id)),
            )
            found = curs.fetchone()
        return self._row(found) if found else None

    def _row(self, r: Any) -> DisclosureRow:
        read = self.dialect.read_uuid
        return DisclosureRow(
            r["tenant"],
            read(r["id"]),
            read(r["client_id"]),
            _time(r["disclosed_at"]),
            r["source"],
            bool(r["accountable"]),
            r["purpose"],
            r["recipient"],
        )


def _time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
