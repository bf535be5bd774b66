"""The auditor's side of the access log: queries, exports, checkpoints, proofs, keys.

Every read of the log is itself decided (only privacy officers and auditors may) and so itself logged.
Checkpoints are signed by :class:`Checkpointer`, at least every N entries or T seconds, and only after the
new tree is checked consistent with the previous checkpoint: a rewritten history is never signed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.consent.application.commands import Command
from services.consent.application.ports import AccessLogStore, LogFilter, StoredCheckpoint
from services.tlog.merkle import consistency_proof, inclusion_proof, root, verify_consistency
from services.tlog.note import Checkpoint, Signer, sign_checkpoint

_log = logging.getLogger("touchstone.consent.checkpoints")


class LogRangeError(ValueError):
    """A sequence number or tree size outside the log (answered 422 or 404 by the API)."""


@dataclass(frozen=True)
class InclusionProof:
    seq: int
    tree_size: int
    leaf_hash: bytes
    path: list[bytes]
    root: bytes


@dataclass(frozen=True)
class LogKeys:
    signer: Signer
    origin_prefix: str
    previous: tuple[str, ...] = ()  # verifier keys of rotated-out signing keys, still served

    def origin(self, tenant: str) -> str:
        return f"{self.origin_prefix}/{tenant}"

    def verifier_keys(self) -> list[str]:
        return [self.signer.vkey(), *self.previous]


class Audit:
    """``authorize(cmd)`` decides (and logs) the caller's read of the log, raising when it is denied."""

    def __init__(self, authorize: Callable[[Command], None], log: AccessLogStore, keys: LogKeys) -> None:
        self._allowed = authorize
        self.log = log
        self.keys = keys

    def entries(self, cmd: Command, where: LogFilter, after: int, limit: int) -> list[bytes]:
        self._allowed(cmd)
        return self.log.entries(cmd.actor.tenant, where, after, limit)

    def export(self, cmd: Command, start: int, end: int | None) -> Iterator[bytes]:
        self._allowed(cmd)
        size = self.log.size(cmd.actor.tenant)
        stop = size if end is None else min(end, size)
        if start < 0 or start > stop:
            raise LogRangeError(f"the range must lie within 0..{size}")
        return self.log.leaves(cmd.actor.tenant, start, stop)

    def checkpoint(self, cmd: Command) -> StoredCheckpoint | None:
        self._allowed(cmd)
        return self.log.latest_checkpoint(cmd.actor.tenant)

    def checkpoints(self, cmd: Command) -> list[str]:
        self._allowed(cmd)
        return self.log.checkpoints(cmd.actor.tenant)

    def inclusion(self, cmd: Command, seq: int, tree_size: int | None) -> InclusionProof:
        self._allowed(cmd)
        tenant = cmd.actor.tenant
        size = self._tree_size(tenant, tree_size)
        if not 0 <= seq < size:
            raise LogRangeError(f"entry {seq} is not in a tree of size {size}")
        hashes = self.log.leaf_hashes(tenant, 0, size)
        return InclusionProof(seq, size, hashes[seq], inclusion_proof(hashes, seq, size), root(hashes))

    def consistency(self, cmd: Command, first: int, second: int) -> list[bytes]:
        self._allowed(cmd)
        tenant = cmd.actor.tenant
        size = self.log.size(tenant)
        if not 0 < first <= second <= size:
            raise LogRangeError(f"need 0 < first <= second <= {size} (the log's size)")
        return consistency_proof(self.log.leaf_hashes(tenant, 0, second), first, second)

    def _tree_size(self, tenant: str, tree_size: int | None) -> int:
        if tree_size is None:
            latest = self.log.latest_checkpoint(tenant)
            return latest.size if latest is not None else self.log.size(tenant)
        if not 0 < tree_size <= self.log.size(tenant):
            raise LogRangeError(f"tree_size must lie within 1..{self.log.size(tenant)}")
        return tree_size


class Checkpointer:
    """Signs each tenant's checkpoint when N entries were added or T seconds passed since the last."""

    def __init__(
        self,
        log: AccessLogStore,
        keys: LogKeys,
        *,
        every_entries: int,
        every_seconds: float,
        clock: Callable[[], datetime],
    ) -> None:
        self.log = log
        self.keys = keys
        self.every_entries = every_entries
        self.every = timedelta(seconds=every_seconds)
        self.clock = clock
        self.started = clock()  # a log without a checkpoint yet counts its time from here

    def run_once(self) -> list[StoredCheckpoint]:
        signed = []
        for tenant, size in self.log.heads():
            latest = self.log.latest_checkpoint(tenant)
            if self._due(latest, size):
                signed.append(self.sign(tenant, size, latest))
        return signed

    def sign_now(self, tenant: str) -> StoredCheckpoint | None:
        """A checkpoint of the whole log now (if it grew since the last one)."""
        size, latest = self.log.size(tenant), self.log.latest_checkpoint(tenant)
        if size == 0 or (latest is not None and latest.size >= size):
            return latest
        return self.sign(tenant, size, latest)

    def _due(self, latest: StoredCheckpoint | None, size: int) -> bool:
        grown = size - (latest.size if latest else 0)
        since = latest.signed_at if latest else self.started
        return grown > 0 and (grown >= self.every_entries or self.clock() - since >= self.every)

    def sign(self, tenant: str, size: int, latest: StoredCheckpoint | None) -> StoredCheckpoint:
        hashes = self.log.leaf_hashes(tenant, 0, size)
        if len(hashes) != size:
            raise RuntimeError(f"the log of {tenant} has {len(hashes)} leaves below {size}: a gap")
        new_root = root(hashes)
        if latest is not None:
            # Raises when the first latest.size leaves no longer hash to the root signed before.
            proof = consistency_proof(hashes, latest.size, size)
            verify_consistency(latest.size, size, proof, latest.root, new_root)
        note = sign_checkpoint(Checkpoint(self.keys.origin(tenant), size, new_root), self.keys.signer)
        checkpoint = StoredCheckpoint(tenant, size, new_root, note, self.clock())
        self.log.add_checkpoint(checkpoint)
        _log.info("checkpoint signed", extra={"tenant": tenant, "size": size})
        return checkpoint
