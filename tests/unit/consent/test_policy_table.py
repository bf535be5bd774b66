"""The policy table, cell by cell: every role x resource label x consent state -> decision and obligations.

The expectations are written out below as a grid, like the table in DESIGN.md, and are not derived from the
code under test. Cell codes:

    P  permit, nothing redacted, no notice
    R  permit, SUD-labelled data redacted
    N  permit, SUD disclosed under a Part 2 consent, with the redisclosure notice
    B  permit under break-glass (purpose ETREAT, the break-glass named)
    D  deny

Consent states (each names the asking actor as grantee, for the actor's purpose of use, unless said):
none; a disclosure consent that is active, expired, not yet valid, revoked, for another purpose, for
another grantee; an active disclosure plus an active Part 2 consent covering SUD; an active
psychotherapy-notes authorization alone.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from services.consent.domain.directive import Terms, status_at
from services.consent.domain.policy import POLICY, Ask, BreakGlassFact, ConsentFact, Verdict, decide

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CLIENT = UUID("00000000-0000-7000-8000-00000000c11e")
OTHER_CLIENT = UUID("00000000-0000-7000-8000-0000000000ff")
STATES = ["none", "active", "expired", "not_yet", "revoked", "purpose", "grantee", "part2", "pn_auth"]
GRID = """
role             label        none active expired not_yet revoked purpose grantee part2 pn_auth
care_team        -            P    P      P       P       P       P       P       P     P
care_team        SUD          P    P      P       P       P       P       P       P     P
care_team        PSYTHPN      D    D      D       D       D       D       D       D     P
care_team        PSYTHPN_OWN  P    P      P       P       P       P       P       P     P
off_team         -            D    D      D       D       D       D       D       D     D
off_team         SUD          D    D      D       D       D       D       D       D     D
off_team         PSYTHPN      D    D      D       D       D       D       D       D     P
off_team         PSYTHPN_OWN  P    P      P       P       P       P       P       P     P
break_glass      -            B    B      B       B       B       B       B       B     B
break_glass      SUD          B    B      B       B       B       B       B       B     B
break_glass      PSYTHPN      D    D      D       D       D       D       D       D     P
break_glass      PSYTHPN_OWN  P    P      P       P       P       P       P       P     P
supervisor       -            P    P      P       P       P       P       P       P     P
supervisor       SUD          P    P      P       P       P       P       P       P     P
supervisor       PSYTHPN      D    D      D       D       D       D       D       D     P
supervisor       PSYTHPN_OWN  D    D      D       D       D       D       D       D     P
client_own       -            P    P      P       P       P       P       P       P     P
client_own       SUD          P    P      P       P       P       P       P       P     P
client_own       PSYTHPN      D    D      D       D       D       D       D       D     D
client_own       PSYTHPN_OWN  D    D      D       D       D       D       D       D     D
client_other     -            D    D      D       D       D       D       D       D     D
client_other     SUD          D    D      D       D       D       D       D       D     D
client_other     PSYTHPN      D    D      D       D       D       D       D       D     D
client_other     PSYTHPN_OWN  D    D      D       D       D       D       D       D     D
integrator       -            D    P      D       D       D       D       D       P     D
integrator       SUD          D    R      D       D       D       D       D       N     D
integrator       PSYTHPN      D    D      D       D       D       D       D       D     P
integrator       PSYTHPN_OWN  D    D      D       D       D       D       D       D     P
privacy_officer  -            D    D      D       D       D       D       D       D     D
privacy_officer  SUD          D    D      D       D       D       D       D       D     D
privacy_officer  PSYTHPN      D    D      D       D       D       D       D       D     D
privacy_officer  PSYTHPN_OWN  D    D      D       D       D       D       D       D     D
auditor          -            D    D      D       D       D       D       D       D     D
auditor          SUD          D    D      D       D       D       D       D       D     D
auditor          PSYTHPN      D    D      D       D       D       D       D       D     D
auditor          PSYTHPN_OWN  D    D      D       D       D       D       D       D     D
admin            -            D    D      D       D       D       D       D       D     D
admin            SUD          D    D      D       D       D       D       D       D     D
admin            PSYTHPN      D    D      D       D       D       D       D       D     D
admin            PSYTHPN_OWN  D    D      D       D       D       D       D       D     D
"""

# role -> (sub, roles, purpose of use of its token, the client id in its token)
ACTORS: dict[str, tuple[str, frozenset[str], str, UUID | None]] = {
    "care_team": ("dr-ada", frozenset({"clinician"}), "TREAT", None),
    "off_team": ("dr-bob", frozenset({"clinician"}), "TREAT", None),
    "break_glass": ("dr-bob", frozenset({"clinician"}), "TREAT", None),
    "supervisor": ("dr-sue", frozenset({"supervisor"}), "TREAT", None),
    "client_own": ("client-1", frozenset({"client"}), "PATRQT", CLIENT),
    "client_other": ("client-2", frozenset({"client"}), "PATRQT", OTHER_CLIENT),
    "integrator": ("ehr-1", frozenset({"integrator"}), "TREAT", None),
    "privacy_officer": ("po-1", frozenset({"privacy_officer"}), "HCOMPL", None),
    "auditor": ("aud-1", frozenset({"auditor"}), "HCOMPL", None),
    "admin": ("admin-1", frozenset({"admin"}), "HSYSADMIN", None),
}
CARE_TEAM = frozenset({"dr-ada", "dr-cy"})
SUPERVISORS = frozenset({"dr-sue"})
EPISODE_CATEGORIES = frozenset({"episodes", "goals", "sessions"})


def _cells() -> list[tuple[str, str, str, str]]:
    lines = [line.split() for line in GRID.strip().splitlines()]
    header, rows = lines[0], lines[1:]
    assert header[2:] == STATES
    cells = [
        (role, label, state, code)
        for role, label, *codes in rows
        for state, code in zip(STATES, codes, strict=True)
    ]
    assert len(cells) == len(ACTORS) * 4 * len(STATES)  # the grid covers every combination
    return cells


def terms(kind: str, grantee: str, purposes: tuple[str, ...], **changes: object) -> Terms:
    base = Terms(
        client_id=CLIENT,
        kind=kind,
        grantee_kind="practitioner" if grantee.startswith("dr-") else "integrator",
        grantee_id=grantee,
        purposes=purposes,
        categories=tuple(sorted(EPISODE_CATEGORIES)),
        labels=(),
        start=NOW - timedelta(days=30),
        end=NOW + timedelta(days=30),
        signer_role="client",
        signed_on=date(2026, 5, 1),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def fact(t: Terms, revoked_at: datetime | None = None, granted_at: datetime | None = None) -> ConsentFact:
    return ConsentFact(uuid4(), t, status_at(t, revoked_at, NOW), granted_at or NOW - timedelta(days=29))


def consents_for(state: str, grantee: str, purpose: str) -> tuple[ConsentFact, ...]:
    mine = (purpose,)
    disclosure = terms("disclosure", grantee, mine)
    match state:
        case "none":
            return ()
        case "active":
            return (fact(disclosure),)
        case "expired":
            return (fact(replace(disclosure, end=NOW - timedelta(days=1))),)
        case "not_yet":
            return (fact(replace(disclosure, start=NOW + timedelta(days=1))),)
        case "revoked":
            return (fact(disclosure, revoked_at=NOW - timedelta(hours=1)),)
        case "purpose":
            return (fact(replace(disclosure, purposes=("HPAYMT",))),)
        case "grantee":
            return (fact(replace(disclosure, grantee_id="someone-else")),)
        case "part2":
            part2 = terms("part2", grantee, mine, labels=("SUD",), disclosed_by="the practice")
            return fact(disclosure), fact(part2)
        case "pn_auth":
            return (fact(terms("psychotherapy_notes", grantee, mine, categories=(), labels=("PSYTHPN",))),)
    raise AssertionError(state)


def ask_for(role: str, label: str, state: str) -> Ask:
    sub, roles, purpose, actor_client = ACTORS[role]
    note = label.startswith("PSYTHPN")
    grants = ()
    if role == "break_glass":
        grants = (BreakGlassFact(uuid4(), sub, CLIENT, NOW + timedelta(minutes=20), active=True),)
    return Ask(
        tenant="practice-a",
        actor=sub,
        roles=roles,
        actor_client_id=actor_client,
        action="read",
        client_id=CLIENT,
        resource_type="psychotherapy_note" if note else "episode",
        resource_id=str(uuid4()),
        labels=frozenset({"PSYTHPN"} if note else {"SUD"} if label == "SUD" else set()),
        categories=frozenset({"notes"}) if note else EPISODE_CATEGORIES,
        purpose=purpose,
        care_team=CARE_TEAM,
        supervisors=SUPERVISORS,
        author=sub if label == "PSYTHPN_OWN" else ("dr-zed" if note else None),
        consents=consents_for(state, sub, purpose),
        break_glass=grants,
    )


def assert_cell(verdict: Verdict, code: str, ask: Ask) -> None:
    assert verdict.reason, "every decision explains itself"
    assert verdict.rule
    if code == "D":
        assert not verdict.permit
        return
    assert verdict.permit
    assert verdict.redact_categories == frozenset()
    assert verdict.redact_labels == (frozenset({"SUD"}) if code == "R" else frozenset())
    assert verdict.redisclosure_notice is (code == "N")
    if code == "B":
        assert verdict.break_glass_id == ask.break_glass[0].id
        assert verdict.purpose == "ETREAT"
    else:
        assert verdict.break_glass_id is None
        assert verdict.purpose == ask.purpose
    if code in ("R", "N") or verdict.rule == "psychotherapy-notes-authorization":
        assert verdict.consents, "a permit that rests on consent names it"
        assert set(verdict.consents) <= {c.id for c in ask.consents}
    if code in ("P", "B") and verdict.rule != "psychotherapy-notes-authorization":
        relied = {c.id for c in ask.consents if c.terms.kind == "disclosure"}
        assert set(verdict.consents) <= relied


@pytest.mark.parametrize(("role", "label", "state", "code"), _cells())
def test_policy_cell(role: str, label: str, state: str, code: str) -> None:
    ask = ask_for(role, label, state)
    assert_cell(decide(ask), code, ask)


# --- beyond the grid: actions, purposes, categories, conflicts, expiry ---------------------------------
def test_writes_follow_the_table() -> None:
    """Care team and break-glass write; supervisors, clients and integrators never do."""
    expected = {"care_team": True, "break_glass": True, "supervisor": False, "client_own": False}
    expected |= {"integrator": False, "off_team": False}
    for role, permit in expected.items():
        ask = replace(ask_for(role, "-", "part2"), action="write")
        assert decide(ask).permit is permit, role


def test_care_team_outside_treatment_is_denied() -> None:
    ask = replace(ask_for("care_team", "-", "none"), purpose="HPAYMT")
    verdict = decide(ask)
    assert not verdict.permit
    assert "TREAT" in verdict.reason
    assert decide(replace(ask, purpose="ETREAT")).permit  # emergency treatment is treatment


def test_supervisors_cosign_and_return_notes_but_not_episodes() -> None:
    base = ask_for("supervisor", "-", "none")
    for action in ("cosign", "return"):
        assert decide(replace(base, action=action, resource_type="note")).permit
        assert not decide(replace(base, action=action, resource_type="episode")).permit
    assert not decide(replace(base, supervisors=frozenset({"dr-other"}))).permit


def test_integrators_get_only_the_categories_consented() -> None:
    ask = replace(ask_for("integrator", "-", "active"), categories=EPISODE_CATEGORIES | {"measures"})
    verdict = decide(ask)
    assert verdict.permit
    assert verdict.redact_categories == frozenset({"measures"})


def test_integrators_are_denied_a_resource_whose_category_is_not_consented() -> None:
    consent = fact(terms("disclosure", "ehr-1", ("TREAT",), categories=("goals",)))
    verdict = decide(replace(ask_for("integrator", "-", "none"), consents=(consent,)))
    assert not verdict.permit
    assert "episodes" in verdict.reason


def test_the_most_recent_consent_wins() -> None:
    older = fact(terms("disclosure", "ehr-1", ("TREAT",), labels=("HIV",), signed_on=date(2026, 1, 1)))
    newer = fact(terms("disclosure", "ehr-1", ("TREAT",), signed_on=date(2026, 5, 1)))
    ask = replace(ask_for("integrator", "-", "none"), labels=frozenset({"HIV"}), consents=(older, newer))
    verdict = decide(ask)
    assert verdict.permit
    assert verdict.consents == (newer.id,)
    assert verdict.redact_labels == frozenset({"HIV"})  # the newer consent does not cover HIV
    # and the other way round: the newer one covers what the older did not
    widened = fact(terms("disclosure", "ehr-1", ("TREAT",), labels=("HIV",), signed_on=date(2026, 5, 2)))
    verdict = decide(replace(ask, consents=(older, newer, widened)))
    assert verdict.consents == (widened.id,)
    assert verdict.redact_labels == frozenset()


def test_a_general_consent_never_discloses_part2_information() -> None:
    """SUD in a disclosure consent's labels is not enough: only a Part 2 consent covers it."""
    consent = fact(terms("disclosure", "ehr-1", ("TREAT",), labels=("SUD", "HIV")))
    ask = replace(ask_for("integrator", "SUD", "none"), labels=frozenset({"SUD", "HIV"}), consents=(consent,))
    verdict = decide(ask)
    assert verdict.permit
    assert verdict.redact_labels == frozenset({"SUD"})
    assert not verdict.redisclosure_notice


def test_an_expired_break_glass_no_longer_permits() -> None:
    ask = ask_for("break_glass", "-", "none")
    expired = replace(ask.break_glass[0], active=False)
    assert not decide(replace(ask, break_glass=(expired,))).permit


def test_another_clinicians_break_glass_does_not_count() -> None:
    ask = ask_for("break_glass", "-", "none")
    theirs = replace(ask.break_glass[0], actor="dr-cy")
    assert not decide(replace(ask, break_glass=(theirs,))).permit


def test_consents_of_another_client_are_ignored() -> None:
    ask = ask_for("integrator", "-", "active")
    assert decide(ask).permit
    assert not decide(replace(ask, client_id=OTHER_CLIENT)).permit


SERVICE_CASES = [
    ("privacy_officer", "consent", "create", True),
    ("privacy_officer", "consent", "write", True),
    ("client_own", "consent", "create", True),
    ("client_other", "consent", "read", False),
    ("care_team", "consent", "read", False),
    ("integrator", "consent", "read", False),
    ("care_team", "break_glass", "create", True),
    ("privacy_officer", "break_glass", "create", False),
    ("privacy_officer", "break_glass", "write", True),
    ("care_team", "break_glass", "write", False),
    ("auditor", "access_log", "read", True),
    ("privacy_officer", "access_log", "read", True),
    ("care_team", "access_log", "read", False),
    ("admin", "practitioner", "create", True),
    ("care_team", "practitioner", "read", True),
    ("care_team", "practitioner", "create", False),
    ("care_team", "client", "create", True),
    ("integrator", "client", "create", False),
    # the disclosure register: privacy officers enter disclosures; they, auditors and the client read it
    ("privacy_officer", "disclosure", "create", True),
    ("privacy_officer", "disclosure", "read", True),
    ("auditor", "disclosure", "read", True),
    ("client_own", "disclosure", "read", True),
    ("client_other", "disclosure", "read", False),
    ("client_own", "disclosure", "create", False),
    ("auditor", "disclosure", "create", False),
    ("care_team", "disclosure", "create", False),
    ("care_team", "disclosure", "read", False),
    ("integrator", "disclosure", "read", False),
    ("admin", "disclosure", "read", False),
    ("supervisor", "disclosure", "read", False),
    # the client's access report: the client (their own) and privacy officers
    ("client_own", "access_report", "read", True),
    ("privacy_officer", "access_report", "read", True),
    ("client_other", "access_report", "read", False),
    ("auditor", "access_report", "read", False),
    ("care_team", "access_report", "read", False),
    ("integrator", "access_report", "read", False),
    ("admin", "access_report", "read", False),
    ("privacy_officer", "access_report", "write", False),
    # amendment requests (HIPAA 164.526): the client asks, the care team decides
    ("client_own", "amendment_request", "create", True),
    ("client_own", "amendment_request", "write", True),
    ("client_other", "amendment_request", "create", False),
    ("privacy_officer", "amendment_request", "create", True),
    ("care_team", "amendment_request", "write", True),
    ("care_team", "amendment_request", "create", False),
    ("off_team", "amendment_request", "read", False),
    ("auditor", "amendment_request", "read", False),
    ("integrator", "amendment_request", "read", False),
]


def service_ask(role: str, resource: str, action: str) -> Ask:
    return replace(ask_for(role, "-", "none"), resource_type=resource, action=action, categories=frozenset())


@pytest.mark.parametrize(("role", "resource", "action", "permit"), SERVICE_CASES)
def test_the_service_resources(role: str, resource: str, action: str, permit: bool) -> None:
    verdict = decide(service_ask(role, resource, action))
    assert verdict.permit is permit
    assert verdict.reason and verdict.rule


def test_every_row_of_the_table_is_reached() -> None:
    """A row no cell reaches would be dead policy: each rule decides at least one case above."""
    reached = {decide(ask_for(role, label, state)).rule for role, label, state, _ in _cells()}
    reached |= {
        decide(service_ask(role, resource, action)).rule for role, resource, action, _ in SERVICE_CASES
    }
    assert {rule.name for rule in POLICY} <= reached | {"default-deny"}
