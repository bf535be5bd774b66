"""The consent service's own tables: the index of directives, of break-glass and of disclosures (the
register), the access log, and their migrations.

Rows are written by the recorders in the transaction that stores the events they describe. They hold
ids, codes and times (what decisions need), never free text: that stays in the (encrypted) events.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import date, datetime
from typing import Any
from uuid import UUID

from services.consent.application.ports import BreakGlassRow, CommitRows, DirectiveRow, DisclosureRow
from services.consent.domain.directive import Terms
from services.consent.persistence.access_log import LOG_MIGRATION, AccessLogTables
from services.consent.persistence.disclosures import DISCLOSURE_MIGRATION, DisclosureTables
from services.storekit.dialect import Dialect
from services.storekit.migrations import Migration, apply_migrations

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "directives and break-glass, by client",
        (
            "CREATE TABLE {t}consent_directives ("
            " id {uuid} PRIMARY KEY, tenant text NOT NULL, client_id {uuid} NOT NULL, terms text NOT NULL,"
            " granted_at {time} NOT NULL, revoked_at {time})",
            "CREATE INDEX consent_directives_client ON {t}consent_directives (tenant, client_id, id)",
            "CREATE TABLE {t}consent_break_glass ("
            " id {uuid} PRIMARY KEY, tenant text NOT NULL, client_id {uuid} NOT NULL, actor text NOT NULL,"
            " started_at {time} NOT NULL, expires_at {time} NOT NULL, reviewed boolean NOT NULL)",
            "CREATE INDEX consent_break_glass_actor ON {t}consent_break_glass (tenant, actor, client_id)",
            "CREATE INDEX consent_break_glass_queue ON {t}consent_break_glass (tenant, reviewed, id)",
        ),
    ),
    LOG_MIGRATION,
    DISCLOSURE_MIGRATION,
)


class ConsentTables:
    """Implements the application's ``ConsentIndex`` port on PostgreSQL or SQLite."""

    def __init__(self, dialect: Dialect, transaction: Callable[[], AbstractContextManager[Any]]) -> None:
        self.dialect = dialect
        self.transaction = transaction
        self.log = AccessLogTables(dialect, transaction)
        self.disclosures = DisclosureTables(dialect, transaction)

    def migrate(self) -> list[int]:
        return apply_migrations(
            self.dialect, self.transaction, MIGRATIONS, ledger="consent_schema_migrations"
        )

    # --- written with the events ----------------------------------------------------------------------
    def write_commit_rows(self, curs: Any, rows: CommitRows | None) -> None:
        if rows is None:
            return
        if rows.log:
            self.log.append(curs, rows.log)
        self.disclosures.insert(curs, rows.disclosures)
        d = self.dialect
        for row in rows.directives:
            curs.execute(
                d.sql(
                    "INSERT INTO {t}consent_directives VALUES (%s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (id) DO UPDATE SET revoked_at = excluded.revoked_at"
                ),
                (
                    d.uuid(row.id),
                    row.tenant,
                    d.uuid(row.terms.client_id),
                    _terms_json(row.terms),
                    d.time(row.granted_at),
                    d.time(row.revoked_at) if row.revoked_at else None,
                ),
            )
        for grant in rows.break_glass:
            curs.execute(
                d.sql(
                    "INSERT INTO {t}consent_break_glass VALUES (%s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (id) DO UPDATE SET reviewed = excluded.reviewed"
                ),
                (
                    d.uuid(grant.id),
                    grant.tenant,
                    d.uuid(grant.client_id),
                    grant.actor,
                    d.time(grant.started_at),
                    d.time(grant.expires_at),
                    grant.reviewed,
                ),
            )

    # --- the ConsentIndex port ------------------------------------------------------------------------
    def directives_of(self, tenant: str, client_id: UUID) -> list[DirectiveRow]:
        d = self.dialect
        with self.transaction() as curs:
            curs.execute(
                d.sql(
                    "SELECT id, terms, granted_at, revoked_at FROM {t}consent_directives"
                    " WHERE tenant = %s AND client_id = %s"
                ),
                (tenant, d.uuid(client_id)),
            )
            rows = curs.fetchall()
        return [
            DirectiveRow(
                tenant,
                d.read_uuid(r["id"]),
                _terms(r["terms"]),
                _time(r["granted_at"]),
                _time(r["revoked_at"]) if r["revoked_at"] else None,
            )
            for r in rows
        ]

    def directive_ids(self, tenant: str, client_id: UUID, after: UUID | None, limit: int) -> list[UUID]:
        d = self.dialect
        with self.transaction() as curs:
            curs.execute(
                d.sql(
                    "SELECT id FROM {t}consent_directives WHERE tenant = %s AND client_id = %s"
                    " AND id > %s ORDER BY id LIMIT %s"
                ),
                (tenant, d.uuid(client_id), d.uuid(after or UUID(int=0)), limit),
            )
            return [d.read_uuid(r["id"]) for r in curs.fetchall()]

    def break_glass_of(self, tenant: str, actor: str, client_id: UUID) -> list[BreakGlassRow]:
        d = self.dialect
        with self.transaction() as curs:
            curs.execute(
                d.sql(
                    "SELECT id, started_at, expires_at, reviewed FROM {t}consent_break_glass"
                    " WHERE tenant = %s AND actor = %s AND client_id = %s"
                ),
                (tenant, actor, d.uuid(client_id)),
            )
            rows = curs.fetchall()
        return [
            BreakGlassRow(
                tenant,
                d.read_uuid(r["id"]),
                client_id,
                actor,
                _time(r["started_at"]),
                _time(r["expires_at"]),
                bool(r["reviewed"]),
            )
            for r in rows
        ]

    def break_glass_ids(
        self, tenant: str, unreviewed_only: bool, after: UUID | None, limit: int
    ) -> list[UUID]:
        d = self.dialect
        reviewed = " AND reviewed = %s" if unreviewed_only else ""
        params: tuple[Any, ...] = (
            tenant,
            d.uuid(after or UUID(int=0)),
            *((False,) if unreviewed_only else ()),
        )
        with self.transaction() as curs:
            curs.execute(
                d.sql(
                    "SELECT id FROM {t}consent_break_glass WHERE tenant = %s AND id > %s"
                    + reviewed
                    + " ORDER BY id LIMIT %s"
                ),
                (*params, limit),
            )
            return [d.read_uuid(r["id"]) for r in curs.fetchall()]

    def disclosures_of(
        self, tenant: str, client_id: UUID, start: datetime, end: datetime, accountable_only: bool
    ) -> list[DisclosureRow]:
        return self.disclosures.of_client(tenant, client_id, start, end, accountable_only)

    def disclosure(self, tenant: str, disclosure_id: UUID) -> DisclosureRow | None:
        return self.disclosures.one(tenant, disclosure_id)

    def ping(self) -> None:
        with self.transaction() as curs:
            curs.execute("SELECT 1")
            curs.fetchone()


def _terms_json(terms: Terms) -> str:
    """The terms the policy reads; free text (the description, names) stays in the encrypted events."""
    codes = replace(terms, description=None, disclosed_by=None, grantee_display=None)
    return json.dumps(codes.to_event(), default=_encode, sort_keys=True)


def _encode(value: Any) -> str:
    if isinstance(value, datetime | date | UUID):
        return value.isoformat() if not isinstance(value, UUID) else str(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def _terms(text: str) -> Terms:
    fields = json.loads(text)
    fields["client_id"] = UUID(fields["client_id"])
    fields["start"] = datetime.fromisoformat(fields["start"])
    fields["end"] = datetime.fromisoformat(fields["end"]) if fields["end"] else None
    return Terms.from_event(fields)


def _time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
