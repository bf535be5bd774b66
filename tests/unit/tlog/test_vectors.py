"""The known-answer vectors of transparency-dev/merkle (tests/testdata/rfc6962, used unchanged).

Every case is accepted or rejected exactly as its ``wantErr`` says; the valid proofs over the standard eight
leaves are also what our generators produce.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from services.tlog.merkle import (
    EMPTY_ROOT,
    CompactRange,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

DATA = Path(__file__).parents[2] / "testdata" / "rfc6962"
TREE = json.loads((DATA / "tree.json").read_text())
LEAVES = [leaf_hash(bytes.fromhex(leaf)) for leaf in TREE["leaf_inputs_hex"]]
ROOTS = [bytes.fromhex(value) for value in TREE["root_hash_hex_by_tree_size"]]


def cases(kind: str) -> list[Any]:
    paths = sorted((DATA / kind).rglob("*.json"))
    return [pytest.param(json.loads(path.read_text()), id=str(path.relative_to(DATA))) for path in paths]


def b64(value: str) -> bytes:
    return base64.b64decode(value)


def proof_of(case: dict[str, Any]) -> list[bytes]:
    return [b64(node) for node in case["proof"] or []]  # null in some files: the empty proof


def test_the_vectors_are_all_there_with_their_license() -> None:
    assert len(cases("inclusion")) == 98
    assert len(cases("consistency")) == 98
    valid = [p for kind in ("inclusion", "consistency") for p in cases(kind) if not p.values[0]["wantErr"]]
    assert len(valid) == 12  # the counts pin the data set: a lost or edited file fails here
    assert "Apache License" in (DATA / "LICENSE-transparency-dev-merkle").read_text()
    assert (DATA / "README.md").exists()


@pytest.mark.parametrize("size", range(9))
def test_roots_of_the_standard_tree(size: int) -> None:
    assert root(LEAVES[:size]) == ROOTS[size]
    compact = CompactRange()
    compact.extend(LEAVES[:size])
    assert compact.root() == ROOTS[size]


def test_the_empty_tree_hashes_the_empty_string() -> None:
    assert root([]) == EMPTY_ROOT == ROOTS[0]


@pytest.mark.parametrize("case", cases("inclusion"))
def test_inclusion_vector(case: dict[str, Any]) -> None:
    args = (b64(case["leafHash"]), case["leafIdx"], case["treeSize"], proof_of(case), b64(case["root"]))
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("case", cases("consistency"))
def test_consistency_vector(case: dict[str, Any]) -> None:
    args = (case["size1"], case["size2"], proof_of(case), b64(case["root1"]), b64(case["root2"]))
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def over_standard_tree(kind: str) -> list[dict[str, Any]]:
    """The valid cases whose leaf and roots are those of the standard tree (the rest use made-up hashes)."""
    found = []
    for param in cases(kind):
        case = param.values[0]
        if case["wantErr"]:
            continue
        if kind == "inclusion" and b64(case["root"]) == ROOTS[case["treeSize"]]:
            assert b64(case["leafHash"]) == LEAVES[case["leafIdx"]]
            found.append(case)
        if kind == "consistency" and b64(case["root2"]) == ROOTS[case["size2"]]:
            found.append(case)
    return found


def test_generated_inclusion_proofs_are_the_vectors() -> None:
    valid = over_standard_tree("inclusion")
    assert len(valid) == 5
    for case in valid:
        assert inclusion_proof(LEAVES, case["leafIdx"], case["treeSize"]) == proof_of(case)


def test_generated_consistency_proofs_are_the_vectors() -> None:
    valid = over_standard_tree("consistency")
    assert len(valid) == 5
    for case in valid:
        assert b64(case["root1"]) == ROOTS[case["size1"]]
        assert consistency_proof(LEAVES, case["size1"], case["size2"]) == proof_of(case)
