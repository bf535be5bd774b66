"""The records application: one eventsourcing Application holding every use case."""

from __future__ import annotations

from typing import Any, ClassVar

from services.records.application.amendments import AmendmentUseCases
from services.records.application.clients import ClientUseCases
from services.records.application.episodes import EpisodeUseCases
from services.records.application.notes import NoteUseCases
from services.records.application.practitioners import PractitionerUseCases
from services.records.application.psychotherapy_notes import PsychotherapyNoteUseCases
from services.records.domain.client import Client
from services.records.domain.episode import Episode

SNAPSHOT_INTERVAL = 50


class RecordsApplication(
    ClientUseCases,
    PractitionerUseCases,
    EpisodeUseCases,
    NoteUseCases,
    PsychotherapyNoteUseCases,
    AmendmentUseCases,
):
    """Long streams are snapshotted every ``SNAPSHOT_INTERVAL`` events (episodes grow, clients rarely)."""

    name = "records"  # names the tables (records_events, records_snapshots): never change it

    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {
        Episode: SNAPSHOT_INTERVAL,
        Client: SNAPSHOT_INTERVAL,
    }
