"""The offline verifier on whole exports: what passes, what each kind of damage reports, forks, speed."""

from __future__ import annotations

import io
import random
import time

import pytest

from services.tlog.canonical import canonical
from services.tlog.merkle import EMPTY_ROOT, ProofError, consistency_proof, leaf_hash, root
from services.tlog.merkle import verify_consistency as consistent
from services.tlog.note import Checkpoint, open_checkpoint, sign_checkpoint
from services.tlog.verify import Report, verify_export
from tests.unit.tlog.logs import ORIGIN, SignedLog, build_log, checkpoint_note, entry, signer

VERIFIERS = [signer().verifier()]


@pytest.fixture(scope="module")
def log() -> SignedLog:
    return build_log(250, every=50)  # checkpoints at 50, 100, ..., 250


def verify(lines: list[bytes], checkpoints: list[str], saved: str | None = None) -> Report:
    return verify_export(lines, VERIFIERS, checkpoints, saved=saved, origin=ORIGIN)


def test_an_untouched_export_passes(log: SignedLog) -> None:
    shuffled = random.Random(1).sample(log.checkpoints, len(log.checkpoints))
    report = verify(log.lines, shuffled, saved=log.checkpoint(120))
    assert report == Report(True, 250, 6, None, None, covered=250, latest_checkpoint=log.checkpoints[-1])
    assert open_checkpoint(report.latest_checkpoint or "", VERIFIERS).size == 250


def test_a_file_with_newlines_passes_and_progress_is_reported(log: SignedLog) -> None:
    export = io.BytesIO(b"".join(line + b"\n" for line in log.lines))
    seen: list[int] = []
    report = verify_export(export, VERIFIERS, log.checkpoints, progress=seen.append)
    assert report.ok and report.entries == 250
    assert seen == [250]  # once at the end (and every 10,000 entries on the way)


def test_entries_past_the_last_checkpoint_are_read_but_not_covered(log: SignedLog) -> None:
    report = verify(log.lines[:230], log.checkpoints[:4])
    assert report.ok and report.entries == 230 and report.covered == 200


def test_without_any_checkpoint_nothing_is_verified(log: SignedLog) -> None:
    report = verify(log.lines, [])
    assert not report.ok and "no signed checkpoint" in (report.problem or "")


def test_an_empty_log() -> None:
    empty = sign_checkpoint(Checkpoint(ORIGIN, 0, EMPTY_ROOT), signer())
    assert verify([], [empty]).ok


def test_a_deleted_entry(log: SignedLog) -> None:
    report = verify(log.lines[:70] + log.lines[71:], log.checkpoints)
    assert (report.ok, report.first_bad_seq, report.entries) == (False, 70, 70)
    assert report.problem == "line 70 holds entry 71: entry 70 is missing, or out of order"
    assert report.checkpoints_checked == 1


def test_swapped_entries(log: SignedLog) -> None:
    lines = list(log.lines)
    lines[10], lines[20] = lines[20], lines[10]
    report = verify(lines, log.checkpoints)
    assert report.first_bad_seq == 10
    assert report.problem == "line 10 holds entry 20: entries 10..19 are missing, or out of order"


def test_an_inserted_copy(log: SignedLog) -> None:
    report = verify(log.lines[:31] + log.lines[30:], log.checkpoints)
    assert report.first_bad_seq == 30
    assert "line 31 holds entry 30 again" in (report.problem or "")


def test_an_altered_entry_is_located_between_checkpoints(log: SignedLog) -> None:
    lines = list(log.lines)
    lines[123] = lines[123].replace(b'"service":"consent"', b'"service":"records"')
    report = verify(lines, log.checkpoints)
    assert (report.ok, report.first_bad_seq, report.entries) == (False, 100, 150)
    assert report.checkpoints_checked == 2
    assert report.problem == (
        "entries 100..149 do not hash to the root signed in checkpoint 3 of 5 (size 150): "
        "one of them was altered, or the log was rewritten"
    )


def test_a_line_that_is_not_canonical(log: SignedLog) -> None:
    lines = list(log.lines)
    lines[5] = lines[5].replace(b'"seq":5,', b'"seq":5, ')
    report = verify(lines, log.checkpoints)
    assert report.first_bad_seq == 5 and "line 5 is not an entry: " in (report.problem or "")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"seq": True}, "line 3 has no seq (a non-negative integer)"),
        ({"seq": "3"}, "line 3 has no seq (a non-negative integer)"),
        ({"seq": -3}, "line 3 has no seq (a non-negative integer)"),
        ({"seq": ...}, "line 3 has no seq (a non-negative integer)"),
        ({"tenant": "practice-two"}, "entry 3 is of tenant 'practice-two', the log of 'practice-one'"),
        ({"tenant": None}, "entry 3 has no tenant (a string)"),
        ({"tenant": ...}, "entry 3 has no tenant (a string)"),
    ],
)
def test_malformed_entries(log: SignedLog, change: dict[str, object], problem: str) -> None:
    lines = list(log.lines)
    changed = {**entry(3, random.Random(3)), **change}
    lines[3] = canonical({key: value for key, value in changed.items() if value is not ...})
    report = verify(lines, log.checkpoints)
    assert (report.first_bad_seq, report.problem) == (3, problem)


def test_an_array_is_not_an_entry(log: SignedLog) -> None:
    report = verify([b"[]", *log.lines[1:]], log.checkpoints)
    assert (report.first_bad_seq, report.problem) == (0, "line 0 is not a JSON object")


def test_a_truncated_export(log: SignedLog) -> None:
    report = verify(log.lines[:180], log.checkpoints)
    assert (report.first_bad_seq, report.entries, report.checkpoints_checked) == (180, 180, 3)
    assert report.problem == (
        "the export ends after 180 entries, but checkpoint 5 of 5 covers 250: entries 180..249 are missing "
        "(truncated)"
    )


def test_a_saved_checkpoint_beyond_the_export_is_a_truncation(log: SignedLog) -> None:
    report = verify(log.lines[:200], log.checkpoints[:4], saved=log.checkpoint(250))
    assert report.first_bad_seq == 200 and "the saved checkpoint covers 250" in (report.problem or "")


def test_checkpoints_that_do_not_verify(log: SignedLog) -> None:
    stranger = checkpoint_note(log.lines[:100], signer("someone.else", seed=5))
    report = verify(log.lines, [*log.checkpoints, stranger])
    assert report.problem == (
        "checkpoint 6 of 6 is not valid: no signature by a known key (signed by someone.else+"
        f"{signer('someone.else', seed=5).key_id.hex()})"
    )
    other_log = checkpoint_note(log.lines[:100], signer(), origin="touchstone.test/access-log/other")
    assert "not valid" in (verify(log.lines, [*log.checkpoints, other_log]).problem or "")
    mixed = verify_export(log.lines, VERIFIERS, [*log.checkpoints, other_log])  # no origin given
    assert "different logs" in (mixed.problem or "")


def forked(log: SignedLog, at: int, size: int) -> SignedLog:
    """The same log with entry ``at`` rewritten and grown to ``size``, re-signed by the (dishonest) log."""
    rng = random.Random(99)
    lines = list(log.lines) + [canonical(entry(seq, rng)) for seq in range(len(log.lines), size)]
    lines[at] = canonical({**entry(at, rng), "outcome": "permit", "reason": "nothing to see"})
    notes = [checkpoint_note(lines[:n], log.signer) for n in range(50, size + 1, 50)]
    return SignedLog(lines, notes, log.signer)


def test_a_fork_is_caught_by_the_checkpoint_the_auditor_saved(log: SignedLog) -> None:
    saved = log.checkpoint(100)  # checkpoint A, kept by the auditor last quarter
    fork = forked(log, at=40, size=300)
    assert verify(fork.lines, fork.checkpoints).ok  # on its own, the rewritten log is self-consistent
    report = verify(fork.lines, fork.checkpoints, saved=saved)
    assert report.problem == (
        "checkpoint 2 of 6 and the saved checkpoint sign different roots for size 100: the log forked"
    )
    only_later = verify(fork.lines, fork.checkpoints[3:], saved=saved)  # B at 200, 250, 300 only
    assert only_later.first_bad_seq == 0
    assert "entries 0..99 do not hash to the root signed in the saved" in (only_later.problem or "")


def test_a_later_checkpoint_inconsistent_with_a_saved_one_has_no_consistency_proof(log: SignedLog) -> None:
    a = open_checkpoint(log.checkpoint(100), VERIFIERS)
    fork = forked(log, at=40, size=300)
    b = open_checkpoint(fork.checkpoints[-1], VERIFIERS)
    fork_hashes = [leaf_hash(line) for line in fork.lines]
    proof = consistency_proof(fork_hashes, a.size, b.size)
    with pytest.raises(ProofError, match=r"does not extend|does not lead"):
        consistent(a.size, b.size, proof, a.root_hash, b.root_hash)
    honest = [leaf_hash(line) for line in log.lines]
    consistent(100, 250, consistency_proof(honest, 100, 250), a.root_hash, root(honest))


def test_verify_speed_is_printed_not_asserted() -> None:
    """A benchmark is not a test (STYLE.md): this only prints the rate, for a look with ``pytest -s``."""
    big = build_log(20_000, every=5_000)
    started = time.perf_counter()
    report = verify(big.lines, big.checkpoints)
    elapsed = time.perf_counter() - started
    assert report.ok
    print(f"\nverify_export: {report.entries / elapsed:,.0f} entries/s ({report.entries} in {elapsed:.3f} s)")
