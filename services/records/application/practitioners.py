"""Use cases of the practitioner directory (id = the practitioner's token ``sub``)."""

from __future__ import annotations

from eventsourcing.persistence import IntegrityError

from services.records.application.access import Actor, Resource
from services.records.application.commands import Command, Written
from services.records.application.core import RecordsCore
from services.records.application.errors import AlreadyExists
from services.records.application.ports import CommitRows
from services.records.domain.practitioner import Practitioner, practitioner_id


class PractitionerUseCases(RecordsCore):
    def register_practitioner(
        self,
        cmd: Command,
        sub: str,
        display_name: str,
        roles: list[str],
        supervisor: str | None,
        requires_supervision: bool,
    ) -> Written:
        self._decide(
            cmd.actor, "create", Resource("practitioner", sub), client_id=None, request_id=cmd.request_id
        )
        practitioner = Practitioner.register(
            self._meta(cmd), sub, display_name, roles, supervisor, requires_supervision
        )
        written = Written(practitioner, sub, practitioner.version)
        try:
            self._save(cmd, written, practitioner, rows=CommitRows())
        except IntegrityError:
            raise AlreadyExists(f"practitioner {sub} is already in the directory") from None
        return written

    def get_practitioner(self, actor: Actor, sub: str, request_id: str = "") -> Practitioner:
        self._decide(actor, "read", Resource("practitioner", sub), client_id=None, request_id=request_id)
        return self._load(actor.tenant, practitioner_id(actor.tenant, sub), Practitioner)
