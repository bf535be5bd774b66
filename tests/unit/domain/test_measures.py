"""Outcome measures: the instrument table and the validation matrix."""

from __future__ import annotations

from uuid import uuid4

import pytest

from services.records.domain import INSTRUMENTS, ValidationError
from services.records.domain.measures import (
    ItemCountMismatch,
    ItemOutOfRange,
    MeasureInvalid,
    TotalMismatch,
    TotalOutOfRange,
    UnknownInstrument,
    validate_measure,
)

from .builders import at, meta, open_episode


def test_the_instrument_table() -> None:
    assert {name: (i.loinc, i.item_count, i.total_min, i.total_max) for name, i in INSTRUMENTS.items()} == {
        "PHQ-9": ("44261-6", 9, 0, 27),
        "GAD-7": ("70274-6", 7, 0, 21),
    }


def test_record_measure_keeps_the_loinc_code() -> None:
    episode = open_episode()
    measure_id = uuid4()

    measure = episode.record_measure(meta(1), measure_id, "GAD-7", 10, [1, 2, 3, 1, 1, 1, 1], at(1), ["MH"])

    assert episode.measures[str(measure_id)] is measure
    assert (measure.instrument, measure.loinc, measure.score) == ("GAD-7", "70274-6", 10)
    assert measure.items == [1, 2, 3, 1, 1, 1, 1]


@pytest.mark.parametrize(
    ("instrument", "score", "items"),
    [
        ("PHQ-9", 27, [3] * 9),
        ("PHQ-9", 0, [0] * 9),
        ("GAD-7", 21, [3] * 7),
        ("GAD-7", 0, [0] * 7),
    ],
)
def test_valid_measures_are_accepted(instrument: str, score: int, items: list[int]) -> None:
    assert validate_measure(instrument, score, items).name == instrument


@pytest.mark.parametrize(
    ("instrument", "score", "items", "error", "field"),
    [
        ("BDI-II", 10, [1] * 10, UnknownInstrument, "instrument"),
        ("phq-9", 9, [1] * 9, UnknownInstrument, "instrument"),
        ("PHQ-9", 28, [3] * 9, TotalOutOfRange, "score"),
        ("PHQ-9", -1, [0] * 9, TotalOutOfRange, "score"),
        ("GAD-7", 22, [3] * 7, TotalOutOfRange, "score"),
        ("PHQ-9", 8, [1] * 8, ItemCountMismatch, "items"),
        ("PHQ-9", 10, [1] * 10, ItemCountMismatch, "items"),
        ("GAD-7", 9, [1] * 9, ItemCountMismatch, "items"),
        ("PHQ-9", 12, [4, 1, 1, 1, 1, 1, 1, 1, 1], ItemOutOfRange, "items[0]"),
        ("GAD-7", 5, [1, 1, 1, 1, 1, 1, -1], ItemOutOfRange, "items[6]"),
        ("PHQ-9", 10, [1] * 9, TotalMismatch, "score"),
        ("GAD-7", 6, [1] * 7, TotalMismatch, "score"),
    ],
)
def test_invalid_measures_are_refused(
    instrument: str, score: int, items: list[int], error: type[MeasureInvalid], field: str
) -> None:
    with pytest.raises(error) as raised:
        open_episode().record_measure(meta(), uuid4(), instrument, score, items, at(), [])

    assert isinstance(raised.value, ValidationError)
    assert raised.value.field == field


def test_a_total_out_of_range_is_reported_before_a_mismatch() -> None:
    with pytest.raises(TotalOutOfRange):
        validate_measure("PHQ-9", 28, [3] * 9)
