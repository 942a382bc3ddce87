"""Reading propensity scores: one customer's for the panel, the likely buyers for supervisors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from crm.desk.staff import StaffMember
from crm.insights.scores import BuyerFilter, CustomerScores, LikelyBuyers
from crm.records.errors import SupervisorsOnly
from crm.records.models import Customer, CustomerScore
from crm.tools.demo import SeedReport

SUE = StaffMember(1, "sue@larkspur.test", "Sue", "supervisor", "general")
AMY = StaffMember(2, "amy@larkspur.test", "Amy", "agent", "general")
REASON = {"feature": "days since the last order", "value": 12.0, "effect": 0.8}


@pytest.fixture
def scored(
    sessions: sessionmaker[Session],
    seeded: SeedReport,
    customer_id: Callable[[str], int],
    seed_now: datetime,
) -> dict[str, int]:
    people = {
        "ada@example.com": 0.9,
        "alan@example.com": 0.4,  # left the newsletter
        "grace@example.org": 0.7,
        "oliver.bennett@example.com": 0.2,
    }
    ids = {email: customer_id(email) for email in people}
    with sessions.begin() as session:
        for email, score in people.items():
            session.add(
                CustomerScore(
                    customer_id=ids[email],
                    score=score,
                    reasons=[REASON],
                    model_version="test",
                    scored_at=seed_now,
                )
            )
        session.execute(
            update(Customer)
            .where(Customer.id == ids["grace@example.org"])
            .values(first_name="=HYPERLINK(1)")
        )
    return ids


def test_a_customer_has_a_score_with_reasons_or_none(
    sessions: sessionmaker[Session], scored: dict[str, int], customer_id: Callable[[str], int]
) -> None:
    found = CustomerScores(sessions).for_customer(scored["ada@example.com"])
    assert found is not None and found.percent == "90 %"
    assert [(r.feature, r.value_text, r.raises) for r in found.reasons] == [
        ("days since the last order", "12", True)
    ]
    assert CustomerScores(sessions).for_customer(customer_id("amelia.clarke@example.org")) is None


def test_likely_buyers_most_likely_first_filtered_and_for_supervisors_only(
    sessions: sessionmaker[Session], scored: dict[str, int]
) -> None:
    buyers = LikelyBuyers(sessions)
    with pytest.raises(SupervisorsOnly):
        buyers.list(AMY, BuyerFilter())

    def emails(**kwargs: object) -> list[str]:
        return [b.email for b in buyers.list(SUE, BuyerFilter(**kwargs))]  # type: ignore[arg-type]

    assert emails() == [
        "ada@example.com",
        "grace@example.org",
        "alan@example.com",
        "oliver.bennett@example.com",
    ]
    assert emails(min_score=0.5) == ["ada@example.com", "grace@example.org"]
    assert emails(newsletter=True) == ["ada@example.com"]
    assert "ada@example.com" not in emails(newsletter=False)
    assert emails(ordered_before=True)[:2] == ["ada@example.com", "grace@example.org"]
    assert emails(search="ALAN") == ["alan@example.com"]
    assert emails(search="bennett example") == ["oliver.bennett@example.com"]
    assert emails(search="%") == []  # wildcards are taken literally
    first = buyers.list(SUE, BuyerFilter())[0]
    assert first.orders == 5 and first.newsletter and first.name == "Ada Lovelace"
