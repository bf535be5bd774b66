"""Practitioner: given / when / then."""

from __future__ import annotations

import pytest

from services.records.domain import Practitioner, ValidationError, practitioner_id

from .builders import TENANT, meta


def register(sub: str = "dr-ada", supervisor: str | None = "dr-sup") -> Practitioner:
    return Practitioner.register(meta(), sub, "Dr Ada", ["clinician"], supervisor, True)


def test_the_id_derives_from_tenant_and_sub() -> None:
    assert practitioner_id(TENANT, "dr-ada") == practitioner_id(TENANT, "dr-ada")
    assert practitioner_id(TENANT, "dr-ada") != practitioner_id("other-practice", "dr-ada")
    assert practitioner_id(TENANT, "dr-ada").version == 5


def test_register_records_the_directory_entry() -> None:
    practitioner = register()

    assert practitioner.id == practitioner_id(TENANT, "dr-ada")
    assert practitioner.tenant == TENANT
    assert (practitioner.sub, practitioner.display_name, practitioner.roles) == (
        "dr-ada",
        "Dr Ada",
        ["clinician"],
    )
    assert practitioner.supervisor == "dr-sup"
    assert practitioner.requires_supervision is True
    [registered] = practitioner.collect_events()
    assert isinstance(registered, Practitioner.PractitionerRegistered)


def test_a_practitioner_cannot_supervise_themselves() -> None:
    with pytest.raises(ValidationError) as raised:
        register(sub="dr-ada", supervisor="dr-ada")
    assert raised.value.field == "supervisor"

    practitioner = register()
    with pytest.raises(ValidationError):
        practitioner.update(meta(1), supervisor="dr-ada")


@pytest.mark.parametrize(
    ("roles", "display_name"),
    [([], "Dr Ada"), (["wizard"], "Dr Ada"), (["clinician"], "  ")],
)
def test_register_refuses_invalid_details(roles: list[str], display_name: str) -> None:
    with pytest.raises(ValidationError):
        Practitioner.register(meta(), "dr-ada", display_name, roles, None, False)


def test_update_carries_only_what_changed() -> None:
    practitioner = register()
    practitioner.collect_events()

    changed = practitioner.update(
        meta(1), display_name="Dr Ada L.", roles=["clinician"], requires_supervision=False
    )

    assert changed is True
    [updated] = practitioner.collect_events()
    assert isinstance(updated, Practitioner.PractitionerUpdated)
    assert (updated.display_name, updated.roles, updated.requires_supervision) == ("Dr Ada L.", None, False)
    assert practitioner.display_name == "Dr Ada L."
    assert practitioner.requires_supervision is False


def test_update_without_a_change_records_nothing() -> None:
    practitioner = register()
    practitioner.collect_events()

    assert practitioner.update(meta(1), display_name="Dr Ada", supervisor="dr-sup") is False
    assert practitioner.collect_events() == []


def test_a_supervisor_can_be_removed() -> None:
    practitioner = register()

    assert practitioner.update(meta(1), remove_supervisor=True) is True

    assert practitioner.supervisor is None
