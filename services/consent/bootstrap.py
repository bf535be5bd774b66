"""The composition root: builds the consent application on its database, with its access log's keys."""

from __future__ import annotations

from services.consent.application.app import ConsentApplication
from services.consent.application.audit import Audit, Checkpointer, LogKeys
from services.consent.application.core import Clock, utc_now
from services.consent.settings import ConsentSettings
from services.storekit.eventstore import setup_lock
from services.tlog.note import Signer, load_signing_key


def build_consent(settings: ConsentSettings, *, clock: Clock = utc_now) -> ConsentApplication:
    env = settings.eventsourcing_env()
    keys = log_keys(settings)
    with setup_lock(env, "consent"):
        app = ConsentApplication(env, clock=clock)
    app.audit = Audit(app.authorize_log_read, app.access_log, keys)
    app.checkpointer = Checkpointer(
        app.access_log,
        keys,
        every_entries=settings.checkpoint_every_entries,
        every_seconds=settings.checkpoint_every_seconds,
        clock=clock,
    )
    return app


def log_keys(settings: ConsentSettings) -> LogKeys:
    signer = Signer(settings.log_key_name, load_signing_key(settings.log_signing_key_source()))
    previous = tuple(key.strip() for key in settings.log_previous_keys.split(",") if key.strip())
    return LogKeys(signer, settings.log_origin_prefix, previous)
