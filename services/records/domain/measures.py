"""Standardised outcome measures: the instruments Touchstone scores and how a recorded score is checked.

The total is recorded as given *and* checked against the items, so a transcription error is caught at entry
rather than discovered in a report. Messages name the field and numbers only.
"""

from __future__ import annotations

from dataclasses import dataclass

from .checks import shown_code
from .errors import ValidationError


@dataclass(frozen=True)
class Instrument:
    """A questionnaire whose items are summed into a total, with the LOINC code of that total."""

    name: str
    loinc: str
    item_count: int
    item_min: int
    item_max: int

    @property
    def total_min(self) -> int:
        return self.item_count * self.item_min

    @property
    def total_max(self) -> int:
        return self.item_count * self.item_max


INSTRUMENTS: dict[str, Instrument] = {
    "PHQ-9": Instrument(name="PHQ-9", loinc="44261-6", item_count=9, item_min=0, item_max=3),
    "GAD-7": Instrument(name="GAD-7", loinc="70274-6", item_count=7, item_min=0, item_max=3),
}


class MeasureInvalid(ValidationError):
    """Base of the ways a recorded measure can be wrong."""


class UnknownInstrument(MeasureInvalid):
    pass


class ItemCountMismatch(MeasureInvalid):
    pass


class ItemOutOfRange(MeasureInvalid):
    pass


class TotalOutOfRange(MeasureInvalid):
    pass


class TotalMismatch(MeasureInvalid):
    pass


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def instrument(name: str) -> Instrument:
    """The instrument called ``name``; :class:`UnknownInstrument` when there is none."""
    found = INSTRUMENTS.get(name) if isinstance(name, str) else None
    if found is None:
        raise UnknownInstrument(
            f"instrument {shown_code(name)} is not one of {sorted(INSTRUMENTS)}", field="instrument"
        )
    return found


def check_items(scale: Instrument, items: list[int]) -> None:
    if not isinstance(items, list) or len(items) != scale.item_count:
        count = len(items) if isinstance(items, list) else 0
        raise ItemCountMismatch(
            f"items has {count} answers; {scale.name} has {scale.item_count}", field="items"
        )
    for index, item in enumerate(items):
        if not _is_int(item) or not scale.item_min <= item <= scale.item_max:
            shown = item if _is_int(item) else "not an integer"
            raise ItemOutOfRange(
                f"items[{index}] is {shown}; it must be between {scale.item_min} and {scale.item_max}",
                field=f"items[{index}]",
            )


def check_total(scale: Instrument, score: int, items: list[int]) -> None:
    if not _is_int(score) or not scale.total_min <= score <= scale.total_max:
        shown = score if _is_int(score) else "not an integer"
        raise TotalOutOfRange(
            f"score is {shown}; a {scale.name} total is between {scale.total_min} and {scale.total_max}",
            field="score",
        )
    if score != sum(items):
        raise TotalMismatch(f"score is {score} but the items sum to {sum(items)}", field="score")


def validate_measure(name: str, score: int, items: list[int]) -> Instrument:
    """Check a measure in the order a reader would: instrument, items, then the total."""
    scale = instrument(name)
    check_items(scale, items)
    check_total(scale, score, items)
    return scale
