"""The committed OpenAPI documents in contracts/openapi, regenerated from the services' code.

The rendering is fixed (sorted keys, two-space indent, trailing newline) so that a regenerated file differs
from the committed one only when the API did, and review diffs show exactly that.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

DEFAULT_DIRECTORY = Path("contracts/openapi")
# Imported only when the command runs: the CLI must work (token, serve) even when a service does not import.
DOCUMENT_SOURCES: dict[str, str] = {
    "records": "services.records.api.app",
    "consent": "services.consent.api.app",
}


class DocumentUnavailable(Exception):
    """A service's `openapi_document()` could not be loaded; the message names the module, nothing more."""


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def generated_documents(directory: Path) -> dict[Path, str]:
    """Each service's document, rendered, keyed by the file it belongs in."""
    return {
        directory / f"{service}.json": render(_load_document(module))
        for service, module in DOCUMENT_SOURCES.items()
    }


def write_documents(documents: dict[Path, str]) -> list[Path]:
    """Write the documents that changed; returns the paths written."""
    written = []
    for path, text in documents.items():
        if _read_or_none(path) != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def stale_documents(documents: dict[Path, str]) -> list[Path]:
    """The committed files that are missing or differ from what the code generates."""
    return [path for path, text in documents.items() if _read_or_none(path) != text]


def _load_document(module_name: str) -> dict[str, Any]:
    try:
        module = importlib.import_module(module_name)
        factory = cast(Callable[[], object], module.openapi_document)
    except (ImportError, AttributeError) as error:
        raise DocumentUnavailable(f"cannot load {module_name}:openapi_document: {error}") from error
    document = factory()
    if not isinstance(document, dict):
        raise DocumentUnavailable(f"{module_name}:openapi_document() did not return a dict")
    return cast(dict[str, Any], document)


def _read_or_none(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
