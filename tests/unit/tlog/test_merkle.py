"""The Merkle tree against the RFC 9162 definitions written out naively, and proofs under random damage."""

from __future__ import annotations

from hashlib import sha256

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.tlog.merkle import (
    EMPTY_ROOT,
    CompactRange,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

# --- RFC 9162 2.1.1, 2.1.3.1 and 2.1.4.1, as written (recursive, slow, obviously right) ---


def split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: list[bytes]) -> bytes:
    if not d:
        return sha256(b"").digest()
    if len(d) == 1:
        return d[0]  # already leaf hashes
    k = split(len(d))
    return sha256(b"\x01" + mth(d[:k]) + mth(d[k:])).digest()


def path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = split(len(d))
    return [*path(m, d[:k]), mth(d[k:])] if m < k else [*path(m - k, d[k:]), mth(d[:k])]


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [mth(d)]
    k = split(len(d))
    if m <= k:
        return [*subproof(m, d[:k], b), mth(d[k:])]
    return [*subproof(m - k, d[k:], False), mth(d[:k])]


def leaves(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def flip(value: bytes, bit: int) -> bytes:
    bit %= len(value) * 8
    return value[: bit // 8] + bytes([value[bit // 8] ^ (1 << bit % 8)]) + value[bit // 8 + 1 :]


sizes = st.integers(min_value=1, max_value=300)


def test_hashes_are_domain_separated() -> None:
    assert leaf_hash(b"abc") == sha256(b"\x00abc").digest()
    assert node_hash(b"l" * 32, b"r" * 32) == sha256(b"\x01" + b"l" * 32 + b"r" * 32).digest()
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@settings(max_examples=150, deadline=None)
@given(sizes)
def test_root_and_compact_range_follow_the_definition(n: int) -> None:
    hashes = leaves(n)
    compact = CompactRange()
    for size in range(1, n + 1):
        compact.append(hashes[size - 1])
        assert compact.size == size
        assert len(compact.hashes) == bin(size).count("1")  # O(log n) state
    assert root(hashes) == compact.root() == mth(hashes)


@settings(max_examples=150, deadline=None)
@given(sizes, st.data())
def test_inclusion_proofs_follow_the_definition_and_verify(n: int, data: st.DataObject) -> None:
    hashes = leaves(n + 5)  # more leaves than the tree: only the first n count
    index = data.draw(st.integers(0, n - 1), label="index")
    proof = inclusion_proof(hashes, index, n)
    assert proof == path(index, hashes[:n])
    verify_inclusion(hashes[index], index, n, proof, mth(hashes[:n]))


@settings(max_examples=150, deadline=None)
@given(sizes, st.data())
def test_consistency_proofs_follow_the_definition_and_verify(n: int, data: st.DataObject) -> None:
    hashes = leaves(n)
    first = data.draw(st.integers(1, n), label="first")
    proof = consistency_proof(hashes, first, n)
    assert proof == subproof(first, hashes, True)
    verify_consistency(first, n, proof, mth(hashes[:first]), mth(hashes))


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 200), st.data())
def test_a_damaged_inclusion_proof_is_rejected(n: int, data: st.DataObject) -> None:
    hashes = leaves(n)
    index = data.draw(st.integers(0, n - 1), label="index")
    proof, tree_root = inclusion_proof(hashes, index, n), root(hashes)
    damage = data.draw(st.sampled_from(["flip", "drop", "add", "leaf", "root", "index"]), label="damage")
    leaf = hashes[index]
    if damage == "flip":
        i = data.draw(st.integers(0, len(proof) - 1))
        proof[i] = flip(proof[i], data.draw(st.integers(0, 255)))
    elif damage == "drop":
        proof.pop(data.draw(st.integers(0, len(proof) - 1)))
    elif damage == "add":
        proof.insert(data.draw(st.integers(0, len(proof))), leaf_hash(b"extra"))
    elif damage == "leaf":
        leaf = flip(leaf, data.draw(st.integers(0, 255)))
    elif damage == "root":
        tree_root = root(hashes[:-1])
    else:
        index = (index + data.draw(st.integers(1, n - 1))) % n
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, n, proof, tree_root)


@settings(max_examples=200, deadline=None)
@given(st.integers(3, 200), st.data())
def test_a_damaged_consistency_proof_is_rejected(n: int, data: st.DataObject) -> None:
    hashes = leaves(n)
    first = data.draw(st.integers(1, n - 1), label="first")
    proof, root1, root2 = consistency_proof(hashes, first, n), root(hashes[:first]), root(hashes)
    damage = data.draw(st.sampled_from(["flip", "drop", "add", "root1", "root2", "history"]), label="damage")
    if damage == "flip":
        i = data.draw(st.integers(0, len(proof) - 1))
        proof[i] = flip(proof[i], data.draw(st.integers(0, 255)))
    elif damage == "drop":
        proof.pop(data.draw(st.integers(0, len(proof) - 1)))
    elif damage == "add":
        proof.insert(data.draw(st.integers(0, len(proof))), leaf_hash(b"extra"))
    elif damage == "root1":
        root1 = flip(root1, data.draw(st.integers(0, 255)))
    elif damage == "root2":
        root2 = flip(root2, data.draw(st.integers(0, 255)))
    else:  # a rewritten history: the new tree's proof against the old root
        rewritten = list(hashes)
        rewritten[data.draw(st.integers(0, first - 1))] = leaf_hash(b"rewritten")
        proof, root2 = consistency_proof(rewritten, first, n), root(rewritten)
    with pytest.raises(ProofError):
        verify_consistency(first, n, proof, root1, root2)


def test_edge_cases_of_the_rfc() -> None:
    hashes = leaves(4)
    with pytest.raises(ProofError, match="outside"):
        verify_inclusion(hashes[0], 4, 4, [], root(hashes))
    with pytest.raises(ProofError, match="outside"):
        verify_inclusion(hashes[0], 0, 0, [], EMPTY_ROOT)
    with pytest.raises(ProofError, match="outside"):
        verify_inclusion(hashes[0], -1, 4, [], root(hashes))
    verify_consistency(4, 4, [], root(hashes), root(hashes))
    with pytest.raises(ProofError, match="empty tree"):
        verify_consistency(0, 4, [], EMPTY_ROOT, root(hashes))
    with pytest.raises(ProofError, match="forked"):
        verify_consistency(3, 3, [], root(hashes[:3]), root(hashes))
    with pytest.raises(ProofError, match="equal size"):
        verify_consistency(3, 3, [hashes[0]], root(hashes[:3]), root(hashes[:3]))
    with pytest.raises(ProofError, match="is empty"):
        verify_consistency(3, 4, [], root(hashes[:3]), root(hashes))
    with pytest.raises(ProofError, match="cannot extend"):
        verify_consistency(4, 3, [], root(hashes), root(hashes[:3]))
    with pytest.raises(ProofError, match="32"):
        verify_inclusion(hashes[0], 0, 2, [b"short"], root(hashes[:2]))


def test_generators_refuse_what_has_no_proof() -> None:
    hashes = leaves(4)
    for index, size in [(4, 4), (-1, 4), (0, 0), (0, 5)]:
        with pytest.raises(ValueError):
            inclusion_proof(hashes, index, size)
    for first, second in [(0, 4), (3, 2), (1, 5), (-1, 2)]:
        with pytest.raises(ValueError):
            consistency_proof(hashes, first, second)
    assert consistency_proof(hashes, 4, 4) == []
    assert consistency_proof(hashes, 2, 2) == []


def test_a_compact_range_restores_from_its_state() -> None:
    hashes = leaves(13)
    compact = CompactRange()
    compact.extend(hashes[:7])
    resumed = CompactRange.restore(compact.size, compact.hashes)
    resumed.extend(hashes[7:])
    assert resumed.root() == root(hashes)
    assert CompactRange().root() == EMPTY_ROOT
    with pytest.raises(ValueError):
        CompactRange.restore(7, compact.hashes[:2])
    with pytest.raises(ValueError):
        CompactRange.restore(1, [b"short"])
    with pytest.raises(ValueError):
        compact.append(b"not a hash")
