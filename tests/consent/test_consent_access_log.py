"""The access log: every decision an entry, numbered per tenant without gaps, hashed into a Merkle tree whose
signed checkpoints, inclusion and consistency proofs an auditor checks without trusting the operator."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest

from services.tlog.canonical import is_canonical
from services.tlog.merkle import ProofError, leaf_hash, root, verify_consistency, verify_inclusion
from services.tlog.note import Verifier, open_checkpoint
from tests.support import PgDatabase
from tests.support.api_checks import assert_problem
from tests.support.consent import OTHER_TENANT, TENANT, ConsentApi, disclosure_body, new_client

AUDITOR = ("auditor", "aud-1")


def auditor(api: ConsentApi, tenant: str | None = None) -> dict[str, str]:
    return api.headers(*AUDITOR, tenant=tenant)


def ask(api: ConsentApi, client_id: str, sub: str = "ehr-acme", role: str = "integrator", **h: Any) -> str:
    body = {"client_id": client_id, "action": "read", "resource": {"type": "episode", "id": "e-1"}}
    return str(api.decide(body, api.headers(role, sub, **h))["decision_id"])


def export(api: ConsentApi, tenant: str | None = None, **params: Any) -> list[bytes]:
    response = api.http.get("/v1/access-log/export", params=params, headers=auditor(api, tenant))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return response.content.splitlines()


def not_audit(lines: list[bytes]) -> list[dict[str, Any]]:
    """The entries other than the auditor's own reads of the log (which are logged too)."""
    return [e for e in map(json.loads, lines) if e["rule"] != "access-log"]


def entries(api: ConsentApi, **params: Any) -> list[dict[str, Any]]:
    response = api.http.get("/v1/access-log", params=params, headers=auditor(api))
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def verifiers(api: ConsentApi, tenant: str | None = None) -> tuple[str, list[Verifier]]:
    keys = api.http.get("/v1/access-log/keys", headers=auditor(api, tenant)).json()
    return keys["origin"], [Verifier.from_vkey(k) for k in keys["keys"]]


def test_every_decision_is_an_entry_numbered_without_gaps(consent_api: ConsentApi) -> None:
    client = new_client()
    consent_api.grant(disclosure_body(client, consent_api.clock))  # a decision too (the officer's)
    ids = [ask(consent_api, client), ask(consent_api, client, "dr-zed", "clinician")]
    lines = export(consent_api)
    decoded = [json.loads(line) for line in lines]
    assert [e["seq"] for e in decoded] == list(range(len(lines)))
    assert all(is_canonical(line) for line in lines)
    assert [e["decision_id"] for e in decoded[1:3]] == ids
    permit, deny = decoded[1], decoded[2]
    assert (permit["outcome"], permit["rule"], permit["actor"], permit["client_id"]) == (
        "permit", "consented-disclosure", "ehr-acme", client)  # fmt: skip
    assert permit["consents"] and permit["purpose_of_use"] == "TREAT"
    assert (deny["outcome"], deny["roles"], deny["tenant"], deny["service"]) == (
        "deny", ["clinician"], TENANT, "consent")  # fmt: skip
    assert set(permit) == {
        "seq", "tenant", "time", "service", "decision_id", "request_id", "actor", "roles", "actor_client_id",
        "client_id", "action", "resource", "facts", "purpose_of_use", "outcome", "reason", "rule",
        "obligations", "consents", "break_glass_id",
    }  # fmt: skip
    assert permit["facts"] == {
        "care_team": [], "care_team_supervisors": [], "author": None, "actor_display": None,
    }  # fmt: skip


def test_break_glass_decisions_are_marked_and_free_text_stays_out(consent_api: ConsentApi) -> None:
    client = new_client()
    glass = consent_api.break_glass(client, reason="REASON-TEXT-1234 collapsed in session")
    ask(consent_api, client, "dr-bob", "clinician")
    lines = export(consent_api)
    assert not_audit(lines)[-1]["break_glass_id"] == glass["id"]
    assert json.loads(lines[-1])["rule"] == "access-log"  # the export's own read, logged before it ran
    assert not any(b"REASON-TEXT-1234" in line for line in lines)


def test_tenants_have_independent_logs(consent_api: ConsentApi) -> None:
    ask(consent_api, new_client())
    ask(consent_api, new_client())
    other = new_client()
    body = {"client_id": other, "action": "read", "resource": {"type": "episode"}}
    consent_api.decide(body, consent_api.headers("integrator", "ehr-b", tenant=OTHER_TENANT))
    mine, theirs = export(consent_api), export(consent_api, OTHER_TENANT)
    assert [(e["seq"], e["actor"]) for e in map(json.loads, theirs)] == [(0, "ehr-b"), (1, "aud-1")]
    assert all(json.loads(line)["tenant"] == TENANT for line in mine)
    assert all(json.loads(line)["tenant"] == OTHER_TENANT for line in theirs)
    assert other.encode() not in b"".join(mine)


def test_concurrent_decisions_get_contiguous_numbers(consent_api: ConsentApi) -> None:
    client = new_client()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda _: ask(consent_api, client), range(64)))
    lines = export(consent_api)
    assert [json.loads(line)["seq"] for line in lines] == list(range(65))  # and the export's own entry
    assert len(not_audit(lines)) == 64


def test_filters_and_paging(consent_api: ConsentApi) -> None:
    a, b = new_client(), new_client()
    ask(consent_api, a)
    ask(consent_api, b, "dr-zed", "clinician")
    ask(consent_api, a, "dr-zed", "clinician")
    assert [e["client_id"] for e in entries(consent_api, client_id=a)] == [a, a]
    assert {e["actor"] for e in entries(consent_api, actor="dr-zed")} == {"dr-zed"}
    assert len(entries(consent_api, outcome="deny", actor="dr-zed")) == 2
    assert entries(consent_api, purpose="HPAYMT") == []
    first = consent_api.http.get("/v1/access-log", params={"limit": 2}, headers=auditor(consent_api)).json()
    rest = consent_api.http.get(
        "/v1/access-log", params={"limit": 2, "cursor": first["next_cursor"]}, headers=auditor(consent_api)
    ).json()
    assert [e["seq"] for e in first["items"] + rest["items"]][:3] == [0, 1, 2]
    late = consent_api.clock.advance(minutes=5)
    ask(consent_api, b)
    assert [e["client_id"] for e in entries(consent_api, since=late.isoformat()) if e["client_id"]] == [b]
    assert len(entries(consent_api, until=late.isoformat())) >= 3


@pytest.mark.parametrize(
    ("role", "sub"), [("clinician", "dr-ada"), ("integrator", "ehr-acme"), ("admin", "a")]
)
def test_only_auditors_and_privacy_officers_read_the_log(
    consent_api: ConsentApi, role: str, sub: str
) -> None:
    ask(consent_api, new_client())
    for path in ("/v1/access-log", "/v1/access-log/export", "/v1/access-log/checkpoint"):
        assert_problem(consent_api.http.get(path, headers=consent_api.headers(role, sub)), 403, "forbidden")
    assert consent_api.http.get("/v1/access-log", headers=consent_api.officer()).status_code == 200


def test_bad_queries_are_problems(consent_api: ConsentApi) -> None:
    ask(consent_api, new_client())
    h = auditor(consent_api)
    bad = [{"outcome": "maybe"}, {"purpose": "NOPE"}, {"since": "2026-01-01T00:00:00"}, {"cursor": "x"}]
    for params in [*bad, {"limit": 0}]:
        assert_problem(consent_api.http.get("/v1/access-log", params=params, headers=h), 422, "validation")
    get = consent_api.http.get
    assert_problem(get("/v1/access-log/entries/99/proof", headers=h), 422, "validation")
    assert_problem(
        get("/v1/access-log/consistency", params={"first": 3, "second": 1}, headers=h), 422, "validation"
    )
    assert_problem(get("/v1/access-log/export", params={"start": 50}, headers=h), 422, "validation")


def test_signed_checkpoints_and_proofs(consent_api: ConsentApi) -> None:
    client = new_client()
    for _ in range(5):
        ask(consent_api, client)
    assert_problem(consent_api.http.get("/v1/access-log/checkpoint", headers=auditor(consent_api)), 404,
                   "not-found")  # fmt: skip
    first = consent_api.app.checkpointer.sign_now(TENANT)
    assert first is not None
    for _ in range(3):
        ask(consent_api, client)
    second = consent_api.app.checkpointer.sign_now(TENANT)
    assert second is not None and second.size > first.size

    origin, keys = verifiers(consent_api)
    note = consent_api.http.get("/v1/access-log/checkpoint", headers=auditor(consent_api))
    assert note.headers["content-type"].startswith("text/plain")
    checkpoint = open_checkpoint(note.text, keys, origin=origin)
    lines = export(consent_api, end=checkpoint.size)
    hashes = [leaf_hash(line) for line in lines]
    assert checkpoint.size == second.size and root(hashes) == checkpoint.root_hash

    for seq in (0, 3, checkpoint.size - 1):
        proof = consent_api.http.get(
            f"/v1/access-log/entries/{seq}/proof", headers=auditor(consent_api)
        ).json()
        path = [base64.b64decode(h) for h in proof["proof"]]
        verify_inclusion(hashes[seq], seq, checkpoint.size, path, checkpoint.root_hash)
        with pytest.raises(ProofError):
            verify_inclusion(hashes[seq - 1], seq, checkpoint.size, path, checkpoint.root_hash)

    params = {"first": first.size, "second": second.size}
    proof = consent_api.http.get(
        "/v1/access-log/consistency", params=params, headers=auditor(consent_api)
    ).json()
    verify_consistency(first.size, second.size, [base64.b64decode(h) for h in proof["proof"]], first.root,
                       second.root)  # fmt: skip
    notes = consent_api.http.get("/v1/access-log/checkpoints", headers=auditor(consent_api)).json()
    assert [open_checkpoint(n, keys, origin=origin).size for n in notes] == [first.size, second.size]


def test_the_database_refuses_changes_to_the_log(consent_api: ConsentApi, pg_schema: PgDatabase) -> None:
    ask(consent_api, new_client())
    with psycopg.connect(pg_schema.dsn, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{pg_schema.schema}"')
        for statement in (
            "UPDATE consent_access_log SET outcome = 'permit'",
            "DELETE FROM consent_access_log",
            "TRUNCATE consent_access_log",
        ):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(statement)
        assert conn.execute("SELECT count(*) FROM consent_access_log").fetchone() == (1,)


def test_a_rewritten_history_is_never_signed(consent_api: ConsentApi, pg_schema: PgDatabase) -> None:
    client = new_client()
    for _ in range(4):
        ask(consent_api, client)
    consent_api.app.checkpointer.sign_now(TENANT)
    ask(consent_api, client)
    with psycopg.connect(pg_schema.dsn, autocommit=True) as conn:  # the operator, bypassing the triggers
        conn.execute(f'SET search_path TO "{pg_schema.schema}"')
        conn.execute("ALTER TABLE consent_access_log DISABLE TRIGGER ALL")
        conn.execute("UPDATE consent_access_log SET leaf_hash = %s WHERE seq = 1", (b"\x00" * 32,))
    with pytest.raises(ProofError):
        consent_api.app.checkpointer.sign_now(TENANT)
