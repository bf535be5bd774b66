"""The practitioner directory: admins keep it, every member of the practice may read it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api_checks import assert_problem, assert_validation, no_server_errors  # noqa: F401
from tests.support.records import OTHER_TENANT, RecordsApi


def practitioner_body(sub: str = "dr-ada", **changes: Any) -> dict[str, Any]:
    return {"id": sub, "display_name": "Dr Ada Lovelace", "roles": ["clinician"], **changes}


def test_an_admin_registers_a_practitioner(api: RecordsApi) -> None:
    body = practitioner_body(
        roles=["clinician", "supervisor"], supervisor="dr-sup", requires_supervision=True
    )
    response = api.http.post("/v1/practitioners", json=body, headers=api.admin())
    assert response.status_code == 201
    assert response.headers["location"] == "/v1/practitioners/dr-ada"
    assert response.headers["etag"] == '"1"'
    assert response.json() == {
        "id": "dr-ada",
        "display_name": "Dr Ada Lovelace",
        "roles": ["clinician", "supervisor"],
        "supervisor": "dr-sup",
        "requires_supervision": True,
        "version": 1,
    }


def test_defaults_are_no_supervisor_and_no_supervision_required(api: RecordsApi) -> None:
    response = api.http.post("/v1/practitioners", json=practitioner_body(), headers=api.admin())
    assert response.status_code == 201
    assert (response.json()["supervisor"], response.json()["requires_supervision"]) == (None, False)


@pytest.mark.parametrize(("role", "sub"), [("clinician", "dr-ada"), ("admin", "admin-1"), ("client", "c-1")])
def test_members_of_the_practice_read_the_directory(api: RecordsApi, role: str, sub: str) -> None:
    created = api.practitioner("dr-ada")
    client_id = "0192f6a0-0000-7000-8000-000000000001" if role == "client" else None
    response = api.http.get("/v1/practitioners/dr-ada", headers=api.headers(role, sub, client_id=client_id))
    assert response.status_code == 200
    assert response.headers["etag"] == '"1"'
    assert response.json() == created


def test_the_location_of_a_registered_practitioner_is_readable(api: RecordsApi) -> None:
    response = api.http.post("/v1/practitioners", json=practitioner_body("dr.o'neil@x"), headers=api.admin())
    assert response.status_code == 201
    read = api.http.get(response.headers["location"], headers=api.admin())
    assert read.status_code == 200
    assert read.json()["id"] == "dr.o'neil@x"


def test_a_duplicate_practitioner_is_409(api: RecordsApi) -> None:
    api.practitioner("dr-ada")
    response = api.http.post(
        "/v1/practitioners", json=practitioner_body(display_name="Other"), headers=api.admin()
    )
    assert_problem(response, 409, "conflict", title="Already exists", detail="dr-ada")
    assert api.http.get("/v1/practitioners/dr-ada", headers=api.admin()).json()["display_name"] == "Dr dr-ada"


def test_the_same_sub_may_be_registered_in_another_practice(api: RecordsApi) -> None:
    api.practitioner("dr-ada")
    response = api.http.post("/v1/practitioners", json=practitioner_body(), headers=api.admin(OTHER_TENANT))
    assert response.status_code == 201


@pytest.mark.parametrize("role", ["clinician", "supervisor", "privacy_officer", "auditor", "integrator"])
def test_only_admins_change_the_directory(api: RecordsApi, role: str) -> None:
    response = api.http.post(
        "/v1/practitioners", json=practitioner_body("dr-new"), headers=api.headers(role, "someone")
    )
    assert_problem(
        response,
        403,
        "forbidden",
        title="Access denied",
        detail="only admins change the practitioner directory",
    )
    assert_problem(api.http.get("/v1/practitioners/dr-new", headers=api.admin()), 404, "not-found")


def test_an_unknown_practitioner_is_404(api: RecordsApi) -> None:
    response = api.http.get("/v1/practitioners/dr-nobody", headers=api.headers("clinician", "dr-ada"))
    assert_problem(response, 404, "not-found", title="Not found")


def test_a_practitioner_of_another_practice_is_404(api: RecordsApi) -> None:
    api.practitioner("dr-ada", tenant=OTHER_TENANT)
    response = api.http.get("/v1/practitioners/dr-ada", headers=api.headers("clinician", "dr-ada"))
    assert_problem(response, 404, "not-found")


def test_an_unknown_role_is_422(api: RecordsApi) -> None:
    response = api.http.post(
        "/v1/practitioners", json=practitioner_body(roles=["clinician", "wizard"]), headers=api.admin()
    )
    body = assert_validation(response, ("body", "roles", 1))
    assert body["errors"][0]["type"] == "literal_error"


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"roles": []}, ("body", "roles")),
        ({"id": "dr ada"}, ("body", "id")),
        ({"id": ""}, ("body", "id")),
        ({"display_name": ""}, ("body", "display_name")),
        ({"supervisor": "dr sup"}, ("body", "supervisor")),
        ({"requires_supervision": "perhaps"}, ("body", "requires_supervision")),
        ({"email": "ada@example.org"}, ("body", "email")),
    ],
)
def test_invalid_practitioner_bodies_are_422(
    api: RecordsApi, change: dict[str, Any], loc: tuple[str, ...]
) -> None:
    response = api.http.post("/v1/practitioners", json=practitioner_body(**change), headers=api.admin())
    assert_validation(response, loc)


def test_a_missing_display_name_is_422(api: RecordsApi) -> None:
    response = api.http.post(
        "/v1/practitioners", json={"id": "dr-ada", "roles": ["clinician"]}, headers=api.admin()
    )
    assert_validation(response, ("body", "display_name"))


@pytest.mark.parametrize("sub", ["tenant/dr-ada", "dr-ada?x=1"], ids=["slash", "question mark"])
def test_a_sub_with_a_reserved_character_is_refused_or_its_location_is_readable(
    api: RecordsApi, sub: str
) -> None:
    """Subjects are opaque strings (standard base64 ones hold "/"); Location must name a readable resource."""
    response = api.http.post("/v1/practitioners", json=practitioner_body(sub), headers=api.admin())
    if response.status_code == 422:
        assert_validation(response, ("body", "id"))
        return
    assert response.status_code == 201
    read = api.http.get(response.headers["location"], headers=api.admin())
    assert read.status_code == 200, read.text
    assert read.json()["id"] == sub
