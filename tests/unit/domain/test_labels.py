"""Sensitivity labels on entries."""

from __future__ import annotations

import pytest

from services.records.domain import PSYCHOTHERAPY_NOTE, SENSITIVITY_LABELS, ValidationError
from services.records.domain.labels import ReservedLabel, UnknownLabel, sensitivity_labels

REQUIRED = ["ETH", "HIV", "PSY", "SUD", "SDV", "SEX", "STD", "BH", "GDIS", "SICKLE", "MH", "TBOO", "PSYTHPN"]


def test_the_hl7_codes_touchstone_needs_are_known() -> None:
    assert set(REQUIRED) <= set(SENSITIVITY_LABELS)
    assert PSYCHOTHERAPY_NOTE == "PSYTHPN"


def test_labels_are_sorted_and_unique() -> None:
    assert sensitivity_labels(["SUD", "ETH", "SUD"]) == ["ETH", "SUD"]
    assert sensitivity_labels([]) == []


def test_an_unknown_label_is_refused_by_its_code() -> None:
    with pytest.raises(UnknownLabel) as raised:
        sensitivity_labels(["ETH", "XYZ"])

    assert isinstance(raised.value, ValidationError)
    assert "'XYZ'" in str(raised.value)
    assert raised.value.field == "labels"


def test_psychotherapy_notes_label_is_reserved() -> None:
    with pytest.raises(ReservedLabel):
        sensitivity_labels([PSYCHOTHERAPY_NOTE])
