"""The committed OpenAPI documents are what the code generates, and they keep the REST conventions.

Integrators build against contracts/openapi/*.json, so a change of the API that is not committed there (or a
committed change the code does not make) fails here. The conventions checked are DESIGN.md's: errors are
problem documents, unknown fields are refused (422), ids that do not exist are 404.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from contracts.problem import PROBLEM_JSON
from services.cli.main import app as cli
from services.cli.openapi import render
from services.consent.api.app import openapi_document as consent_document
from services.records.api.app import openapi_document as records_document

COMMITTED = Path(__file__).resolve().parents[2] / "contracts" / "openapi"
GENERATORS: dict[str, Callable[[], dict[str, Any]]] = {
    "records": records_document,
    "consent": consent_document,
}
METHODS = frozenset({"get", "put", "post", "patch", "delete"})
PROBLEM_REF = "#/components/schemas/Problem"


def committed(service: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((COMMITTED / f"{service}.json").read_text(encoding="utf-8"))
    return document


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def v1_operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [op for op in operations(document) if op[1].startswith("/v1/")]


@pytest.mark.parametrize("service", sorted(GENERATORS))
def test_the_committed_document_is_what_the_code_generates(service: str) -> None:
    path = COMMITTED / f"{service}.json"
    assert path.exists(), f"{path} is missing; run `touchstone openapi`"
    generated = render(GENERATORS[service]())
    assert generated == path.read_text(encoding="utf-8"), (
        f"{path} differs from the code; run `touchstone openapi` and commit the result"
    )


def test_the_records_document_has_the_v1_surface() -> None:
    """So that the convention checks below can never pass on an empty document."""
    found = {(method, path) for method, path, _ in v1_operations(committed("records"))}
    assert {
        ("post", "/v1/clients"),
        ("get", "/v1/clients/{client_id}"),
        ("post", "/v1/practitioners"),
        ("post", "/v1/clients/{client_id}/episodes"),
        ("get", "/v1/episodes/{episode_id}"),
        ("get", "/v1/episodes/{episode_id}/history"),
        ("post", "/v1/episodes/{episode_id}/sessions"),
        ("post", "/v1/episodes/{episode_id}/goals"),
        ("post", "/v1/episodes/{episode_id}/goals/{goal_id}/revisions"),
        ("get", "/v1/episodes/{episode_id}/goals/{goal_id}/history"),
    } <= found


def problem_statuses(operation: dict[str, Any]) -> set[str]:
    """The statuses the operation answers with a Problem under application/problem+json."""
    return {
        status
        for status, response in operation.get("responses", {}).items()
        if response.get("content", {}).get(PROBLEM_JSON, {}).get("schema", {}).get("$ref") == PROBLEM_REF
    }


@pytest.mark.parametrize("service", sorted(GENERATORS))
def test_every_v1_operation_declares_its_problems(service: str) -> None:
    missing = {}
    for method, path, operation in v1_operations(committed(service)):
        required = {"401", "422"}
        if "{" in path:
            required.add("404")  # an unknown id, or one of another tenant
        if "requestBody" in operation:
            required |= {"413", "415"}
        if lacking := required - problem_statuses(operation):
            missing[f"{method.upper()} {path}"] = sorted(lacking)
    assert missing == {}


def test_every_records_operation_declares_the_503_of_a_consent_outage() -> None:
    """Every records operation asks the consent service first, and answers 503 when it cannot."""
    lacking = [
        f"{method.upper()} {path}"
        for method, path, operation in v1_operations(committed("records"))
        if "503" not in problem_statuses(operation)
    ]
    assert lacking == []


@pytest.mark.parametrize("service", sorted(GENERATORS))
def test_every_error_response_is_a_problem(service: str) -> None:
    document = committed(service)
    assert "Problem" in document["components"]["schemas"]
    # FastAPI's own validation body is never what the services send.
    assert "HTTPValidationError" not in json.dumps(document)
    not_problems = [
        f"{method.upper()} {path} {status}"
        for method, path, operation in operations(document)
        for status in operation.get("responses", {})
        if status[0] in "45" and status not in problem_statuses(operation)
    ]
    assert not_problems == []


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = document["components"]["schemas"][name]
    return schema


def object_schemas(document: dict[str, Any], schema: dict[str, Any], seen: set[str]) -> Iterator[Any]:
    """Every object schema reachable from ``schema`` (nested models, list items, unions), once each."""
    if "$ref" in schema:
        if schema["$ref"] in seen:
            return
        seen.add(schema["$ref"])
    schema = resolve(document, schema)
    if schema.get("type") == "object" or "properties" in schema:
        yield schema
    children = [*schema.get("properties", {}).values(), *schema.get("anyOf", []), *schema.get("allOf", [])]
    children += [
        schema[key] for key in ("items", "additionalProperties") if isinstance(schema.get(key), dict)
    ]
    for child in children:
        yield from object_schemas(document, child, seen)


def test_every_request_body_refuses_unknown_fields() -> None:
    document = committed("records")
    bodies = [
        (f"{method.upper()} {path}", operation["requestBody"]["content"]["application/json"]["schema"])
        for method, path, operation in operations(document)
        if "requestBody" in operation
    ]
    assert len(bodies) >= 10
    open_schemas = sorted(
        f"{where}: {schema.get('title')}"
        for where, body in bodies
        for schema in object_schemas(document, body, set())
        if schema.get("additionalProperties") is not False
    )
    assert open_schemas == []


def test_touchstone_openapi_check_passes_on_the_committed_files() -> None:
    result = CliRunner().invoke(cli, ["openapi", "--check", "--directory", str(COMMITTED)])
    assert result.exit_code == 0, result.output


def test_touchstone_openapi_check_fails_on_a_drifted_copy(tmp_path: Path) -> None:
    for service in GENERATORS:
        (tmp_path / f"{service}.json").write_text((COMMITTED / f"{service}.json").read_text())
    drifted = committed("records")
    drifted["info"]["version"] = "0.0.0-drift"
    (tmp_path / "records.json").write_text(render(drifted))

    result = CliRunner().invoke(cli, ["openapi", "--check", "--directory", str(tmp_path)])

    assert result.exit_code == 1
    assert "records.json differs from the code" in result.output
    assert "consent.json" not in result.output


def test_touchstone_openapi_writes_what_is_committed(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["openapi", "--directory", str(tmp_path)])

    assert result.exit_code == 0, result.output
    for service in GENERATORS:
        assert (tmp_path / f"{service}.json").read_bytes() == (COMMITTED / f"{service}.json").read_bytes()
