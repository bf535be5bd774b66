"""Sensitivity labels that entries may carry: HL7 v3 ActCode information sensitivity policy codes.

Access decisions and their obligations (redact these labels) act on them. ``PSYTHPN`` marks psychotherapy
notes, which live in their own aggregate and are never part of an episode, so an episode entry carrying it is
refused. HL7's ``PSY`` means psychiatric information in general, not those notes.
"""

from __future__ import annotations

from .checks import shown_code
from .errors import ValidationError

PSYCHOTHERAPY_NOTE = "PSYTHPN"

SENSITIVITY_LABELS: dict[str, str] = {
    "BH": "behavioral health information sensitivity",
    "ETH": "substance abuse information sensitivity",
    "ETHUD": "alcohol use disorder information sensitivity",
    "GDIS": "genetic disease information sensitivity",
    "HIV": "HIV/AIDS information sensitivity",
    "MH": "mental health information sensitivity",
    "MST": "military sexual trauma information sensitivity",
    "OPIOIDUD": "opioid use disorder information sensitivity",
    "PSY": "psychiatry disorder information sensitivity",
    PSYCHOTHERAPY_NOTE: "psychotherapy note information sensitivity",
    "SDV": "sexual assault, abuse, or domestic violence information sensitivity",
    "SEX": "sexuality and reproductive health information sensitivity",
    "SICKLE": "sickle cell anemia information sensitivity",
    "STD": "sexually transmitted disease information sensitivity",
    "SUD": "substance use disorder information sensitivity",
    "TBOO": "taboo",
}


class UnknownLabel(ValidationError):
    """A label that is not one of :data:`SENSITIVITY_LABELS`."""


class ReservedLabel(ValidationError):
    """``PSYTHPN`` on an episode entry: psychotherapy notes are kept apart."""


def sensitivity_labels(labels: list[str], field: str = "labels") -> list[str]:
    """Validate the labels of an episode entry and return them sorted without duplicates."""
    if not isinstance(labels, list):
        raise ValidationError(f"{field} must be a list", field=field)
    for label in labels:
        if not isinstance(label, str) or label not in SENSITIVITY_LABELS:
            raise UnknownLabel(f"{field}: unknown sensitivity label {shown_code(label)}", field=field)
        if label == PSYCHOTHERAPY_NOTE:
            raise ReservedLabel(
                f"{field}: {PSYCHOTHERAPY_NOTE} is reserved for psychotherapy notes", field=field
            )
    return sorted(set(labels))
