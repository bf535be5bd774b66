"""Tamper-evident log primitives: RFC 6962 Merkle trees, RFC 8785 leaves, C2SP signed checkpoints.

A named package with one purpose, pure (no database, no HTTP, no service code): the consent service builds its
per-tenant access logs with it, and the offline verifier (`touchstone audit verify`) checks their exports.

- `services.tlog.merkle`: leaf and node hashes, roots, inclusion and consistency proofs, `CompactRange`.
- `services.tlog.canonical`: RFC 8785 canonical JSON, the exact bytes of a leaf.
- `services.tlog.note`: signed notes and checkpoints (Ed25519), verifier keys; `services.tlog.keys` the key.
- `services.tlog.verify`: `verify_export`, the whole check of an export against signed checkpoints.
"""
