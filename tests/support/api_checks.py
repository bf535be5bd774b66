"""Checks the records API tests share: problem documents, and no 5xx answer anywhere.

Import ``no_server_errors`` into a test module to make it autouse there (pytest finds fixtures in a module's
namespace): every response the test's client receives is checked as it arrives.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from contracts.problem import PROBLEM_TYPE_PREFIX, REQUEST_INSTANCE_PREFIX
from tests.support.records import RecordsApi

PROBLEM_JSON = "application/problem+json"
PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


def assert_problem(
    response: httpx.Response,
    status: int,
    slug: str,
    *,
    title: str | None = None,
    detail: str | None = None,
    error_locs: set[tuple[str | int, ...]] | None = None,
) -> dict[str, Any]:
    """An RFC 9457 problem of this status and type; ``detail`` must appear in its detail.

    ``error_locs``: the ``loc`` of every entry in ``errors`` must include these (validation problems).
    """
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert set(body) >= PROBLEM_KEYS, body
    assert body["type"] == PROBLEM_TYPE_PREFIX + slug
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["instance"] == REQUEST_INSTANCE_PREFIX + response.headers["x-request-id"]
    if title is not None:
        assert body["title"] == title
    if detail is not None:
        assert detail in body["detail"], body["detail"]
    if error_locs is not None:
        assert "errors" in body, body
        locs = {tuple(error["loc"]) for error in body["errors"]}
        assert error_locs <= locs, locs
        assert all(set(error) == {"loc", "msg", "type"} for error in body["errors"])
    return body


def assert_validation(
    response: httpx.Response, *locs: tuple[str | int, ...], detail: str | None = None
) -> dict[str, Any]:
    """A 422 validation problem; with ``locs``, a request-validation one naming those fields."""
    return assert_problem(response, 422, "validation", detail=detail, error_locs=set(locs) if locs else None)


def assert_no_leak(response: httpx.Response, *texts: str) -> None:
    """None of the record's texts appear anywhere in the response (body or headers)."""
    for text in texts:
        assert text not in response.text
        assert all(text not in value for value in response.headers.values())


def _refuse_server_errors(response: httpx.Response) -> None:
    if response.status_code >= 500:
        response.read()
        raise AssertionError(
            f"{response.request.method} {response.request.url.path} answered {response.status_code}: "
            f"{response.text}"
        )


@pytest.fixture(autouse=True)
def no_server_errors(api: RecordsApi) -> Iterator[None]:
    """Fails the test at the first response with a 5xx status."""
    hooks = api.http.event_hooks
    hooks["response"] = [*hooks.get("response", []), _refuse_server_errors]
    api.http.event_hooks = hooks
    yield


def read_as_ada(api: RecordsApi, path: str, **params: Any) -> httpx.Response:
    """GET as dr-ada, the clinician of ``api.practice()``'s episode."""
    response: httpx.Response = api.http.get(path, params=params, headers=api.headers("clinician", "dr-ada"))
    return response


def episode_as_ada(api: RecordsApi, eid: str) -> dict[str, Any]:
    body: dict[str, Any] = read_as_ada(api, f"/v1/episodes/{eid}").json()
    return body
