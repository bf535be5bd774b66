"""Contract tests that need the running app share the API tier's fixture."""

from tests.api.conftest import api  # noqa: F401  (the fixture, re-exported)
