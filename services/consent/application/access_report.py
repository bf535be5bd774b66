"""The client's own access report: who accessed their record, when, what kind of information and why.

It is read from the tenant's access log: the permitted entries about the client, the client's own reads
included (it is their record's log) and the reads of the report itself. Psychotherapy notes are left out:
like HIPAA's right of access, the report covers the designated record set, which excludes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from services.consent.application.commands import Command, DayWindow
from services.consent.application.core import ConsentCore, Question
from services.consent.application.errors import NotFound
from services.consent.application.ports import LogFilter
from services.consent.domain.directive import PSYCHOTHERAPY_NOTES, ConsentDirective


@dataclass(frozen=True)
class Reported:
    """An access-log entry of the report, and the organization of an integrator (its consent's grantee)."""

    entry: dict[str, Any]
    organization: str | None


class ReportUseCases(ConsentCore):
    def access_report(
        self, cmd: Command, client_id: UUID, window: DayWindow, after: int, limit: int
    ) -> list[Reported]:
        """Up to ``limit`` lines after entry ``after`` (ask ``limit + 1`` to learn whether more follow)."""
        self._read(cmd, Question("read", "access_report", client_id=client_id))
        tenant = cmd.actor.tenant
        where = LogFilter(client_id=client_id, outcome="permit", since=window.since, until=window.until)
        found: list[dict[str, Any]] = []
        while len(found) < limit:
            leaves = self.access_log.entries(tenant, where, after, limit)
            entries = [json.loads(leaf) for leaf in leaves]
            found += [e for e in entries if _in_record_set(e)]
            if len(leaves) < limit:
                break
            after = entries[-1]["seq"]
        displays: dict[UUID, str | None] = {}
        return [Reported(e, self._integrator_organization(tenant, e, displays)) for e in found[:limit]]

    def _integrator_organization(
        self, tenant: str, entry: dict[str, Any], displays: dict[UUID, str | None]
    ) -> str | None:
        if "integrator" not in entry["roles"]:
            return None
        return self._organization(tenant, tuple(UUID(c) for c in entry["consents"]), displays)

    def _organization(
        self, tenant: str, consents: tuple[UUID, ...], displays: dict[UUID, str | None]
    ) -> str | None:
        """The grantee's display of the first consent relied on that names one (``displays`` caches)."""
        for consent_id in consents:
            if consent_id not in displays:
                try:
                    displays[consent_id] = self._load(
                        tenant, consent_id, ConsentDirective
                    ).terms.grantee_display
                except NotFound:
                    displays[consent_id] = None
            if displays[consent_id]:
                return displays[consent_id]
        return None


def _in_record_set(entry: dict[str, Any]) -> bool:
    resource = entry["resource"]
    return resource["type"] != "psychotherapy_note" and PSYCHOTHERAPY_NOTES not in resource["labels"]
