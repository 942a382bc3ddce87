"""What the skills about one order share (actions/order_helpers.py), and the helpers that moved
beside it: `day` (actions/responses.py) and `verified_or_explain` (actions/verification.py)."""

import re
import time
from datetime import date, datetime

from rasa_sdk.executor import CollectingDispatcher

from actions.order_helpers import order_details, unverified_or_unknown
from actions.responses import day
from actions.verification import verified_or_explain
from tests.actions.conftest import ADA, DOMAIN, responses, tracker, verified


def test_a_day_reads_as_customers_write_it() -> None:
    assert day(date(2026, 11, 24)) == "Tue 24 Nov 2026"
    assert day(datetime(2026, 3, 1, 23, 59)) == "Sun 1 Mar 2026"
    assert day(None) == ""


def test_order_details_fill_every_order_status_response(services) -> None:
    details = order_details(services.orders.get_order("100102", ADA))
    assert details["order_number"] == "100102"
    assert details["status"] == "paid"
    assert details["total"] == "£54.90"
    assert details["item_count"] == 2
    for name, variants in DOMAIN["responses"].items():
        if name.startswith("utter_order_status_"):
            for variant in variants:
                assert set(re.findall(r"\{([a-z_]+)\}", variant["text"])) <= set(details), name


def test_a_verified_customer_is_answered_without_a_word() -> None:
    dispatcher = CollectingDispatcher()
    assert verified_or_explain(dispatcher, tracker(verified())) == ADA
    assert responses(dispatcher) == []


def test_an_expired_verification_is_explained() -> None:
    dispatcher = CollectingDispatcher()
    stale = {"customer_id": ADA, "verified_until": time.time() - 1}
    assert verified_or_explain(dispatcher, tracker(stale)) is None
    assert responses(dispatcher) == ["utter_verification_expired"]


def test_too_many_failed_verifications_are_explained() -> None:
    dispatcher = CollectingDispatcher()
    assert verified_or_explain(dispatcher, tracker({"verification_failures": 3})) is None
    assert responses(dispatcher) == ["utter_verification_locked"]


def test_a_form_that_gave_up_on_the_order_is_explained() -> None:
    dispatcher = CollectingDispatcher()
    assert unverified_or_unknown(dispatcher, tracker(verified(order_lookup_failures=3)))
    assert responses(dispatcher) == ["utter_order_lookup_gave_up"]


def test_a_found_order_of_a_verified_customer_goes_on() -> None:
    dispatcher = CollectingDispatcher()
    found = verified(order_number="100102", order_status="paid")
    assert not unverified_or_unknown(dispatcher, tracker(found))
    assert responses(dispatcher) == []
