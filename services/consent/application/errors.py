"""Application errors; the API maps each to a problem. Messages carry ids and codes, never PHI."""

from __future__ import annotations

from uuid import UUID

from services.consent.domain.policy import Verdict


class ApplicationError(Exception):
    pass


class NotFound(ApplicationError):
    """Unknown id, or anything of another tenant (indistinguishable on purpose)."""


class AccessDenied(ApplicationError):
    """The policy denied the caller; the decision was recorded all the same."""

    def __init__(self, verdict: Verdict, decision_id: UUID) -> None:
        super().__init__(verdict.reason)
        self.verdict = verdict
        self.decision_id = decision_id
