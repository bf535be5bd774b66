"""`touchstone audit export` and `touchstone audit verify` as an auditor runs them, against the consent
service as a real process on PostgreSQL: decisions of two practices, each practice's log exported and
verified alone, then exports damaged by hand (a line deleted, a byte flipped, an earlier export held to a
checkpoint saved later).
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from services.identity.dev import DevKeys
from tests.e2e.test_consent_enforced import uvicorn
from tests.e2e.test_serve import touchstone_command
from tests.support import PgDatabase

PRACTICE_A, PRACTICE_B = "audit-practice-a", "audit-practice-b"
ORIGIN = "touchstone.local/access-log/{}"
CHECKPOINT_TIMEOUT = 20.0


@dataclass
class Consent:
    http: httpx.Client
    keys: DevKeys
    base: str
    files: Path

    def auth(self, tenant: str, role: str, sub: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(tenant, role, sub)}"}

    def token(self, tenant: str, role: str, sub: str) -> str:
        return self.keys.mint(role, tenant, sub)

    def auditor(self, tenant: str) -> str:
        return self.token(tenant, "auditor", f"auditor-of-{tenant}")


@pytest.fixture
def consent(tmp_path: Path, pg_schema: PgDatabase) -> Iterator[Consent]:
    var = tmp_path / "var"
    keys = DevKeys(var)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOUCHSTONE_")}
    env |= {
        "TOUCHSTONE_VAR_DIR": str(var),
        "TOUCHSTONE_JWKS": str(keys.ensure().jwks),
        "TOUCHSTONE_CONSENT_DATABASE_URL": pg_schema.url,
        "TOUCHSTONE_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "TOUCHSTONE_CHECKPOINT_EVERY_SECONDS": "0.5",
    }
    files = tmp_path / "auditor"
    files.mkdir()
    with (
        uvicorn("consent", "services.consent.api.app:create_app", env, tmp_path) as service,
        httpx.Client(base_url=service.base, timeout=10) as http,
    ):
        yield Consent(http, keys, service.base, files)


def decide(c: Consent, tenant: str, count: int) -> list[str]:
    """Decisions of a practice, permits and denies in turn; the ids of them all."""
    ids = []
    for n in range(count):
        client = str(uuid.uuid4())
        if n % 2 == 0:  # the care team's clinician: permit
            who = c.auth(tenant, "clinician", "dr-ada")
            body = {"client_id": client, "action": "read", "resource": {"type": "episode", "id": f"ep-{n}"},
                    "facts": {"care_team": ["dr-ada"]}}  # fmt: skip
        else:  # an integrator without consent: deny
            who = c.auth(tenant, "integrator", "ehr-1")
            body = {"client_id": client, "action": "read", "resource": {"type": "episode", "id": f"ep-{n}"}}
        answer = c.http.post("/v1/decisions", json=body, headers=who)
        assert answer.status_code == 200, answer.text
        ids.append(answer.json()["decision_id"])
    return ids


def wait_for_checkpoint(c: Consent, tenant: str, at_least: int) -> int:
    """The size of the first signed checkpoint covering ``at_least`` entries (every poll is an entry too)."""
    deadline = time.monotonic() + CHECKPOINT_TIMEOUT
    headers = {"Authorization": f"Bearer {c.auditor(tenant)}"}
    while time.monotonic() < deadline:
        answer = c.http.get("/v1/access-log/checkpoint", headers=headers)
        if answer.status_code == 200 and int(answer.text.split("\n")[1]) >= at_least:
            return int(answer.text.split("\n")[1])
        time.sleep(0.2)
    raise AssertionError(
        f"no checkpoint of {tenant} covering {at_least} entries within {CHECKPOINT_TIMEOUT} s"
    )


def touchstone(*args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOUCHSTONE_")}
    if token is not None:
        env["TOUCHSTONE_TOKEN"] = token
    return subprocess.run(
        [touchstone_command(), "audit", *args], env=env, capture_output=True, text=True, timeout=60
    )


def export(c: Consent, tenant: str, name: str) -> Path:
    output = c.files / name
    done = touchstone("export", "--url", c.base, "--output", str(output), token=c.auditor(tenant))
    assert done.returncode == 0, done.stdout + done.stderr
    return output


def verify(export: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return touchstone("verify", str(export), "--keys-file", f"{export}.keys", *args)


def assert_failed_at(done: subprocess.CompletedProcess[str], seq: int, problem: str) -> None:
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.startswith(f"FAILED at seq {seq}: "), done.stdout
    assert problem in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_each_practice_exports_and_verifies_its_own_log_alone(consent: Consent) -> None:
    c = consent
    decided = {PRACTICE_A: decide(c, PRACTICE_A, 5), PRACTICE_B: decide(c, PRACTICE_B, 3)}
    exports = {}
    for tenant, ids in decided.items():
        wait_for_checkpoint(c, tenant, len(ids))
        exports[tenant] = export(c, tenant, f"{tenant}.ndjson")

    for tenant, path in exports.items():
        other = PRACTICE_B if tenant == PRACTICE_A else PRACTICE_A
        done = verify(path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"entries of the log {ORIGIN.format(tenant)}, consistent with every" in done.stdout
        raw = path.read_bytes()
        entries = [json.loads(line) for line in raw.splitlines()]
        assert [e["seq"] for e in entries] == list(range(len(entries)))
        assert {e["tenant"] for e in entries} == {tenant}
        assert set(decided[tenant]) <= {e["decision_id"] for e in entries}
        assert other.encode() not in raw
        assert not any(decision.encode() in raw for decision in decided[other])
        vkey = json.loads(Path(f"{path}.keys").read_text())["keys"][0]
        pinned = touchstone("verify", str(path), "--key", vkey, "--origin", ORIGIN.format(tenant))
        assert pinned.returncode == 0, pinned.stdout + pinned.stderr

    refused = {
        "answered 403 Forbidden": c.token(PRACTICE_A, "clinician", "dr-ada"),
        "answered 401 Unauthorized": "not-a-token",
    }
    for message, token in refused.items():
        done = touchstone("export", "--url", c.base, "--output", str(c.files / "refused.ndjson"), token=token)
        assert done.returncode == 1 and message in done.stderr, done.stderr
        assert "Traceback" not in done.stderr and not (c.files / "refused.ndjson").exists()


def test_a_damaged_export_fails_naming_the_first_bad_seq(consent: Consent) -> None:
    c = consent
    wait_for_checkpoint(c, PRACTICE_A, len(decide(c, PRACTICE_A, 8)))
    original = export(c, PRACTICE_A, "practice.ndjson")
    assert verify(original).returncode == 0
    lines = original.read_bytes().splitlines(keepends=True)

    def damaged(name: str, new_lines: list[bytes]) -> Path:
        path = c.files / name
        path.write_bytes(b"".join(new_lines))
        for suffix in (".checkpoints", ".keys"):
            Path(f"{path}{suffix}").write_bytes(Path(f"{original}{suffix}").read_bytes())
        return path

    deleted = damaged("deleted.ndjson", lines[:2] + lines[3:])
    assert_failed_at(verify(deleted), 2, "line 2 holds entry 3: entry 2 is missing")

    broken = bytearray(lines[3])
    broken[-2] ^= 0x01  # the closing brace becomes "|"
    assert_failed_at(
        verify(damaged("broken.ndjson", [*lines[:3], bytes(broken), *lines[4:]])), 3, "is not an entry"
    )

    altered = bytearray(lines[4])
    at = altered.index(b'"decision_id":"') + len(b'"decision_id":"')
    altered[at] ^= 0x01  # still canonical JSON: only the tree notices
    done = verify(damaged("altered.ndjson", [*lines[:4], bytes(altered), *lines[5:]]))
    found = re.match(
        r"FAILED at seq (\d+): entries \1\.\.(\d+) do not hash to the root signed in", done.stdout
    )
    assert done.returncode == 1 and found, done.stdout
    assert int(found.group(1)) <= 4 <= int(found.group(2))


def test_an_earlier_export_is_held_to_a_checkpoint_saved_later(consent: Consent) -> None:
    c = consent
    wait_for_checkpoint(c, PRACTICE_A, len(decide(c, PRACTICE_A, 3)))
    earlier = export(c, PRACTICE_A, "earlier.ndjson")
    assert verify(earlier).returncode == 0
    exported = len(earlier.read_bytes().splitlines())

    wait_for_checkpoint(c, PRACTICE_A, exported + len(decide(c, PRACTICE_A, 4)))
    later = export(c, PRACTICE_A, "later.ndjson")
    saved = c.files / "latest.note"
    done = verify(later, "--save-checkpoint", str(saved))
    assert done.returncode == 0, done.stdout + done.stderr
    assert saved.read_text() in done.stdout

    held = verify(earlier, "--checkpoint", str(saved))
    assert_failed_at(
        held, exported, f"the export ends after {exported} entries, but the saved checkpoint covers"
    )
    assert "truncated" in held.stdout
