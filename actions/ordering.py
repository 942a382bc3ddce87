"""Buying: placing an order, and changing the items of one that has not shipped.

`place_order` takes a product chosen by name to an unpaid order; `change_order` adds, removes
or re-counts an item of an order that has not shipped.

Products are found by the words the customer uses (:mod:`crm.records.catalogue`); when several fit,
the customer picks one from buttons (`product_choices`), by name or by its position. Prices,
totals and the delivery charge come from the records, and are shown before the customer
confirms.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ShopAction, TaskAction, call, latest_intent, verified_customer, yes_or_no
from actions.context import refers_back
from actions.form_answers import answer_to, asks_a_question, goes_on
from actions.order_helpers import ORDER_SLOTS, OrderTask, order_details, unverified_or_unknown
from actions.order_questions import last_question_about_returns
from actions.products import (
    InView,
    choices_in_view,
    just_talked_about_products,
    product_entities,
    product_in_view,
)
from actions.queue import Request, replay
from actions.recommend import offer_after_order
from actions.services import Services, get_services
from actions.verification import (
    EMAIL,
    ORDER_NUMBER,
    ORDER_STATUS,
    POSTCODE,
    VerifiedForm,
    VerifiedOrderForm,
    find_order_number,
    verified_or_explain,
)
from crm.records.catalogue import ProductMatch
from crm.records.errors import (
    InvalidQuantity,
    ItemNotInOrder,
    NoDefaultAddress,
    OrderNotEditable,
    OrderNotFound,
    OrderWouldBeEmpty,
    OutOfStock,
    ProductNotFound,
)
from crm.records.orders import MAX_QUANTITY
from crm.records.views import OrderView, format_money, is_changeable

PRODUCT_CHOICES = "product_choices"
ORDER_PRODUCT = "order_product"
ORDER_SKU = "order_sku"
ORDER_QUANTITY = "order_quantity"
CONFIRM_PLACE = "confirm_place_order"
CHANGE_PRODUCT = "change_product"
CHANGE_SKU = "change_sku"
CHANGE_QUANTITY = "change_quantity"
CONFIRM_CHANGE = "confirm_item_change"

_NUMBER_WORDS = {
    word: value
    for value, word in enumerate((
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
        "eighteen", "nineteen", "twenty",
    ))
}  # fmt: skip
_NUMBER_WORDS.update({"a": 1, "an": 1, "single": 1, "none": 0, "pair": 2, "couple": 2})
_QUANTITY = re.compile(r"\b(\d{1,3}|" + "|".join(_NUMBER_WORDS) + r")\b", re.I)
_A_PAIR = re.compile(r"\ban? (pair|couple)\b", re.I)
_REMOVE = re.compile(
    r"\b(remove|delete|take (?:[\w']+ ){0,4}?(?:out|off)|drop|get rid of|don'?t want)\b", re.I
)
# "add" as hurried typists write it too ("ad", "addd").
_MORE = re.compile(r"\b(add+|ad|more|extra|another|put)\b", re.I)
_ANOTHER = re.compile(r"\b(another|one more)\b", re.I)
# "add a kettle", "put an extra mug in": an article right after the verb counts one.
_ADD_ONE = re.compile(r"\b(?:add+|ad|put|throw|stick|include)\s+(?:in\s+)?an?\b", re.I)
_ORDINALS = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "last": -1}


# A number that measures time or size is no count of items: "after about three years", "in 2 days".
_NOT_A_COUNT = re.compile(
    r"\s*(?:more\s+|whole\s+|full\s+)?(?:years?|months?|weeks?|days?|hours?|hrs?|minutes?|mins?|"
    r"times|o'?clock|am|pm|cm|mm|kg|%|percent|per ?cent)\b",
    re.I,
)


def quantity_in(text: str, *, articles: bool = True) -> int | None:
    """The first quantity in `text`: "3", "three", "a pair" -> 2; None if there is none.

    With `articles=False`, "a" and "an" do not count ("I want to place an order"); a number of
    years, days or centimetres is no count ("after three years of saying we would").
    """
    said = _A_PAIR.sub(r"\1", text)
    for match in _QUANTITY.finditer(said):
        word = match.group(1).lower()
        if not articles and word in ("a", "an"):
            continue
        if _NOT_A_COUNT.match(said, match.end()):
            continue
        return int(word) if word.isdigit() else _NUMBER_WORDS[word]
    return None


def is_a_count(text: str) -> bool:
    """True if `text` can answer "how many?": it holds a number and asks nothing."""
    return quantity_in(text) is not None and not asks_a_question(text)


# "not two, three": a number the customer takes back.
_TAKEN_BACK = re.compile(
    r"\b(?:not|no|instead of|rather than)\s+(?:\d{1,3}|" + "|".join(_NUMBER_WORDS) + r")\b", re.I
)


# "not the cups", "keep the cups": a product named only to say it is not the one meant.
_NOT_THIS = re.compile(r"\b(?:not|keep|rather than|instead of)\s+(?:the\s+)?[a-z][^,.;!?\d]*", re.I)
# What may surround an order number given alone ("100201", "order no. 100201").
_OTHER_THAN_NUMBER = re.compile(r"\d{6}|\b(?:order|number|no|it's|its|is|the)\b|[^\w]", re.I)


# Words that make a message a correction rather than an aside ("quick one before I confirm").
_CORRECTS = re.compile(
    r"\b(make (?:it|that|them)|change (?:it|that) to|actually|instead|rather|sorry|wait|"
    r"oops|no|not|only|just)\b",
    re.I,
)
# "that one", "the other one": a pointer, not a count.
_POINTING_ONE = re.compile(
    r"\b(?:that|this|the|which|other|each|any|every|quick|another|last|first|same|right|wrong)"
    r"\s+one\b",
    re.I,
)
_BARE_COUNT_WORDS = 3


def corrected_quantity(text: str) -> int | None:
    """The count a correction asks for: "no wait, make that two" -> 2, "not 2 but 3" -> 3.

    Only a correction counts: words that correct, or little but the count ("three sets"); a
    question asked at the confirmation ("quick one: will the invoice show VAT?") is none.
    """
    if "?" in text:
        return None
    if not _CORRECTS.search(text) and len(text.split()) > _BARE_COUNT_WORDS:
        return None
    return quantity_in(_POINTING_ONE.sub(" ", _TAKEN_BACK.sub(" ", text)), articles=False)


def chosen_from(text: str, choices: list[str]) -> str | None:
    """The offered product the customer picked by name or position ("the second one", "2")."""
    typed = text.strip().casefold()
    for name in choices:
        if typed == name.casefold():
            return name
    words = typed.split()
    for word, position in _ORDINALS.items():
        if word in words:
            return choices[position] if -len(choices) <= position < len(choices) else None
    if typed.isdigit() and 1 <= int(typed) <= len(choices):
        return choices[int(typed) - 1]
    return None


def pick(matches: list[ProductMatch], text: str) -> ProductMatch | list[ProductMatch] | None:
    """One product when the words name one clearly, the candidates when several fit."""
    if not matches:
        return None
    exact = [m for m in matches if m.name.casefold() == text.strip().casefold() or m.score == 1]
    if len(exact) == 1:
        return exact[0]
    return matches[0] if len(matches) == 1 else matches


def product_buttons(choices: list[str]) -> list[dict[str, str]]:
    """Quick replies for the offered products; the payload is the product's name."""
    return [{"title": name, "payload": name} for name in choices]


def quantity_slot(
    slot: str, value: Any, low: int, dispatcher: CollectingDispatcher
) -> dict[str, Any]:
    """A whole number from `low` to the most one order line may hold, or ask again."""
    number = value if isinstance(value, int) else quantity_in(str(value or ""))
    if number is None or not low <= number <= MAX_QUANTITY:
        dispatcher.utter_message(response="utter_invalid_quantity", low=low, high=MAX_QUANTITY)
        return {slot: None}
    return {slot: str(number)}


async def product_slot(
    name_slot: str,
    sku_slot: str,
    value: Any,
    tracker: Tracker,
    dispatcher: CollectingDispatcher,
    *,
    among: OrderView | None = None,
) -> dict[str, Any]:
    """Resolve the customer's words to one product, offer choices, or say nothing matched.

    With `among`, the products already in that order are preferred, so "the towels" means the
    towels the customer bought rather than any towel in the catalogue.
    """
    text = str(value or "")
    choices = list(tracker.get_slot(PRODUCT_CHOICES) or [])
    named = chosen_from(text, choices) if choices else None
    matches = await call(get_services().catalogue.find_products, named or text, limit=5)
    if among is not None:
        ordered = {item.sku for item in among.items}
        in_order = [m for m in matches if m.sku in ordered]
        matches = in_order or matches
    found = pick(matches[:3], named or text)
    if found is None:
        dispatcher.utter_message(response="utter_product_not_found", product=text[:60])
        return {name_slot: None, sku_slot: None, PRODUCT_CHOICES: None}
    if isinstance(found, list):
        return {name_slot: None, sku_slot: None, PRODUCT_CHOICES: [m.name for m in found]}
    return {name_slot: found.name, sku_slot: found.sku, PRODUCT_CHOICES: None}


class AskForProduct(ShopAction):
    """Ask which product; when several matched, offer them as buttons."""

    ask: str = ""

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """The plain question, or the choices."""
        choices = list(tracker.get_slot(PRODUCT_CHOICES) or [])
        if choices:
            dispatcher.utter_message(
                response="utter_ask_product_choice", buttons=product_buttons(choices)
            )
        else:
            dispatcher.utter_message(response=self.ask)
        return []


# --- place_order --------------------------------------------------------------------------

# "add a chopping board to order 100102": something to go into an order already placed.
_INTO_ORDER = re.compile(
    r"\b(?:to|on|onto|in|into)\s+(?:my\s+|the\s+)?(?:order|parcel)\s+"
    r"(?:no\.?\s*|number\s*|#\s*)?\d{6}\b",
    re.I,
)
CHANGE_ORDER = "change_order"
GET_REFUND = "get_refund"


class ActionPlaceOrderOrChange(ShopAction):
    """A request to order something that names an order already placed: a change to that order.

    "can you add a chopping board to order 100102" reads as placing an order to the NLU as often
    as not; the customer means the order they named. So does "ok, start one for 100104 then"
    right after an answer about returns, which names no product: a return of that order, so
    its refund. Any other order request is placed as usual.
    """

    def name(self) -> str:
        """Used by the rule for `place_order` naming an order number."""
        return "action_place_order_or_change"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Change the named order, or go on placing a new one."""
        text = str(tracker.latest_message.get("text") or "")
        entities = [e for e in tracker.latest_message.get("entities") or [] if isinstance(e, dict)]
        if _INTO_ORDER.search(text) is None:
            if last_question_about_returns(tracker) and not await call(
                services.catalogue.product_mentioned, text
            ):
                return replay(Request(intent=GET_REFUND, text=text, entities=entities), tracker)
            return [FollowupAction("place_order_form")]
        return replay(Request(intent=CHANGE_ORDER, text=text, entities=entities), tracker)


class ValidatePlaceOrderForm(VerifiedForm):
    """The product (asked first), verification, the quantity, then a priced confirmation."""

    leading_slots = (ORDER_PRODUCT, ORDER_QUANTITY)

    def name(self) -> str:
        """Validation action of `place_order_form`."""
        return "validate_place_order_form"

    def task_slots(self, tracker: Tracker) -> list[str]:
        """The confirmation, with the price and the address."""
        return [CONFIRM_PLACE]

    async def extract_order_quantity(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A count in the request itself ("I'd like 2 kettles"); "a kettle" is asked, not 1.

        At the confirmation, a new count ("sorry, not two, three") corrects the order, which
        is then read back again. Asked for the count, the answer, unless it is something else
        (actions/form_answers.py); "carry on with the kettle" after an aside is one.
        """
        if tracker.get_slot("requested_slot") == CONFIRM_PLACE:
            text = str(tracker.latest_message.get("text") or "")
            number = corrected_quantity(text)
            if number is None or str(number) == str(tracker.get_slot(ORDER_QUANTITY)):
                return {}
            return {ORDER_QUANTITY: number, CONFIRM_PLACE: None}
        if tracker.get_slot("requested_slot") == ORDER_QUANTITY:
            text = str(tracker.latest_message.get("text") or "")
            if goes_on(text) and quantity_in(text) is None:
                # "carry on with the kettle" after an aside: the one asked for; the read-back
                # shows the count, and a new one there corrects it.
                return {ORDER_QUANTITY: 1}
            # "How long does delivery take?" is not a count: the rules answer it.
            return answer_to(ORDER_QUANTITY, tracker, is_a_count)
        if tracker.get_slot(ORDER_QUANTITY) is not None or tracker.get_slot("requested_slot"):
            return {}
        if latest_intent(tracker) != "place_order":
            return {}
        number = quantity_in(str(tracker.latest_message.get("text") or ""), articles=False)
        return {} if number is None else {ORDER_QUANTITY: number}

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Also keep the choices `extract_order_product` offers (forms validate only their own)."""
        offered = tracker.slots_to_validate().get(PRODUCT_CHOICES)
        events: list[EventType] = await super().get_validation_events(dispatcher, tracker, domain)
        if offered and not any(e.get("name") == PRODUCT_CHOICES for e in events):
            events.append(SlotSet(PRODUCT_CHOICES, offered))
        return events

    async def extract_order_product(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The product in view, when the request to order points back at it.

        "Order one for me then", "I'll take that one" or "get me two of those" right after the
        agent talked about products (actions/products.py): the one the words name among those
        listed, else the one the conversation is about; with only a list in view, its products
        are offered as the choices.
        """
        text = str(tracker.latest_message.get("text") or "")
        starting = tracker.get_slot("requested_slot") is None
        if (
            not starting
            or tracker.get_slot(ORDER_PRODUCT)
            or latest_intent(tracker) != "place_order"
            or product_entities(tracker.latest_message.get("entities") or [])
            or not just_talked_about_products(tracker)
            or not (refers_back(text) or quantity_in(text, articles=False) is not None)
        ):
            return {}
        services = get_services()
        view = InView.of(tracker)
        product = await product_in_view(services, text, view)
        if product is not None:
            return {ORDER_PRODUCT: product.name}
        listed = await choices_in_view(services, view)
        return {PRODUCT_CHOICES: listed} if len(listed) > 1 else {}

    async def validate_order_product(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """One product from the catalogue, not sold out."""
        slots = await product_slot(ORDER_PRODUCT, ORDER_SKU, value, tracker, dispatcher)
        sku = slots.get(ORDER_SKU)
        if sku and await call(get_services().catalogue.stock, sku) == 0:
            dispatcher.utter_message(
                response="utter_product_out_of_stock", product=slots[ORDER_PRODUCT]
            )
            return {**slots, ORDER_PRODUCT: None, ORDER_SKU: None}
        return slots

    async def validate_order_quantity(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """1 to 20, and somewhere to deliver them: without a saved address, nothing to confirm."""
        slots = quantity_slot(ORDER_QUANTITY, value, 1, dispatcher)
        sku = tracker.get_slot(ORDER_SKU)
        if slots[ORDER_QUANTITY] is not None and sku:
            stock = await call(get_services().catalogue.stock, str(sku))
            if stock is not None and int(slots[ORDER_QUANTITY]) > stock:
                dispatcher.utter_message(
                    response="utter_product_low_stock",
                    product=tracker.get_slot(ORDER_PRODUCT),
                    available=stock,
                )
                return {ORDER_QUANTITY: None}
        customer_id = verified_customer(tracker)
        if slots[ORDER_QUANTITY] is None or customer_id is None or not sku:
            return slots
        try:
            await call(get_services().orders.quote_order, customer_id, [(str(sku), 1)])
        except NoDefaultAddress:
            dispatcher.utter_message(response="utter_no_default_address")
            slots[CONFIRM_PLACE] = False
        return slots

    async def validate_confirm_place_order(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A yes or a no; anything else asks again."""
        return yes_or_no(CONFIRM_PLACE, value)


class ActionAskOrderProduct(AskForProduct):
    """Asks for `order_product`."""

    ask = "utter_ask_order_product"

    def name(self) -> str:
        """Rasa calls `action_ask_<slot>` instead of the `utter_ask_<slot>` response."""
        return "action_ask_order_product"


class ActionAskConfirmPlaceOrder(ShopAction):
    """Show what the order will cost and where it goes, and ask to confirm."""

    def name(self) -> str:
        """Asks for `confirm_place_order`."""
        return "action_ask_confirm_place_order"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Price it from the records; without a saved address, say how to add one."""
        customer_id = verified_customer(tracker)
        sku = str(tracker.get_slot(ORDER_SKU) or "")
        quantity = int(tracker.get_slot(ORDER_QUANTITY) or 1)
        if customer_id is None:
            return []
        try:
            quote = await call(services.orders.quote_order, customer_id, [(sku, quantity)])
        except NoDefaultAddress:
            # The address was removed since the quantity was checked; the answer says so.
            dispatcher.utter_message(response="utter_no_default_address")
            return []
        except OutOfStock as short:  # sold since the quantity was checked
            dispatcher.utter_message(
                response="utter_order_out_of_stock", product=short.name, available=short.available
            )
            return []  # a yes then meets the same check when placing, and nothing is placed
        dispatcher.utter_message(
            response="utter_ask_confirm_place_order",
            quantity=quantity,
            product=tracker.get_slot(ORDER_PRODUCT),
            goods=format_money(quote.goods_pence),
            delivery=quote.delivery_display,
            method=quote.delivery_method,
            total=quote.total_display,
            address=quote.shipping_address,
        )
        return []


PLACE_SLOTS = (ORDER_PRODUCT, ORDER_SKU, ORDER_QUANTITY, CONFIRM_PLACE, PRODUCT_CHOICES)


class ActionPlaceOrder(TaskAction):
    """`place_order`: an order in state placed, and the page where the customer pays."""

    forgets = (*PLACE_SLOTS, EMAIL, POSTCODE)

    def name(self) -> str:
        """Runs when `place_order_form` completes."""
        return "action_place_order"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Place it, or say nothing was ordered and why."""
        done = self.forget()
        customer_id = verified_or_explain(dispatcher, tracker)
        if customer_id is None:
            return done
        if tracker.get_slot(CONFIRM_PLACE) is not True:
            dispatcher.utter_message(response="utter_order_not_placed")
            return done
        sku = str(tracker.get_slot(ORDER_SKU) or "")
        try:
            placed = await call(
                services.orders.place_order,
                customer_id,
                [(sku, int(tracker.get_slot(ORDER_QUANTITY) or 0))],
                actor="bot",
                conversation_id=tracker.sender_id,
            )
        except NoDefaultAddress:
            dispatcher.utter_message(response="utter_no_default_address")
        except ProductNotFound:
            dispatcher.utter_message(
                response="utter_product_not_found", product=tracker.get_slot(ORDER_PRODUCT)
            )
        except InvalidQuantity:
            dispatcher.utter_message(response="utter_invalid_quantity", low=1, high=MAX_QUANTITY)
        except OutOfStock as short:
            dispatcher.utter_message(
                response="utter_order_out_of_stock", product=short.name, available=short.available
            )
        else:
            dispatcher.utter_message(
                response="utter_order_placed",
                payment_url=placed.payment_url,
                address=placed.order.shipping_address,
                **order_details(placed.order),
            )
            await offer_after_order(dispatcher, services, customer_id, sku)
        return done


# --- change_order -------------------------------------------------------------------------


class ValidateChangeOrderForm(VerifiedOrderForm):
    """Order number, verification, then which item, how many, and a confirmation."""

    # "add a kettle to my order": the product is the change, not which order it is.
    products_describe_order = False

    def name(self) -> str:
        """Validation action of `change_order_form`."""
        return "validate_change_order_form"

    def task_slots(self, tracker: Tracker) -> list[str]:
        """Ask about items only while the order has not shipped."""
        if is_changeable(tracker.get_slot(ORDER_STATUS)):
            return [CHANGE_PRODUCT, CHANGE_QUANTITY, CONFIRM_CHANGE]
        return []

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Also keep how many the request itself asked for, before verification asks anything.

        "Remove the bath towel from 100102" or "put 3 more jars in it" says the quantity once,
        in the message that starts the task; the item questions come after verification, when
        that message is no longer the latest, so the count is kept now (`requested_quantity`)
        and settled against the order once it is found (`on_order_found`).
        """
        kept: str | None = None
        # Only in the message that starts the task, before the form has asked anything.
        starting = tracker.get_slot("requested_slot") is None and not tracker.get_slot(
            CHANGE_QUANTITY
        )
        if starting and latest_intent(tracker) == "change_order":
            kept = requested_quantity(str(tracker.latest_message.get("text") or ""))
            tracker.slots[CHANGE_QUANTITY] = kept
        events: list[EventType] = await super().get_validation_events(dispatcher, tracker, domain)
        settled = any(e.get("name") == CHANGE_QUANTITY for e in events)
        if kept is not None and not settled:
            events.append(SlotSet(CHANGE_QUANTITY, kept))
        return events

    async def extract_change_quantity(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """At the confirmation, a new count ("no wait, make that two") is read back again.

        The count is what the read-back named: how many to add of an item the order lacks,
        otherwise how many the order should hold.
        """
        if tracker.get_slot("requested_slot") != CONFIRM_CHANGE:
            return {}
        number = corrected_quantity(str(tracker.latest_message.get("text") or ""))
        if number is None or str(number) == str(tracker.get_slot(CHANGE_QUANTITY)):
            return {}
        return {CHANGE_QUANTITY: number, CONFIRM_CHANGE: None}

    async def on_order_found(
        self, number: str, customer_id: int, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """Resolve a product named in the request ("remove the kettle from 100102") now.

        A quantity said in the request is settled against the order ("3 more" of what it
        holds; nothing to remove if it holds none). When the customer switches to another order
        midway ("sorry, I meant 100102"), the item questions start again for it.
        """
        if tracker.get_slot(ORDER_STATUS) is not None:
            return {slot: None for slot in CHANGE_SLOTS}
        named = tracker.get_slot(CHANGE_PRODUCT)
        if not named:
            return {}
        order = await call(get_services().orders.get_order, number, customer_id)
        slots: dict[str, Any] = {}
        if not tracker.get_slot(CHANGE_SKU):
            slots = await product_slot(
                CHANGE_PRODUCT, CHANGE_SKU, named, tracker, dispatcher, among=order
            )
        sku = slots.get(CHANGE_SKU, tracker.get_slot(CHANGE_SKU))
        wanted = tracker.get_slot(CHANGE_QUANTITY)
        if sku and wanted is not None:
            slots.update(self._settle(dispatcher, order, str(sku), str(wanted), str(named)))
        return slots

    def _settle(
        self,
        dispatcher: CollectingDispatcher,
        order: OrderView,
        sku: str,
        wanted: str,
        product: str,
    ) -> dict[str, Any]:
        """A kept quantity made absolute for this order's item, or the item asked again."""
        now = current_quantity(order, sku)
        count = now + int(wanted) if wanted[:1] in ("+", "-") else int(wanted)
        if count == 0 and now == 0:
            return self._not_in_order(dispatcher, order, product)
        if not 0 <= count <= MAX_QUANTITY:
            dispatcher.utter_message(response="utter_invalid_quantity", low=0, high=MAX_QUANTITY)
            return {CHANGE_QUANTITY: None}
        return {CHANGE_QUANTITY: str(count)}

    async def validate_change_product(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A product, preferring the order's own; "remove the kettle" also sets 0.

        An order number given here is which order, not a product: the same order asks for the
        item again, another one moves the task to it. "The Wool Throw, 2 instead of 1" says how
        many too; "the jars, not the cups" names the jars.
        """
        text = str(tracker.latest_message.get("text") or "")
        number = find_order_number(str(value or ""))
        if number is not None and not _OTHER_THAN_NUMBER.sub("", str(value or "")).strip():
            if number == str(tracker.get_slot(ORDER_NUMBER) or ""):
                return {CHANGE_PRODUCT: None}
            moved = await self.validate_order_number(number, dispatcher, tracker, domain)
            return {**moved, CHANGE_PRODUCT: None}
        order = await self._order(tracker)
        named = _NOT_THIS.sub(" ", str(value or ""))
        slots = await product_slot(
            CHANGE_PRODUCT, CHANGE_SKU, named, tracker, dispatcher, among=order
        )
        sku = slots.get(CHANGE_SKU)
        if sku and _REMOVE.search(text) and quantity_in(text) is None:
            if order is not None and current_quantity(order, sku) == 0:
                return self._not_in_order(dispatcher, order, str(slots[CHANGE_PRODUCT]))
            slots[CHANGE_QUANTITY] = "0"
        said = requested_quantity(_TAKEN_BACK.sub(" ", _NOT_THIS.sub(" ", text)))
        if sku and order is not None and said is not None and CHANGE_QUANTITY not in slots:
            slots.update(
                self._settle(dispatcher, order, str(sku), said, str(slots[CHANGE_PRODUCT]))
            )
        kept = tracker.get_slot(CHANGE_QUANTITY)
        if sku and order is not None and kept is not None and CHANGE_QUANTITY not in slots:
            # A count from the request ("3 more"), now that the item is known.
            slots.update(
                self._settle(dispatcher, order, str(sku), str(kept), str(slots[CHANGE_PRODUCT]))
            )
        return slots

    async def validate_change_quantity(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """0 (remove) to 20; "remove it" means 0, and only what the order has can go."""
        text = str(value or "")
        if _REMOVE.search(text) and quantity_in(text) is None:
            slots: dict[str, Any] = {CHANGE_QUANTITY: "0"}
        else:
            slots = quantity_slot(CHANGE_QUANTITY, value, 0, dispatcher)
        sku = tracker.get_slot(CHANGE_SKU)
        if slots[CHANGE_QUANTITY] == "0" and sku:
            order = await self._order(tracker)
            if order is not None and current_quantity(order, str(sku)) == 0:
                product = str(tracker.get_slot(CHANGE_PRODUCT))
                return self._not_in_order(dispatcher, order, product)
        return slots

    @staticmethod
    def _not_in_order(
        dispatcher: CollectingDispatcher, order: OrderView, product: str
    ) -> dict[str, Any]:
        """Nothing to remove: say so and ask which item to remove instead."""
        dispatcher.utter_message(
            response="utter_item_not_in_order", order_number=order.number, product=product
        )
        # Still a removal: "the jars, not the cups" next names what to remove instead.
        return {CHANGE_PRODUCT: None, CHANGE_SKU: None, CHANGE_QUANTITY: "0"}

    @staticmethod
    async def _order(tracker: Tracker) -> OrderView | None:
        """The order being changed, when the customer is verified and it is known."""
        customer_id = verified_customer(tracker)
        number = tracker.get_slot(ORDER_NUMBER)
        if customer_id is None or not number:
            return None
        try:
            return await call(get_services().orders.get_order, str(number), customer_id)
        except OrderNotFound:
            return None

    async def validate_confirm_item_change(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A yes or a no; anything else asks again."""
        return yes_or_no(CONFIRM_CHANGE, value)


class ActionAskChangeProduct(AskForProduct):
    """Asks for `change_product`."""

    ask = "utter_ask_change_product"

    def name(self) -> str:
        """Rasa calls `action_ask_<slot>` instead of the `utter_ask_<slot>` response."""
        return "action_ask_change_product"


def requested_quantity(text: str) -> str | None:
    """How many a change request asks for: "0" to remove, "+3" for three more, "4", or None.

    "Add", "more", "another" and "extra" count on top of what the order holds, "remove 2" off
    it ("-2"), settled once the order is known; a bare count is what the order should hold;
    "add a kettle" is one more, but "a kettle" alone ("I'd like a kettle in it") is asked.
    """
    number = quantity_in(text, articles=False)
    if number is None:
        if _REMOVE.search(text):
            return "0"
        return "+1" if _ANOTHER.search(text) or _ADD_ONE.search(text) else None
    if _REMOVE.search(text):
        return f"-{number}"
    return f"+{number}" if _MORE.search(text) else str(number)


def current_quantity(order: OrderView, sku: str) -> int:
    """How many of `sku` the order holds now (0 if none)."""
    return next((item.quantity for item in order.items if item.sku == sku), 0)


class ActionAskConfirmItemChange(ShopAction):
    """Say exactly what will change in the order, and ask to confirm."""

    def name(self) -> str:
        """Asks for `confirm_item_change`."""
        return "action_ask_confirm_item_change"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Add, remove, or change the count."""
        customer_id = verified_customer(tracker)
        if customer_id is None:
            return []
        number = str(tracker.get_slot(ORDER_NUMBER))
        sku = str(tracker.get_slot(CHANGE_SKU) or "")
        wanted = int(tracker.get_slot(CHANGE_QUANTITY) or 0)
        order = await call(services.orders.get_order, number, customer_id)
        product = await call(services.catalogue.get_product, sku)
        now = current_quantity(order, sku)
        kind = "add" if now == 0 else "remove" if wanted == 0 else "quantity"
        dispatcher.utter_message(
            response=f"utter_ask_confirm_item_{kind}",
            order_number=number,
            product=product.name,
            price=format_money(product.price_pence),
            current=now,
            quantity=wanted,
        )
        return []


CHANGE_SLOTS = (CHANGE_PRODUCT, CHANGE_SKU, CHANGE_QUANTITY, CONFIRM_CHANGE, PRODUCT_CHOICES)


def item_lines(order: OrderView) -> str:
    """The order's items, one per line: "2 × Linen Tea Towels (set of 3)"."""
    return "\n".join(f"• {item.quantity} × {item.name}" for item in order.items)


class ActionChangeOrder(OrderTask):
    """`change_order`: set an item's quantity, recompute the total, settle the difference."""

    forgets = (*ORDER_SLOTS, *CHANGE_SLOTS)

    def name(self) -> str:
        """Runs when `change_order_form` completes."""
        return "action_change_order"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, services: Services
    ) -> list[EventType]:
        """Change, keep, or explain why not."""
        done = self.forget()
        if unverified_or_unknown(dispatcher, tracker):
            return done
        number = str(tracker.get_slot(ORDER_NUMBER))
        status = str(tracker.get_slot(ORDER_STATUS))
        if not is_changeable(status):
            dispatcher.utter_message(
                response=f"utter_change_not_possible_{status}", order_number=number
            )
            return done
        if tracker.get_slot(CONFIRM_CHANGE) is not True:
            dispatcher.utter_message(response="utter_order_change_kept", order_number=number)
            return done
        customer_id = verified_customer(tracker)
        assert customer_id is not None
        sku = str(tracker.get_slot(CHANGE_SKU) or "")
        try:
            change = await call(
                services.orders.change_item,
                number,
                customer_id,
                sku=sku,
                quantity=int(tracker.get_slot(CHANGE_QUANTITY) or 0),
                actor="bot",
                conversation_id=tracker.sender_id,
            )
        except OrderNotEditable as refused:
            dispatcher.utter_message(
                response=f"utter_change_not_possible_{refused.status}", order_number=number
            )
        except OrderWouldBeEmpty:
            dispatcher.utter_message(response="utter_change_would_empty", order_number=number)
        except ItemNotInOrder:
            dispatcher.utter_message(
                response="utter_item_not_in_order",
                order_number=number,
                product=tracker.get_slot(CHANGE_PRODUCT),
            )
        except (OrderNotFound, ProductNotFound):
            dispatcher.utter_message(response="utter_order_not_found", order_number=number)
        except OutOfStock as short:
            dispatcher.utter_message(
                response="utter_change_out_of_stock",
                order_number=number,
                product=short.name,
                available=short.available,
            )
        else:
            dispatcher.utter_message(
                response="utter_order_items_changed",
                items=item_lines(change.order),
                **order_details(change.order),
            )
            if change.refund_pence:
                dispatcher.utter_message(
                    response="utter_order_change_refund",
                    amount=format_money(change.refund_pence),
                )
            elif change.payment_url:
                dispatcher.utter_message(
                    response="utter_order_change_balance",
                    amount=format_money(change.difference_pence),
                    payment_url=change.payment_url,
                )
        return done
