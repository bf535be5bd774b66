"""What `touchstone audit` shows: the export's summary, the progress bar, the verifier's verdict."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from services.cli.audit import Anchors, Exported, ExportFiles
from services.tlog.note import NoteError, open_checkpoint
from services.tlog.verify import Report

LONG_RUN_BYTES = 8 << 20  # about 15,000 entries: below that a bar would only flicker


@contextmanager
def progress_bar(console: Console, total_bytes: int) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on a terminal for a long file; nothing otherwise (pipes and logs stay clean)."""
    if not console.is_terminal or total_bytes < LONG_RUN_BYTES:
        yield None
        return
    columns = (
        TextColumn("verifying"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[entries]:,} entries"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("verify", total=total_bytes, entries=0)
        yield lambda entries, read: bar.update(task, completed=read, entries=entries)


def export_summary(done: Exported, files: ExportFiles, start: int) -> list[str]:
    lines = [
        f"wrote {done.entries:,} entries ({done.size_bytes:,} bytes) of the log {done.origin}"
        f" to {files.entries}",
        f"wrote {done.checkpoints} signed checkpoint(s) to {files.checkpoints}",
        f"wrote {done.keys} verifier key(s) to {files.keys}: the service's word for them; a key you got"
        " another way (--key) is the stronger anchor",
    ]
    if done.checkpoints_past_end:
        lines.append(f"left out {done.checkpoints_past_end} checkpoint(s) signed for more than --end entries")
    if start:
        lines.append(f"note: the export starts at seq {start}; only an export from seq 0 verifies on its own")
    if not done.checkpoints:
        lines.append(
            "note: no checkpoint is signed yet, so nothing vouches for the entries; export again soon"
        )
    return lines


def verdict(report: Report, export: Path, anchors: Anchors) -> list[str]:
    """What was checked and how far the signatures reach; on failure the first bad seq and what is wrong."""
    checked = f"{report.checkpoints_checked} signed checkpoint(s) matched"
    covered = f"entries 0..{report.covered - 1}" if report.covered else "no entry"
    if not report.ok:
        where = "" if report.first_bad_seq is None else f" at seq {report.first_bad_seq}"
        return [
            f"FAILED{where}: {report.problem}",
            f"  {export}: read {report.entries:,} entries; {checked}, covering {covered}",
        ]
    origin = checkpoint_origin(report.latest_checkpoint or "", anchors) or anchors.origin or "?"
    saved = " (the saved one among them)" if anchors.saved is not None else ""
    unsigned = report.entries - report.covered
    lines = [
        f"OK: {export}: {report.entries:,} entries of the log {origin}, consistent with every checkpoint",
        f"  {checked}{saved}; signed for: {covered}"
        + (f"; {unsigned:,} later entries are well-formed, not yet signed" if unsigned else ""),
    ]
    if report.latest_checkpoint:
        lines += [
            "latest checkpoint (keep it; pass it with --checkpoint next time):",
            report.latest_checkpoint,
        ]
    return lines


def checkpoint_origin(note: str, anchors: Anchors) -> str | None:
    try:
        return open_checkpoint(note, anchors.verifiers).origin
    except NoteError:
        return None
