"""The consent application: directives and break-glass here, the disclosure register in ``registers``,
the client's access report in ``access_report``, each operation decided by the policy table (``core``)."""

from __future__ import annotations

from uuid import UUID

from services.consent.application.commands import Command
from services.consent.application.core import Question, new_id
from services.consent.application.ports import BreakGlassRow, CommitRows, DirectiveRow
from services.consent.application.registers import RegisterUseCases
from services.consent.domain.break_glass import BreakGlass, Outcome
from services.consent.domain.directive import ConsentDirective, Terms


class ConsentApplication(RegisterUseCases):
    """Consent directives and break-glass, beside the registers, on the plumbing of ``core``."""

    # --- consent directives -----------------------------------------------------------------------------
    def grant(self, cmd: Command, terms: Terms) -> ConsentDirective:
        _, decision = self._permitted(cmd, Question("create", "consent", client_id=terms.client_id))
        with self._kept_if_refused(decision):
            consent = ConsentDirective.grant(self._meta(cmd, decision.created_on), new_id(), terms)
        self.save(decision, consent, commit_rows=CommitRows(directives=[_directive_row(consent)]))
        return consent

    def revoke(self, cmd: Command, consent_id: UUID, reason: str) -> ConsentDirective:
        consent = self._load(cmd.actor.tenant, consent_id, ConsentDirective)
        question = Question(
            "write", "consent", client_id=consent.terms.client_id, resource_id=str(consent_id)
        )
        _, decision = self._permitted(cmd, question)
        with self._kept_if_refused(decision):
            consent.revoke(self._meta(cmd, decision.created_on), reason)
        self.save(decision, consent, commit_rows=CommitRows(directives=[_directive_row(consent)]))
        return consent

    def consent(self, cmd: Command, consent_id: UUID) -> ConsentDirective:
        consent = self._load(cmd.actor.tenant, consent_id, ConsentDirective)
        self._read(
            cmd, Question("read", "consent", client_id=consent.terms.client_id, resource_id=str(consent_id))
        )
        return consent

    def consents_of(
        self, cmd: Command, client_id: UUID, after: UUID | None, limit: int
    ) -> list[ConsentDirective]:
        self._read(cmd, Question("read", "consent", client_id=client_id))
        ids = self.index.directive_ids(cmd.actor.tenant, client_id, after, limit)
        return [self._load(cmd.actor.tenant, i, ConsentDirective) for i in ids]

    # --- break-glass -----------------------------------------------------------------------------------
    def invoke_break_glass(self, cmd: Command, client_id: UUID, reason: str, minutes: int) -> BreakGlass:
        _, decision = self._permitted(cmd, Question("create", "break_glass", client_id=client_id))
        with self._kept_if_refused(decision):
            grant = BreakGlass.invoke(
                self._meta(cmd, decision.created_on), new_id(), client_id, reason, minutes
            )
        self.save(decision, grant, commit_rows=CommitRows(break_glass=[_break_glass_row(grant)]))
        return grant

    def break_glass(self, cmd: Command, break_glass_id: UUID) -> BreakGlass:
        grant = self._load(cmd.actor.tenant, break_glass_id, BreakGlass)
        self._read(cmd, Question("read", "break_glass", client_id=grant.client_id, resource_id=str(grant.id)))
        return grant

    def break_glass_queue(
        self, cmd: Command, unreviewed_only: bool, after: UUID | None, limit: int
    ) -> list[BreakGlass]:
        self._read(cmd, Question("read", "break_glass"))
        ids = self.index.break_glass_ids(cmd.actor.tenant, unreviewed_only, after, limit)
        return [self._load(cmd.actor.tenant, i, BreakGlass) for i in ids]

    def review_break_glass(
        self, cmd: Command, break_glass_id: UUID, outcome: Outcome, note: str
    ) -> BreakGlass:
        grant = self._load(cmd.actor.tenant, break_glass_id, BreakGlass)
        question = Question("write", "break_glass", client_id=grant.client_id, resource_id=str(grant.id))
        _, decision = self._permitted(cmd, question)
        with self._kept_if_refused(decision):
            grant.record_review(self._meta(cmd, decision.created_on), outcome, note)
        self.save(decision, grant, commit_rows=CommitRows(break_glass=[_break_glass_row(grant)]))
        return grant


def _directive_row(consent: ConsentDirective) -> DirectiveRow:
    return DirectiveRow(consent.tenant, consent.id, consent.terms, consent.created_on, consent.revoked_at)


def _break_glass_row(grant: BreakGlass) -> BreakGlassRow:
    return BreakGlassRow(
        grant.tenant,
        grant.id,
        grant.client_id,
        grant.actor,
        grant.started_at,
        grant.expires_at,
        grant.review is not None,
    )
