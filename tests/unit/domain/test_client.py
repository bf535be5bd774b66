"""Client: given / when / then."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest

from services.records.domain import Client, HumanName, Identifier, ValidationError

from .builders import TENANT, meta, register_client


def test_register_records_the_client() -> None:
    client_id = uuid4()

    client = register_client(client_id)

    assert client.id == client_id == client.client_id
    assert client.tenant == TENANT
    assert client.name == HumanName(family="Doe", given=["Jane"])
    assert client.birth_date == date(1990, 5, 17)
    assert client.time_zone == "Europe/Berlin"
    [registered] = client.collect_events()
    assert isinstance(registered, Client.ClientRegistered)
    assert registered.client_id == client_id


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": HumanName(family=" ", given=[])}, "name.family"),
        ({"name": HumanName(family="Doe", given=[""])}, "name.given[0]"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"time_zone": ""}, "time_zone"),
        ({"birth_date": date(2030, 1, 1)}, "birth_date"),
        ({"identifiers": [Identifier(system="urn:a", value="1")] * 2}, "identifiers"),
        ({"identifiers": [Identifier(system="", value="1")]}, "identifiers[0].system"),
    ],
)
def test_register_refuses_invalid_details(changes: dict[str, object], field: str) -> None:
    details: dict[str, object] = {
        "identifiers": [],
        "name": HumanName(family="Doe", given=["Jane"]),
        "birth_date": None,
        "time_zone": "UTC",
    }
    details.update(changes)

    with pytest.raises(ValidationError) as raised:
        Client.register(meta(), uuid4(), **details)  # type: ignore[arg-type]

    assert raised.value.field == field


def test_a_given_name_alone_is_a_name() -> None:
    client = Client.register(meta(), uuid4(), [], HumanName(family="", given=["Prince"]), None, "UTC")

    assert client.name.given == ["Prince"]


def test_correct_details_carries_only_what_changed() -> None:
    client = register_client()
    client.collect_events()

    changed = client.correct_details(meta(1), time_zone="America/New_York", birth_date=date(1990, 5, 17))

    assert changed is True
    [corrected] = client.collect_events()
    assert isinstance(corrected, Client.ClientDetailsCorrected)
    assert corrected.time_zone == "America/New_York"
    assert corrected.birth_date is None
    assert corrected.name is None
    assert corrected.identifiers is None
    assert corrected.client_id == client.id
    assert client.time_zone == "America/New_York"


def test_correct_details_without_a_change_records_nothing() -> None:
    client = register_client()
    client.collect_events()

    changed = client.correct_details(
        meta(1), name=HumanName(family="Doe", given=["Jane"]), time_zone="Europe/Berlin"
    )

    assert changed is False
    assert client.collect_events() == []


def test_correct_details_replaces_identifiers_and_name() -> None:
    client = register_client()
    identifiers = [Identifier(system="urn:touchstone:mrn", value="MRN-2")]

    client.correct_details(meta(1), identifiers=identifiers, name=HumanName(family="Roe", given=["Jane"]))

    assert client.identifiers == identifiers
    assert client.name.family == "Roe"


def test_a_birth_date_recorded_in_error_can_be_removed() -> None:
    client = register_client()

    assert client.correct_details(meta(1), remove_birth_date=True) is True

    assert client.birth_date is None
    assert client.correct_details(meta(2), remove_birth_date=True) is False


def test_correct_details_validates_like_register() -> None:
    client = register_client()

    with pytest.raises(ValidationError) as raised:
        client.correct_details(meta(1), time_zone="Not/AZone")

    assert raised.value.field == "time_zone"
    with pytest.raises(ValidationError):
        client.correct_details(meta(1), birth_date=date(1990, 1, 1), remove_birth_date=True)
