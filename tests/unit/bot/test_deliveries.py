"""The delivery log: each platform delivery handled once, across processes, on both databases."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.channels.deliveries import DeliveryLog
from tests.conftest import postgres_url_in


def check(url: str) -> None:
    first, second = DeliveryLog(url), DeliveryLog(url)  # two processes' views of one database
    delivery = uuid.uuid4().hex
    assert first.first_time("telegram", delivery)
    assert not first.first_time("telegram", delivery)
    assert not second.first_time("telegram", delivery)
    assert second.first_time("slack", delivery)  # ids are per channel

    racing = uuid.uuid4().hex
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda log: log.first_time("twilio", racing), [first, second] * 8))
    assert results.count(True) == 1

    old = uuid.uuid4().hex
    assert first.first_time("messenger", old)
    assert first.forget_before(time.time() + 1) >= 1
    assert first.first_time("messenger", old)  # forgotten after the retention


def test_each_delivery_is_handled_once_on_sqlite(tmp_path: Path) -> None:
    check(f"sqlite:///{tmp_path / 'locks.db'}")


@pytest.mark.postgres
def test_each_delivery_is_handled_once_on_postgresql(postgres_schema: str) -> None:
    check(postgres_url_in(postgres_schema))


def test_a_log_without_a_database_is_refused() -> None:
    with pytest.raises(ValueError, match="LOCK_STORE_URL"):
        DeliveryLog("")


def test_a_number_chooses_from_the_list_shown_last_and_only_then(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'locks.db'}"
    shown, other_process = DeliveryLog(url), DeliveryLog(url)
    shown.offer("sms-1", ["track my order", "talk to a person"])
    assert other_process.choice("sms-1", "2") == "talk to a person"
    assert other_process.choice("sms-1", " 1. ") == "track my order"
    assert other_process.choice("sms-1", "3") == "3"  # no such option
    assert other_process.choice("sms-1", "100103") == "100103"  # an order number stays one
    assert other_process.choice("sms-2", "1") == "1"  # another conversation's list
    shown.offer("sms-1", [])  # the bot said something else since
    assert other_process.choice("sms-1", "2") == "2"
