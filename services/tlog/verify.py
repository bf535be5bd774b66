"""The offline verifier of an access-log export: does it hold exactly the entries the log signed for?

An export line is exactly a leaf: the RFC 8785 bytes of an entry whose ``seq`` is its 0-based index. The
verifier streams the lines once, checks each on its own (canonical JSON, ``seq`` equal to its position, the
log's one tenant), hashes it into a :class:`CompactRange` and, whenever the count reaches a checkpoint's size,
compares the root with the signed one. Memory stays O(log n) whatever the export's size.

What each check catches: a deleted, inserted, duplicated or reordered line breaks the ``seq`` sequence (unless
the forger renumbered the rest, which changes their bytes); an altered entry changes its leaf and so the root
of every checkpoint from its position on; a truncated export is shorter than a checkpoint; a rewritten log
(a fork) disagrees with a checkpoint the auditor saved before. A root mismatch cannot say which entry was
altered, only that it lies after the last checkpoint that matched, so the report names that range.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

from services.tlog.canonical import NotCanonical, parse_canonical
from services.tlog.merkle import CompactRange
from services.tlog.note import NoteError, Verifier, open_checkpoint

PROGRESS_EVERY = 10_000  # entries between progress calls


@dataclass(frozen=True)
class Report:
    """The verdict of :func:`verify_export`.

    ``entries``: the lines read before it stopped (all of them when ``ok``).
    ``first_bad_seq``: the lowest sequence number that may be bad. For a root mismatch, the start of the range
    the altered entry lies in (the problem names the whole range); for a line that repeats an earlier seq s,
    s (a forged entry inserted at s is found only at the next line); for a truncation, the first missing one;
    otherwise the line's own position.
    ``checkpoints_checked``: the signed checkpoints (the saved one included) whose root matched.
    ``covered``: the largest size among those; entries past it are well-formed, but no checkpoint vouches
    for them yet. ``latest_checkpoint``: that checkpoint's note, for the auditor to keep and pass as
    ``saved`` next time.
    """

    ok: bool
    entries: int
    checkpoints_checked: int
    first_bad_seq: int | None
    problem: str | None
    covered: int = 0
    latest_checkpoint: str | None = None


@dataclass(frozen=True)
class _Anchor:
    size: int
    root: bytes
    origin: str
    label: str
    note: str


class _Failure(Exception):
    def __init__(self, problem: str, first_bad_seq: int | None = None, entries: int = 0) -> None:
        super().__init__(problem)
        self.problem, self.first_bad_seq, self.entries = problem, first_bad_seq, entries


class _Run:
    """The checkpoints ahead, in size order, and what has been matched so far."""

    def __init__(self, anchors: list[_Anchor]) -> None:
        self.tree = CompactRange()
        self.ahead = sorted(anchors, key=lambda anchor: anchor.size)
        self.checked = 0
        self.covered = 0
        self.latest: str | None = None

    def next_size(self) -> int:
        return self.ahead[0].size if self.ahead else -1

    def reached(self, size: int) -> int:
        """Compare the root of the first ``size`` entries with every checkpoint of that size."""
        root = self.tree.root()
        while self.ahead and self.ahead[0].size == size:
            anchor = self.ahead.pop(0)
            if anchor.root != root:
                raise _Failure(
                    f"entries {self.covered}..{size - 1} do not hash to the root signed in {anchor.label} "
                    f"(size {size}): one of them was altered, or the log was rewritten",
                    self.covered,
                    size,
                )
            self.checked, self.covered, self.latest = self.checked + 1, size, anchor.note
        return self.next_size()

    def finish(self, entries: int) -> None:
        if self.ahead:
            last = self.ahead[-1]
            raise _Failure(
                f"the export ends after {entries} entries, but {last.label} covers {last.size}: "
                f"entries {entries}..{last.size - 1} are missing (truncated)",
                entries,
                entries,
            )


def verify_export(
    lines: Iterable[bytes],
    verifiers: Iterable[Verifier],
    checkpoints: Sequence[str],
    saved: str | None = None,
    origin: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Check an export against the log's signed checkpoints (any order) and one the auditor saved earlier.

    Each line may end in one newline (its terminator, not part of the leaf). Without ``origin`` the
    checkpoints must all name the same log. Stops at the first problem.
    """
    try:
        run = _Run(_open_anchors(list(checkpoints), saved, list(verifiers), origin))
    except _Failure as failure:
        return Report(False, 0, 0, failure.first_bad_seq, failure.problem)
    try:
        entries = _scan(lines, run, progress)
        run.finish(entries)
    except _Failure as failure:
        return Report(
            False, failure.entries, run.checked, failure.first_bad_seq, failure.problem, run.covered
        )
    return Report(True, entries, run.checked, None, None, run.covered, run.latest)


def _scan(lines: Iterable[bytes], run: _Run, progress: Callable[[int], None] | None) -> int:
    """The hot loop (about 7 us a line): locals only, rare events in helpers."""
    append, hash_, parse = run.tree.append, sha256, parse_canonical
    next_size = run.reached(0) if run.next_size() == 0 else run.next_size()
    position, tenant = 0, _FIRST
    for raw in lines:
        line = raw[:-1] if raw[-1:] == b"\n" else raw
        try:
            entry = parse(line)
        except NotCanonical as error:
            raise _Failure(f"line {position} is not an entry: {error}", position, position) from None
        if type(entry) is not dict:
            raise _Failure(f"line {position} is not a JSON object", position, position)
        seq = entry.get("seq")
        if type(seq) is not int or seq != position:
            raise _Failure(*_out_of_sequence(position, seq), position)
        found = entry.get("tenant", _UNSET)
        if found != tenant:
            tenant = _check_tenant(position, found, tenant)
        append(hash_(b"\x00" + line).digest())
        position += 1
        if position == next_size:
            next_size = run.reached(position)
        if progress is not None and position % PROGRESS_EVERY == 0:
            progress(position)
    if progress is not None:
        progress(position)
    return position


def _out_of_sequence(position: int, seq: Any) -> tuple[str, int]:
    if type(seq) is not int or seq < 0:
        return f"line {position} has no seq (a non-negative integer)", position
    if seq > position:
        missing = f"entry {position} is" if seq == position + 1 else f"entries {position}..{seq - 1} are"
        return f"line {position} holds entry {seq}: {missing} missing, or out of order", position
    return (
        f"line {position} holds entry {seq} again: an entry was inserted, duplicated or moved before it",
        seq,
    )


def _check_tenant(position: int, found: Any, tenant: Any) -> str:
    """The log's tenant, taken from its first entry: each log is one tenant's."""
    if type(found) is not str:
        raise _Failure(f"entry {position} has no tenant (a string)", position, position)
    if tenant is not _FIRST:
        raise _Failure(f"entry {position} is of tenant {found!r}, the log of {tenant!r}", position, position)
    return found


def _open_anchors(
    checkpoints: list[str], saved: str | None, verifiers: list[Verifier], origin: str | None
) -> list[_Anchor]:
    notes = [(f"checkpoint {n} of {len(checkpoints)}", note) for n, note in enumerate(checkpoints, 1)]
    if saved is not None:
        notes.append(("the saved checkpoint", saved))
    if not notes:
        raise _Failure("no signed checkpoint was given: nothing vouches for the entries")
    anchors = []
    for label, note in notes:
        try:
            checkpoint = open_checkpoint(note, verifiers, origin)
        except NoteError as error:
            raise _Failure(f"{label} is not valid: {error}") from None
        anchors.append(_Anchor(checkpoint.size, checkpoint.root_hash, checkpoint.origin, label, note))
    origins = sorted({anchor.origin for anchor in anchors})
    if len(origins) > 1:
        raise _Failure(f"the checkpoints are of different logs: {', '.join(map(repr, origins))}")
    _check_forks(anchors)
    return anchors


def _check_forks(anchors: list[_Anchor]) -> None:
    """Two signed roots for one size: the log showed different histories (it must never sign both)."""
    by_size: dict[int, _Anchor] = {}
    for anchor in anchors:
        seen = by_size.setdefault(anchor.size, anchor)
        if seen.root != anchor.root:
            raise _Failure(
                f"{seen.label} and {anchor.label} sign different roots for size {anchor.size}: the log forked"
            )


_UNSET: Any = object()  # no such field
_FIRST: Any = object()  # no entry read yet
