"""Messy CSV exports for testing and benchmarking the importer (``python -m crm messy``).

:func:`generate` makes, from a seed, a customers file and an orders file the way another
system's export tends to look: names in capitals or with stray spaces, emails in mixed case,
phone numbers and dates and amounts in several formats, blank cells, invalid emails, exact
copies of rows, and duplicates of a person under another id (same email, same phone, or a
typo in the name at the same postcode). The truth travels with the data: which row duplicates
which and by what rule, and which rows must be rejected and why, with the importer's reasons.

The people are fictional. Every person gets their own postcode, so "similar name at the same
postcode" only ever matches the duplicates made on purpose. Phone numbers are in the UK mobile
range 074xx: valid, never dialled (the files are test data, not demo data).
"""

from __future__ import annotations

import csv
import json
import random
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Final

__all__ = ["CUSTOMER_HEADER", "ORDER_HEADER", "MessyData", "generate", "write"]

# The header as the other system writes it: mixed case and spellings the importer accepts.
CUSTOMER_HEADER: Final = (
    "Customer ID", "First Name", "Surname", "E-mail", "Phone", "Address Line1",
    "Address Line2", "Town", "Postcode", "Country", "Created",
)  # fmt: skip
ORDER_HEADER: Final = (
    "Order No", "Customer ID", "Order Date", "Status", "Total", "Currency", "Ship Line1",
    "Ship City", "Ship Postcode", "Ship Country",
)  # fmt: skip

_FIRST: Final = (
    "Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Noah", "Mia", "Jack", "Ivy",
    "Charlie", "Freya", "Thomas", "Florence", "Oscar", "Willow", "William", "Rosie", "James",
    "Sophia", "Henry", "Evelyn", "Leo", "Grace", "Alfie", "Poppy", "Joshua", "Matilda",
    "Siobhán", "Anne-Marie", "Padraig", "Zoë",
)  # fmt: skip
_LAST: Final = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson",
    "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood",
    "Jackson", "Clarke", "O'Connor", "McDonald", "de Vries", "Fitzgerald", "Hughes",
)  # fmt: skip
_AREAS: Final = (
    "M", "B", "LS", "SW", "N", "E", "EC", "G", "EH", "CF", "BS", "L", "NG", "S", "YO", "OX",
)  # fmt: skip
_INWARD_LETTERS: Final = "ABDEFGHJLNPQRSTUWXYZ"
_STREETS: Final = ("High Street", "Station Road", "Church Lane", "Mill Way", "Park Avenue")
_CITIES: Final = ("Manchester", "Birmingham", "Leeds", "London", "Glasgow", "Bristol", "York")
_STATUSES: Final = ("Delivered", "delivered", "Shipped", "Dispatched", "PAID", "new", "Cancelled")

REJECT_NO_CONTACT: Final = "no usable email or phone"
REJECT_EMAIL_ONLY_PHONE: Final = "email missing or invalid, and no customer with this phone"
REJECT_BAD_AMOUNT: Final = "amount: not an amount in a known format"
REJECT_UNKNOWN_CUSTOMER: Final = "unknown customer_id"
REJECT_CUSTOMER_REJECTED: Final = "customer row rejected"


@dataclass
class MessyData:
    """Rows of both files (header order) and the truth about them."""

    customers: list[list[str]] = field(default_factory=list)
    orders: list[list[str]] = field(default_factory=list)
    # duplicate's customer id -> {"of": original's id, "rule": "email" | "phone" | "name_postcode"}
    duplicates: dict[str, dict[str, str]] = field(default_factory=dict)
    exact_copies: dict[str, int] = field(default_factory=lambda: {"customers": 0, "orders": 0})
    rejected_customers: dict[str, str] = field(default_factory=dict)
    rejected_orders: dict[str, str] = field(default_factory=dict)

    def truth(self) -> dict[str, Any]:
        """Return the truth as JSON-ready data."""
        return {
            "duplicates": self.duplicates,
            "exact_copies": self.exact_copies,
            "rejected_customers": self.rejected_customers,
            "rejected_orders": self.rejected_orders,
        }


def _postcode(index: int) -> str:
    """A distinct, valid UK postcode for every index below 16 * 20 * 10 * 400."""
    index, area = divmod(index, len(_AREAS))
    index, district = divmod(index, 20)
    index, sector = divmod(index, 10)
    first, second = divmod(index % 400, 20)
    return f"{_AREAS[area]}{district + 1} {sector}{_INWARD_LETTERS[first]}{_INWARD_LETTERS[second]}"


def _phone_formats(national: str) -> tuple[str, ...]:
    digits = national[1:]
    return (
        f"{national[:5]} {national[5:]}",
        f"+44 {digits[:4]} {digits[4:]}",
        f"({national[:5]}) {national[5:8]}-{national[8:]}",
        f"+44{digits}",
        national,
        digits,
    )


def _date(rng: random.Random, when: datetime) -> str:
    """``when`` in one of the formats exports use; ambiguous day/month only day first."""
    form = rng.randrange(6)
    if form == 0:
        return when.strftime("%Y-%m-%d")
    if form == 1:
        return when.strftime("%Y-%m-%d %H:%M")
    if form == 2:
        return when.strftime("%d/%m/%Y")
    if form == 3 and when.day > 12:
        return when.strftime("%m/%d/%Y")  # unambiguous: read month first
    if form == 4:
        return f"{when.day} {when.strftime('%b %Y')}"
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _amount(rng: random.Random, pence: int) -> tuple[str, str]:
    """An amount and a currency cell, in one of several formats."""
    pounds, rest = divmod(pence, 100)
    form = rng.randrange(5)
    if form == 0:
        return f"£{pounds:,}.{rest:02d}", ""
    if form == 1:
        return f"{pounds}.{rest:02d}", "GBP"
    if form == 2:
        text = f"{pounds:,}".replace(",", ".")
        return f"{text},{rest:02d}", "gbp"
    if form == 3:
        return f"GBP {pounds}.{rest:02d}", ""
    return f"{pence / 100}", ""


def _messy_name(rng: random.Random, name: str) -> str:
    roll = rng.random()
    if roll < 0.1:
        return name.upper()
    if roll < 0.2:
        return name.lower()
    if roll < 0.3:
        return f"  {name} "
    return name


def _ascii(text: str) -> str:
    """Drop accents, spaces and apostrophes, for an email address made from a name."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return folded.replace(" ", "").replace("'", "")


def _typo(name: str) -> str:
    """Double the third letter: "Taylor" -> "Tayylor" (similarity stays above 0.9)."""
    return name[:3] + name[2] + name[3:]


def generate(customers: int, seed: int = 0) -> MessyData:
    """Return ``customers`` people (plus their duplicates and copies) and their orders."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    data = MessyData()
    start = datetime(2020, 1, 1, tzinfo=timezone.utc)
    order_serial = 200000
    people: list[dict[str, Any]] = []
    for index in range(customers):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        national = f"07{400000000 + index:09d}"
        person: dict[str, Any] = {
            "id": f"C{index:06d}",
            "first": first,
            "last": last,
            "email": _ascii(f"{first}.{last}{index}@example.com"),
            "national": national,
            "postcode": _postcode(index),
            "created": start + timedelta(minutes=rng.randrange(60 * 24 * 365 * 4)),
            "has_phone": rng.random() > 0.1,
            "has_address": rng.random() > 0.05,
        }
        roll = rng.random()
        person["bad"] = "none" if roll < 0.02 else "email" if roll < 0.03 else ""
        people.append(person)

    def row(person: dict[str, Any], **override: Any) -> list[str]:
        values = {**person, **override}
        email = values["email"]
        if values["bad"] == "none":
            email, phone = rng.choice(("n/a", "john@", "")), ""
        else:
            if values["bad"] == "email":
                email = rng.choice(("n/a", "no email", ""))
            roll = rng.random()
            if roll < 0.1:
                email = email.upper()
            elif roll < 0.2:
                email = f" {email} "
            phone = rng.choice(_phone_formats(values["national"])) if values["has_phone"] else ""
        if values["has_address"]:
            postcode = values["postcode"]
            postcode = rng.choice((postcode, postcode.lower(), postcode.replace(" ", "")))
            country = rng.choice(("GB", "UK", "United Kingdom", "gb", ""))
            address = [
                f"{rng.randrange(1, 200)} {rng.choice(_STREETS)}",
                rng.choice(("", "", "Flat 2")),
                rng.choice(_CITIES),
                postcode,
                country,
            ]
        else:
            address = ["", "", "", "", ""]
        return [
            values["id"],
            _messy_name(rng, values["first"]),
            _messy_name(rng, values["last"]),
            email,
            phone,
            *address,
            _date(rng, values["created"]) if rng.random() > 0.05 else "",
        ]

    for person in people:
        line = row(person)
        data.customers.append(line)
        if person["bad"] == "none":
            data.rejected_customers[person["id"]] = REJECT_NO_CONTACT
        elif person["bad"] == "email":
            data.rejected_customers[person["id"]] = (
                REJECT_EMAIL_ONLY_PHONE if person["has_phone"] else REJECT_NO_CONTACT
            )
        if rng.random() < 0.03:
            data.customers.append(list(line))
            data.exact_copies["customers"] += 1
        if person["bad"]:
            continue
        later = person["created"] + timedelta(days=rng.randrange(1, 400))
        roll = rng.random()
        duplicate_id = f"D{person['id'][1:]}"
        if roll < 0.03:
            extra = {"id": duplicate_id, "created": later, "has_phone": rng.random() < 0.5}
            data.customers.append(row(person, **extra))
            data.duplicates[duplicate_id] = {"of": person["id"], "rule": "email"}
        elif roll < 0.05 and person["has_phone"]:
            email = _ascii(f"{person['first'][0]}{person['last']}{person['id']}@work.example")
            extra = {"id": duplicate_id, "created": later, "email": email}
            data.customers.append(row(person, **extra))
            data.duplicates[duplicate_id] = {"of": person["id"], "rule": "phone"}
        elif roll < 0.07 and person["has_address"] and len(person["last"]) >= 5:
            email = _ascii(f"{person['last']}.{person['id']}@home.example")
            extra = {
                "id": duplicate_id,
                "created": later,
                "email": email,
                "last": _typo(person["last"]),
                "has_phone": False,
            }
            data.customers.append(row(person, **extra))
            data.duplicates[duplicate_id] = {"of": person["id"], "rule": "name_postcode"}

    for person in people:
        customer_ids = [person["id"]]
        if f"D{person['id'][1:]}" in data.duplicates:
            customer_ids.append(f"D{person['id'][1:]}")
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            order_serial += 1
            order_id = str(order_serial) if rng.random() > 0.1 else f"ORD-{order_serial}"
            customer_id = rng.choice(customer_ids)
            placed = person["created"] + timedelta(days=rng.randrange(0, 300), minutes=7)
            total, currency = _amount(rng, rng.randrange(500, 250000))
            roll = rng.random()
            if roll < 0.01:
                customer_id = f"X{person['id'][1:]}"
                data.rejected_orders[order_id] = REJECT_UNKNOWN_CUSTOMER
            elif person["bad"]:
                data.rejected_orders[order_id] = REJECT_CUSTOMER_REJECTED
            elif roll < 0.02:
                total = "twelve pounds"
                data.rejected_orders[order_id] = REJECT_BAD_AMOUNT
            ship = ["", "", "", ""]
            if not person["has_address"]:
                ship = ["1 Depot Road", "Leeds", "LS1 1AA", "GB"]
            line = [
                order_id,
                customer_id,
                _date(rng, placed),
                rng.choice(_STATUSES) if rng.random() > 0.05 else "",
                total,
                currency,
                *ship,
            ]
            data.orders.append(line)
            if rng.random() < 0.01:
                data.orders.append(list(line))
                data.exact_copies["orders"] += 1
    return data


def write(data: MessyData, out: Path) -> tuple[Path, Path]:
    """Write ``customers.csv`` (with a UTF-8 BOM), ``orders.csv`` and ``truth.json`` to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    customers, orders = out / "customers.csv", out / "orders.csv"
    with customers.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CUSTOMER_HEADER)
        writer.writerows(data.customers)
    with orders.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(ORDER_HEADER)
        writer.writerows(data.orders)
    (out / "truth.json").write_text(json.dumps(data.truth(), indent=1), encoding="utf-8")
    return customers, orders
