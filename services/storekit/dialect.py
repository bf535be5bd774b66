"""The small differences between PostgreSQL and SQLite that our own tables meet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Dialect:
    """How to write our statements for one database: placeholders, table names, times and bytes."""

    name: str
    schema: str | None = None

    def sql(self, statement: str) -> str:
        """Qualify ``{t}``-prefixed table names and use the driver's placeholder."""
        prefix = f'"{self.schema}".' if self.schema else ""
        statement = statement.replace("{t}", prefix)
        return statement.replace("%s", "?") if self.name == "sqlite" else statement

    def time(self, value: datetime) -> Any:
        """PostgreSQL takes aware datetimes; SQLite compares fixed-width UTC ISO strings."""
        if self.name == "sqlite":
            return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return value

    def uuid(self, value: Any) -> Any:
        from uuid import UUID

        return value.hex if self.name == "sqlite" and isinstance(value, UUID) else value

    @staticmethod
    def read_uuid(value: Any) -> Any:
        from uuid import UUID

        return value if isinstance(value, UUID) else UUID(str(value))

    @staticmethod
    def read_bytes(value: Any) -> bytes:
        return bytes(value)


POSTGRES_TYPES = {"uuid": "uuid", "time": "timestamptz", "bytes": "bytea", "bigint": "bigint"}
SQLITE_TYPES = {"uuid": "text", "time": "text", "bytes": "blob", "bigint": "integer"}
