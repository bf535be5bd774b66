"""Contract tests that need the running app share the API tiers' fixtures."""

from tests.api.conftest import api  # noqa: F401  (the fixture, re-exported)
from tests.consent.conftest import clock, consent_api  # noqa: F401  (the fixtures, re-exported)
