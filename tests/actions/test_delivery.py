"""The delivery skill (actions/delivery.py): when a named order should arrive, real SQLite."""

from rasa_sdk.executor import CollectingDispatcher

from actions.delivery import ActionDeliveryPeriod
from tests.actions.conftest import DOMAIN, responses, slot_events, tracker, verified


async def test_an_unshipped_order_gets_the_window_of_the_delivery_rules(services) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionDeliveryPeriod().run(
        dispatcher, tracker(verified(order_number="100102", order_status="paid")), DOMAIN
    )
    assert responses(dispatcher) == ["utter_delivery_estimate_rules"]
    message = dispatcher.messages[0]
    assert message["order_number"] == "100102"
    assert message["earliest"] and message["latest"]
    # The task is over: the order is forgotten, so the next request asks for its own.
    assert slot_events(events) == {
        "order_number": None,
        "order_status": None,
        "order_reference": None,
        "order_lookup_failures": 0,
    }


async def test_a_shipped_order_gets_the_carriers_estimate(services) -> None:
    dispatcher = CollectingDispatcher()
    await ActionDeliveryPeriod().run(
        dispatcher, tracker(verified(order_number="100103", order_status="shipped")), DOMAIN
    )
    assert responses(dispatcher) == ["utter_delivery_estimate_carrier"]


async def test_someone_elses_order_is_not_found(services) -> None:
    dispatcher = CollectingDispatcher()
    await ActionDeliveryPeriod().run(
        dispatcher,
        tracker(verified(customer_id=2, order_number="100102", order_status="paid")),
        DOMAIN,
    )
    assert responses(dispatcher) == ["utter_order_not_found"]
