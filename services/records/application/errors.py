"""Application errors; the API maps each to a problem (status lives in the API's table, not here)."""

from __future__ import annotations


class ApplicationError(Exception):
    """Base of the records application's errors; messages carry ids and codes, never PHI."""


class NotFound(ApplicationError):
    """Unknown id, or anything of another tenant (indistinguishable on purpose)."""


class VersionNotFound(NotFound):
    """A version above the current one, or an instant before the resource existed."""


class Erased(ApplicationError):
    """The client's data key was destroyed; their record can no longer be read."""


class StaleVersion(ApplicationError):
    """The caller's If-Match names a version that is no longer the current one."""


class AlreadyExists(ApplicationError):
    """A resource with this identity already exists (duplicate identifier, practitioner)."""


class TooMuchContention(ApplicationError):
    """Concurrent writers kept winning; the write was not made and may be retried."""


class InvalidReference(ApplicationError):
    """The request names something that does not exist (a practitioner, a client)."""
