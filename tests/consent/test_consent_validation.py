"""Consents that cannot be granted are 422 problems naming every offending field; nothing is stored."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api_checks import assert_validation
from tests.support.consent import (
    ConsentApi,
    MutableClock,
    disclosure_body,
    new_client,
    part2_body,
    period,
    psychotherapy_notes_body,
    treatment_body,
)

# Each element of 42 CFR 2.31(a) the service checks, the change that removes it, and where it is named.
PART2_ELEMENTS: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "disclosed_by": ({"disclosed_by": None}, ("body", "disclosed_by")),
    "description": ({"description": None}, ("body", "description")),
    "labels": ({"labels": ["HIV"]}, ("body", "labels")),
    "revocation_statement": ({"revocation_statement": False}, ("body", "revocation_statement")),
    "period.end": ({"end": None}, ("body", "period", "end")),
    "evidence": ({"evidence": None}, ("body", "evidence")),
    "signer": ({"signer": None}, ("body", "signer")),
    "signed_on": ({"signed_on": None}, ("body", "signed_on")),
}


def without(body: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    body = {**body, **{k: v for k, v in changes.items() if k != "end"}}
    if "end" in changes:
        body["period"] = {**body["period"], "end": changes["end"]}
    return {key: value for key, value in body.items() if value is not None}


def refused(api: ConsentApi, body: dict[str, Any], *locs: tuple[str | int, ...]) -> dict[str, Any]:
    """422 naming ``locs``; and nothing was granted to the client."""
    response = api.http.post("/v1/consents", json=body, headers=api.officer())
    problem = assert_validation(response, *locs)
    listing = api.http.get("/v1/consents", params={"client_id": body["client_id"]}, headers=api.officer())
    assert listing.json()["items"] == []
    return problem


def test_a_part2_consent_lacking_every_element_names_them_all_at_once(
    consent_api: ConsentApi, clock: MutableClock
) -> None:
    body = part2_body(new_client(), clock)
    for changes, _ in PART2_ELEMENTS.values():
        body = without(body, changes)

    problem = refused(consent_api, body, *(loc for _, loc in PART2_ELEMENTS.values()))

    assert len(problem["errors"]) == len(PART2_ELEMENTS)
    assert "42 CFR 2.31" in " ".join(error["msg"] for error in problem["errors"])


@pytest.mark.parametrize("element", PART2_ELEMENTS)
def test_a_part2_consent_lacking_one_element_names_that_element(
    consent_api: ConsentApi, clock: MutableClock, element: str
) -> None:
    changes, loc = PART2_ELEMENTS[element]
    problem = refused(consent_api, without(part2_body(new_client(), clock), changes), loc)
    assert [tuple(error["loc"]) for error in problem["errors"]] == [loc]


def test_a_complete_part2_consent_is_granted(consent_api: ConsentApi, clock: MutableClock) -> None:
    granted = consent_api.grant(part2_body(new_client(), clock))
    assert granted["labels"] == ["SUD"]
    assert granted["revocation_statement"] is True


@pytest.mark.parametrize(
    ("changes", "loc"),
    [
        ({"labels": ["PSYTHPN", "HIV"]}, ("body", "labels")),
        ({"categories": ["notes", "episodes"]}, ("body", "categories")),
    ],
)
def test_a_psychotherapy_notes_authorization_cannot_be_combined_with_another(
    consent_api: ConsentApi, clock: MutableClock, changes: dict[str, Any], loc: tuple[str, ...]
) -> None:
    problem = refused(consent_api, psychotherapy_notes_body(new_client(), clock, **changes), loc)
    assert "cannot be combined" in problem["errors"][0]["msg"]


def test_psychotherapy_notes_need_their_own_authorization(
    consent_api: ConsentApi, clock: MutableClock
) -> None:
    body = disclosure_body(new_client(), clock, labels=["PSYTHPN"])
    problem = refused(consent_api, body, ("body", "labels"))
    assert "psychotherapy_notes authorization" in problem["errors"][0]["msg"]


def test_a_period_that_ends_before_it_starts_is_refused(consent_api: ConsentApi, clock: MutableClock) -> None:
    body = treatment_body(new_client(), clock, period=period(clock, start_days=1, end_days=-1))
    refused(consent_api, body, ("body", "period", "end"))


@pytest.mark.parametrize(
    ("changes", "loc"),
    [
        ({"purposes": ["TREATMENT"]}, ("body", "purposes", 0)),
        ({"purposes": []}, ("body", "purposes")),
        ({"labels": ["SUD", "SECRET"]}, ("body", "labels", 1)),
        ({"categories": ["episodes", "diagnoses"]}, ("body", "categories", 1)),
        ({"kind": "blanket"}, ("body", "kind")),
        ({"evidence": {"sha256": "ABC123"}}, ("body", "evidence", "sha256")),
        ({"evidence": {"sha256": "f" * 63}}, ("body", "evidence", "sha256")),
        ({"tenant": "practice-b"}, ("body", "tenant")),
        ({"granted_by": "someone-else"}, ("body", "granted_by")),
        ({"grantee": {"kind": "integrator", "id": "has space"}}, ("body", "grantee", "id")),
        ({"signed_on": "2026-02-30"}, ("body", "signed_on")),
    ],
)
def test_invalid_codes_and_unknown_fields_are_named(
    consent_api: ConsentApi, clock: MutableClock, changes: dict[str, Any], loc: tuple[str | int, ...]
) -> None:
    refused(consent_api, disclosure_body(new_client(), clock, **changes), loc)


@pytest.mark.parametrize("when", ["2026-01-05T09:00:00", "2026-01-05", "yesterday"])
def test_a_time_without_an_offset_is_refused(consent_api: ConsentApi, clock: MutableClock, when: str) -> None:
    body = treatment_body(new_client(), clock, period={"start": when})
    refused(consent_api, body, ("body", "period", "start"))


def test_a_signature_dated_in_the_future_is_refused(consent_api: ConsentApi, clock: MutableClock) -> None:
    body = disclosure_body(new_client(), clock, signed_on="2999-01-01")
    refused(consent_api, body, ("body", "signed_on"))


def test_a_personal_representative_must_be_identified(consent_api: ConsentApi, clock: MutableClock) -> None:
    body = disclosure_body(new_client(), clock, signer={"role": "personal_representative"})
    refused(consent_api, body, ("body", "signer", "representative_id"))


def test_a_disclosure_names_what_it_discloses(consent_api: ConsentApi, clock: MutableClock) -> None:
    refused(consent_api, disclosure_body(new_client(), clock, categories=[]), ("body", "categories"))


def test_a_revocation_needs_a_reason(consent_api: ConsentApi, clock: MutableClock) -> None:
    granted = consent_api.grant(disclosure_body(new_client(), clock))
    path = f"/v1/consents/{granted['id']}/revocations"
    for body, loc in (({}, ("body", "reason")), ({"reason": "  "}, ("body", "reason"))):
        assert_validation(consent_api.http.post(path, json=body, headers=consent_api.officer()), loc)
    read = consent_api.http.get(f"/v1/consents/{granted['id']}", headers=consent_api.officer())
    assert read.json()["status"] == "active"
