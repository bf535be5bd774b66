"""An access gate for the API tests: the default policy, plus obligations for one reader, or an outage.

:class:`ScriptedGate` decides with :class:`PolicyGate` (the consent service's policy, in-process), then
adds the obligations a test gives for an actor to every permit that actor gets, as the consent service
does under a consent that covers only part of a record. With ``failing`` set it raises
ConsentUnavailable, as the HTTP gate does when the consent service is down. It keeps every request it was
asked, so tests can check what the records service asks for each operation.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import replace

from services.records.application.access import (
    AccessRequest,
    ConsentUnavailable,
    Decision,
    Obligations,
)
from tests.support.policy_gate import PolicyGate


class ScriptedGate:
    def __init__(self) -> None:
        self.policy = PolicyGate()
        self.obligations: dict[str, Obligations] = {}
        self.failing = False
        self.requests: list[AccessRequest] = []
        self._lock = threading.Lock()

    def oblige(
        self,
        sub: str,
        *,
        labels: Iterable[str] = (),
        categories: Iterable[str] = (),
        notice: str | None = None,
    ) -> None:
        """Every permit for ``sub`` from now on carries these obligations."""
        self.obligations[sub] = Obligations(frozenset(labels), frozenset(categories), notice)

    def decide(self, request: AccessRequest) -> Decision:
        with self._lock:
            self.requests.append(request)
        if self.failing:
            raise ConsentUnavailable("test-outage")
        decision = self.policy.decide(request)
        added = self.obligations.get(request.actor.sub)
        if not decision.permit or added is None:
            return decision
        return replace(
            decision,
            redact_labels=added.redact_labels,
            redact_categories=added.redact_categories,
            redisclosure_notice=added.redisclosure_notice,
        )

    def last(self) -> AccessRequest:
        with self._lock:
            return self.requests[-1]

    def since(self, count: int) -> list[AccessRequest]:
        """The requests asked after the first ``count``."""
        with self._lock:
            return self.requests[count:]
