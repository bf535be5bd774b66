"""The embedded default: a SQLite file per test (and per service: its table is always ``stored_events``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from tests.support.postgres import prefixed


def sqlite_env(path: str | Path, prefix: str = "") -> dict[str, str]:
    """Settings for an eventsourcing ``Application(env=...)`` on the SQLite file ``path``."""
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(path),
        "SQLITE_LOCK_TIMEOUT": "10",
    }
    return prefixed(env, prefix)


@dataclass(frozen=True)
class SqliteDatabase:
    """A SQLite file in the test's temporary directory; usable wherever a path is (``os.fspath``)."""

    kind: ClassVar[str] = "sqlite"

    path: Path

    @property
    def url(self) -> str:
        """``sqlite:///`` followed by the absolute path (four slashes in all on POSIX)."""
        return "sqlite:///" + self.path.resolve().as_posix()

    def eventsourcing_env(self, prefix: str = "") -> dict[str, str]:
        return sqlite_env(self.path, prefix)

    def sibling(self, name: str) -> SqliteDatabase:
        """Another file next to this one, for a second application (SQLite tables are not named per app)."""
        return SqliteDatabase(self.path.with_name(f"{name}.sqlite"))

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)
