"""JSON transcodings for the types the library's transcoder lacks: dates and the domain's dataclasses."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from datetime import date
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class DataclassAsDict(Transcoding):
    """A domain dataclass as its fields (shallow: the transcoder handles the nested values)."""

    def __init__(self, cls: type[Any]) -> None:
        if not is_dataclass(cls):
            raise TypeError(f"{cls!r} is not a dataclass")
        self.type = cls
        self.name = getattr(cls, "TRANSCODING", f"touchstone.{cls.__name__}.v1")
        self._names = [f.name for f in fields(cls)]

    def encode(self, obj: Any) -> dict[str, Any]:
        return {name: getattr(obj, name) for name in self._names}

    def decode(self, data: dict[str, Any]) -> Any:
        return self.type(**data)


def register_records_transcodings(transcoder: JSONTranscoder, value_types: tuple[type[Any], ...]) -> None:
    transcoder.register(DateAsISO())
    for cls in value_types:
        transcoder.register(DataclassAsDict(cls))
