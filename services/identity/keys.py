"""Where verification keys come from: a JWKS file or an http(s) JWKS endpoint, keys chosen by `kid`.

Only keys for the one pinned algorithm are usable. A JWK carries (or implies) its algorithm, and PyJWT refuses
a token whose header `alg` differs from its key's, so a key of another type can never verify a token, whatever
its header claims. Note that an RSA key without `alg` implies RS256: a PS256 JWKS must declare
`"alg": "PS256"`.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Protocol

from jwt import PyJWK, PyJWKClient, PyJWKSet
from jwt.exceptions import PyJWKClientConnectionError, PyJWTError

from services.identity.errors import InvalidToken, KeySetUnavailable

# Long enough to spare the identity provider, short enough that a rotated key is picked up within minutes.
# An unknown kid also forces a refresh (at most one per cooldown), so a freshly rotated key works at once.
_JWKS_CACHE_SECONDS = 300
_JWKS_FETCH_TIMEOUT_SECONDS = 5


class KeySource(Protocol):
    """Finds the public key a token names; raises `InvalidToken` when there is none."""

    def signing_key(self, kid: str) -> PyJWK: ...


def open_key_source(jwks: str, algorithm: str) -> KeySource:
    """A URL is fetched (and cached) when first needed; a file is read now, so a bad path fails at start."""
    if jwks.startswith(("http://", "https://")):
        return UrlKeySource(jwks, algorithm)
    return FileKeySource(Path(jwks), algorithm)


def usable(key: PyJWK, algorithm: str) -> bool:
    """A signing key for the pinned algorithm, with a kid to be found by."""
    return bool(key.key_id) and key.algorithm_name == algorithm and key.public_key_use in ("sig", None)


class FileKeySource:
    """A JWKS file, re-read when it changes so that keys can rotate without restarting the service."""

    def __init__(self, path: Path, algorithm: str) -> None:
        self._path = path
        self._algorithm = algorithm
        self._lock = threading.Lock()
        try:
            self._stamp = self._file_stamp()
            self._keys = self._load()
        except (OSError, ValueError, PyJWTError) as error:
            raise ValueError(f"cannot read the JWKS file {path}: {type(error).__name__}") from None
        if not self._keys:
            raise ValueError(f"the JWKS file {path} holds no usable {algorithm} signing key with a kid")

    def signing_key(self, kid: str) -> PyJWK:
        self._reload_if_changed()
        key = self._keys.get(kid)
        if key is None:
            raise InvalidToken("unknown_key")
        return key

    def _file_stamp(self) -> tuple[int, int, int]:
        status = os.stat(self._path)
        return status.st_mtime_ns, status.st_size, status.st_ino

    def _load(self) -> dict[str, PyJWK]:
        key_set = PyJWKSet.from_json(self._path.read_text(encoding="utf-8"))
        keys: dict[str, PyJWK] = {}
        for key in key_set:
            if usable(key, self._algorithm) and key.key_id:
                keys.setdefault(key.key_id, key)
        return keys

    def _reload_if_changed(self) -> None:
        """Keep the last good keys if the file is mid-rotation or gone: refusing every token is worse."""
        with self._lock:
            try:
                stamp = self._file_stamp()
                if stamp != self._stamp:
                    self._keys, self._stamp = self._load(), stamp
            except (OSError, ValueError, PyJWTError):
                return


class UrlKeySource:
    """An identity provider's JWKS endpoint, through PyJWT's caching client."""

    def __init__(self, url: str, algorithm: str) -> None:
        self._algorithm = algorithm
        self._client = PyJWKClient(
            url, cache_jwk_set=True, lifespan=_JWKS_CACHE_SECONDS, timeout=_JWKS_FETCH_TIMEOUT_SECONDS
        )

    def signing_key(self, kid: str) -> PyJWK:
        try:
            key = self._client.get_signing_key(kid)
        except PyJWKClientConnectionError:
            raise KeySetUnavailable() from None
        except PyJWTError:
            # PyJWT's messages quote the kid; `from None` keeps them out of chained tracebacks.
            raise InvalidToken("unknown_key") from None
        except ValueError:
            # The endpoint answered with something that is not JSON.
            raise KeySetUnavailable() from None
        if not usable(key, self._algorithm):
            raise InvalidToken("unknown_key")
        return key
