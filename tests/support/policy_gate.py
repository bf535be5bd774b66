"""The records service's access gate answered in-process by the consent service's own policy table.

Records and consent never import each other; the tests may. Records suites that are not about the HTTP hop
use this gate, so they exercise the one real policy (``services/consent/domain/policy.py``) with no consents
and no break-glass, without a consent process. Nothing is logged: that is the consent service's part, tested
there and end to end.
"""

from __future__ import annotations

from services.consent.domain.policy import Ask, BreakGlassFact, ConsentFact, decide
from services.records.application.access import AccessRequest, Decision


class PolicyGate:
    # The client's directives as the consent service would hold them (none unless a test adds them).
    consents: tuple[ConsentFact, ...] = ()
    break_glass: tuple[BreakGlassFact, ...] = ()

    def decide(self, request: AccessRequest) -> Decision:
        verdict = decide(self.ask(request))
        return Decision(
            verdict.permit,
            verdict.reason,
            verdict.rule,
            redact_labels=verdict.redact_labels,
            redact_categories=verdict.redact_categories,
        )

    def ask(self, request: AccessRequest) -> Ask:
        """The request as the consent service's policy sees it, with this gate's consents and break-glass."""
        resource = request.resource
        return Ask(
            tenant=request.actor.tenant,
            actor=request.actor.sub,
            roles=request.actor.roles,
            actor_client_id=request.actor.client_id,
            action=request.action,
            client_id=request.client_id,
            resource_type=resource.type,
            resource_id=None if resource.id is None else str(resource.id),
            labels=resource.labels,
            categories=resource.categories,
            purpose=request.purpose_of_use,
            care_team=request.care_team,
            supervisors=request.care_team_supervisors,
            author=request.author,
            actor_display=request.actor_display,
            consents=self.consents,
            break_glass=self.break_glass,
        )
