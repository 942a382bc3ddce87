"""Deterministic demo data: customers, products and orders in every state.

The content (names, addresses, products, order numbers, items, statuses) comes from a fixed
random seed, so every run and every machine gets the same records; the dates are offsets from
``now``, so a shipped order is always "arriving in a couple of days" whenever the demo runs.
:func:`seed` only inserts what is missing, keyed by natural keys (customer email, product SKU,
order number, invoice number, ticket reference, newsletter email, canned response title), so
running it again changes nothing.

The first customers are fixed identities (:data:`DEMO_IDENTITIES`) that ``docs/demo.md`` and
the tests rely on. All emails are at example.com / example.org, GB phone numbers are in
Ofcom's range reserved for drama (07700 900xxx) and French ones in ARCEP's (01 99 00 xx xx).
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crm.records.addresses import AddressInput, parse_address
from crm.records.models import (
    Address,
    CannedResponse,
    Customer,
    Invoice,
    NewsletterSubscription,
    Order,
    OrderItem,
    OrderStatusEvent,
    Product,
    Refund,
    SupportTicket,
    utcnow,
)
from crm.records.numbers import REFERENCE_ALPHABET
from crm.tools.demo_facts import GUARANTEE_YEARS, PRODUCT_FACTS, STANDARD_GUARANTEE_YEARS

DEMO_SEED: Final = 20240611


# --- fixed identities ---------------------------------------------------------------------


@dataclass(frozen=True)
class DemoOrder:
    """A fixed demo order and the state it is seeded in."""

    number: str
    status: str


@dataclass(frozen=True)
class DemoIdentity:
    """A customer the docs and tests rely on, with the answers verification needs."""

    first_name: str
    last_name: str
    email: str
    address: str
    postcode: str
    orders: tuple[DemoOrder, ...]

    @property
    def name(self) -> str:
        """Full name for tables."""
        return f"{self.first_name} {self.last_name}"


DEMO_IDENTITIES: Final = (
    DemoIdentity(
        "Ada",
        "Lovelace",
        "ada@example.com",
        "12 Ancoats Way, Manchester, M4 6AB, GB",
        "M4 6AB",
        (
            DemoOrder("100101", "placed"),
            DemoOrder("100102", "paid"),
            DemoOrder("100103", "shipped"),
            DemoOrder("100104", "delivered"),
            DemoOrder("100105", "cancelled"),
        ),
    ),
    DemoIdentity(
        "Grace",
        "Hopper",
        "grace@example.org",
        "5 Rue de Rivoli, Paris, 75001, FR",
        "75001",
        (DemoOrder("100201", "paid"), DemoOrder("100202", "shipped")),
    ),
    DemoIdentity(
        "Alan",
        "Turing",
        "alan@example.com",
        "3 Kings Parade, Cambridge, CB2 1SJ, GB",
        "CB2 1SJ",
        (DemoOrder("100301", "delivered"),),
    ),
)

# Newsletter consent of fixed identities: Ada reads it, Alan left it (the row records when).
_NEWSLETTER: Final = (
    ("ada@example.com", True, timedelta(days=200)),
    ("alan@example.com", False, timedelta(days=45)),
)

# Replies staff insert in the console (crm/desk/canned.py): title, team (None: all), text. The
# refund and claim times are the help centre's (data/knowledge/).
_CANNED: Final = (
    (
        "Greeting",
        None,
        "Hi {customer_first_name}, I've read your conversation with our assistant and I'm "
        "looking into it now.",
    ),
    (
        "Still checking",
        None,
        "Thanks for waiting, {customer_first_name}. I'm still checking this and will be back "
        "with you in a few minutes.",
    ),
    (
        "Refund timing",
        "billing",
        "Once your return reaches our warehouse we refund your original payment method within "
        "5 working days, and you'll get an email when we do.",
    ),
    (
        "Anything else",
        None,
        "Is there anything else I can help you with today?",
    ),
)

# --- catalogue and other customers --------------------------------------------------------

# One product per line: sku | category | price in pence | name | description
_PRODUCTS_TABLE: Final = """
KIT-001 | kitchen | 7900 | Cast Iron Casserole 24cm | Enamelled cast iron, oven safe to 250°C.
KIT-002 | kitchen | 4500 | Chef's Knife 20cm | Forged stainless steel with an oak handle.
KIT-003 | kitchen | 1850 | Bamboo Chopping Board | Reversible board with a juice groove.
KIT-004 | kitchen | 3200 | Stoneware Mixing Bowl Set | Three nesting bowls, dishwasher safe.
KIT-005 | kitchen | 3995 | Enamel Kettle | 1.5 litre stovetop kettle, suits induction hobs.
KIT-006 | kitchen | 1600 | Linen Tea Towels (set of 3) | Stonewashed European linen.
KIT-007 | kitchen | 2400 | Copper Measuring Cups | Four cups from ¼ to 1 cup.
KIT-008 | kitchen | 2800 | Glass Storage Jars (set of 4) | Borosilicate glass, beech lids.
HOM-001 | home | 6500 | Wool Throw | Lambswool throw woven in Wales, 130 × 180 cm.
HOM-002 | home | 2200 | Linen Cushion Cover | 45 × 45 cm, hidden zip, pad not included.
HOM-003 | home | 8900 | Ceramic Table Lamp | Glazed base with a linen shade, E27 bulb.
HOM-004 | home | 1950 | Oak Picture Frame A4 | Solid oak with a white mount.
HOM-005 | home | 1495 | Scented Soy Candle | Fig and cedar, around 40 hours of burn time.
HOM-006 | home | 2700 | Jute Doormat | Natural jute with a non-slip back, 45 × 75 cm.
HOM-007 | home | 1800 | Cotton Bath Towel | 600 gsm organic cotton.
HOM-008 | home | 4200 | Wall Clock | Silent sweep movement, 30 cm face.
GAR-001 | garden | 1250 | Stainless Steel Trowel | Rust-proof blade with an ash handle.
GAR-002 | garden | 2100 | Terracotta Pot 30cm | Frost resistant, with a drainage hole.
GAR-003 | garden | 3400 | Galvanised Watering Can 7L | With a removable brass rose.
GAR-004 | garden | 2650 | Pruning Secateurs | Bypass secateurs for stems up to 20 mm.
GAR-005 | garden | 11900 | Raised Bed Kit | Larch raised bed, 120 × 60 × 30 cm.
GAR-006 | garden | 1795 | Bird Feeder | Hanging seed feeder with a squirrel guard.
GAR-007 | garden | 1500 | Garden Kneeler | Waterproof foam kneeling pad.
OUT-001 | outdoor | 14900 | Folding Bistro Set | Steel table and two chairs, powder coated.
OUT-002 | outdoor | 2495 | Solar Lantern | Warm white LED, lights for up to 8 hours.
OUT-003 | outdoor | 3500 | Picnic Blanket | Waterproof backing, folds with a carry strap.
OUT-004 | outdoor | 950 | Enamel Camping Mug | 350 ml, speckled enamel.
OUT-005 | outdoor | 12900 | Fire Pit Bowl | 60 cm steel bowl with a mesh guard.
OUT-006 | outdoor | 5900 | Hammock | Cotton rope hammock, holds up to 150 kg.
OUT-007 | outdoor | 2750 | Insulated Flask 750ml | Keeps drinks hot for 12 hours.
"""

# Products new to the shop: in the catalogue, in no demo order yet (the recommendations find
# them by their descriptions, crm/insights/recommend.py). Same columns as above.
_NEW_ARRIVALS_TABLE: Final = """
KIT-009 | kitchen | 850 | Loose Leaf Breakfast Tea | Assam and Ceylon blend, 250 g in a tin.
GAR-008 | garden | 699 | Wild Bird Seed 2kg | No-mess seed mix for hanging feeders.
"""

# Units in stock; a product left out is not tracked (NULL: always available). Two are sold out,
# so the demo shows recommendations skipping them.
_STOCK: Final = {
    "KIT-001": 12, "KIT-002": 25, "KIT-003": 40, "KIT-004": 18, "KIT-005": 30, "KIT-006": 60,
    "KIT-007": 15, "KIT-008": 22, "KIT-009": 80, "HOM-001": 9, "HOM-002": 35, "HOM-003": 6,
    "HOM-005": 120, "HOM-006": 0, "HOM-007": 45, "HOM-008": 7, "GAR-001": 33, "GAR-002": 28,
    "GAR-004": 14, "GAR-005": 4, "GAR-006": 19, "GAR-008": 150, "OUT-001": 0, "OUT-002": 26,
    "OUT-004": 70, "OUT-005": 5, "OUT-006": 8, "OUT-007": 24,
}  # fmt: skip
# Used up and bought again: recommendations may offer them right after they were bought.
_CONSUMABLES: Final = frozenset({"HOM-005", "KIT-009", "GAR-008"})

# One customer per line: first name | last name | email | address (parsed by parse_address)
_CUSTOMERS_TABLE: Final = """
Oliver | Bennett | oliver.bennett@example.com | 27 Clifton Road, Bristol, BS8 1AB
Amelia | Clarke | amelia.clarke@example.org | 14 Jesmond Road, Newcastle upon Tyne, NE2 1NL
Harry | Patel | harry.patel@example.com | 8 Hagley Road, Birmingham, B16 8TE
Isla | Murray | isla.murray@example.com | 41 Marchmont Road, Edinburgh, EH9 1HX, Scotland
Jack | Evans | jack.evans@example.org | 3 Cathedral Road, Cardiff, CF11 9LJ, Wales
Sophie | Turner | sophie.turner@example.com | Flat 4, 22 Hyde Park Road, Leeds, LS6 1AD
Mohammed | Khan | mohammed.khan@example.com | 56 Wilmslow Road, Manchester, M14 5TQ
Emily | Hughes | emily.hughes@example.org | 9 Bold Street, Liverpool, L1 4DS
George | Wilson | george.wilson@example.com | 17 Byres Road, Glasgow, G12 8AW
Charlotte | Davies | charlotte.davies@example.com | Rose Cottage, Church Lane, Ashford, TN25 5AB
Thomas | Wright | thomas.wright@example.org | 120 Mill Road, Cambridge, CB1 2BD
Priya | Sharma | priya.sharma@example.com | 33 Cowley Road, Oxford, OX4 1HP
William | Roberts | william.roberts@example.com | 5 Royal Avenue, Belfast, BT1 1DA, UK
Olivia | Green | olivia.green@example.org | 71 Upper Street, London, N1 0NY
Lucy | Walker | lucy.walker@example.com | 2 Pulteney Bridge, Bath, BA2 4AT
Daniel | O'Connor | daniel.oconnor@example.com | 18 Lord Street, Southport, PR8 1NZ
Aoife | Byrne | aoife.byrne@example.com | 14 Baggot Street Lower, Dublin 2, D02 F205, Ireland
Cian | Murphy | cian.murphy@example.org | 7 Oliver Plunkett Street, Cork, T12 T997, Ireland
Siobhán | Kelly | siobhan.kelly@example.com | 22 Shop Street, Galway, H91 E2K5, IE
Niamh | Walsh | niamh.walsh@example.com | 3 O'Connell Street, Limerick, V94 T9PX, Ireland
Conor | Ryan | conor.ryan@example.org | 45 Main Street, Blackrock, A94 W2N4, Ireland
Róisín | Doyle | roisin.doyle@example.com | 9 Ranelagh Road, Dublin, D06 C9P2, Ireland
Lukas | Müller | lukas.mueller@example.com | Torstraße 112, Berlin, 10119, Germany
Anna | Schmidt | anna.schmidt@example.org | Maximilianstraße 34, München, 80539, Deutschland
Jonas | Weber | jonas.weber@example.com | Schanzenstraße 7, Hamburg, 20357, DE
Lea | Fischer | lea.fischer@example.com | Ehrenstraße 58, Köln, 50672, Germany
Felix | Wagner | felix.wagner@example.org | Berger Straße 201, Frankfurt am Main, 60385, DE
Mia | Hoffmann | mia.hoffmann@example.com | Königstraße 26, Stuttgart, 70173, Germany
Camille | Martin | camille.martin@example.com | 18 Rue de la République, Lyon, 69002, France
Louis | Bernard | louis.bernard@example.org | 7 Quai des Chartrons, Bordeaux, 33000, France
Chloé | Dubois | chloe.dubois@example.com | 12 Rue Paradis, Marseille, 13001, FR
Hugo | Lefèvre | hugo.lefevre@example.com | 3 Place du Capitole, Toulouse, 31000, France
Manon | Moreau | manon.moreau@example.org | 45 Rue Nationale, Lille, 59800, France
Daan | de Vries | daan.devries@example.com | Keizersgracht 123, Amsterdam, 1015 CJ, NL
Emma | Jansen | emma.jansen@example.org | Oudegracht 45, Utrecht, 3511 AB, Netherlands
Sem | Bakker | sem.bakker@example.com | Witte de Withstraat 20, Rotterdam, 3012 BP, NL
Julia | Visser | julia.visser@example.com | Lange Voorhout 8, Den Haag, 2514 EA, Holland
Lars | van Dijk | lars.vandijk@example.org | Stratumseind 12, Eindhoven, 5611 ER, Netherlands
"""

# Second addresses (a workplace, a holiday home), so verification can match either.
_EXTRA_ADDRESSES: Final = {
    "amelia.clarke@example.org": "Unit 3, 40 Quayside, Newcastle upon Tyne, NE1 3DX",
    "thomas.wright@example.org": "2 Station Road, Ely, CB7 4BS",
    "lukas.mueller@example.com": "Seestraße 4, Potsdam, 14467, DE",
}


def _table(text: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.split("|")] for line in text.strip().splitlines()]


_CARRIERS: Final = {
    "GB": ("Royal Mail", "DPD", "Evri"),
    "IE": ("An Post", "DPD"),
    "DE": ("DHL", "DPD", "GLS"),
    "FR": ("DPD", "GLS"),
    "NL": ("DHL", "DPD", "GLS"),
}
# Generated orders per status; with the fixed ones every status is well represented.
_GENERATED_STATUSES: Final = {
    "delivered": 28,
    "shipped": 12,
    "paid": 10,
    "placed": 8,
    "cancelled": 14,
}

# --- plans: what the demo database should contain ----------------------------------------


@dataclass(frozen=True)
class CustomerPlan:
    """A customer to create, with their addresses (the first is the default)."""

    first_name: str
    last_name: str
    email: str
    phone: str | None
    created_at: datetime
    addresses: tuple[AddressInput, ...]


@dataclass(frozen=True)
class ProductPlan:
    """A catalogue entry to create."""

    sku: str
    name: str
    category: str
    price_pence: int
    description: str
    stock: int | None = None
    consumable: bool = False
    facts: dict[str, str] = dataclasses.field(default_factory=dict)
    guarantee_years: int | None = None


@dataclass(frozen=True)
class EventPlan:
    """One status change in an order's history."""

    status: str
    at: datetime
    actor: str
    note: str | None


@dataclass(frozen=True)
class RefundPlan:
    """A refund attached to an order."""

    amount_pence: int
    status: str
    reason: str
    requested_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True)
class OrderPlan:
    """An order with everything that hangs off it."""

    number: str
    email: str
    status: str
    address: AddressInput
    delivery_method: str
    carrier: str | None
    tracking_number: str | None
    placed_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    cancelled_at: datetime | None
    estimated_delivery: date | None
    items: tuple[tuple[str, int, int], ...]  # (sku, quantity, unit price in pence)
    events: tuple[EventPlan, ...]
    refunds: tuple[RefundPlan, ...]

    @property
    def total_pence(self) -> int:
        """Sum of the lines; delivery is free in the demo shop."""
        return sum(quantity * price for _, quantity, price in self.items)

    @property
    def invoice_number(self) -> str | None:
        """Orders get an invoice once paid (cancelled-after-payment ones keep theirs)."""
        return f"INV-{self.number}" if self.paid_at is not None else None


@dataclass(frozen=True)
class TicketPlan:
    """A support ticket to create."""

    reference: str
    email: str | None
    conversation_id: str
    category: str
    subject: str
    status: str
    created_at: datetime


@dataclass(frozen=True)
class NewsletterPlan:
    """A newsletter consent record to create."""

    email: str
    subscribed: bool
    changed_at: datetime
    source: str


@dataclass(frozen=True)
class DemoDataset:
    """Everything :func:`seed` inserts, built without touching the database."""

    customers: tuple[CustomerPlan, ...]
    products: tuple[ProductPlan, ...]
    orders: tuple[OrderPlan, ...]
    tickets: tuple[TicketPlan, ...]
    newsletter: tuple[NewsletterPlan, ...] = ()


@dataclass(frozen=True)
class SeedReport:
    """How many rows :func:`seed` inserted; all zero when the data was already there."""

    customers: int = 0
    addresses: int = 0
    products: int = 0
    orders: int = 0
    order_items: int = 0
    status_events: int = 0
    invoices: int = 0
    refunds: int = 0
    tickets: int = 0
    newsletter_subscriptions: int = 0
    canned_responses: int = 0

    @property
    def total(self) -> int:
        """Rows inserted in all tables."""
        return sum(getattr(self, field.name) for field in fields(self))


def build_dataset(now: datetime) -> DemoDataset:
    """Return the demo records for a database seeded at ``now`` (aware UTC datetime).

    Only dates depend on ``now``; the random generator is seeded with :data:`DEMO_SEED` and
    consumed in a fixed order, so the content is the same on every run.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    rng = random.Random(DEMO_SEED)  # noqa: S311 - reproducible demo content, not secrets
    products = tuple(
        ProductPlan(
            sku=sku,
            name=name,
            category=category,
            price_pence=int(price),
            description=desc,
            stock=_STOCK.get(sku),
            consumable=sku in _CONSUMABLES,
            facts=dict(PRODUCT_FACTS.get(sku, {})),
            guarantee_years=GUARANTEE_YEARS.get(sku, STANDARD_GUARANTEE_YEARS),
        )
        for sku, category, price, name, desc in _table(_PRODUCTS_TABLE)
        + _table(_NEW_ARRIVALS_TABLE)
    )
    prices = {product.sku: product.price_pence for product in products}
    # New arrivals are in no generated order, and the older products' orders stay as they were.
    ordered = sorted(row[0] for row in _table(_PRODUCTS_TABLE))

    customers = [
        _fixed_customer(identity, index, now) for index, identity in enumerate(DEMO_IDENTITIES)
    ]
    for index, (first, last, email, address) in enumerate(
        _table(_CUSTOMERS_TABLE), start=len(DEMO_IDENTITIES)
    ):
        extra = _EXTRA_ADDRESSES.get(email)
        parsed = tuple(parse_address(text) for text in (address, extra) if text)
        customers.append(
            CustomerPlan(
                first_name=first,
                last_name=last,
                email=email,
                phone=_phone(parsed[0].country, index),
                created_at=now
                - timedelta(days=120 + rng.randint(0, 900), hours=rng.randint(0, 23)),
                addresses=parsed,
            )
        )

    orders = _fixed_orders(customers, prices, now)
    orders += _generated_orders(rng, customers[len(DEMO_IDENTITIES) :], prices, ordered, now)
    tickets = _tickets(rng, customers, now)
    newsletter = tuple(
        NewsletterPlan(email, subscribed, now - age, "import")
        for email, subscribed, age in _NEWSLETTER
    )
    return DemoDataset(tuple(customers), products, tuple(orders), tuple(tickets), newsletter)


def _fixed_customer(identity: DemoIdentity, index: int, now: datetime) -> CustomerPlan:
    address = parse_address(identity.address)
    return CustomerPlan(
        first_name=identity.first_name,
        last_name=identity.last_name,
        email=identity.email,
        phone=_phone(address.country, index),
        created_at=now - timedelta(days=365 + 30 * index),
        addresses=(address,),
    )


def _phone(country: str, index: int) -> str | None:
    # Only numbers reserved for fiction, so a demo can never ring a real person.
    if country == "GB":
        return f"+44 7700 900{index:03d}"
    if country == "FR":
        return f"+33 1 99 00 {index // 100:02d} {index % 100:02d}"
    return None


def _events(
    placed_at: datetime,
    paid_at: datetime | None,
    shipped_at: datetime | None,
    delivered_at: datetime | None,
    cancelled_at: datetime | None,
    carrier: str | None,
) -> tuple[EventPlan, ...]:
    events = [EventPlan("placed", placed_at, "customer", "order placed on larkspur.example")]
    if paid_at:
        events.append(EventPlan("paid", paid_at, "system:payments", "card payment captured"))
    if shipped_at:
        events.append(EventPlan("shipped", shipped_at, "system:warehouse", f"handed to {carrier}"))
    if delivered_at:
        events.append(EventPlan("delivered", delivered_at, "system:carrier", "delivered"))
    if cancelled_at:
        events.append(EventPlan("cancelled", cancelled_at, "customer", "cancelled by the customer"))
    return tuple(events)


def _order(
    number: str,
    customer: CustomerPlan,
    status: str,
    items: Sequence[tuple[str, int]],
    prices: dict[str, int],
    *,
    placed_at: datetime,
    paid_at: datetime | None = None,
    shipped_at: datetime | None = None,
    delivered_at: datetime | None = None,
    cancelled_at: datetime | None = None,
    estimated_delivery: date | None = None,
    carrier: str | None = None,
    tracking_number: str | None = None,
    delivery_method: str = "standard",
    address: AddressInput | None = None,
    refunds: tuple[RefundPlan, ...] = (),
) -> OrderPlan:
    return OrderPlan(
        number=number,
        email=customer.email,
        status=status,
        address=address or customer.addresses[0],
        delivery_method=delivery_method,
        carrier=carrier,
        tracking_number=tracking_number,
        placed_at=placed_at,
        paid_at=paid_at,
        shipped_at=shipped_at,
        delivered_at=delivered_at,
        cancelled_at=cancelled_at,
        estimated_delivery=estimated_delivery,
        items=tuple((sku, quantity, prices[sku]) for sku, quantity in items),
        events=_events(placed_at, paid_at, shipped_at, delivered_at, cancelled_at, carrier),
        refunds=refunds,
    )


def _fixed_orders(
    customers: Sequence[CustomerPlan], prices: dict[str, int], now: datetime
) -> list[OrderPlan]:
    ada, grace, alan = customers[0], customers[1], customers[2]
    today = now.date()
    day, hour, minute = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)
    return [
        _order(
            "100101",
            ada,
            "placed",
            [("KIT-006", 2), ("KIT-003", 1)],
            prices,
            placed_at=now - 2 * hour,
            estimated_delivery=today + 4 * day,
        ),
        _order(
            "100102",
            ada,
            "paid",
            [("KIT-005", 1), ("HOM-005", 1)],
            prices,
            placed_at=now - day - 3 * hour,
            paid_at=now - day - 3 * hour + 12 * minute,
            estimated_delivery=today + 3 * day,
        ),
        _order(
            "100103",
            ada,
            "shipped",
            [("KIT-001", 1)],
            prices,
            placed_at=now - 3 * day,
            paid_at=now - 3 * day + 10 * minute,
            shipped_at=now - day,
            estimated_delivery=today + 2 * day,
            carrier="DPD",
            tracking_number="15501234567890",
        ),
        _order(
            "100104",
            ada,
            "delivered",
            [("HOM-001", 1), ("HOM-002", 2)],
            prices,
            placed_at=now - 20 * day,
            paid_at=now - 20 * day + 8 * minute,
            shipped_at=now - 19 * day,
            delivered_at=now - 17 * day,
            estimated_delivery=today - 17 * day,
            carrier="Royal Mail",
            tracking_number="RM482915736GB",
        ),
        _order(
            "100105",
            ada,
            "cancelled",
            [("OUT-005", 1)],
            prices,
            placed_at=now - 12 * day,
            cancelled_at=now - 12 * day + hour,
        ),
        _order(
            "100201",
            grace,
            "paid",
            [("KIT-007", 1), ("KIT-008", 1)],
            prices,
            placed_at=now - 5 * hour,
            paid_at=now - 5 * hour + 5 * minute,
            estimated_delivery=today + 4 * day,
            delivery_method="express",
        ),
        _order(
            "100202",
            grace,
            "shipped",
            [("OUT-003", 1), ("OUT-004", 2)],
            prices,
            placed_at=now - 4 * day,
            paid_at=now - 4 * day + 20 * minute,
            shipped_at=now - 2 * day,
            estimated_delivery=today + day,
            carrier="DPD",
            tracking_number="15507788990011",
        ),
        _order(
            "100301",
            alan,
            "delivered",
            [("GAR-005", 1), ("GAR-001", 1)],
            prices,
            placed_at=now - 30 * day,
            paid_at=now - 30 * day + 15 * minute,
            shipped_at=now - 29 * day,
            delivered_at=now - 27 * day,
            estimated_delivery=today - 27 * day,
            carrier="DPD",
            tracking_number="15509911223344",
        ),
    ]


def _tracking_number(rng: random.Random, carrier: str) -> str:
    digits = "0123456789"
    if carrier == "Royal Mail":
        return "RM" + "".join(rng.choices(digits, k=9)) + "GB"
    if carrier == "An Post":
        return "CE" + "".join(rng.choices(digits, k=9)) + "IE"
    if carrier == "Evri":
        return "H" + "".join(rng.choices("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ", k=15))
    length = {"DPD": 14, "DHL": 10, "GLS": 11}[carrier]
    return "".join(rng.choices(digits, k=length))


def _generated_orders(
    rng: random.Random,
    customers: Sequence[CustomerPlan],
    prices: dict[str, int],
    skus: Sequence[str],
    now: datetime,
) -> list[OrderPlan]:
    statuses = [status for status, count in _GENERATED_STATUSES.items() for _ in range(count)]
    rng.shuffle(statuses)
    numbers = sorted(rng.sample(range(200000, 1000000), len(statuses)))
    # Everyone orders at least once; the rest go to random customers.
    owners = list(customers) + [
        rng.choice(customers) for _ in range(len(statuses) - len(customers))
    ]
    today = now.date()

    orders = []
    for status, customer in zip(statuses, owners, strict=True):
        address = rng.choice(customer.addresses)
        express = rng.random() < 0.25
        carrier = rng.choice(_CARRIERS[address.country])
        tracking = _tracking_number(rng, carrier)
        count = rng.randint(1, 3)
        lines = [(sku, 1 if rng.random() < 0.8 else 2) for sku in rng.sample(skus, count)]
        to_pay = timedelta(minutes=rng.randint(2, 30))
        transit = timedelta(days=1 if express else rng.randint(2, 4), hours=rng.randint(1, 8))
        paid_before_cancel = rng.random() < 0.5
        ages = (rng.uniform(0.5, 20), rng.uniform(2, 40), rng.uniform(2, 4), rng.uniform(7, 90))
        handling = timedelta(hours=rng.uniform(18, 30))

        paid_at = shipped_at = delivered_at = cancelled_at = None
        estimated: date | None = None
        if status == "placed":
            placed_at = now - timedelta(hours=ages[0])
            estimated = today + timedelta(days=2 if express else 4)
        elif status == "paid":
            placed_at = now - timedelta(hours=ages[1])
            paid_at = placed_at + to_pay
            estimated = today + timedelta(days=1 if express else 3)
        elif status == "shipped":
            placed_at = now - timedelta(days=ages[2])
            paid_at, shipped_at = placed_at + to_pay, placed_at + handling
            estimated = today + timedelta(days=1 if express else 2)
        elif status == "delivered":
            placed_at = now - timedelta(days=ages[3])
            paid_at, shipped_at = placed_at + to_pay, placed_at + handling
            delivered_at = shipped_at + transit
            estimated = delivered_at.date()
        else:  # cancelled within hours, before or after payment
            placed_at = now - timedelta(days=ages[3] * 2 / 3)
            paid_at = placed_at + to_pay if paid_before_cancel else None
            cancelled_at = placed_at + handling / 6
        shipped = shipped_at is not None
        orders.append(
            _order(
                "",
                customer,
                status,
                lines,
                prices,
                placed_at=placed_at,
                paid_at=paid_at,
                shipped_at=shipped_at,
                delivered_at=delivered_at,
                cancelled_at=cancelled_at,
                estimated_delivery=estimated,
                carrier=carrier if shipped else None,
                tracking_number=tracking if shipped else None,
                delivery_method="express" if express else "standard",
                address=address,
            )
        )

    # Order numbers grow with time, as a real shop's would.
    orders.sort(key=lambda order: order.placed_at)
    orders = [
        dataclasses.replace(order, number=str(number))
        for number, order in zip(numbers, orders, strict=True)
    ]
    return _with_refunds(rng, orders, now)


def _with_refunds(rng: random.Random, orders: list[OrderPlan], now: datetime) -> list[OrderPlan]:
    """Refund every order cancelled after payment, and a few returns of delivered orders."""
    result = []
    returns = iter(("requested", "approved", "rejected", "paid"))
    for order in orders:
        refunds: tuple[RefundPlan, ...] = ()
        if order.status == "cancelled" and order.paid_at and order.cancelled_at:
            done = order.cancelled_at + timedelta(days=3)
            refunds = (
                RefundPlan(
                    order.total_pence,
                    "paid" if done < now else "approved",
                    "order cancelled before dispatch",
                    order.cancelled_at,
                    done if done < now else None,
                ),
            )
        elif order.status == "delivered" and order.delivered_at and rng.random() < 0.2:
            status = next(returns, None)
            if status is not None:
                sku, quantity, price = order.items[0]
                requested = order.delivered_at + timedelta(days=rng.randint(1, 5))
                completed = (
                    requested + timedelta(days=4) if status in ("paid", "rejected") else None
                )
                refunds = (
                    RefundPlan(
                        quantity * price,
                        status,
                        f"return of {sku}",
                        requested,
                        completed if completed and completed < now else None,
                    ),
                )
        result.append(dataclasses.replace(order, refunds=refunds) if refunds else order)
    return result


def _tickets(
    rng: random.Random, customers: Sequence[CustomerPlan], now: datetime
) -> list[TicketPlan]:
    subjects = (
        ("delivery", "Parcel marked delivered but not received", "open"),
        ("returns", "How do I return a damaged terracotta pot?", "pending"),
        ("product", "Is the casserole suitable for induction hobs?", "closed"),
        ("payment", "Charged twice for one order", "open"),
        ("account", "Please update my phone number", "closed"),
        ("delivery", "Can I choose a delivery day?", "pending"),
    )
    tickets = []
    for category, subject, status in subjects:
        reference = "TK-" + "".join(rng.choices(REFERENCE_ALPHABET, k=6))
        customer = rng.choice(customers[len(DEMO_IDENTITIES) :])
        tickets.append(
            TicketPlan(
                reference=reference,
                email=customer.email,
                conversation_id=f"demo-{rng.getrandbits(64):016x}",
                category=category,
                subject=subject,
                status=status,
                created_at=now - timedelta(days=rng.randint(0, 20), hours=rng.randint(0, 23)),
            )
        )
    return tickets


# --- writing -----------------------------------------------------------------------------


def seed(sessions: sessionmaker[Session], *, now: datetime | None = None) -> SeedReport:
    """Insert the demo records that are missing, in one transaction; return what was added."""
    now = now or utcnow()
    data = build_dataset(now)
    counts: Counter[str] = Counter()
    with sessions.begin() as session:
        _seed_customers(session, data.customers, counts)
        _seed_products(session, data.products, counts)
        _seed_orders(session, data.orders, counts)
        _seed_tickets(session, data.tickets, counts)
        _seed_newsletter(session, data.newsletter, counts)
        _seed_canned(session, counts, now)
    return SeedReport(**counts)


def _seed_customers(session: Session, plans: Sequence[CustomerPlan], counts: Counter[str]) -> None:
    existing = set(session.scalars(select(Customer.email)))
    for plan in plans:
        if plan.email in existing:
            continue
        customer = Customer(
            first_name=plan.first_name,
            last_name=plan.last_name,
            email=plan.email,
            phone=plan.phone,
            created_at=plan.created_at,
        )
        for position, address in enumerate(plan.addresses):
            customer.addresses.append(
                Address(
                    line1=address.line1,
                    line2=address.line2,
                    city=address.city,
                    postcode=address.postcode,
                    country=address.country,
                    is_default=position == 0,
                )
            )
            counts["addresses"] += 1
        session.add(customer)
        counts["customers"] += 1
    session.flush()


def _seed_products(session: Session, plans: Sequence[ProductPlan], counts: Counter[str]) -> None:
    existing = {product.sku: product for product in session.scalars(select(Product))}
    for plan in plans:
        if plan.sku in existing:
            # A catalogue seeded before products had facts (migration 0008) gets them now;
            # facts the shop has since written are kept.
            product = existing[plan.sku]
            if not product.facts and plan.facts:
                product.facts = dict(plan.facts)
            if product.guarantee_years is None:
                product.guarantee_years = plan.guarantee_years
            continue
        session.add(
            Product(
                sku=plan.sku,
                name=plan.name,
                category=plan.category,
                price_pence=plan.price_pence,
                description=plan.description,
                stock=plan.stock,
                consumable=plan.consumable,
                facts=dict(plan.facts),
                guarantee_years=plan.guarantee_years,
            )
        )
        counts["products"] += 1
    session.flush()


def _seed_orders(session: Session, plans: Sequence[OrderPlan], counts: Counter[str]) -> None:
    existing_orders = set(session.scalars(select(Order.number)))
    existing_invoices = set(session.scalars(select(Invoice.number)))
    customer_ids = {
        email: id_ for email, id_ in session.execute(select(Customer.email, Customer.id))
    }
    product_ids = {sku: id_ for sku, id_ in session.execute(select(Product.sku, Product.id))}
    for plan in plans:
        if plan.number in existing_orders:
            continue
        address = plan.address
        order = Order(
            number=plan.number,
            customer_id=customer_ids[plan.email],
            status=plan.status,
            ship_line1=address.line1,
            ship_line2=address.line2,
            ship_city=address.city,
            ship_postcode=address.postcode,
            ship_country=address.country,
            delivery_method=plan.delivery_method,
            carrier=plan.carrier,
            tracking_number=plan.tracking_number,
            placed_at=plan.placed_at,
            paid_at=plan.paid_at,
            shipped_at=plan.shipped_at,
            delivered_at=plan.delivered_at,
            cancelled_at=plan.cancelled_at,
            estimated_delivery=plan.estimated_delivery,
            total_pence=plan.total_pence,
            currency="GBP",
            updated_at=max(event.at for event in plan.events),
        )
        for sku, quantity, price in plan.items:
            order.items.append(
                OrderItem(product_id=product_ids[sku], quantity=quantity, unit_price_pence=price)
            )
        for event in plan.events:
            order.events.append(
                OrderStatusEvent(
                    status=event.status, at=event.at, actor=event.actor, note=event.note
                )
            )
        session.add(order)
        session.flush()
        counts["orders"] += 1
        counts["order_items"] += len(plan.items)
        counts["status_events"] += len(plan.events)

        invoice_number = plan.invoice_number
        if invoice_number and plan.paid_at and invoice_number not in existing_invoices:
            session.add(
                Invoice(
                    number=invoice_number,
                    order_id=order.id,
                    amount_pence=plan.total_pence,
                    issued_at=plan.paid_at,
                )
            )
            counts["invoices"] += 1
        for refund in plan.refunds:
            session.add(
                Refund(
                    order_id=order.id,
                    amount_pence=refund.amount_pence,
                    status=refund.status,
                    reason=refund.reason,
                    requested_at=refund.requested_at,
                    completed_at=refund.completed_at,
                )
            )
            counts["refunds"] += 1
    session.flush()


def _seed_tickets(session: Session, plans: Sequence[TicketPlan], counts: Counter[str]) -> None:
    existing = set(session.scalars(select(SupportTicket.reference)))
    customer_ids = {
        email: id_ for email, id_ in session.execute(select(Customer.email, Customer.id))
    }
    for plan in plans:
        if plan.reference in existing:
            continue
        session.add(
            SupportTicket(
                reference=plan.reference,
                customer_id=customer_ids.get(plan.email) if plan.email else None,
                conversation_id=plan.conversation_id,
                category=plan.category,
                subject=plan.subject,
                status=plan.status,
                created_at=plan.created_at,
            )
        )
        counts["tickets"] += 1
    session.flush()


def _seed_newsletter(
    session: Session, plans: Sequence[NewsletterPlan], counts: Counter[str]
) -> None:
    # Keyed by email: a consent changed since (in a demo conversation) is left as it is.
    existing = set(session.scalars(select(NewsletterSubscription.email)))
    customer_ids = {
        email: id_ for email, id_ in session.execute(select(Customer.email, Customer.id))
    }
    for plan in plans:
        if plan.email in existing:
            continue
        session.add(
            NewsletterSubscription(
                email=plan.email,
                customer_id=customer_ids.get(plan.email),
                subscribed=plan.subscribed,
                changed_at=plan.changed_at,
                source=plan.source,
            )
        )
        counts["newsletter_subscriptions"] += 1
    session.flush()


def _seed_canned(session: Session, counts: Counter[str], now: datetime) -> None:
    # Keyed by title: one a supervisor has edited or removed since is left as it is.
    existing = set(session.scalars(select(CannedResponse.title)))
    for title, team, text in _CANNED:
        if title in existing:
            continue
        session.add(CannedResponse(title=title, text=text, team=team, active=True, created_at=now))
        counts["canned_responses"] += 1
    session.flush()


# --- reading back the fixed identities -----------------------------------------------------


@dataclass(frozen=True)
class IdentityStatus:
    """A fixed identity with the current state of its orders in the database."""

    identity: DemoIdentity
    orders: tuple[DemoOrder, ...]


def identity_statuses(sessions: sessionmaker[Session]) -> tuple[IdentityStatus, ...]:
    """Return the fixed identities with their orders' current states (after demos changed them)."""
    emails = [identity.email for identity in DEMO_IDENTITIES]
    with sessions.begin() as session:
        rows = session.execute(
            select(Customer.email, Order.number, Order.status)
            .join(Order, Order.customer_id == Customer.id)
            .where(Customer.email.in_(emails))
            .order_by(Order.number)
        ).all()
    by_email: dict[str, list[DemoOrder]] = {}
    for email, number, status in rows:
        by_email.setdefault(email, []).append(DemoOrder(number, status))
    return tuple(
        IdentityStatus(identity, tuple(by_email.get(identity.email, ())))
        for identity in DEMO_IDENTITIES
    )
