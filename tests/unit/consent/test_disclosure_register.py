"""The disclosure register's domain: entering a disclosure, which decisions disclose, the six-year window and
the summaries of repeated disclosures (45 CFR 164.528(b)(3))."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from uuid import UUID, uuid4

import pytest

from services.consent.domain.base import EventMeta
from services.consent.domain.decision import AccessDecision
from services.consent.domain.disclosure import (
    Disclosure,
    DisclosureDetails,
    accounting_start,
    summarize,
)
from services.consent.domain.errors import InvalidDisclosure
from services.consent.domain.policy import Ask, Verdict

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
META = EventMeta("practice-a", "po-1", "req-1", None, NOW)
CLIENT = UUID("00000000-0000-7000-8000-00000000c11e")
DETAILS = DisclosureDetails(
    client_id=CLIENT,
    disclosed_on=date(2026, 5, 1),
    recipient_name="County Court",
    description="progress notes",
    purpose_text="subpoena",
    purpose_code="HLEGAL",
    basis="subpoena",
)


def test_a_disclosure_is_recorded_with_its_details_and_who_entered_it() -> None:
    entered = Disclosure.record(META, uuid4(), DETAILS)
    assert (entered.details, entered.client_id, entered.recorded_by) == (DETAILS, CLIENT, "po-1")
    assert entered.created_on == NOW and entered.version == 1
    [event] = entered.collect_events()
    assert isinstance(event, Disclosure.DisclosureRecorded)
    assert event.details["disclosed_on"] == "2026-05-01"  # a plain value, replayable


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"disclosed_on": date(2026, 6, 3)}, ["date"]),
        ({"accountable": False, "basis": None}, ["basis"]),
        ({"accountable": False, "basis": "  "}, ["basis"]),
        ({"recipient_name": " ", "description": "", "purpose_text": "\t"}, ["recipient.name", "description",
                                                                              "purpose.text"]),
    ],
)  # fmt: skip
def test_what_cannot_be_entered_is_named(changes: dict[str, object], fields: list[str]) -> None:
    with pytest.raises(InvalidDisclosure) as refused:
        Disclosure.record(META, uuid4(), replace(DETAILS, **changes))  # type: ignore[arg-type]
    assert [field for field, _ in refused.value.problems] == fields


def test_tomorrow_is_not_yet_the_future_and_unaccountable_needs_only_a_basis() -> None:
    Disclosure.record(META, uuid4(), replace(DETAILS, disclosed_on=date(2026, 6, 2)))
    Disclosure.record(META, uuid4(), replace(DETAILS, accountable=False, basis="authorization"))


def decision(
    rule: str, permit: bool = True, client: UUID | None = CLIENT, role: str = "integrator"
) -> AccessDecision:
    ask = Ask(tenant="practice-a", actor="ehr-1", roles=frozenset({role}), action="read",
              client_id=client, resource_type="episode", purpose="TREAT")  # fmt: skip
    return AccessDecision.record(META, uuid4(), ask, Verdict(permit, "why", rule, purpose="TREAT"))


def test_only_an_outside_partys_permitted_reads_under_consent_are_registered() -> None:
    assert decision("consented-disclosure").discloses()
    assert decision("psychotherapy-notes-authorization").discloses()
    assert not decision("psychotherapy-notes-authorization", role="clinician").discloses()
    assert not decision("consented-disclosure", permit=False).discloses()
    assert not decision("care-team").discloses()
    assert not decision("break-glass").discloses()
    assert not decision("consented-disclosure", client=None).discloses()


def test_the_accounting_covers_six_years_ending_on_the_day_asked() -> None:
    assert accounting_start(date(2026, 6, 1)) == date(2020, 6, 2)
    assert accounting_start(date(2028, 2, 29)) == date(2022, 3, 1)  # 2022 has no 29 February
    assert accounting_start(date(2027, 1, 1)) == date(2021, 1, 2)


def test_repeated_disclosures_are_one_line_with_their_number_and_last_date() -> None:
    disclosures = [
        ("court", "HLEGAL", date(2025, 1, 5)),
        ("board", "HOPERAT", date(2025, 2, 1)),
        ("court", "HLEGAL", date(2025, 3, 9)),
        ("court", "HCOMPL", date(2025, 4, 1)),
        ("court", "HLEGAL", date(2025, 5, 20)),
    ]

    lines = summarize(disclosures, key=lambda d: d[:2], day=lambda d: d[2])

    assert [(line.first, line.count, line.last_on) for line in lines] == [
        (("court", "HLEGAL", date(2025, 1, 5)), 3, date(2025, 5, 20)),
        (("board", "HOPERAT", date(2025, 2, 1)), 1, date(2025, 2, 1)),
        (("court", "HCOMPL", date(2025, 4, 1)), 1, date(2025, 4, 1)),
    ]
    assert summarize([], key=lambda d: d, day=lambda d: date.min) == []
