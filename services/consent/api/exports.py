"""The access log exported as CSV (one row per entry) or as a FHIR R4B Bundle of AuditEvents, streamed.

Only NDJSON is verifiable (its lines are the leaves); these are views for spreadsheets and FHIR audit
repositories. The log is read in batches and the answer written as it is read, so an export of any size
holds a few thousand entries in memory at a time.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import Any

import orjson
from fhir.resources.R4B.bundle import Bundle

from services.consent.api.fhir_audit import audit_event

CHUNK = 200  # entries per write
CSV_COLUMNS = (
    "seq", "time", "tenant", "decision_id", "request_id", "actor", "actor_display", "roles",
    "actor_client_id", "client_id", "action", "resource_type", "resource_id", "labels", "categories",
    "purpose_of_use", "outcome", "reason", "rule", "redact_labels", "redact_categories",
    "redisclosure_notice", "consents", "break_glass_id",
)  # fmt: skip
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection): such cells are
# written with a leading apostrophe. Request ids (X-Request-ID) and token subs are the caller's own text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_rows(leaves: Iterable[bytes]) -> Iterator[bytes]:
    """A header, then one row per entry; lists are space-separated codes or ids."""
    yield _csv([list(CSV_COLUMNS)])
    for chunk in batched(leaves, CHUNK):
        yield _csv([_row(orjson.loads(leaf)) for leaf in chunk])


def _row(e: dict[str, Any]) -> list[str]:
    resource, obligations = e["resource"], e["obligations"]
    values: list[Any] = [
        e["seq"], e["time"], e["tenant"], e["decision_id"], e["request_id"], e["actor"],
        e["facts"].get("actor_display"), e["roles"], e["actor_client_id"], e["client_id"], e["action"],
        resource["type"], resource["id"], resource["labels"], resource["categories"], e["purpose_of_use"],
        e["outcome"], e["reason"], e["rule"], obligations["redact_labels"], obligations["redact_categories"],
        obligations["redisclosure_notice"], e["consents"], e["break_glass_id"],
    ]  # fmt: skip
    return [_cell(value) for value in values]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = " ".join(value) if isinstance(value, list) else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode()


def batched(items: Iterable[bytes], size: int) -> Iterator[list[bytes]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def fhir_bundle(leaves: Iterable[bytes], bundle_id: str, now: datetime) -> Iterator[bytes]:
    """A ``collection`` Bundle, one entry per access-log entry (``fullUrl`` the decision's URN)."""
    head = Bundle(id=bundle_id, type="collection", timestamp=now).model_dump_json().encode()
    yield head[:-1]  # the object stays open for its entries
    opened = False
    for chunk in batched(leaves, CHUNK):
        entries = [_bundle_entry(orjson.loads(leaf)) for leaf in chunk]
        yield (b"," if opened else b',"entry":[') + b",".join(entries)
        opened = True
    yield b"]}" if opened else b"}"


def _bundle_entry(entry: dict[str, Any]) -> bytes:
    resource = audit_event(entry).model_dump_json().encode()
    full_url = f"urn:uuid:{entry['decision_id']}".encode()
    return b'{"fullUrl":"' + full_url + b'","resource":' + resource + b"}"
