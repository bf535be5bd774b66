"""Structured logging for both services: structlog over the standard library, bound per request.

Log lines carry ids and outcomes only. Two processors are a second line of defence for "no PHI outside the
record": one redacts values under keys that usually hold clinical content, the other reduces an exception
to its type and code location, because exception messages and tracebacks can quote clinical data.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Mapping
from typing import Any, TextIO

import structlog
from structlog.types import EventDict, Processor, WrappedLogger

REDACTED = "[redacted]"
PHI_KEYS: frozenset[str] = frozenset(
    key.lower()
    for key in (
        "name", "names", "given", "family", "birth_date", "birthDate", "text", "note", "statement",
        "summary", "observations", "reason", "reason_for_referral", "presenting_concerns", "objectives",
        "identifiers", "value", "body", "content", "description",
    )
)  # fmt: skip
# Everything a request binds; RequestContextMiddleware unbinds all of them when the request ends.
REQUEST_CONTEXT_KEYS = ("request_id", "service", "tenant", "actor")

_HANDLER_NAME = "touchstone"


def _redact(key: object, value: Any) -> Any:
    if isinstance(key, str) and key.lower() in PHI_KEYS:
        return REDACTED
    if isinstance(value, Mapping):
        return {k: _redact(k, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(None, item) for item in value]
    return value


def redact_phi(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """Replace the value of every deny-listed key, at any depth, with ``[redacted]``."""
    return {key: _redact(key, value) for key, value in event_dict.items()}


def describe_exception(exc: BaseException) -> dict[str, Any]:
    """An exception as log fields: its type and innermost frames, never its message or locals."""
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    return {
        "error_type": f"{type(exc).__module__}.{type(exc).__qualname__}",
        "error_at": [f"{frame.filename}:{frame.lineno} in {frame.name}" for frame in frames],
    }


def _logged_exception(exc_info: object) -> BaseException | None:
    if exc_info is True:
        exc_info = sys.exc_info()
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        exc_info = exc_info[1]
    return exc_info if isinstance(exc_info, BaseException) else None


def exception_type_only(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """Replace ``exc_info`` (ours or a library's) with :func:`describe_exception` of it."""
    exc = _logged_exception(event_dict.pop("exc_info", None))
    if exc is not None:
        for key, value in describe_exception(exc).items():
            event_dict.setdefault(key, value)
    return event_dict


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to the current ``sys.stderr``, which test runners and reloaders replace after start-up."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr  # emit runs under the handler's lock, so this cannot race
        super().emit(record)


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        exception_type_only,
        redact_phi,
    ]


def configure_logging(env: str, level: str = "INFO", stream: TextIO | None = None) -> None:
    """Route structlog and stdlib logging through one handler: JSON in production, console otherwise.

    Safe to call repeatedly (each ``create_app`` does): the handler it installed before is replaced.
    ``stream`` defaults to standard error.
    """
    shared = _shared_processors()
    structlog.configure(
        # filter_by_level first: an event below the level costs nothing more than this check.
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached, so that a later configure_logging call also reaches loggers already in use.
        cache_logger_on_first_use=False,
    )
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if env == "production"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    for previous in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # These log every request with its raw URL, whose path and query can hold identifiers;
    # RequestContextMiddleware logs each request with its route template instead.
    for chatty in ("uvicorn.access", "httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(logging.WARNING)


def bind_principal(tenant: str, actor: str) -> None:
    """Add the verified caller to every log line of the current request."""
    structlog.contextvars.bind_contextvars(tenant=tenant, actor=actor)
