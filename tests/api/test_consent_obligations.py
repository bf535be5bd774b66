"""Obligations of a permit are applied before the records service answers (DESIGN.md: minimum necessary).

The reader here is the client, reading their own record (the default policy permits it); the scripted gate
adds the obligations a consent service would (redact SUD, leave out a category, attach the 42 CFR 2.32
notice). dr-ada, the clinician of record, reads everything and is the control.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from contracts.consent_v1 import PART2_REDISCLOSURE_NOTICE
from tests.support.api_checks import assert_problem, episode_as_ada, no_server_errors  # noqa: F401
from tests.support.api_seed import (
    close_body,
    created,
    exploration_body,
    goal_body,
    measure_body,
    pattern_body,
    post,
    reflection_body,
    revision_body,
    session_body,
)
from tests.support.gates import ScriptedGate
from tests.support.records import RecordsApi

SUD_GOAL = "SUDTEXT-goal cut down to weekends"
SUD_PATTERN = "SUDTEXT-pattern drinks when alone"
PLAIN_GOAL = "Walk every morning"


@pytest.fixture
def gate() -> ScriptedGate:
    return ScriptedGate()


@dataclass
class Record:
    client: str
    episode: str
    entries: dict[str, dict[str, Any]]
    reader: dict[str, str]  # the client's own headers

    def get(self, api: RecordsApi, path: str = "", **params: Any) -> httpx.Response:
        response: httpx.Response = api.http.get(
            f"/v1/episodes/{self.episode}{path}", params=params, headers=self.reader
        )
        return response


@pytest.fixture
def record(api: RecordsApi) -> Record:
    """dr-ada's episode: plain and SUD-labelled entries of every kind (versions 2 to 10, in this order)."""
    client, episode = api.practice("dr-ada")
    at = f"/v1/episodes/{episode['id']}"
    entries = {
        "plain_session": created(post(api, f"{at}/sessions", session_body())),
        "sud_session": created(post(api, f"{at}/sessions", session_body(labels=["SUD"]))),
        "plain_goal": created(post(api, f"{at}/goals", goal_body(statement=PLAIN_GOAL))),
        "sud_goal": created(post(api, f"{at}/goals", goal_body(statement=SUD_GOAL, labels=["SUD"]))),
    }
    created(post(api, f"{at}/goals/{entries['sud_goal']['id']}/revisions", revision_body()))
    entries["sud_pattern"] = created(
        post(api, f"{at}/patterns", pattern_body(name=SUD_PATTERN, labels=["SUD"]))
    )
    created(post(api, f"{at}/patterns/{entries['sud_pattern']['id']}/explorations", exploration_body()))
    entries["measure"] = created(post(api, f"{at}/measures", measure_body()))
    entries["reflection"] = created(
        post(api, f"{at}/reflections", reflection_body(entries["plain_goal"]["id"], 4))
    )
    reader = api.headers("client", "client-1", client_id=client["id"])
    return Record(client["id"], episode["id"], entries, reader)


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def test_entries_carrying_a_redacted_label_are_left_out(
    api: RecordsApi, gate: ScriptedGate, record: Record
) -> None:
    gate.oblige("client-1", labels={"SUD"})

    read = record.get(api)

    assert read.status_code == 200, read.text
    body, e = read.json(), record.entries
    assert ids(body["sessions"]) == [e["plain_session"]["id"]]
    assert ids(body["goals"]) == [e["plain_goal"]["id"]]
    assert (body["patterns"], ids(body["measures"])) == ([], [e["measure"]["id"]])
    assert (body["redacted_labels"], body["redacted_categories"], body["redisclosure_notice"]) == (
        ["SUD"],
        [],
        None,
    )
    assert "SUDTEXT" not in read.text and "Walk three" not in read.text  # the SUD goal, as revised
    whole = episode_as_ada(api, record.episode)
    assert (len(whole["goals"]), len(whole["patterns"]), whole["redacted_labels"]) == (2, 1, [])


def test_entries_of_a_redacted_category_are_left_out(
    api: RecordsApi, gate: ScriptedGate, record: Record
) -> None:
    gate.oblige("client-1", categories={"reflections", "measures"})

    body = record.get(api).json()

    assert (body["measures"], body["reflections"]) == ([], [])
    assert (len(body["sessions"]), len(body["goals"]), len(body["patterns"])) == (2, 2, 1)
    assert (body["redacted_labels"], body["redacted_categories"]) == ([], ["measures", "reflections"])


def test_the_redisclosure_notice_accompanies_the_episode(
    api: RecordsApi, gate: ScriptedGate, record: Record
) -> None:
    gate.oblige("client-1", notice=PART2_REDISCLOSURE_NOTICE)

    assert record.get(api).json()["redisclosure_notice"] == PART2_REDISCLOSURE_NOTICE
    assert record.get(api, version=5).json()["redisclosure_notice"] == PART2_REDISCLOSURE_NOTICE
    assert episode_as_ada(api, record.episode)["redisclosure_notice"] is None


def test_a_redacted_entry_read_alone_is_forbidden_without_its_text(
    api: RecordsApi, gate: ScriptedGate, record: Record
) -> None:
    gate.oblige("client-1", labels={"SUD"})
    e = record.entries
    goal, pattern = f"/goals/{e['sud_goal']['id']}", f"/patterns/{e['sud_pattern']['id']}"

    for path, params in [(goal, {}), (f"{goal}/history", {}), (goal, {"version": 5}), (pattern, {}),
                         (f"/sessions/{e['sud_session']['id']}", {})]:  # fmt: skip
        refused = record.get(api, path, **params)
        assert_problem(refused, 403, "forbidden", detail="withholds")
        assert "SUDTEXT" not in refused.text and "Walk" not in refused.text
    plain = record.get(api, f"/goals/{e['plain_goal']['id']}")
    assert (plain.status_code, plain.json()["statement"]) == (200, PLAIN_GOAL)


def test_an_episode_whose_own_label_is_redacted_is_forbidden(
    api: RecordsApi, gate: ScriptedGate, record: Record
) -> None:
    opening = {"clinician": "dr-ada", "reason_for_referral": "SUDTEXT-referral", "labels": ["SUD"],
               "started_at": "2026-01-05T09:00:00+01:00"}  # fmt: skip
    sud_episode = created(post(api, f"/v1/clients/{record.client}/episodes", opening))
    goal = created(post(api, f"/v1/episodes/{sud_episode['id']}/goals", goal_body()))
    gate.oblige("client-1", labels={"SUD"})
    sud = Record(record.client, sud_episode["id"], {}, record.reader)

    for path in ["", "/history", f"/goals/{goal['id']}"]:
        refused = sud.get(api, path)
        assert_problem(refused, 403, "forbidden")
        assert "SUDTEXT" not in refused.text and "Walk" not in refused.text
    assert record.get(api).status_code == 200  # their other episode, without the label, reads as before


def test_the_client_episode_list_leaves_out_episodes_whose_label_is_redacted(
    api: RecordsApi, gate: ScriptedGate, record: Record
) -> None:
    opening = {"clinician": "dr-ada", "reason_for_referral": "SUDTEXT-referral", "labels": ["SUD"],
               "started_at": "2026-01-05T09:00:00+01:00"}  # fmt: skip
    sud_episode = created(post(api, f"/v1/clients/{record.client}/episodes", opening))
    listing = f"/v1/clients/{record.client}/episodes"
    assert [e["id"] for e in api.http.get(listing, headers=record.reader).json()["items"]] == [
        record.episode,
        sud_episode["id"],
    ]
    asked = len(gate.requests)

    gate.oblige("client-1", labels={"SUD"})
    first = api.http.get(listing, params={"limit": 1}, headers=record.reader).json()
    assert [e["id"] for e in first["items"]] == [record.episode]
    second = api.http.get(listing, params={"limit": 1, "cursor": first["next_cursor"]}, headers=record.reader)
    assert second.json() == {"items": [], "next_cursor": None}  # the SUD episode's page is empty
    request = gate.since(asked)[-1]
    assert request.resource.labels == frozenset({"SUD"})
    assert request.resource.categories == frozenset({"demographics", "episodes"})

    gate.oblige("client-1", categories={"episodes"})
    assert api.http.get(listing, headers=record.reader).json()["items"] == []


def test_the_history_leaves_out_events_about_redacted_entries(
    api: RecordsApi, gate: ScriptedGate, record: Record
) -> None:
    gate.oblige("client-1", labels={"SUD"})

    history = record.get(api, "/history").json()["items"]

    # Hidden: the SUD session (3), goal (5) and its revision (6), pattern (7) and its exploration (8).
    assert [(i["version"], i["type"]) for i in history] == [
        (1, "EpisodeOpened"),
        (2, "SessionHeld"),
        (4, "GoalSet"),
        (9, "MeasureRecorded"),
        (10, "ReflectionRecorded"),
    ]
    pages, cursor = [], None
    while True:
        page = record.get(api, "/history", limit=2, **({"cursor": cursor} if cursor else {})).json()
        pages.append([i["version"] for i in page["items"]])
        if not (cursor := page["next_cursor"]):
            break
    assert pages == [[1, 2], [4, 9], [10]]
    assert len(record.get(api, "/history").json()["items"]) == 5
    ada = api.headers("clinician", "dr-ada")
    assert len(api.http.get(f"/v1/episodes/{record.episode}/history", headers=ada).json()["items"]) == 10


def test_a_write_whose_decision_withholds_its_entry_is_refused_and_saves_nothing(
    api: RecordsApi, gate: ScriptedGate, record: Record
) -> None:
    gate.oblige("dr-ada", labels={"SUD"})
    at = f"/v1/episodes/{record.episode}"

    refused = post(api, f"{at}/goals", goal_body(statement=SUD_GOAL, labels=["SUD"]))
    assert_problem(refused, 403, "forbidden")
    assert "SUDTEXT" not in refused.text
    revision = post(api, f"{at}/goals/{record.entries['sud_goal']['id']}/revisions", revision_body())
    assert_problem(revision, 403, "forbidden")
    assert episode_as_ada(api, record.episode)["version"] == 10

    closed = post(api, f"{at}/close", close_body())
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert (body["version"], body["redacted_labels"], ids(body["goals"])) == (
        11,
        ["SUD"],
        [record.entries["plain_goal"]["id"]],
    )
    assert "SUDTEXT" not in closed.text
