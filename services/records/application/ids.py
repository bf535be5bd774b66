"""Ids that Touchstone creates: time-ordered UUIDs (v7), made in the application, passed into events."""

from __future__ import annotations

from uuid import UUID

import uuid_utils


def new_id() -> UUID:
    return UUID(str(uuid_utils.uuid7()))
