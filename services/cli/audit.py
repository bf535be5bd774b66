"""`touchstone audit`: take a tenant's access log home, and check it there with the public keys alone.

``export`` asks the consent service for the log's verifier keys and every signed checkpoint, then streams the
NDJSON export into a file byte for byte (each line is a leaf, exactly as hashed). The checkpoints are fetched
before the entries, so none of them is larger than the export: a checkpoint past its end can only mean
entries were withheld. No file appears before every answer arrived, and each appears whole (by rename).

``verify`` needs no server: it reads the export as a stream and hands it, the keys and the checkpoints to
:func:`services.tlog.verify.verify_export`. The keys the server served are only as trustworthy as the
server; an auditor who got the key another way passes it with ``--key``, and keeps the latest checkpoint
of each run to pass with ``--checkpoint`` next time (that catches a log rewritten in between).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from services.tlog.note import NoteError, Verifier
from services.tlog.verify import Report, verify_export

DEFAULT_CONSENT_URL = "http://127.0.0.1:8001"
EXPORT_PATH = "/v1/access-log/export"
NDJSON = "application/x-ndjson"
MAX_LINE = 1 << 20  # far above any entry; a longer "line" is read in pieces, and fails as "not an entry"
TIMEOUT = httpx.Timeout(60.0, connect=5.0)
_HINTS = {
    401: "the token was refused: missing, expired, or not issued for this service",
    403: "the token may not read the access log: an auditor's or privacy officer's token is needed",
    404: "not found: is the URL the consent service?",
}


class AuditError(Exception):
    """A failure told to the user in one sentence, without a traceback; it never holds the token."""


# --- export ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExportFiles:
    entries: Path
    checkpoints: Path
    keys: Path

    @classmethod
    def beside(cls, output: Path, checkpoints: Path | None = None, keys: Path | None = None) -> ExportFiles:
        """``<output>.checkpoints`` and ``<output>.keys`` unless given."""
        return cls(
            output,
            checkpoints or output.with_name(output.name + ".checkpoints"),
            keys or output.with_name(output.name + ".keys"),
        )


@dataclass(frozen=True)
class Exported:
    entries: int
    size_bytes: int
    checkpoints: int
    checkpoints_past_end: int  # signed for sizes beyond --end, so left out of the file
    origin: str
    keys: int


def consent_client(url: str, token: str) -> httpx.Client:
    try:
        return httpx.Client(
            base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
        )
    except httpx.InvalidURL as error:
        raise AuditError(f"the consent service's URL is not usable: {error}") from None


def export_log(client: httpx.Client, files: ExportFiles, start: int = 0, end: int | None = None) -> Exported:
    """Keys and checkpoints first, then the entries ``start <= seq < end``; the files, once all arrived."""
    keys = _keys_document(_get_json(client, "/v1/access-log/keys"))
    notes = _notes(_get_json(client, "/v1/access-log/checkpoints"))
    kept = [note for note in notes if end is None or _claimed_size(note) <= end]
    params = {"format": "ndjson", "start": start, **({} if end is None else {"end": end})}
    try:
        entries, size = _stream_to(client, params, files.entries)
        _write_atomically(files.checkpoints, (json.dumps(kept, indent=1) + "\n").encode())
        _write_atomically(files.keys, (json.dumps(keys, indent=1) + "\n").encode())
    except OSError as error:
        raise AuditError(
            f"cannot write {error.filename or files.entries}: {error.strerror or error}"
        ) from None
    return Exported(entries, size, len(kept), len(notes) - len(kept), keys["origin"], len(keys["keys"]))


def _get_json(client: httpx.Client, path: str) -> Any:
    with _talking_to(client):
        response = client.get(path)
    _raise_for_status(response, path)
    try:
        return response.json()
    except ValueError:
        raise AuditError(f"GET {path} did not answer JSON: is the URL the consent service?") from None


def _stream_to(client: httpx.Client, params: dict[str, Any], target: Path) -> tuple[int, int]:
    """The export's bytes as served into ``target``: (lines, bytes)."""
    scratch = target.with_name(target.name + ".part")
    lines = size = 0
    try:
        with _talking_to(client), client.stream("GET", EXPORT_PATH, params=params) as response:
            if response.status_code != 200:
                response.read()
            _raise_for_status(response, EXPORT_PATH)
            kind = response.headers.get("content-type", "").split(";")[0].strip()
            if kind != NDJSON:
                raise AuditError(f"the export came as {kind or 'no content type'!r}, not {NDJSON}")
            with scratch.open("wb") as sink:
                for chunk in response.iter_bytes():
                    sink.write(chunk)
                    lines += chunk.count(b"\n")
                    size += len(chunk)
        os.replace(scratch, target)
    finally:
        scratch.unlink(missing_ok=True)
    return lines, size


@contextmanager
def _talking_to(client: httpx.Client) -> Iterator[None]:
    """httpx's transport errors as one sentence naming the server (never the token)."""
    base = str(client.base_url).rstrip("/")
    try:
        yield
    except httpx.ConnectError as error:
        raise AuditError(f"cannot connect to the consent service at {base}: {error}") from None
    except httpx.TimeoutException:
        raise AuditError(f"the consent service at {base} did not answer in time") from None
    except httpx.HTTPError as error:
        raise AuditError(
            f"the connection to {base} failed ({type(error).__name__}); nothing was written"
        ) from None


def _raise_for_status(response: httpx.Response, path: str) -> None:
    if response.status_code == 200:
        return
    detail = _problem_detail(response)
    hint = _HINTS.get(response.status_code, "")
    said = "; ".join(part for part in (hint, detail and f"the service says: {detail}") if part)
    raise AuditError(f"GET {path} answered {response.status_code} {response.reason_phrase}: {said}")


def _problem_detail(response: httpx.Response) -> str:
    try:
        document = response.json()
    except ValueError:
        return ""
    detail = document.get("detail") if isinstance(document, dict) else None
    return str(detail)[:300] if detail else ""


def _keys_document(document: Any) -> dict[str, Any]:
    keys = document.get("keys") if isinstance(document, dict) else None
    origin = document.get("origin") if isinstance(document, dict) else None
    if not isinstance(origin, str) or not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise AuditError("the keys the service sent are not {origin, keys: [verifier key, ...]}")
    return {"origin": origin, "keys": keys}


def _notes(document: Any) -> list[str]:
    if not isinstance(document, list) or not all(isinstance(note, str) for note in document):
        raise AuditError("the checkpoints the service sent are not a list of signed notes")
    return document


def _claimed_size(note: str) -> int:
    """The tree size a note claims (unverified: only to leave out checkpoints past ``--end``)."""
    lines = note.split("\n", 2)
    return int(lines[1]) if len(lines) > 2 and lines[1].isdigit() else -1


def _write_atomically(path: Path, data: bytes) -> None:
    scratch = path.with_name(path.name + ".part")
    try:
        scratch.write_bytes(data)
        os.replace(scratch, path)
    finally:
        scratch.unlink(missing_ok=True)


# --- verify ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Anchors:
    """What an export is checked against: public keys, signed checkpoints, a checkpoint saved earlier."""

    verifiers: list[Verifier]
    checkpoints: list[str]
    saved: str | None
    origin: str | None


def load_anchors(
    keys: list[str],
    keys_file: Path | None,
    checkpoints_file: Path | None,
    saved_file: Path | None,
    origin: str | None,
) -> Anchors:
    """Read and parse every input; raises :class:`AuditError` naming the file and what is wrong."""
    vkeys, file_origin = list(keys), None
    if keys_file is not None:
        more, file_origin = _read_keys_file(keys_file)
        vkeys += more
    if not vkeys:
        raise AuditError("no verifier key: pass --key <vkey> or --keys-file <file>")
    verifiers = []
    for vkey in vkeys:
        try:
            verifiers.append(Verifier.from_vkey(vkey))
        except NoteError as error:
            raise AuditError(f"the verifier key {vkey[:60]!r} is not usable: {error}") from None
    notes = _read_checkpoints(checkpoints_file) if checkpoints_file is not None else []
    saved = _normalized(_read_text(saved_file)) if saved_file is not None else None
    return Anchors(verifiers, notes, saved, origin or file_origin)


def checkpoints_beside(export: Path) -> Path | None:
    """``<export>.checkpoints``, where `export` puts them, if it is there."""
    path = export.with_name(export.name + ".checkpoints")
    return path if path.exists() else None


def verify_file(export: Path, anchors: Anchors, progress: Callable[[int, int], None] | None = None) -> Report:
    """The report on the export; ``progress(entries, bytes_read)`` every 10,000 entries and at the end."""
    try:
        with export.open("rb") as file:
            on_entries = None if progress is None else (lambda n: progress(n, file.tell()))
            return verify_export(
                _lines(file),
                anchors.verifiers,
                anchors.checkpoints,
                anchors.saved,
                anchors.origin,
                on_entries,
            )
    except OSError as error:
        raise AuditError(f"cannot read {export}: {error.strerror or error}") from None


def _lines(file: BinaryIO) -> Iterator[bytes]:
    """The file's lines, each read at most MAX_LINE bytes at a time (memory stays bounded)."""
    return iter(lambda: file.readline(MAX_LINE), b"")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise AuditError(f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise AuditError(f"{path} is not UTF-8 text") from None


def _read_keys_file(path: Path) -> tuple[list[str], str | None]:
    """``{origin, keys}`` as the service serves it (and `export` saves it), or one vkey per line."""
    text = _read_text(path)
    if not text.lstrip().startswith("{"):
        lines = [line.strip() for line in text.splitlines()]
        return [line for line in lines if line and not line.startswith("#")], None
    try:
        document = _keys_document(json.loads(text))
    except (ValueError, AuditError):
        raise AuditError(
            f"{path} is neither {{origin, keys: [...]}} JSON nor one verifier key a line"
        ) from None
    return list(document["keys"]), document["origin"]


def _read_checkpoints(path: Path) -> list[str]:
    try:
        return [_normalized(note) for note in _notes(json.loads(_read_text(path)))]
    except (ValueError, AuditError):
        raise AuditError(
            f"{path} is not a JSON list of signed notes (as `touchstone audit export` writes)"
        ) from None


def _normalized(note: str) -> str:
    """A note ends in exactly one newline; files edited or concatenated by hand often carry more."""
    return note.rstrip("\n") + "\n"


def save_note(path: Path, note: str) -> None:
    try:
        _write_atomically(path, note.encode("utf-8"))
    except OSError as error:
        raise AuditError(f"cannot write {path}: {error.strerror or error}") from None
