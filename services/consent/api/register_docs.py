"""The disclosure register's and the access report's documents (contracts/consent_v1.py), as plain dicts.

The contract tests validate these documents against the response models, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from contracts.consent_v1 import PURPOSE_DISPLAY
from services.consent.application.access_report import Reported
from services.consent.application.commands import DayWindow
from services.consent.application.registers import Disclosed, Information
from services.consent.domain.disclosure import Summary

Doc = dict[str, Any]


def disclosure(d: Disclosed) -> Doc:
    row, details = d.row, d.details
    doc: Doc = {
        "id": row.id,
        "client_id": row.client_id,
        "date": d.disclosed_on,
        "accountable": row.accountable,
        "basis": d.basis,
        "source": row.source,
        "decision_id": row.id if row.source == "decision" else None,
        "consents": list(d.consents),
        "recorded_at": d.recorded_at,
        "recorded_by": d.recorded_by,
    }
    if details is not None:
        return doc | {
            "recipient": {"id": None, "name": details.recipient_name, "address": details.recipient_address},
            "description": details.description,
            "information": None,
            "purpose": {"text": details.purpose_text, "code": details.purpose_code},
        }
    information = d.information or Information("unknown", None, ())
    code = row.purpose or ""
    return doc | {
        "recipient": {"id": row.recipient, "name": d.organization or row.recipient, "address": None},
        "description": _described(information),
        "information": {
            "resource_type": information.resource_type,
            "resource_id": information.resource_id,
            "categories": list(information.categories),
        },
        "purpose": {"text": PURPOSE_DISPLAY.get(code, code), "code": row.purpose},
    }


def _described(information: Information) -> str:
    kinds = ", ".join(information.categories) or "no category"
    return f"{information.resource_type.replace('_', ' ')} ({kinds})"


def register(
    client_id: Any, window: DayWindow, accountable_only: bool, lines: list[Summary[Disclosed]]
) -> Doc:
    return {
        "client_id": client_id,
        "period": period(window),
        "accountable_only": accountable_only,
        "items": [
            {"disclosure": disclosure(line.first), "count": line.count, "last_date": line.last_on}
            for line in lines
        ],
    }


def period(window: DayWindow) -> Doc:
    return {"start": window.start, "end": window.end}


def report_item(reported: Reported) -> Doc:
    e = reported.entry
    resource = e["resource"]
    redacted = set(e["obligations"]["redact_categories"])
    integrator = "integrator" in e["roles"]
    purpose = e["purpose_of_use"]
    return {
        "seq": e["seq"],
        "time": e["time"],
        "decision_id": e["decision_id"],
        "who": {
            "actor": e["actor"],
            # An integrator is shown by its organization; a name is what the practitioner directory says.
            "name": None if integrator else e["facts"].get("actor_display"),
            "roles": e["roles"],
            "organization": reported.organization,
        },
        "what": {
            "action": e["action"],
            "resource_type": resource["type"],
            "resource_id": resource["id"],
            "categories": [c for c in resource["categories"] if c not in redacted],
        },
        "why": {"purpose_of_use": purpose, "purpose": PURPOSE_DISPLAY.get(purpose, purpose)},
        "break_glass_id": e["break_glass_id"],
    }
