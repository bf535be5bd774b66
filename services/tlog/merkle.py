"""The RFC 6962 / RFC 9162 Merkle tree of a log: hashes, roots, proofs and their verification.

A leaf's hash is SHA-256(0x00 || leaf), an inner node's SHA-256(0x01 || left || right): the prefixes keep a
leaf from passing for a node (second preimages). The tree over n leaves splits at k, the largest power of two
below n, so a tree only ever grows on its right edge and every older tree is a prefix of the newer one; that
is what lets a consistency proof show that a log only appended.

Proofs are generated from a sequence of leaf hashes by hashing the subtrees beside the path (O(n) per proof,
no index needed); the verifiers follow RFC 9162 sections 2.1.3.2 and 2.1.4.2 step by step, so that a proof
accepted here is accepted by any other implementation of the RFC and the other way round.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from hashlib import sha256

HASH_SIZE = 32
EMPTY_ROOT = sha256(b"").digest()  # the root of the empty tree (RFC 9162 2.1.1)


class ProofError(ValueError):
    """A proof that does not prove what it claims; the message says why."""


def leaf_hash(data: bytes) -> bytes:
    return sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right).digest()


class CompactRange:
    """The right edge of a growing tree: one perfect-subtree root per set bit of its size, largest first.

    Appending costs O(1) hashes amortized and the state is O(log n) hashes, so a service can keep one per log
    and compute the root at every checkpoint without rereading the leaves; ``size`` and ``hashes`` are all
    there is to persist, and :meth:`restore` takes them back.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._hashes: list[bytes] = []

    @classmethod
    def restore(cls, size: int, hashes: Sequence[bytes]) -> CompactRange:
        if size < 0 or len(hashes) != size.bit_count():
            raise ValueError(f"a range of {size} leaves has {size.bit_count()} hashes, not {len(hashes)}")
        _check_hashes(hashes, "hash")
        compact = cls()
        compact._size, compact._hashes = size, list(hashes)
        return compact

    @property
    def size(self) -> int:
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        return tuple(self._hashes)

    def append(self, leaf_hash: bytes) -> None:
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError(f"a leaf hash has {HASH_SIZE} bytes, not {len(leaf_hash)}")
        stack, size, node = self._hashes, self._size, leaf_hash
        while size & 1:  # each trailing 1 bit is a perfect subtree of the new node's size: merge them
            node = sha256(b"\x01" + stack.pop() + node).digest()
            size >>= 1
        stack.append(node)
        self._size += 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        for leaf in leaf_hashes:
            self.append(leaf)

    def root(self) -> bytes:
        """MTH of the leaves so far: the subtree roots folded from the right (RFC 9162 2.1.1)."""
        if not self._hashes:
            return EMPTY_ROOT
        node = self._hashes[-1]
        for left in reversed(self._hashes[:-1]):
            node = node_hash(left, node)
        return node


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of all the given leaf hashes."""
    return _subtree(leaf_hashes, 0, len(leaf_hashes))


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, tree_size: int) -> list[bytes]:
    """PATH(index, D[tree_size]) of RFC 9162 2.1.3.1: the sibling subtree roots from the leaf up."""
    if not 0 <= index < tree_size <= len(leaf_hashes):
        raise ValueError(f"need 0 <= index ({index}) < tree_size ({tree_size}) <= {len(leaf_hashes)} leaves")
    path: list[bytes] = []  # top down; reversed at the end
    low, high = 0, tree_size
    while high - low > 1:
        middle = low + _split(high - low)
        if index < middle:
            path.append(_subtree(leaf_hashes, middle, high))
            high = middle
        else:
            path.append(_subtree(leaf_hashes, low, middle))
            low = middle
    path.reverse()
    return path


def consistency_proof(leaf_hashes: Sequence[bytes], size1: int, size2: int) -> list[bytes]:
    """PROOF(size1, D[size2]) = SUBPROOF(size1, D[size2], true) of RFC 9162 2.1.4.1.

    The empty tree has no proof (every tree extends it; the verifier refuses size1 = 0), so size1 must be
    at least 1; equal sizes have the empty proof.
    """
    if not 0 < size1 <= size2 <= len(leaf_hashes):
        raise ValueError(f"need 0 < size1 ({size1}) <= size2 ({size2}) <= {len(leaf_hashes)} leaves")
    proof: list[bytes] = []  # top down; reversed at the end
    low, high, first, whole = 0, size2, size1, True  # whole: SUBPROOF's b, "the old tree is a whole subtree"
    while first != high - low:
        k = _split(high - low)
        if first <= k:
            proof.append(_subtree(leaf_hashes, low + k, high))
            high = low + k
        else:
            proof.append(_subtree(leaf_hashes, low, low + k))
            low, first, whole = low + k, first - k, False
    if not whole:
        proof.append(_subtree(leaf_hashes, low, high))
    proof.reverse()
    return proof


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 2.1.3.2: raises :class:`ProofError` unless ``proof`` puts the leaf at ``index`` under root."""
    if not 0 <= index < tree_size:
        raise ProofError(f"leaf index {index} is outside a tree of size {tree_size}")
    if len(leaf_hash) != HASH_SIZE:
        raise ProofError(f"the leaf hash has {len(leaf_hash)} bytes, not {HASH_SIZE}")
    _check_proof(proof)
    fn, sn, node = index, tree_size - 1, leaf_hash
    for sibling in proof:
        if sn == 0:
            raise ProofError("the proof is longer than the path from the leaf to the root")
        if fn & 1 or fn == sn:
            node = node_hash(sibling, node)
            while not fn & 1 and fn != 0:  # a rightmost node without sibling moves up unchanged
                fn, sn = fn >> 1, sn >> 1
        else:
            node = node_hash(node, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the proof is shorter than the path from the leaf to the root")
    if node != root:
        raise ProofError("the proof leads to another root: the leaf is not at that index in that tree")


def verify_consistency(size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes) -> None:
    """RFC 9162 2.1.4.2: raises :class:`ProofError` unless the tree (size2, root2) extends (size1, root1)."""
    if size1 < 0 or size2 < size1:
        raise ProofError(f"the second tree (size {size2}) cannot extend the first (size {size1})")
    if size1 == 0:
        raise ProofError("a consistency proof from the empty tree proves nothing (every tree extends it)")
    if size1 == size2:
        if proof:
            raise ProofError("trees of equal size have an empty consistency proof")
        if root1 != root2:
            raise ProofError(f"two different roots for the tree of size {size1}: the log forked")
        return
    if not proof:
        raise ProofError("the consistency proof is empty")
    _check_proof(proof)
    path = [root1, *proof] if size1 & (size1 - 1) == 0 else list(proof)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    first = second = path[0]
    for node in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is longer than the trees need")
        if fn & 1 or fn == sn:
            first, second = node_hash(node, first), node_hash(node, second)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            second = node_hash(second, node)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the consistency proof is shorter than the trees need")
    if first != root1:
        raise ProofError(f"the proof does not lead to the root of the tree of size {size1}")
    if second != root2:
        raise ProofError(f"the tree of size {size2} does not extend the tree of size {size1}")


def _split(n: int) -> int:
    """k, the largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _subtree(leaf_hashes: Sequence[bytes], low: int, high: int) -> bytes:
    """MTH(D[low:high]), folded through a compact range: O(high - low) hashes, O(log) memory."""
    compact = CompactRange()
    for i in range(low, high):
        compact.append(leaf_hashes[i])
    return compact.root()


def _check_hashes(hashes: Iterable[bytes], what: str) -> None:
    for i, value in enumerate(hashes):
        if len(value) != HASH_SIZE:
            raise ValueError(f"{what} {i} has {len(value)} bytes, not {HASH_SIZE}")


def _check_proof(proof: Sequence[bytes]) -> None:
    try:
        _check_hashes(proof, "proof element")
    except ValueError as error:
        raise ProofError(str(error)) from None
