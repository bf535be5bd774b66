"""The client (the person in therapy): identifiers, name, birth date, time zone.

Every Client event carries ``client_id`` (equal to the aggregate id) because the persistence layer encrypts
PHI per client with it. Identifier uniqueness within a tenant needs a look across clients, so the application
checks it, not this aggregate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from . import checks
from .base import EventMeta, RecordAggregate, meta_fields
from .errors import ValidationError


@dataclass(frozen=True, kw_only=True)
class Identifier:
    """A business identifier, e.g. a medical record number: ``system`` (a URI) and ``value``."""

    system: str
    value: str


@dataclass(frozen=True, kw_only=True)
class HumanName:
    """A person's name in FHIR's shape; ``text`` is the name as it should be displayed, when given."""

    family: str
    given: list[str]
    prefix: list[str] = field(default_factory=list)
    text: str | None = None


def _identifiers(identifiers: list[Identifier]) -> list[Identifier]:
    if not isinstance(identifiers, list):
        raise ValidationError("identifiers must be a list", field="identifiers")
    for index, identifier in enumerate(identifiers):
        if not isinstance(identifier, Identifier):
            raise ValidationError(f"identifiers[{index}] must be an Identifier", field="identifiers")
        checks.text(identifier.system, f"identifiers[{index}].system")
        checks.text(identifier.value, f"identifiers[{index}].value")
    if len(set(identifiers)) != len(identifiers):
        raise ValidationError("identifiers must not repeat", field="identifiers")
    return list(identifiers)


def _name(name: HumanName) -> HumanName:
    if not isinstance(name, HumanName):
        raise ValidationError("name must be a HumanName", field="name")
    given = checks.texts(name.given, "name.given", unique=False)
    prefix = checks.texts(name.prefix, "name.prefix", unique=False)
    checks.optional_text(name.text, "name.text")
    if not isinstance(name.family, str) or (not name.family.strip() and not given):
        raise ValidationError("name needs a family name or a given name", field="name.family")
    return HumanName(family=name.family, given=given, prefix=prefix, text=name.text)


def _birth_date(birth_date: date | None, meta: EventMeta) -> date | None:
    if birth_date is None:
        return None
    if not isinstance(birth_date, date) or isinstance(birth_date, datetime):
        raise ValidationError("birth_date must be a date", field="birth_date")
    # A day's grace: "today" in the client's time zone can be tomorrow in UTC.
    if birth_date > meta.recorded_at.date() + timedelta(days=1):
        raise ValidationError("birth_date must not be in the future", field="birth_date")
    return birth_date


class Client(RecordAggregate):
    TOPIC = "touchstone.records.Client.v1"

    class Event(RecordAggregate.Event):
        TOPIC = "touchstone.records.Client.Event.v1"
        client_id: UUID

    class ClientRegistered(Event, RecordAggregate.Created):
        TOPIC = "touchstone.records.ClientRegistered.v1"
        identifiers: list[Identifier]
        name: HumanName
        birth_date: date | None
        time_zone: str

    # The library would otherwise re-define the inherited ``Created`` here under the base's topic.
    Created = ClientRegistered

    class ClientDetailsCorrected(Event):
        """Carries only what changed: a field left ``None`` kept its value."""

        TOPIC = "touchstone.records.ClientDetailsCorrected.v1"
        name: HumanName | None
        birth_date: date | None
        birth_date_removed: bool
        time_zone: str | None
        identifiers: list[Identifier] | None

        def apply(self, aggregate: Client) -> None:
            if self.name is not None:
                aggregate.name = self.name
            if self.birth_date is not None or self.birth_date_removed:
                aggregate.birth_date = self.birth_date
            if self.time_zone is not None:
                aggregate.time_zone = self.time_zone
            if self.identifiers is not None:
                aggregate.identifiers = list(self.identifiers)

    def __init__(
        self,
        *,
        tenant: str,
        actor: str,
        client_id: UUID,
        identifiers: list[Identifier],
        name: HumanName,
        birth_date: date | None,
        time_zone: str,
    ) -> None:
        self.tenant = tenant
        self.registered_by = actor  # the clinician who took the client on (a fact for access decisions)
        self.client_id = client_id
        self.identifiers = list(identifiers)
        self.name = name
        self.birth_date = birth_date
        self.time_zone = time_zone

    @classmethod
    def register(
        cls,
        meta: EventMeta,
        client_id: UUID,
        identifiers: list[Identifier],
        name: HumanName,
        birth_date: date | None,
        time_zone: str,
    ) -> Client:
        return cls._create(
            cls.ClientRegistered,
            id=client_id,
            client_id=client_id,
            identifiers=_identifiers(identifiers),
            name=_name(name),
            birth_date=_birth_date(birth_date, meta),
            time_zone=checks.time_zone(time_zone),
            **meta_fields(meta),
        )

    def correct_details(
        self,
        meta: EventMeta,
        *,
        name: HumanName | None = None,
        birth_date: date | None = None,
        time_zone: str | None = None,
        identifiers: list[Identifier] | None = None,
        remove_birth_date: bool = False,
    ) -> bool:
        """Correct what was recorded wrongly; returns whether anything changed (no change, no event)."""
        if remove_birth_date and birth_date is not None:
            raise ValidationError("give birth_date or remove it, not both", field="birth_date")
        changes = self._changes(meta, name, birth_date, time_zone, identifiers)
        removed = remove_birth_date and self.birth_date is not None
        if not any(value is not None for value in changes.values()) and not removed:
            return False
        self._trigger(
            self.ClientDetailsCorrected, meta, client_id=self.id, birth_date_removed=removed, **changes
        )
        return True

    def _changes(
        self,
        meta: EventMeta,
        name: HumanName | None,
        birth_date: date | None,
        time_zone: str | None,
        identifiers: list[Identifier] | None,
    ) -> dict[str, Any]:
        """The validated new values that differ from the current ones; ``None`` for the rest."""
        new_name = None if name is None else _name(name)
        new_birth_date = _birth_date(birth_date, meta)
        new_time_zone = None if time_zone is None else checks.time_zone(time_zone)
        new_identifiers = None if identifiers is None else _identifiers(identifiers)
        return {
            "name": None if new_name == self.name else new_name,
            "birth_date": None if new_birth_date == self.birth_date else new_birth_date,
            "time_zone": None if new_time_zone == self.time_zone else new_time_zone,
            "identifiers": None if new_identifiers == self.identifiers else new_identifiers,
        }
