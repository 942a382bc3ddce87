"""Canned responses: who may write them, who is offered which, and the first-name placeholder."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from argon2 import PasswordHasher
from sqlalchemy.orm import Session, sessionmaker

from crm.desk.canned import MAX_TEXT_CHARS, MAX_TITLE_CHARS, Canned, CannedResponses, fill
from crm.desk.staff import StaffMember, StaffService
from crm.records.errors import (
    CannedNotAllowed,
    CannedResponseExists,
    CannedResponseNotFound,
    InvalidCannedResponse,
)
from crm.records.models import AuditLog, CannedResponse
from crm.tools.demo import SeedReport, seed


@pytest.fixture
def canned(sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> CannedResponses:
    return CannedResponses(sessions, clock=clock)


@pytest.fixture
def member(sessions: sessionmaker[Session]) -> Callable[..., StaffMember]:
    staff = StaffService(sessions, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))

    def create(name: str, role: str = "agent", team: str = "general") -> StaffMember:
        return staff.create_member(
            email=f"{name.lower()}@larkspur.test",
            name=name,
            password="a long enough password",
            role=role,
            team=team,
            actor="test",
        )

    return create


def titles(found: list[Canned]) -> list[str]:
    return [item.title for item in found]


def test_agents_are_offered_their_teams_and_everyones_supervisors_all(
    canned: CannedResponses, member: Callable[..., StaffMember]
) -> None:
    boss = member("Sue", role="supervisor", team="billing")
    canned.create(boss, "Refund timing", "Refunds take 5 working days.", "billing")
    canned.create(boss, "anything else", "Anything else I can do?", None)
    canned.create(boss, "Courier claim", "I've opened a claim.", "shipping")
    priya, tom = member("Priya"), member("Tom", team="billing")
    assert titles(canned.for_member(priya)) == ["anything else"]
    assert titles(canned.for_member(tom)) == ["anything else", "Refund timing"]
    assert titles(canned.for_member(boss)) == ["anything else", "Courier claim", "Refund timing"]
    assert titles(canned.for_member(member("Ada", role="admin"))) == titles(canned.for_member(boss))


def test_only_supervisors_and_admins_write_or_remove_them(
    canned: CannedResponses,
    sessions: sessionmaker[Session],
    member: Callable[..., StaffMember],
) -> None:
    priya = member("Priya")
    with pytest.raises(CannedNotAllowed):
        canned.create(priya, "Hello", "Hi there", None)
    with sessions() as session:
        assert session.query(CannedResponse).count() == 0
    made = canned.create(member("Ada", role="admin"), "Hello", "Hi there", None)
    with pytest.raises(CannedNotAllowed):
        canned.deactivate(priya, made.id)
    assert titles(canned.for_member(priya)) == ["Hello"]


def test_titles_texts_and_teams_are_checked(
    canned: CannedResponses, member: Callable[..., StaffMember]
) -> None:
    boss = member("Sue", role="supervisor")
    for title, text, team in (
        ("", "text", None),
        ("   ", "text", None),
        ("t" * (MAX_TITLE_CHARS + 1), "text", None),
        ("Title", "", None),
        ("Title", " \n ", None),
        ("Title", "x" * (MAX_TEXT_CHARS + 1), None),
        ("Title", "text", "sales"),
        ("Title", "text", ""),
    ):
        with pytest.raises(InvalidCannedResponse):
            canned.create(boss, title, text, team)
    made = canned.create(boss, "  Long   wait ", "  " + "x" * MAX_TEXT_CHARS + "\n", "technical")
    assert (made.title, len(made.text), made.team) == ("Long wait", MAX_TEXT_CHARS, "technical")
    with pytest.raises(CannedResponseExists):
        canned.create(boss, "long WAIT", "another text", None)
    assert titles(canned.for_member(boss)) == ["Long wait"]


def test_removed_ones_are_no_longer_offered_and_their_title_can_be_reused(
    canned: CannedResponses,
    member: Callable[..., StaffMember],
    audit_rows: Callable[[], list[AuditLog]],
) -> None:
    boss, priya = member("Sue", role="supervisor"), member("Priya")
    made = canned.create(boss, "Hello", "Hi {customer_first_name}", None)
    canned.deactivate(boss, made.id)
    assert canned.for_member(priya) == []
    with pytest.raises(CannedResponseNotFound):
        canned.deactivate(boss, made.id)
    with pytest.raises(CannedResponseNotFound):
        canned.deactivate(boss, 999_999)
    again = canned.create(boss, "hello", "Good morning {customer_first_name}", "billing")
    assert (again.id, again.title, again.team) == (made.id, "hello", "billing")
    assert canned.for_member(priya) == []  # billing only now
    rows = [row for row in audit_rows() if row.entity == "canned_response"]
    assert [(row.action, row.actor, row.entity_id) for row in rows] == [
        ("canned.create", f"staff:{boss.id}", str(made.id)),
        ("canned.deactivate", f"staff:{boss.id}", str(made.id)),
        ("canned.create", f"staff:{boss.id}", str(made.id)),
    ]
    assert rows[2].before == {"text": "Hi {customer_first_name}", "team": None}


def test_the_first_name_is_filled_in_only_for_a_verified_customer() -> None:
    text = "Hi {customer_first_name}, thanks {customer_first_name}!"
    assert fill(text, "Ada") == "Hi Ada, thanks Ada!"
    assert fill(text, None) == text
    assert fill(text, "") == text
    assert fill("No placeholder", "Ada") == "No placeholder"


def test_the_demo_data_brings_a_few_for_every_team(
    canned: CannedResponses,
    sessions: sessionmaker[Session],
    member: Callable[..., StaffMember],
    seeded: SeedReport,
    seed_now: datetime,
) -> None:
    assert seeded.canned_responses == 4
    general, billing = (
        canned.for_member(member("Priya")),
        canned.for_member(member("Tom", team="billing")),
    )
    assert "Greeting" in titles(general) and "Refund timing" not in titles(general)
    assert "Refund timing" in titles(billing)
    assert any("{customer_first_name}" in item.text for item in general)
    assert seed(sessions, now=seed_now).canned_responses == 0
