"""The master key both services derive their data keys from (``TOUCHSTONE_MASTER_KEY``).

In development, when it is not set, one is made on first use under the var directory and shared by every
process that uses that directory.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

DEV_MASTER_KEY_FILE = "dev-master.key"


def master_key_bytes(configured: str | None, var_dir: Path) -> bytes:
    if configured is not None:
        return decode_key(configured)
    path = var_dir / DEV_MASTER_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(base64.b64encode(secrets.token_bytes(32)).decode())
        tmp.chmod(0o600)
        # link, not replace: when several workers start at once, the first key made is everyone's
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
        tmp.unlink()
    return decode_key(path.read_text().strip())


def derive_key(master_key: bytes, purpose: str) -> bytes:
    """A 32-byte key for one purpose, so no two uses ever share a key."""
    return hmac.new(master_key, purpose.encode(), hashlib.sha256).digest()


def decode_key(text: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except ValueError:
        raise ValueError("TOUCHSTONE_MASTER_KEY must be base64 of 32 random bytes") from None
    if len(key) != 32:
        raise ValueError("TOUCHSTONE_MASTER_KEY must be base64 of 32 random bytes")
    return key
