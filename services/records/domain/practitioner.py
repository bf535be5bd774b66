"""The practitioner directory: who is on care teams, who supervises whom.

A practitioner is known by the ``sub`` of their token; the aggregate id is derived from tenant and ``sub``
so the application can find a practitioner from a token without a lookup table.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from . import checks
from .base import EventMeta, RecordAggregate, meta_fields
from .errors import ValidationError

PRACTITIONER_NAMESPACE = UUID("8a3c6f0e-5d1b-5c7e-9f2a-4b6d8e0c1a3f")
"""Fixed namespace of practitioner ids; changing it would orphan every stored practitioner."""

PRACTITIONER_ROLES: list[str] = ["admin", "auditor", "clinician", "privacy_officer", "supervisor"]


def practitioner_id(tenant: str, sub: str) -> UUID:
    """The id of the practitioner known as ``sub`` in ``tenant``."""
    return uuid5(PRACTITIONER_NAMESPACE, f"{tenant}/{sub}")


def _roles(roles: list[str]) -> list[str]:
    checked = checks.texts(roles, "roles", required=True)
    for role in checked:
        if role not in PRACTITIONER_ROLES:
            shown = checks.shown_code(role)
            raise ValidationError(f"roles: unknown role {shown}; known: {PRACTITIONER_ROLES}", field="roles")
    return sorted(checked)


def _supervisor(sub: str, supervisor: str | None) -> str | None:
    checks.optional_text(supervisor, "supervisor")
    if supervisor == sub:
        raise ValidationError("a practitioner cannot supervise themselves", field="supervisor")
    return supervisor


def _flag(value: bool, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{field} must be true or false", field=field)
    return value


class Practitioner(RecordAggregate):
    TOPIC = "touchstone.records.Practitioner.v1"

    class Event(RecordAggregate.Event):
        TOPIC = "touchstone.records.Practitioner.Event.v1"

    class PractitionerRegistered(Event, RecordAggregate.Created):
        TOPIC = "touchstone.records.PractitionerRegistered.v1"
        sub: str
        display_name: str
        roles: list[str]
        supervisor: str | None
        requires_supervision: bool

    Created = PractitionerRegistered

    class PractitionerUpdated(Event):
        """Carries only what changed: a field left ``None`` kept its value."""

        TOPIC = "touchstone.records.PractitionerUpdated.v1"
        display_name: str | None
        roles: list[str] | None
        supervisor: str | None
        supervisor_removed: bool
        requires_supervision: bool | None

        def apply(self, aggregate: Practitioner) -> None:
            if self.display_name is not None:
                aggregate.display_name = self.display_name
            if self.roles is not None:
                aggregate.roles = list(self.roles)
            if self.supervisor is not None or self.supervisor_removed:
                aggregate.supervisor = self.supervisor
            if self.requires_supervision is not None:
                aggregate.requires_supervision = self.requires_supervision

    def __init__(
        self,
        *,
        tenant: str,
        sub: str,
        display_name: str,
        roles: list[str],
        supervisor: str | None,
        requires_supervision: bool,
    ) -> None:
        self.tenant = tenant
        self.sub = sub
        self.display_name = display_name
        self.roles = list(roles)
        self.supervisor = supervisor
        self.requires_supervision = requires_supervision

    @classmethod
    def register(
        cls,
        meta: EventMeta,
        sub: str,
        display_name: str,
        roles: list[str],
        supervisor: str | None,
        requires_supervision: bool,
    ) -> Practitioner:
        checks.text(sub, "sub")
        return cls._create(
            cls.PractitionerRegistered,
            id=practitioner_id(meta.tenant, sub),
            sub=sub,
            display_name=checks.text(display_name, "display_name"),
            roles=_roles(roles),
            supervisor=_supervisor(sub, supervisor),
            requires_supervision=_flag(requires_supervision, "requires_supervision"),
            **meta_fields(meta),
        )

    def update(
        self,
        meta: EventMeta,
        *,
        display_name: str | None = None,
        roles: list[str] | None = None,
        supervisor: str | None = None,
        requires_supervision: bool | None = None,
        remove_supervisor: bool = False,
    ) -> bool:
        """Change directory details; returns whether anything changed (no change, no event)."""
        if remove_supervisor and supervisor is not None:
            raise ValidationError("give a supervisor or remove it, not both", field="supervisor")
        changes = self._changes(display_name, roles, supervisor, requires_supervision)
        removed = remove_supervisor and self.supervisor is not None
        if not any(value is not None for value in changes.values()) and not removed:
            return False
        self._trigger(self.PractitionerUpdated, meta, supervisor_removed=removed, **changes)
        return True

    def _changes(
        self,
        display_name: str | None,
        roles: list[str] | None,
        supervisor: str | None,
        requires_supervision: bool | None,
    ) -> dict[str, Any]:
        """The validated new values that differ from the current ones; ``None`` for the rest."""
        new_name = checks.optional_text(display_name, "display_name")
        new_roles = None if roles is None else _roles(roles)
        new_supervisor = _supervisor(self.sub, supervisor)
        flag = None if requires_supervision is None else _flag(requires_supervision, "requires_supervision")
        return {
            "display_name": None if new_name == self.display_name else new_name,
            "roles": None if new_roles == self.roles else new_roles,
            "supervisor": None if new_supervisor == self.supervisor else new_supervisor,
            "requires_supervision": None if flag == self.requires_supervision else flag,
        }
