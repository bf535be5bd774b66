"""Free text given to the consent service (break-glass reasons, review notes, revocation reasons, consent
descriptions, and the recipient, address, description, purpose and basis of a disclosure entered by hand) is
kept only in encrypted events: it never appears in the raw database or in the logs.

Each scan first finds something that is stored in clear (the grantee's id in the index), so a scan that
reads nothing cannot pass by accident.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from psycopg import sql

from tests.support import PgDatabase, SqliteDatabase
from tests.support.consent import (
    INTEGRATOR,
    ConsentApi,
    MutableClock,
    consent_settings,
    manual_disclosure_body,
    new_client,
    part2_body,
    read_episode,
    running_consent,
)


def secret(what: str) -> str:
    return f"{what} {uuid4().hex}"


def exercise(api: ConsentApi) -> list[str]:
    """Grant, decide, revoke, break the glass and review it; the free texts given along the way."""
    texts = [secret("Alcohol use since 2019, detox at St Mary's"), secret("Moved to Berlin, new therapist")]
    texts += [
        secret("Found collapsed after an argument with her husband"),
        secret("Husband called; justified"),
    ]
    client_id = new_client()
    consent = api.grant(part2_body(client_id, api.clock, description=texts[0]))
    assert api.decide(read_episode(client_id), api.headers("integrator", INTEGRATOR))["decision"] == "permit"
    assert api.revoke(consent["id"], reason=texts[1]).status_code == 200
    grant = api.break_glass(client_id, "dr-bob", reason=texts[2])
    review = {"outcome": "justified", "note": texts[3]}
    response = api.http.post(f"/v1/break-glass/{grant['id']}/review", json=review, headers=api.officer())
    assert response.status_code == 200, response.text
    assert api.decide(read_episode(client_id), api.headers("integrator", INTEGRATOR))["decision"] == "deny"
    # Refused input is not echoed either (and is not stored: the consent lacks Part 2 elements).
    texts.append(secret("Refused: cocaine use disclosed in session"))
    refused = api.http.post(
        "/v1/consents",
        json=part2_body(client_id, api.clock, description=texts[-1], revocation_statement=False),
        headers=api.officer(),
    )
    assert refused.status_code == 422 and texts[-1] not in refused.text
    return texts + disclose(api, client_id)


def disclose(api: ConsentApi, client_id: str) -> list[str]:
    """A disclosure entered by hand, its register and the client's report read; one refused."""
    texts = [secret("Dr Jane Roe, Roe & Partners"), secret("12 Elm Street, Springfield")]
    texts += [
        secret("Notes on her bipolar disorder"),
        secret("Custody case Roe v. Roe"),
        secret("order of court"),
    ]
    recipient = {"name": texts[0], "address": texts[1]}
    body = manual_disclosure_body(
        api.clock, recipient=recipient, description=texts[2], purpose={"text": texts[3]}, basis=texts[4]
    )
    path = f"/v1/clients/{client_id}/disclosures"
    assert api.http.post(path, json=body, headers=api.officer()).status_code == 201
    assert texts[2] in api.http.get(path, headers=api.auditor()).text
    report = api.http.get(f"/v1/clients/{client_id}/access-report", headers=api.client(client_id))
    assert report.status_code == 200
    texts.append(secret("Refused: faxed her HIV status"))
    refused = api.http.post(
        path, json={**body, "date": "2999-01-01", "description": texts[-1]}, headers=api.officer()
    )
    assert refused.status_code == 422 and texts[-1] not in refused.text
    return texts


def postgres_values(database: PgDatabase) -> list[Any]:
    """Every value of every row of every table in the test's schema."""
    values: list[Any] = []
    with database.connect() as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (database.schema,)
        ).fetchall()
        assert len(tables) >= 3, tables
        for (table,) in tables:
            query = sql.SQL("SELECT * FROM {}.{}").format(
                sql.Identifier(database.schema), sql.Identifier(table)
            )
            for row in conn.execute(query):
                values.extend(row)
    return values


def found(values: list[Any], text: str) -> bool:
    needle = text.encode()
    for value in values:
        if isinstance(value, bytes | bytearray | memoryview):
            if needle in bytes(value):
                return True
        elif text in str(value):
            return True
    return False


def test_free_text_never_reaches_the_postgres_tables(
    pg_schema: PgDatabase, tmp_path: Path, clock: MutableClock
) -> None:
    with running_consent(consent_settings(pg_schema, tmp_path), clock) as api:
        texts = exercise(api)
        values = postgres_values(pg_schema)

    assert found(values, INTEGRATOR)
    assert [text for text in texts if found(values, text)] == []


def test_free_text_never_reaches_the_sqlite_file(
    sqlite_db: SqliteDatabase, tmp_path: Path, clock: MutableClock
) -> None:
    with running_consent(consent_settings(sqlite_db, tmp_path / "var"), clock) as api:
        texts = exercise(api)
    files = [path for path in tmp_path.iterdir() if path.name.startswith(sqlite_db.path.name)]
    raw = b"".join(path.read_bytes() for path in files)

    assert INTEGRATOR.encode() in raw
    assert [text for text in texts if text.encode() in raw] == []


def test_free_text_never_reaches_the_logs(
    pg_schema: PgDatabase, tmp_path: Path, clock: MutableClock, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = consent_settings(pg_schema, tmp_path, log_level="DEBUG")
    with running_consent(settings, clock) as api:
        texts = exercise(api)
    logs = capsys.readouterr()

    assert "/v1/break-glass/{break_glass_id}/review" in logs.err
    assert [text for text in texts if text in logs.err + logs.out] == []
