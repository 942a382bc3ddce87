"""One way to end a task: `forget_task`, through `TaskAction` when a task finishes and
`action_reset_task` (actions/tasks.py) when it is stopped midway."""

import inspect

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

import actions.account
import actions.address
import actions.delivery
import actions.feedback
import actions.money
import actions.ordering
import actions.orders
import actions.satisfaction
from actions.base import TaskAction, forget_task
from actions.order_helpers import ORDER_SLOTS, OrderTask
from actions.tasks import ActionResetTask
from tests.actions.conftest import DOMAIN, slot_events, tracker, verified

TASKS = sorted(
    (
        cls
        for module in (
            actions.account,
            actions.address,
            actions.delivery,
            actions.feedback,
            actions.money,
            actions.ordering,
            actions.orders,
            actions.satisfaction,
        )
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, TaskAction) and not inspect.isabstract(cls)
    ),
    key=lambda cls: cls.__name__,
)


def test_forgetting_empties_the_slots_then_zeroes_the_counters() -> None:
    assert forget_task(("a", "b"), ("tries",)) == [
        SlotSet("a", None),
        SlotSet("b", None),
        SlotSet("tries", 0),
    ]


def test_every_task_that_ends_a_form_forgets_through_task_action() -> None:
    assert {task().name() for task in TASKS} >= {
        "action_cancel_order",
        "action_change_order",
        "action_change_shipping_address",
        "action_create_account",
        "action_delivery_period",
        "action_list_invoices",
        "action_newsletter",
        "action_open_complaint",
        "action_record_csat",
        "action_request_refund",
        "action_track_order",
    }


@pytest.mark.parametrize("task", TASKS, ids=lambda cls: cls.__name__)
def test_a_task_forgets_only_slots_of_the_domain(task: type[TaskAction]) -> None:
    action = task()
    assert action.forgets, "a task with nothing to forget needs no TaskAction"
    assert set(action.forgets) | set(action.counters) <= set(DOMAIN["slots"])
    assert not {"customer_id", "verified_until", "verification_failures"} & set(action.forgets)


@pytest.mark.parametrize("task", TASKS, ids=lambda cls: cls.__name__)
def test_a_task_about_an_order_forgets_the_order_first(task: type[TaskAction]) -> None:
    action = task()
    if issubclass(task, OrderTask):
        assert action.forgets[: len(ORDER_SLOTS)] == ORDER_SLOTS
        assert action.counters == ("order_lookup_failures",)
    else:
        assert not set(ORDER_SLOTS) & set(action.forgets)


def test_a_failed_task_forgets_what_a_finished_one_does() -> None:
    cancel = actions.orders.ActionCancelOrder()
    assert (
        cancel.on_error(tracker())
        == cancel.forget()
        == [
            SlotSet("order_number", None),
            SlotSet("order_status", None),
            SlotSet("order_reference", None),
            SlotSet("confirm_cancel", None),
            SlotSet("order_lookup_failures", 0),
        ]
    )


async def test_stopping_midway_forgets_the_task_but_not_the_customer(services) -> None:
    slots = verified(
        order_number="100102",
        order_status="paid",
        confirm_cancel=True,
        verification_failures=1,
        order_lookup_failures=2,
    )
    events = await ActionResetTask().run(
        CollectingDispatcher(), tracker(slots, intent="stop"), DOMAIN
    )
    assert slot_events(events) == {
        "order_number": None,
        "order_status": None,
        "confirm_cancel": None,
        "order_lookup_failures": 0,
    }
    assert events[-1] == SlotSet("order_lookup_failures", 0)
