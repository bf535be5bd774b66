"""Rules of the domain package as a whole: what it may import, and that errors never carry PHI."""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from uuid import uuid4

import pytest

import services.records.domain as domain
from services.records.domain import DomainError, EntryRef, HumanName, Identifier, Practitioner

from .builders import at, full_episode, meta, open_episode, register_client

DOMAIN_DIR = Path(domain.__file__).parent
ALLOWED = {"eventsourcing.domain"}
KNOWN_EXCEPTIONS = {
    # base.new_id makes UUIDv7s with uuid-utils (imported lazily); reported to the lead as a known exception.
    ("base.py", "uuid_utils"),
}


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


@pytest.mark.parametrize("path", sorted(DOMAIN_DIR.glob("*.py")), ids=lambda path: path.name)
def test_the_domain_imports_only_the_standard_library_and_eventsourcing_domain(path: Path) -> None:
    for module in imported_modules(path):
        top = module.split(".")[0]
        allowed = (
            top in sys.stdlib_module_names or module in ALLOWED or (path.name, module) in KNOWN_EXCEPTIONS
        )
        assert allowed, f"{path.name} imports {module}"


PHI = "Jane Secret-Doe"


def refusals() -> dict[str, Callable[[], object]]:
    full = full_episode()
    episode = full.episode
    return {
        "unknown label": lambda: open_episode(labels=[PHI]),
        "unknown instrument": lambda: episode.record_measure(meta(), uuid4(), PHI, 1, [1], at(), []),
        "unknown role": lambda: Practitioner.register(meta(), "dr-x", PHI, [PHI], None, False),
        "self supervision": lambda: Practitioner.register(meta(), PHI, PHI, ["clinician"], PHI, False),
        "bad time zone": lambda: register_client().correct_details(meta(), time_zone=PHI),
        "future birth date": lambda: register_client().correct_details(meta(), birth_date=date(2999, 1, 1)),
        "duplicate identifier": lambda: register_client().correct_details(
            meta(), identifiers=[Identifier(system="urn:x", value=PHI)] * 2
        ),
        "blank name": lambda: register_client().correct_details(meta(), name=HumanName(family=" ", given=[])),
        "bad reference": lambda: episode.record_reflection(
            meta(), uuid4(), PHI, [EntryRef(entry_id=uuid4(), event_version=1)], at(), []
        ),
        "cancelled twice": lambda: [episode.cancel_session(meta(), full.session_id, PHI) for _ in range(2)],
        "goal not active": lambda: [episode.achieve_goal(meta(), full.goal_id, PHI, at()) for _ in range(2)],
    }


@pytest.mark.parametrize("case", sorted(refusals()))
def test_error_messages_carry_no_phi(case: str) -> None:
    with pytest.raises(DomainError) as raised:
        refusals()[case]()

    assert PHI not in str(raised.value)
    assert "Jane" not in repr(raised.value.args)
