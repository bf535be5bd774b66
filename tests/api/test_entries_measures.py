"""Entries of an episode, continued: outcome measures (PHQ-9, GAD-7) and sensitivity labels."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api_checks import assert_validation, episode_as_ada, no_server_errors, read_as_ada  # noqa: F401
from tests.support.api_seed import (
    created,
    history,
    measure_body,
    pattern_body,
    post,
    reflection_body,
    session_body,
)
from tests.support.records import RecordsApi


# --- measures --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("instrument", "loinc"), [("PHQ-9", "44261-6"), ("GAD-7", "70274-6")])
def test_a_valid_measure_is_scored_with_its_loinc_code(
    api: RecordsApi, eid: str, instrument: str, loinc: str
) -> None:
    body = measure_body(instrument)
    response = post(api, f"/v1/episodes/{eid}/measures", body)
    measure = created(response)
    assert response.headers["location"] == f"/v1/episodes/{eid}/measures/{measure['id']}"
    assert (measure["instrument"], measure["loinc"]) == (instrument, loinc)
    assert (measure["score"], measure["items"]) == (body["score"], body["items"])
    assert read_as_ada(api, response.headers["location"]).json() == measure


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"score": 7}, "score is 7 but the items sum to 8"),
        ({"items": [1] * 8, "score": 8}, "items has 8 answers; PHQ-9 has 9"),
        ({"items": [1] * 10, "score": 10}, "items has 10 answers; PHQ-9 has 9"),
        ({"items": [4, 0, 0, 0, 0, 0, 0, 0, 0], "score": 4}, "items[0] is 4"),
        ({"items": [0, 0, 0, -1, 0, 0, 0, 0, 0], "score": 0}, "items[3] is -1"),
        ({"items": [3] * 9, "score": 28}, "score is 28; a PHQ-9 total is between 0 and 27"),
    ],
)
def test_an_inconsistent_phq9_is_422(api: RecordsApi, eid: str, change: dict[str, Any], detail: str) -> None:
    assert_validation(
        post(api, f"/v1/episodes/{eid}/measures", measure_body("PHQ-9", **change)), detail=detail
    )
    assert [i["type"] for i in history(api, eid)] == ["EpisodeOpened"]


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"instrument": "BDI-II"}, ("body", "instrument")),
        ({"items": ["one"] * 9}, ("body", "items", 0)),
        ({"score": None}, ("body", "score")),
    ],
)
def test_an_unknown_instrument_or_malformed_measure_is_422(
    api: RecordsApi, eid: str, change: dict[str, Any], loc: tuple[Any, ...]
) -> None:
    assert_validation(post(api, f"/v1/episodes/{eid}/measures", measure_body(**change)), loc)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (measure_body(score=7), ("body", "score")),
        (measure_body(items=[0, 0, 0, 9, 0, 0, 0, 0, 0], score=9), ("body", "items", 3)),
    ],
    ids=["total", "item"],
)
def test_a_domain_validation_problem_names_the_offending_field(
    api: RecordsApi, eid: str, body: dict[str, Any], loc: tuple[Any, ...]
) -> None:
    """DESIGN principle 7, STYLE "Errors": a validation problem names the offending field in ``errors``,
    whether the contract model or the domain refused the input (the domain's ValidationError names it)."""
    assert_validation(post(api, f"/v1/episodes/{eid}/measures", body), loc)


# --- labels ----------------------------------------------------------------------------------------------
def test_a_sud_label_is_accepted_and_shown_to_the_care_team(api: RecordsApi, eid: str) -> None:
    measure = created(post(api, f"/v1/episodes/{eid}/measures", measure_body(labels=["SUD", "ETH", "SUD"])))
    assert measure["labels"] == ["ETH", "SUD"]
    episode = episode_as_ada(api, eid)
    assert [m["labels"] for m in episode["measures"]] == [["ETH", "SUD"]]
    assert episode["redacted_labels"] == []


@pytest.mark.parametrize("kind", ["sessions", "patterns", "reflections", "measures", "goals", "episode"])
def test_psychotherapy_note_label_on_an_episode_entry_is_422(api: RecordsApi, eid: str, kind: str) -> None:
    """Invalid input, not a denied access: the care team may write these entries, just not with PSYTHPN."""
    client_id = episode_as_ada(api, eid)["client_id"]
    bodies = {
        "sessions": session_body(),
        "patterns": pattern_body(),
        "measures": measure_body(),
        "reflections": reflection_body(eid, 1),
        "goals": {"statement": "s", "occurred_at": "2026-01-12T09:00:00Z"},
        "episode": {"clinician": "dr-ada", "reason_for_referral": "r", "started_at": "2026-01-12T09:00:00Z"},
    }
    path = f"/v1/clients/{client_id}/episodes" if kind == "episode" else f"/v1/episodes/{eid}/{kind}"
    response = post(api, path, {**bodies[kind], "labels": ["PSYTHPN"]})
    assert_validation(response, detail="PSYTHPN is reserved for psychotherapy notes")


@pytest.mark.parametrize(
    ("labels", "loc"), [(["XYZ"], None), (["sud"], ("body", "labels", 0)), (["S U D"], ("body", "labels", 0))]
)
def test_an_unknown_label_is_422(
    api: RecordsApi, eid: str, labels: list[str], loc: tuple[Any, ...] | None
) -> None:
    response = post(api, f"/v1/episodes/{eid}/sessions", session_body(labels=labels))
    if loc is None:
        assert_validation(response, detail="unknown sensitivity label 'XYZ'")
    else:
        assert_validation(response, loc)
