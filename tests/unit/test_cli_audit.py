"""`touchstone audit export` against a stand-in HTTP server, and `touchstone audit verify` on files made here.

The logs are built with the tlog primitives (canonical entries, a signer from a fixed seed, checkpoints every
50 entries), so every failure reproduces; each kind of damage must exit 1 and name the first bad seq.
"""

from __future__ import annotations

import io
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from rich.console import Console
from typer.testing import CliRunner

from services.cli import audit, audit_report
from services.cli.main import app
from services.tlog import verify as verify_module
from services.tlog.note import open_checkpoint
from tests.unit.tlog.logs import ORIGIN, SignedLog, build_log, signer

runner = CliRunner()
VKEY = signer().vkey()
TOKEN = "auditor-token-3f9c"


@pytest.fixture(scope="module")
def log() -> SignedLog:
    return build_log(250, every=50)  # checkpoints at 50, 100, ..., 250


def write_export(
    directory: Path, lines: list[bytes], checkpoints: list[str], name: str = "log.ndjson"
) -> Path:
    """An export as `touchstone audit export` leaves it: the lines, <name>.checkpoints and <name>.keys."""
    export = directory / name
    export.write_bytes(b"".join(line + b"\n" for line in lines))
    (directory / f"{name}.checkpoints").write_text(json.dumps(checkpoints))
    (directory / f"{name}.keys").write_text(json.dumps({"origin": ORIGIN, "keys": [VKEY]}))
    return export


def verify(export: Path, *args: str) -> Result:
    return runner.invoke(app, ["audit", "verify", str(export), *args])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def keys_of(export: Path) -> list[str]:
    return ["--keys-file", f"{export}.keys"]


# --- verify: what passes -------------------------------------------------------------------------------
def test_an_untouched_export_verifies_and_names_the_checkpoint_to_keep(
    tmp_path: Path, log: SignedLog
) -> None:
    export = write_export(tmp_path, log.lines, log.checkpoints)

    result = verify(export, *keys_of(export))

    assert result.exit_code == 0, result.output
    assert f"OK: {export}: 250 entries of the log {ORIGIN}, consistent with every checkpoint" in result.stdout
    assert "5 signed checkpoint(s) matched; signed for: entries 0..249" in result.stdout
    assert log.checkpoints[-1] in result.stdout  # the latest, to keep for next time


def test_keys_given_one_by_one_and_a_saved_checkpoint(tmp_path: Path, log: SignedLog) -> None:
    export = write_export(tmp_path, log.lines, log.checkpoints)
    saved = tmp_path / "saved.note"
    saved.write_text(log.checkpoint(120) + "\n")  # an extra newline, as editors leave it
    other = signer("someone.else", seed=9).vkey()

    result = verify(export, "--key", other, "--key", VKEY, "--checkpoint", str(saved), "--origin", ORIGIN)

    assert result.exit_code == 0, result.output
    assert "6 signed checkpoint(s) matched (the saved one among them)" in result.stdout


def test_the_latest_checkpoint_is_saved_and_holds_the_next_export_to_it(
    tmp_path: Path, log: SignedLog
) -> None:
    later = write_export(tmp_path, log.lines, log.checkpoints, "later.ndjson")
    saved = tmp_path / "latest.note"
    assert verify(later, *keys_of(later), "--save-checkpoint", str(saved)).exit_code == 0
    assert open_checkpoint(saved.read_text(), [signer().verifier()]).size == 250

    earlier = write_export(tmp_path, log.lines[:150], log.checkpoints[:3], "earlier.ndjson")
    assert verify(earlier, *keys_of(earlier)).exit_code == 0
    result = verify(earlier, *keys_of(earlier), "--checkpoint", str(saved))

    assert result.exit_code == 1
    assert "FAILED at seq 150: the export ends after 150 entries" in result.stdout
    assert "truncated" in result.stdout


def test_entries_after_the_last_checkpoint_are_read_but_not_vouched_for(
    tmp_path: Path, log: SignedLog
) -> None:
    export = write_export(tmp_path, log.lines[:230], log.checkpoints[:4])
    result = verify(export, *keys_of(export))
    assert result.exit_code == 0, result.output
    assert "signed for: entries 0..199; 30 later entries are well-formed, not yet signed" in result.stdout


# --- verify: damage ------------------------------------------------------------------------------------
def flip(line: bytes, old: bytes, new: bytes) -> bytes:
    assert old in line
    return line.replace(old, new, 1)


def damaged(log: SignedLog, kind: str) -> list[bytes]:
    lines = list(log.lines)
    if kind == "deleted":
        del lines[10]
    elif kind == "swapped":
        lines[30], lines[31] = lines[31], lines[30]
    elif kind == "duplicated":
        lines.insert(42, lines[41])
    elif kind == "byte flipped, no longer JSON":
        lines[7] = lines[7][:-1] + b"]"
    elif kind == "byte flipped, still canonical":
        lines[123] = flip(
            lines[123], b'"outcome":"', b'"outcomf":"'
        )  # keys stay sorted: "outcomf" < "purpose"
    elif kind == "renumbered":
        lines[60] = flip(lines[60], b'"seq":60', b'"seq":61')
    return lines


@pytest.mark.parametrize(
    ("kind", "seq", "problem"),
    [
        ("deleted", 10, "line 10 holds entry 11: entry 10 is missing"),
        ("swapped", 30, "line 30 holds entry 31"),
        ("duplicated", 41, "line 42 holds entry 41 again"),
        ("byte flipped, no longer JSON", 7, "line 7 is not an entry"),
        (
            "byte flipped, still canonical",
            100,
            "entries 100..149 do not hash to the root signed in checkpoint 3",
        ),
        ("renumbered", 60, "line 60 holds entry 61"),
    ],
)
def test_damage_exits_1_naming_the_first_bad_seq(
    tmp_path: Path, log: SignedLog, kind: str, seq: int, problem: str
) -> None:
    export = write_export(tmp_path, damaged(log, kind), log.checkpoints)

    result = verify(export, *keys_of(export))

    assert result.exit_code == 1, result.output
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"FAILED at seq {seq}: "), first
    assert problem in first
    assert "Traceback" not in result.output


def test_a_truncated_export(tmp_path: Path, log: SignedLog) -> None:
    export = write_export(tmp_path, log.lines[:180], log.checkpoints)
    result = verify(export, *keys_of(export))
    assert result.exit_code == 1
    assert result.stdout.startswith("FAILED at seq 180: the export ends after 180 entries, but checkpoint 5")
    assert "read 180 entries; 3 signed checkpoint(s) matched, covering entries 0..149" in result.stdout


def test_a_file_cut_in_the_middle_of_a_line(tmp_path: Path, log: SignedLog) -> None:
    export = write_export(tmp_path, log.lines, log.checkpoints)
    export.write_bytes(export.read_bytes()[:-40])
    result = verify(export, *keys_of(export))
    assert result.exit_code == 1
    assert result.stdout.startswith("FAILED at seq 249: line 249 is not an entry")


def test_a_line_longer_than_any_entry_is_read_in_pieces(tmp_path: Path, log: SignedLog) -> None:
    export = write_export(tmp_path, log.lines, log.checkpoints)
    export.write_bytes(b"[" + b" " * (audit.MAX_LINE + 10) + b"]\n")
    result = verify(export, *keys_of(export))
    assert result.exit_code == 1
    assert result.stdout.startswith("FAILED at seq 0: line 0 is not an entry")


def test_a_checkpoint_by_another_key_or_of_another_log(tmp_path: Path, log: SignedLog) -> None:
    export = write_export(tmp_path, log.lines, log.checkpoints)
    stranger = signer("someone.else", seed=5).vkey()

    unknown = verify(export, "--key", stranger)
    other_log = verify(export, *keys_of(export), "--origin", "touchstone.test/access-log/another")

    assert unknown.exit_code == 1 and "no signature by a known key" in unknown.stdout
    assert other_log.exit_code == 1 and "not 'touchstone.test/access-log/another'" in other_log.stdout


def test_without_checkpoints_nothing_is_verified(tmp_path: Path, log: SignedLog) -> None:
    export = write_export(tmp_path, log.lines, [])
    result = verify(export, *keys_of(export))
    assert result.exit_code == 1
    assert result.stdout.startswith("FAILED: no signed checkpoint was given")


# --- verify: inputs it cannot use (exit 2, no traceback) ----------------------------------------------
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"args": []}, "no verifier key: pass --key <vkey> or --keys-file <file>"),
        (
            {"args": ["--key", "name+0000+AAAA"]},
            "is not usable: a verifier key's ID is 8 lowercase hex digits",
        ),
        ({"keys": "{not json"}, "is neither {origin, keys: [...]} JSON nor one verifier key a line"),
        ({"checkpoints": "not json"}, "is not a JSON list of signed notes"),
        ({"checkpoints": '{"a": 1}'}, "is not a JSON list of signed notes"),
        ({"export": None}, "cannot read"),
        (
            {"args": ["--key", VKEY, "--checkpoint", "/nonexistent/saved.note"]},
            "cannot read /nonexistent/saved.note",
        ),
    ],
)
def test_unusable_inputs_are_named(
    tmp_path: Path, log: SignedLog, change: dict[str, Any], message: str
) -> None:
    export = write_export(tmp_path, log.lines, log.checkpoints)
    if "keys" in change:
        Path(f"{export}.keys").write_text(change["keys"])
    if "checkpoints" in change:
        Path(f"{export}.checkpoints").write_text(change["checkpoints"])
    if "export" in change:
        export.unlink()
    args = change.get("args", keys_of(export))

    result = verify(export, *args)

    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_a_keys_file_of_one_vkey_a_line(tmp_path: Path, log: SignedLog) -> None:
    export = write_export(tmp_path, log.lines, log.checkpoints)
    keys = tmp_path / "trusted.keys"
    keys.write_text(f"# from the practice's letter\n{VKEY}\n")
    assert verify(export, "--keys-file", str(keys)).exit_code == 0


def test_progress_is_reported_while_reading(
    tmp_path: Path, log: SignedLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify_module, "PROGRESS_EVERY", 100)
    export = write_export(tmp_path, log.lines, log.checkpoints)
    seen: list[tuple[int, int]] = []
    anchors = audit.load_anchors([VKEY], None, Path(f"{export}.checkpoints"), None, None)

    report = audit.verify_file(export, anchors, lambda entries, read: seen.append((entries, read)))

    assert report.ok and report.covered == 250
    assert [entries for entries, _ in seen] == [100, 200, 250]
    assert seen[-1][1] == export.stat().st_size


def test_the_progress_bar_is_for_terminals_and_long_files(
    tmp_path: Path, log: SignedLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = write_export(tmp_path, log.lines, log.checkpoints)
    anchors = audit.load_anchors([VKEY], None, Path(f"{export}.checkpoints"), None, None)
    size = export.stat().st_size
    pipe, terminal = io.StringIO(), io.StringIO()
    with audit_report.progress_bar(Console(file=pipe), size) as none:
        assert none is None
    with audit_report.progress_bar(Console(file=terminal, force_terminal=True), size) as short:
        assert short is None  # a short run gets no bar
    monkeypatch.setattr(audit_report, "LONG_RUN_BYTES", 0)

    with audit_report.progress_bar(Console(file=terminal, force_terminal=True, width=100), size) as bar:
        assert bar is not None
        assert audit.verify_file(export, anchors, bar).ok

    assert "verifying" in terminal.getvalue() and "250 entries" in terminal.getvalue()
    assert pipe.getvalue() == ""


# --- export against a stand-in consent service --------------------------------------------------------
@dataclass
class FakeConsent:
    """Answers the auditor's API with canned documents; records what it was asked."""

    log: SignedLog
    status: int = 200
    not_json: bool = False
    asked: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    port: int = 0

    def answer(self, path: str) -> tuple[int, str, bytes]:
        if self.status != 200:
            body = {"type": "about:blank", "title": "no", "status": self.status, "detail": "token expired"}
            return self.status, "application/problem+json", json.dumps(body).encode()
        if self.not_json:
            return 200, "text/html", b"<html>a login page</html>"
        if path == "/v1/access-log/keys":
            return 200, "application/json", json.dumps({"origin": ORIGIN, "keys": [VKEY]}).encode()
        if path == "/v1/access-log/checkpoints":
            return 200, "application/json", json.dumps(self.log.checkpoints).encode()
        if path.startswith("/v1/access-log/export?"):
            params = dict(p.split("=") for p in path.split("?", 1)[1].split("&"))
            end = int(params.get("end", len(self.log.lines)))
            lines = self.log.lines[int(params["start"]) : end]
            return 200, "application/x-ndjson", b"".join(line + b"\n" for line in lines)
        return 404, "application/problem+json", b'{"detail": "no such path"}'


@pytest.fixture
def consent(log: SignedLog) -> Iterator[FakeConsent]:
    fake = FakeConsent(log, port=free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fake.asked.append(self.path)
            fake.tokens.append(self.headers.get("Authorization", ""))
            status, kind, body = fake.answer(self.path)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", fake.port), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


def export(consent: FakeConsent, output: Path, *args: str, token: str = TOKEN) -> Result:
    argv = ["audit", "export", "--url", f"http://127.0.0.1:{consent.port}/", "--output", str(output), *args]
    return runner.invoke(app, argv, env={"TOUCHSTONE_TOKEN": token, "TOUCHSTONE_CONSENT_URL": None})


def test_export_writes_the_lines_as_served_then_checkpoints_and_keys(
    tmp_path: Path, consent: FakeConsent, log: SignedLog
) -> None:
    output = tmp_path / "practice.ndjson"

    result = export(consent, output)

    assert result.exit_code == 0, result.output
    assert output.read_bytes() == b"".join(line + b"\n" for line in log.lines)
    assert json.loads(Path(f"{output}.checkpoints").read_text()) == log.checkpoints
    assert json.loads(Path(f"{output}.keys").read_text()) == {"origin": ORIGIN, "keys": [VKEY]}
    # the checkpoints before the entries: no checkpoint can then be larger than the export
    assert [p.split("?")[0] for p in consent.asked] == [
        "/v1/access-log/keys",
        "/v1/access-log/checkpoints",
        "/v1/access-log/export",
    ]
    assert set(consent.tokens) == {f"Bearer {TOKEN}"}
    assert f"wrote 250 entries ({output.stat().st_size:,} bytes) of the log {ORIGIN}" in result.stdout
    assert TOKEN not in result.output
    assert not list(tmp_path.glob("*.part"))
    assert verify(output, *keys_of(output)).exit_code == 0


def test_export_with_an_end_leaves_out_the_checkpoints_past_it(
    tmp_path: Path, consent: FakeConsent, log: SignedLog
) -> None:
    output, notes = tmp_path / "first.ndjson", tmp_path / "first.notes"
    result = export(
        consent, output, "--end", "120", "--checkpoints", str(notes), "--keys", str(tmp_path / "k")
    )
    assert result.exit_code == 0, result.output
    assert consent.asked[-1] == "/v1/access-log/export?format=ndjson&start=0&end=120"
    assert json.loads(notes.read_text()) == log.checkpoints[:2]
    assert "left out 3 checkpoint(s)" in result.stdout
    assert verify(output, "--key", VKEY, "--checkpoints", str(notes)).exit_code == 0


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (401, "answered 401 Unauthorized: the token was refused"),
        (403, "answered 403 Forbidden: the token may not read the access log"),
        (503, "answered 503 Service Unavailable: the service says: token expired"),
    ],
)
def test_export_refused_says_why_and_writes_nothing(
    tmp_path: Path, consent: FakeConsent, status: int, message: str
) -> None:
    consent.status = status
    output = tmp_path / "refused.ndjson"

    result = export(consent, output)

    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output and TOKEN not in result.output
    assert list(tmp_path.iterdir()) == []


def test_export_to_a_service_that_is_not_there(tmp_path: Path) -> None:
    port = free_port()
    argv = ["audit", "export", "--url", f"http://127.0.0.1:{port}", "--output", str(tmp_path / "x.ndjson")]
    result = runner.invoke(app, argv, env={"TOUCHSTONE_TOKEN": TOKEN})
    assert result.exit_code == 1
    assert f"export failed: cannot connect to the consent service at http://127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.output


def test_export_without_a_token_is_a_usage_error(tmp_path: Path, consent: FakeConsent) -> None:
    result = export(consent, tmp_path / "x.ndjson", token="")
    assert result.exit_code == 2
    assert "no token: pass --token or set TOUCHSTONE_TOKEN" in result.stderr
    assert consent.asked == []


def test_export_into_a_missing_directory(tmp_path: Path, consent: FakeConsent) -> None:
    result = export(consent, tmp_path / "missing" / "x.ndjson", "--token", "from-the-option")
    assert result.exit_code == 1
    assert "export failed: cannot write" in result.stderr
    assert set(consent.tokens) == {"Bearer from-the-option"}


def test_export_from_something_that_is_not_the_consent_service(tmp_path: Path, consent: FakeConsent) -> None:
    consent.not_json = True
    result = export(consent, tmp_path / "x.ndjson")
    assert result.exit_code == 1
    assert "GET /v1/access-log/keys did not answer JSON: is the URL the consent service?" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("url", "message"), [("http://[::1", "URL is not usable"), ("ftp://x", "failed")])
def test_export_to_an_unusable_url(tmp_path: Path, url: str, message: str) -> None:
    argv = ["audit", "export", "--url", url, "--output", str(tmp_path / "x.ndjson")]
    result = runner.invoke(app, argv, env={"TOUCHSTONE_TOKEN": TOKEN})
    assert result.exit_code == 1
    assert message in result.stderr and "Traceback" not in result.output


def test_export_finds_the_service_and_token_in_the_environment(tmp_path: Path, consent: FakeConsent) -> None:
    env = {"TOUCHSTONE_CONSENT_URL": f"http://127.0.0.1:{consent.port}", "TOUCHSTONE_TOKEN": TOKEN}
    result = runner.invoke(app, ["audit", "export", "--output", str(tmp_path / "x.ndjson")], env=env)
    assert result.exit_code == 0, result.output
    assert set(consent.tokens) == {f"Bearer {TOKEN}"}
