"""The composition root: builds the consent application on its database."""

from __future__ import annotations

from services.consent.application.app import Clock, ConsentApplication, utc_now
from services.consent.settings import ConsentSettings
from services.storekit.eventstore import setup_lock


def build_consent(settings: ConsentSettings, *, clock: Clock = utc_now) -> ConsentApplication:
    env = settings.eventsourcing_env()
    with setup_lock(env, "consent"):
        return ConsentApplication(env, clock=clock)
