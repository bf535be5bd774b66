"""Clients: register, read, look up by identifier, and list their episodes a page at a time."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest

from tests.support.api_checks import assert_problem, assert_validation, no_server_errors  # noqa: F401
from tests.support.records import RecordsApi


def client_body(value: str = "mrn-1", **changes: Any) -> dict[str, Any]:
    return {
        "identifiers": [{"system": "urn:test:mrn", "value": value}],
        "name": {"family": "Doe", "given": ["Alex"], "prefix": ["Mx"]},
        "birth_date": "1990-04-01",
        "time_zone": "Europe/Berlin",
        **changes,
    }


@pytest.fixture
def ada(api: RecordsApi) -> dict[str, str]:
    api.practitioner("dr-ada")
    return api.headers("clinician", "dr-ada")


def test_register_answers_201_with_location_etag_and_the_client(api: RecordsApi, ada: dict[str, str]) -> None:
    response = api.http.post("/v1/clients", json=client_body(), headers=ada)
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"/v1/clients/{body['id']}"
    assert response.headers["etag"] == '"1"'
    assert response.headers["content-type"] == "application/json"
    assert uuid.UUID(body["id"]).version == 7
    assert body["identifiers"] == [{"system": "urn:test:mrn", "value": "mrn-1"}]
    assert body["name"] == {"family": "Doe", "given": ["Alex"], "prefix": ["Mx"]}
    assert (body["birth_date"], body["time_zone"], body["version"]) == ("1990-04-01", "Europe/Berlin", 1)
    assert body["registered_at"].endswith(("Z", "+00:00"))

    read = api.http.get(response.headers["location"], headers=ada)
    assert read.status_code == 200
    assert read.headers["etag"] == '"1"'
    assert read.json() == body


def test_lookup_by_identifier_finds_the_client(api: RecordsApi, ada: dict[str, str]) -> None:
    registered = api.http.post("/v1/clients", json=client_body("mrn-7|x"), headers=ada).json()
    api.http.post("/v1/clients", json=client_body("mrn-8"), headers=ada)
    response = api.http.get("/v1/clients", params={"identifier": "urn:test:mrn|mrn-7|x"}, headers=ada)
    assert response.status_code == 200
    assert response.json() == {"items": [registered], "next_cursor": None}


@pytest.mark.parametrize("identifier", ["urn:test:mrn|nobody", "urn:other|mrn-1"])
def test_lookup_of_an_unknown_identifier_is_an_empty_page(
    api: RecordsApi, ada: dict[str, str], identifier: str
) -> None:
    api.http.post("/v1/clients", json=client_body("mrn-1"), headers=ada)
    response = api.http.get("/v1/clients", params={"identifier": identifier}, headers=ada)
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("identifier", ["mrn-1", "|mrn-1", "urn:test:mrn|", "|"])
def test_a_malformed_identifier_is_422(api: RecordsApi, ada: dict[str, str], identifier: str) -> None:
    response = api.http.get("/v1/clients", params={"identifier": identifier}, headers=ada)
    assert_validation(response, detail="system|value")


def test_lookup_without_an_identifier_is_422(api: RecordsApi, ada: dict[str, str]) -> None:
    assert_validation(api.http.get("/v1/clients", headers=ada), ("query", "identifier"))


def test_a_duplicate_identifier_is_409_and_registers_nobody(api: RecordsApi, ada: dict[str, str]) -> None:
    first = api.http.post("/v1/clients", json=client_body("mrn-1"), headers=ada).json()
    again = client_body("mrn-2", name={"family": "Roe"})
    again["identifiers"].append({"system": "urn:test:mrn", "value": "mrn-1"})
    response = api.http.post("/v1/clients", json=again, headers=ada)
    body = assert_problem(response, 409, "conflict", title="Already exists", detail="identifier")
    assert "mrn-1" not in body["detail"] and "Roe" not in response.text
    found = api.http.get("/v1/clients", params={"identifier": "urn:test:mrn|mrn-2"}, headers=ada).json()
    assert found["items"] == []
    owner = api.http.get("/v1/clients", params={"identifier": "urn:test:mrn|mrn-1"}, headers=ada).json()
    assert [c["id"] for c in owner["items"]] == [first["id"]]


def test_an_unknown_client_is_404(api: RecordsApi, ada: dict[str, str]) -> None:
    unknown = uuid.uuid4()
    for path in (f"/v1/clients/{unknown}", f"/v1/clients/{unknown}/episodes"):
        assert_problem(api.http.get(path, headers=ada), 404, "not-found", title="Not found")


def test_the_id_of_another_kind_of_record_is_404(api: RecordsApi, ada: dict[str, str]) -> None:
    client = api.client("dr-ada")
    episode = api.episode("dr-ada", client["id"])
    assert_problem(api.http.get(f"/v1/clients/{episode['id']}", headers=ada), 404, "not-found")


@pytest.mark.parametrize(
    "role", ["admin", "auditor", "integrator", "privacy_officer", "supervisor", "client"]
)
def test_only_clinicians_register_clients(api: RecordsApi, role: str) -> None:
    client_id = str(uuid.uuid4()) if role == "client" else None
    response = api.http.post(
        "/v1/clients", json=client_body(), headers=api.headers(role, "x-1", client_id=client_id)
    )
    assert_problem(response, 403, "forbidden", title="Access denied")
    ada = api.headers("clinician", "dr-ada")
    found = api.http.get("/v1/clients", params={"identifier": "urn:test:mrn|mrn-1"}, headers=ada).json()
    assert found["items"] == []


def test_a_client_id_that_is_not_a_uuid_is_422(api: RecordsApi, ada: dict[str, str]) -> None:
    for path in ("/v1/clients/42", "/v1/clients/42/episodes"):
        assert_validation(api.http.get(path, headers=ada), ("path", "client_id"))


def test_an_unknown_field_is_422_naming_it(api: RecordsApi, ada: dict[str, str]) -> None:
    response = api.http.post("/v1/clients", json=client_body(nickname="Lex"), headers=ada)
    body = assert_validation(response, ("body", "nickname"))
    assert body["errors"][0]["type"] == "extra_forbidden"
    assert "Lex" not in response.text


def test_an_unknown_nested_field_is_422_naming_it(api: RecordsApi, ada: dict[str, str]) -> None:
    body = client_body(name={"family": "Doe", "middle": "Q"})
    assert_validation(api.http.post("/v1/clients", json=body, headers=ada), ("body", "name", "middle"))


@pytest.mark.parametrize("birth_date", ["1990-02-30", "1990-13-01", "01/04/1990", "", 19900401])
def test_an_invalid_birth_date_is_422(api: RecordsApi, ada: dict[str, str], birth_date: object) -> None:
    response = api.http.post("/v1/clients", json=client_body(birth_date=birth_date), headers=ada)
    assert_validation(response, ("body", "birth_date"))


def test_a_birth_date_in_the_future_is_422(api: RecordsApi, ada: dict[str, str]) -> None:
    response = api.http.post("/v1/clients", json=client_body(birth_date="2999-01-01"), headers=ada)
    assert_validation(response, detail="birth_date")


def test_an_unknown_time_zone_is_422(api: RecordsApi, ada: dict[str, str]) -> None:
    response = api.http.post("/v1/clients", json=client_body(time_zone="Mars/Olympus"), headers=ada)
    assert_validation(response, detail="time_zone")


@pytest.mark.parametrize("change", [{"identifiers": []}, {"name": {"family": ""}}, {"identifiers": None}])
def test_missing_identifiers_or_name_is_422(
    api: RecordsApi, ada: dict[str, str], change: dict[str, Any]
) -> None:
    body = {**client_body(), **change}
    response = api.http.post("/v1/clients", json=body, headers=ada)
    assert_validation(response, ("body", next(iter(change)), *(("family",) if "name" in change else ())))


# --- a client's episodes, a page at a time -----------------------------------------------------------------
@pytest.fixture
def three_episodes(api: RecordsApi, ada: dict[str, str]) -> tuple[str, list[str]]:
    client = api.client("dr-ada")
    return client["id"], [api.episode("dr-ada", client["id"])["id"] for _ in range(3)]


def test_episodes_of_a_client_page_by_page(
    api: RecordsApi, ada: dict[str, str], three_episodes: tuple[str, list[str]]
) -> None:
    client_id, episode_ids = three_episodes
    path = f"/v1/clients/{client_id}/episodes"
    first = api.http.get(path, params={"limit": 1}, headers=ada)
    assert first.status_code == 200
    page = first.json()
    assert [e["id"] for e in page["items"]] == episode_ids[:1]
    assert page["next_cursor"]
    item = page["items"][0]
    assert (item["status"], item["clinician"], item["version"]) == ("open", "dr-ada", 1)
    assert set(item) >= {"id", "status", "clinician", "started_at", "version"}

    rest = api.http.get(path, params={"cursor": page["next_cursor"]}, headers=ada).json()
    assert [e["id"] for e in rest["items"]] == episode_ids[1:]
    assert rest["next_cursor"] is None
    everything = api.http.get(path, headers=ada).json()
    assert [e["id"] for e in everything["items"]] == episode_ids
    assert everything["next_cursor"] is None


def test_a_page_exactly_as_long_as_the_rest_has_no_cursor(
    api: RecordsApi, ada: dict[str, str], three_episodes: tuple[str, list[str]]
) -> None:
    client_id, episode_ids = three_episodes
    page = api.http.get(f"/v1/clients/{client_id}/episodes", params={"limit": 3}, headers=ada).json()
    assert [e["id"] for e in page["items"]] == episode_ids
    assert page["next_cursor"] is None


def test_a_client_without_episodes_has_an_empty_page(api: RecordsApi, ada: dict[str, str]) -> None:
    client = api.client("dr-ada")
    page = api.http.get(f"/v1/clients/{client['id']}/episodes", headers=ada).json()
    assert page == {"items": [], "next_cursor": None}


def _cursor(position: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


BAD_CURSORS = {
    "not base64": "garbage!",
    "not JSON": base64.urlsafe_b64encode(b"not-json").decode().rstrip("="),
    "not an object": _cursor([]),
    "another list's cursor": _cursor({"k": "history", "after": 1}),
    # A cursor of the right kind, tampered with: the docstring of paging.py promises 422 for these too.
    "no position": _cursor({"k": "episodes"}),
    "position not a UUID": _cursor({"k": "episodes", "after": "nope"}),
    "position a number": _cursor({"k": "episodes", "after": 5}),
}


@pytest.mark.parametrize("cursor", list(BAD_CURSORS.values()), ids=list(BAD_CURSORS))
def test_a_bad_cursor_is_422(
    api: RecordsApi, ada: dict[str, str], three_episodes: tuple[str, list[str]], cursor: str
) -> None:
    client_id, _ = three_episodes
    response = api.http.get(f"/v1/clients/{client_id}/episodes", params={"cursor": cursor}, headers=ada)
    assert_validation(response, detail="cursor")


@pytest.mark.parametrize("limit", ["0", "501", "-1", "ten"])
def test_a_limit_out_of_range_is_422(
    api: RecordsApi, ada: dict[str, str], three_episodes: tuple[str, list[str]], limit: str
) -> None:
    client_id, _ = three_episodes
    response = api.http.get(f"/v1/clients/{client_id}/episodes", params={"limit": limit}, headers=ada)
    assert_validation(response, ("query", "limit"))


def test_the_largest_limit_is_accepted(
    api: RecordsApi, ada: dict[str, str], three_episodes: tuple[str, list[str]]
) -> None:
    client_id, episode_ids = three_episodes
    page = api.http.get(f"/v1/clients/{client_id}/episodes", params={"limit": 500}, headers=ada)
    assert page.status_code == 200
    assert len(page.json()["items"]) == len(episode_ids)


def test_a_clinician_on_an_episodes_care_team_reads_and_finds_the_client(
    api: RecordsApi, ada: dict[str, str]
) -> None:
    api.practitioner("dr-bo")
    client = api.client("dr-ada", identifier="mrn-team")
    bo = api.headers("clinician", "dr-bo")
    assert_problem(api.http.get(f"/v1/clients/{client['id']}", headers=bo), 403, "forbidden")
    api.episode("dr-ada", client["id"], care_team=["dr-bo"])
    assert api.http.get(f"/v1/clients/{client['id']}", headers=bo).json() == client
    found = api.http.get("/v1/clients", params={"identifier": "urn:test:mrn|mrn-team"}, headers=bo).json()
    assert [c["id"] for c in found["items"]] == [client["id"]]
