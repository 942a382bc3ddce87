"""Import customers and orders from another system's CSV export (``python -m crm import``).

The whole import is one transaction: every row is read and cleaned first, then everything is
written with batched inserts, and a failure anywhere rolls all of it back. A dry run does the
same and rolls back at the end. The expected columns, the cleaning rules and the merge rules
are described in ``docs/crm.md`` ("Importing customers and orders").

Idempotence comes from the external ids: each customer and order row is recorded in
``external_customers`` / ``external_orders`` under ``(source, id in the other system)``, and a
row whose id is already recorded is left as it is, never overwritten. A run that would change
nothing writes nothing, not even an :class:`~crm.records.models.ImportRun`; files whose SHA-256
match an earlier run of the same source are not read again ("already imported").

Duplicates: rows identical after trimming are dropped; other rows are merged into one customer
when they share a normalised email, an E.164 phone, or a postcode with a very similar full
name. Rows are considered oldest first (``created_at``), so the customer kept is the earliest
created one, or the one already in the database; its blanks are filled from the duplicate and
a :class:`~crm.records.models.CustomerMerge` records the duplicate's cleaned row and the rule.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any, Final

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker
from tqdm import tqdm

from crm.records.addresses import InvalidAddress, country_code, format_postcode, normalise_postcode
from crm.records.audit import audit
from crm.records.contacts import InvalidContact, normalise_email, normalise_phone
from crm.records.delivery import default_method, method_for
from crm.records.errors import CRMError, DeliveryMethodUnavailable, UnknownDeliveryMethod
from crm.records.models import (
    Address,
    Base,
    Customer,
    CustomerMerge,
    ExternalCustomer,
    ExternalOrder,
    ImportRun,
    Order,
)
from crm.tools.cleaning import (
    CURRENCIES,
    CleanError,
    DateOrder,
    clean_name,
    parse_amount,
    parse_date,
    parse_status,
)

__all__ = [
    "CUSTOMER_COLUMNS",
    "ORDER_COLUMNS",
    "ImportFileError",
    "ImportOptions",
    "ImportReport",
    "RejectedRow",
    "import_files",
]

# Canonical column -> the header spellings accepted for it (compared lower-case, with spaces,
# dashes and dots read as underscores). Columns not listed are ignored.
CUSTOMER_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "customer_id": ("customer_id", "id", "customer_no", "customer_number", "cust_id", "client_id"),
    "first_name": ("first_name", "firstname", "forename", "given_name"),
    "last_name": ("last_name", "lastname", "surname", "family_name"),
    "name": ("name", "full_name", "customer_name"),
    "email": ("email", "e_mail", "email_address", "mail"),
    "phone": ("phone", "phone_number", "telephone", "tel", "mobile"),
    "address_line1": ("address_line1", "address_line_1", "address1", "line1", "street", "address"),
    "address_line2": ("address_line2", "address_line_2", "address2", "line2"),
    "city": ("city", "town"),
    "postcode": ("postcode", "post_code", "postal_code", "zip", "zip_code", "zipcode"),
    "country": ("country", "country_code"),
    "created_at": ("created_at", "created", "signup_date", "registered", "date_created"),
}
ORDER_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "order_id": ("order_id", "order_number", "order_no", "number", "id"),
    "customer_id": ("customer_id", "customer_no", "customer_number", "cust_id", "client_id"),
    "order_date": ("order_date", "placed_at", "date", "ordered_at", "created_at"),
    "status": ("status", "order_status"),
    "total": ("total", "amount", "total_amount", "order_total", "total_pence"),
    "currency": ("currency", "currency_code"),
    "delivery_method": ("delivery_method", "shipping_method", "delivery"),
    "ship_line1": ("ship_line1", "ship_address_line1", "shipping_line1", "shipping_address"),
    "ship_line2": ("ship_line2", "ship_address_line2", "shipping_line2"),
    "ship_city": ("ship_city", "shipping_city"),
    "ship_postcode": ("ship_postcode", "shipping_postcode", "ship_zip"),
    "ship_country": ("ship_country", "shipping_country"),
}
_REQUIRED_CUSTOMER: Final = ("customer_id", "email")
_REQUIRED_ORDER: Final = ("order_id", "customer_id", "order_date", "total")

NAME_SIMILARITY: Final = 0.9  # difflib ratio of full names at one postcode to merge them
_MAX_ID: Final = 64  # external_customers/external_orders.external_id
_FIRST_NUMBER: Final = 100000
_LAST_NUMBER: Final = 999999
_SIX_DIGITS: Final = re.compile(r"[0-9]{6}")
_HEADER_SEP: Final = re.compile(r"[\s.\-/]+")
_SPACES_RE: Final = re.compile(r"\s+")


class ImportFileError(CRMError):
    """A file cannot be imported at all (unreadable, or a required column is missing)."""


@dataclass(frozen=True)
class ImportOptions:
    """How to read the files: which system they come from and its conventions."""

    source: str = "import"
    default_region: str = "GB"  # phone numbers without + are read in this country's format
    date_order: DateOrder = "dmy"  # for dates like 05/03/2024 that could be either
    default_currency: str = "GBP"
    dry_run: bool = False
    progress: bool = False  # a tqdm progress bar on standard error


@dataclass(frozen=True)
class RejectedRow:
    """A row left out of the import: where it is and why (never its personal data)."""

    file: str
    line: int
    external_id: str
    reason: str


@dataclass(frozen=True)
class FileInfo:
    """One file read: its name, SHA-256 and number of data rows."""

    name: str
    sha256: str
    rows: int


@dataclass
class ImportReport:
    """What an import did: counts per rule and every rejected row."""

    source: str
    status: str = "imported"  # "imported", "dry run", "nothing to change", "already imported"
    files: list[FileInfo] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    rejected: list[RejectedRow] = field(default_factory=list)
    import_run_id: int | None = None

    def reject(self, file: str, line: int, external_id: str, kind: str, reason: str) -> None:
        """Record a rejected row under ``rejected.<kind>.<reason>``."""
        self.counts[f"rejected.{kind}.{reason}"] += 1
        self.rejected.append(RejectedRow(file, line, external_id, reason))

    def as_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data."""
        return {
            "source": self.source,
            "status": self.status,
            "import_run_id": self.import_run_id,
            "files": [vars(info) for info in self.files],
            "counts": dict(sorted(self.counts.items())),
            "rejected": [vars(row) for row in self.rejected],
        }

    def to_json(self) -> str:
        """Return the report as indented JSON."""
        return json.dumps(self.as_dict(), indent=2, ensure_ascii=False) + "\n"

    def to_text(self) -> str:
        """Return a readable summary: status, files, counts per rule, rejected rows."""
        lines = [f"Import from {self.source!r}: {self.status}"]
        lines += [
            f"  {info.name}: {info.rows} rows, sha256 {info.sha256[:16]}" for info in self.files
        ]
        lines.append("")
        lines += [f"  {key:<52}{value:>8}" for key, value in sorted(self.counts.items())]
        if self.rejected:
            lines.append("")
            lines.append(f"Rejected rows ({len(self.rejected)})")
            lines += [
                f"  {row.file}:{row.line}  id {row.external_id or '-'}: {row.reason}"
                for row in self.rejected
            ]
        return "\n".join(lines) + "\n"


@dataclass
class _Row:
    """One data row of a file, with its line number (the header is line 1)."""

    line: int
    values: dict[str, str]


@dataclass
class _CleanCustomer:
    line: int
    external_id: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    address: dict[str, Any] | None
    created_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "external_id": self.external_id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "email": self.email,
            "phone": self.phone,
            "address": self.address,
            "created_at": self.created_at.isoformat(),
        }


@dataclass
class _Target:
    """A customer rows are merged into: one already in the database, or a new one."""

    customer_id: int | None
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    address: dict[str, Any] | None
    created_at: datetime
    new: bool
    phone_filled: bool = False
    address_filled: bool = False
    external_ids: list[str] = field(default_factory=list)
    merges: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@dataclass
class _CleanOrder:
    line: int
    external_id: str
    target: _Target
    placed_at: datetime
    status: str
    total_pence: int
    currency: str
    delivery_method: str
    address: dict[str, Any]


def _header_key(text: str) -> str:
    return _HEADER_SEP.sub("_", text.strip().lower()).strip("_")


def _read(
    path: Path, columns: dict[str, tuple[str, ...]], required: Iterable[str], counts: Counter[str]
) -> tuple[FileInfo, list[_Row]]:
    """Read a CSV file (UTF-8, optional BOM), mapping its header onto canonical columns."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(f"{path.name}: cannot be read ({exc.strerror})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(f"{path.name}: not UTF-8 text") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise ImportFileError(f"{path.name}: empty file")
    aliases = {alias: name for name, spellings in columns.items() for alias in spellings}
    positions: dict[str, int] = {}
    for index, title in enumerate(header):
        name = aliases.get(_header_key(title))
        if name is not None and name not in positions:
            positions[name] = index
    missing = [name for name in required if name not in positions]
    if missing:
        raise ImportFileError(f"{path.name}: missing column(s) {', '.join(missing)}")
    rows = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        values = {name: row[i] if i < len(row) else "" for name, i in positions.items()}
        for name, value in values.items():
            stripped = value.strip()
            if stripped != value:
                counts["cells.trimmed"] += 1
                values[name] = stripped
        rows.append(_Row(reader.line_num, values))
    info = FileInfo(path.name, hashlib.sha256(data).hexdigest(), len(rows))
    return info, rows


def _tidy(text: str) -> str:
    return _SPACES_RE.sub(" ", text).strip()


def _fold_name(first: str, last: str) -> str:
    """Full name for similarity: lower-case, accents and punctuation dropped."""
    text = unicodedata.normalize("NFKD", f"{first} {last}".casefold())
    return " ".join("".join(ch for ch in text if ch.isalpha() or ch == " ").split())


def _similar(a: str, b: str) -> bool:
    matcher = SequenceMatcher(None, a, b)
    return (
        matcher.real_quick_ratio() >= NAME_SIMILARITY
        and matcher.quick_ratio() >= NAME_SIMILARITY
        and matcher.ratio() >= NAME_SIMILARITY
    )


class _Importer:
    """One run: clean, match, then write in the caller's transaction."""

    def __init__(
        self, session: Session, options: ImportOptions, report: ImportReport, now: datetime
    ) -> None:
        self.session = session
        self.options = options
        self.report = report
        self.counts = report.counts
        self.now = now
        self.by_email: dict[str, _Target] = {}
        self.by_phone: dict[str, _Target] = {}
        self.by_postcode: dict[str, list[tuple[str, _Target]]] = {}
        self.by_external: dict[str, _Target] = {}
        self.rejected_ids: set[str] = set()
        self.new_targets: list[_Target] = []
        self.existing_external_orders: set[str] = set()
        self.used_numbers: set[str] = set()

    # -- progress -----------------------------------------------------------------------

    def _progress(self, rows: list[Any], what: str) -> Iterator[Any]:
        return iter(
            tqdm(rows, desc=what, unit="row", disable=not self.options.progress, leave=False)
        )

    # -- database state ---------------------------------------------------------------------

    def prefetch(self) -> None:
        """Load the keys the rows are matched against, in a few queries."""
        session = self.session
        targets: dict[int, _Target] = {}
        for row in session.execute(
            select(
                Customer.id,
                Customer.first_name,
                Customer.last_name,
                Customer.email,
                Customer.phone,
                Customer.created_at,
            )
        ):
            target = _Target(
                row.id,
                row.first_name,
                row.last_name,
                row.email,
                row.phone,
                None,
                row.created_at,
                new=False,
            )
            targets[row.id] = target
            self.by_email[row.email] = target
            if row.phone:
                self.by_phone.setdefault(row.phone, target)
        addresses = session.execute(
            select(
                Address.customer_id,
                Address.line1,
                Address.line2,
                Address.city,
                Address.postcode,
                Address.country,
                Address.is_default,
            ).order_by(Address.is_default.desc(), Address.id)
        )
        for arow in addresses:
            target = targets[arow.customer_id]
            address = {
                "line1": arow.line1,
                "line2": arow.line2,
                "city": arow.city,
                "postcode": arow.postcode,
                "country": arow.country,
            }
            if target.address is None:
                target.address = address
            self._index_name(target, arow.postcode)
        source = self.options.source
        for external_id, customer_id in session.execute(
            select(ExternalCustomer.external_id, ExternalCustomer.customer_id).where(
                ExternalCustomer.source == source
            )
        ):
            self.by_external[external_id] = targets[customer_id]
        self.existing_external_orders = set(
            session.scalars(select(ExternalOrder.external_id).where(ExternalOrder.source == source))
        )
        self.used_numbers = set(session.scalars(select(Order.number)))

    def _index_name(self, target: _Target, postcode: str) -> None:
        folded = _fold_name(target.first_name, target.last_name)
        if folded:
            self.by_postcode.setdefault(normalise_postcode(postcode), []).append((folded, target))

    # -- customers ------------------------------------------------------------------------

    def clean_customer(self, file: str, row: _Row) -> _CleanCustomer | None:
        """Clean one customer row; record and return ``None`` if it is rejected."""
        values = row.values
        counts = self.counts
        external_id = values.get("customer_id", "")
        if not external_id or len(external_id) > _MAX_ID:
            reason = "customer_id missing" if not external_id else "customer_id too long"
            self.report.reject(file, row.line, external_id[:_MAX_ID], "customers", reason)
            return None
        first, last = values.get("first_name", ""), values.get("last_name", "")
        if not first and not last and values.get("name"):
            first, _, last = _tidy(values["name"]).rpartition(" ")
            if not first:
                first, last = last, ""
        try:
            first_name, trimmed_first, recased_first = clean_name(first)
            last_name, trimmed_last, recased_last = clean_name(last)
        except CleanError as exc:
            self.report.reject(file, row.line, external_id, "customers", f"name: {exc.reason}")
            return None
        counts["names.trimmed"] += trimmed_first + trimmed_last
        counts["names.recased"] += recased_first + recased_last
        for name, value in (("first_name", first_name), ("last_name", last_name)):
            if not value:
                counts[f"flagged.{name}_missing"] += 1

        email = self._clean_email(values.get("email", ""))
        phone = self._clean_phone(values.get("phone", ""))
        if email is None and phone is None:
            self.report.reject(file, row.line, external_id, "customers", "no usable email or phone")
            return None

        created_text = values.get("created_at", "")
        created_at = self.now
        if not created_text:
            counts["filled.created_at"] += 1
        else:
            try:
                created_at, form = parse_date(created_text, self.options.date_order)
                counts[f"dates.{form}"] += 1
            except CleanError:
                counts["flagged.created_at_invalid"] += 1
                counts["filled.created_at"] += 1
        found = self._clean_address(
            values, "address_line1", "address_line2", "city", "postcode", "country"
        )
        address = None
        if isinstance(found, str):
            counts[f"flagged.address_{found}"] += 1
        else:
            address = found
        return _CleanCustomer(
            row.line, external_id, first_name, last_name, email, phone, address, created_at
        )

    def _clean_email(self, raw: str) -> str | None:
        if not raw:
            self.counts["flagged.email_missing"] += 1
            return None
        text = raw.removeprefix("mailto:").strip().strip("<>").strip()
        try:
            email = normalise_email(text)
        except InvalidContact:
            self.counts["flagged.email_invalid"] += 1
            return None
        if email != raw:
            self.counts["emails.normalised"] += 1
        return email

    def _clean_phone(self, raw: str) -> str | None:
        if not raw:
            self.counts["flagged.phone_missing"] += 1
            return None
        try:
            phone = normalise_phone(raw, self.options.default_region)
        except InvalidContact:
            self.counts["flagged.phone_invalid"] += 1
            return None
        if phone != raw:
            self.counts["phones.normalised"] += 1
        return phone

    def _clean_address(
        self,
        values: dict[str, str],
        line1_key: str,
        line2_key: str,
        city_key: str,
        postcode_key: str,
        country_key: str,
    ) -> dict[str, Any] | str:
        """Return the address, or why there is none: ``missing``, ``incomplete``, ``invalid``."""
        line1 = _tidy(values.get(line1_key, ""))
        line2 = _tidy(values.get(line2_key, "")) or None
        city = _tidy(values.get(city_key, ""))
        postcode = values.get(postcode_key, "")
        country_text = values.get(country_key, "")
        if not (line1 or line2 or city or postcode):
            return "missing"
        if not (line1 and city and postcode):
            return "incomplete"
        if country_text:
            country = country_code(country_text)
            if country is None:
                return "country_unsupported"
        else:
            country = self._country_from_postcode(postcode)
            self.counts["filled.country"] += 1
        try:
            postcode = format_postcode(postcode, country)
        except InvalidAddress:
            return "invalid_postcode"
        return {
            "line1": line1[:100],
            "line2": line2[:100] if line2 else None,
            "city": city[:60],
            "postcode": postcode,
            "country": country,
        }

    @staticmethod
    def _country_from_postcode(postcode: str) -> str:
        for country in ("GB", "IE", "NL"):
            try:
                format_postcode(postcode, country)
            except InvalidAddress:
                continue
            return country
        return "GB"

    def match(self, customer: _CleanCustomer, file: str) -> None:
        """Attach one cleaned row to an existing customer, a new one, or reject it."""
        counts = self.counts
        known = self.by_external.get(customer.external_id)
        if known is not None:
            counts["customers.unchanged"] += 1
            return
        target, rule = self._find(customer)
        if target is None:
            if customer.email is None:
                self.rejected_ids.add(customer.external_id)
                self.report.reject(
                    file, customer.line, customer.external_id, "customers",
                    "email missing or invalid, and no customer with this phone",
                )  # fmt: skip
                return
            target = _Target(
                None, customer.first_name, customer.last_name, customer.email, customer.phone,
                customer.address, customer.created_at, new=True,
            )  # fmt: skip
            self.new_targets.append(target)
        else:
            counts[f"merged.{rule}"] += 1
            target.merges.append((rule, customer.as_json()))
            self._fill_blanks(target, customer)
        target.external_ids.append(customer.external_id)
        self.by_external[customer.external_id] = target
        self._register(target, customer)

    def _find(self, customer: _CleanCustomer) -> tuple[_Target | None, str]:
        if customer.email and (target := self.by_email.get(customer.email)):
            return target, "email"
        if customer.phone and (target := self.by_phone.get(customer.phone)):
            return target, "phone"
        if customer.address:
            folded = _fold_name(customer.first_name, customer.last_name)
            block = self.by_postcode.get(normalise_postcode(customer.address["postcode"]), [])
            for name, target in block:
                if _similar(folded, name):
                    return target, "name_postcode"
        return None, ""

    def _fill_blanks(self, target: _Target, customer: _CleanCustomer) -> None:
        if target.phone is None and customer.phone is not None:
            target.phone = customer.phone
            target.phone_filled = True
            self.counts["merged.filled_phone"] += 1
        if target.address is None and customer.address is not None:
            target.address = customer.address
            target.address_filled = True
            self.counts["merged.filled_address"] += 1
        if target.new:
            for name in ("first_name", "last_name"):
                if not getattr(target, name) and getattr(customer, name):
                    setattr(target, name, getattr(customer, name))
                    self.counts[f"merged.filled_{name}"] += 1

    def _register(self, target: _Target, customer: _CleanCustomer) -> None:
        if customer.email:
            self.by_email.setdefault(customer.email, target)
        if customer.phone:
            self.by_phone.setdefault(customer.phone, target)
        if customer.address:
            folded = _fold_name(customer.first_name, customer.last_name)
            if folded:
                self.by_postcode.setdefault(
                    normalise_postcode(customer.address["postcode"]), []
                ).append((folded, target))

    # -- orders ---------------------------------------------------------------------------

    def clean_order(self, file: str, row: _Row) -> _CleanOrder | None:
        """Clean one order row; record and return ``None`` if it is rejected."""
        values = row.values
        counts = self.counts
        external_id = values["order_id"]

        def reject(reason: str) -> None:
            self.report.reject(file, row.line, external_id, "orders", reason)

        if not external_id or len(external_id) > _MAX_ID:
            reject("order_id missing" if not external_id else "order_id too long")
            return None
        if external_id in self.existing_external_orders:
            counts["orders.unchanged"] += 1
            return None
        customer_ref = values["customer_id"]
        target = self.by_external.get(customer_ref)
        if target is None:
            reject(
                "customer row rejected"
                if customer_ref in self.rejected_ids
                else "unknown customer_id"
            )
            return None
        try:
            placed_at, date_form = parse_date(values["order_date"], self.options.date_order)
            total_pence, amount_currency, amount_form = parse_amount(values["total"])
            status = parse_status(values.get("status", ""))
        except CleanError as exc:
            reject(f"{exc.field}: {exc.reason}")
            return None
        currency_text = values.get("currency", "").upper()
        if currency_text and amount_currency and currency_text != amount_currency:
            reject("currency: two different currencies")
            return None
        currency = currency_text or amount_currency
        if currency is None:
            currency = self.options.default_currency
            counts["filled.currency"] += 1
        elif currency not in CURRENCIES:
            reject("currency: not a currency we take")
            return None
        counts[f"dates.{date_form}"] += 1
        counts[f"amounts.{amount_form}"] += 1
        if status is None:
            status = "placed"
            counts["filled.status"] += 1
        address = self._clean_address(
            values, "ship_line1", "ship_line2", "ship_city", "ship_postcode", "ship_country"
        )
        if address == "missing":
            if target.address is None:
                reject("no shipping address (none in the row, none for the customer)")
                return None
            address = target.address
            counts["filled.ship_address"] += 1
        elif isinstance(address, str):
            reject(f"shipping address: {address.replace('_', ' ')}")
            return None
        method_text = values.get("delivery_method", "")
        method = default_method(address["country"])
        if not method_text:
            counts["filled.delivery_method"] += 1
        else:
            try:
                method = method_for(method_text, address["country"]).name
            except (UnknownDeliveryMethod, DeliveryMethodUnavailable):
                counts["flagged.delivery_method_unknown"] += 1
        return _CleanOrder(
            row.line, external_id, target, placed_at, status, total_pence, currency, method, address
        )

    def numbers(self, orders: list[_CleanOrder]) -> list[str]:
        """Keep the other system's number when it is six digits and free; allocate the rest."""
        wanted: list[str | None] = []
        for order in orders:
            if (
                _SIX_DIGITS.fullmatch(order.external_id)
                and order.external_id not in self.used_numbers
            ):
                self.used_numbers.add(order.external_id)
                wanted.append(order.external_id)
                self.counts["orders.number_kept"] += 1
            else:
                wanted.append(None)
        candidate = _FIRST_NUMBER
        numbers = []
        for number in wanted:
            if number is None:
                while str(candidate) in self.used_numbers:
                    candidate += 1
                if candidate > _LAST_NUMBER:
                    raise ImportFileError("no free six-digit order numbers left")
                number = str(candidate)
                self.used_numbers.add(number)
                self.counts["orders.number_allocated"] += 1
            numbers.append(number)
        return numbers


def _dedupe(rows: list[_Row], key: str, report: ImportReport, file: str, kind: str) -> list[_Row]:
    """Drop rows identical to an earlier one; reject a repeated id with different details."""
    seen: dict[tuple[str, ...], int] = {}
    ids: set[str] = set()
    kept = []
    for row in rows:
        signature = tuple(_tidy(value) for value in row.values.values())
        if signature in seen:
            report.counts[f"duplicates.exact_{kind}"] += 1
            continue
        seen[signature] = row.line
        external_id = row.values.get(key, "")
        if external_id and external_id in ids:
            report.reject(
                file, row.line, external_id, kind, f"{key} repeated with different details"
            )
            continue
        ids.add(external_id)
        kept.append(row)
    return kept


def _already_imported(session: Session, source: str, files: list[FileInfo]) -> bool:
    hashes = sorted(info.sha256 for info in files)
    for recorded in session.scalars(select(ImportRun.files).where(ImportRun.source == source)):
        if sorted(entry["sha256"] for entry in recorded) == hashes:
            return True
    return False


def import_files(
    sessions: sessionmaker[Session],
    customers: Path,
    orders: Path | None = None,
    options: ImportOptions | None = None,
    *,
    now: datetime | None = None,
) -> ImportReport:
    """Import a customers file and optionally an orders file in one transaction.

    Raises :class:`ImportFileError` before touching the database if a file cannot be read or
    lacks a required column; a database error propagates after everything was rolled back.
    """
    options = options or ImportOptions()
    started = now or datetime.now(timezone.utc)
    report = ImportReport(source=options.source)
    customer_info, customer_rows = _read(
        customers, CUSTOMER_COLUMNS, _REQUIRED_CUSTOMER, report.counts
    )
    report.files.append(customer_info)
    order_rows: list[_Row] = []
    if orders is not None:
        order_info, order_rows = _read(orders, ORDER_COLUMNS, _REQUIRED_ORDER, report.counts)
        report.files.append(order_info)
    counts = report.counts
    counts["customers.read"] = len(customer_rows)
    counts["orders.read"] = len(order_rows)

    with sessions() as session, session.begin():
        if _already_imported(session, options.source, report.files):
            report.status = "already imported"
            return report
        importer = _Importer(session, options, report, started)
        importer.prefetch()

        cleaned: list[_CleanCustomer] = []
        for row in importer._progress(
            _dedupe(customer_rows, "customer_id", report, customers.name, "customers"), "customers"
        ):
            customer = importer.clean_customer(customers.name, row)
            if customer is None:
                importer.rejected_ids.add(row.values.get("customer_id", ""))
            else:
                cleaned.append(customer)
        cleaned.sort(key=lambda customer: (customer.created_at, customer.line))
        for customer in cleaned:
            importer.match(customer, customers.name)

        clean_orders: list[_CleanOrder] = []
        if orders is not None:
            for row in importer._progress(
                _dedupe(order_rows, "order_id", report, orders.name, "orders"), "orders"
            ):
                order = importer.clean_order(orders.name, row)
                if order is not None:
                    clean_orders.append(order)

        changed_targets = [t for t in importer.by_external.values() if not t.new and t.merges]
        if not (importer.new_targets or changed_targets or clean_orders):
            report.status = "dry run" if options.dry_run else "nothing to change"
            session.rollback()
            return report

        run_id = session.execute(
            insert(ImportRun).returning(ImportRun.id),
            [
                {
                    "source": options.source,
                    "started_at": started,
                    "finished_at": started,
                    "files": [vars(i) for i in report.files],
                    "counts": {},
                }
            ],
        ).scalar_one()
        report.import_run_id = run_id
        _write_customers(session, importer, run_id, started)
        numbers = importer.numbers(clean_orders)
        _write_orders(session, importer, clean_orders, numbers)
        counts["orders.inserted"] = len(clean_orders)
        finished = now or datetime.now(timezone.utc)
        session.execute(
            update(ImportRun)
            .where(ImportRun.id == run_id)
            .values(finished_at=finished, counts=dict(counts))
        )
        audit(
            session,
            at=finished,
            actor=f"import:{options.source}"[:64],
            action="import",
            entity="import_run",
            entity_id=str(run_id),
            before=None,
            after={
                "files": [vars(i) for i in report.files],
                "counts": dict(sorted(counts.items())),
            },
            conversation_id=None,
        )
        session.flush()
        if options.dry_run:
            report.status = "dry run"
            report.import_run_id = None
            session.rollback()
    return report


def _insert(
    session: Session, model: type[Base], rows: list[dict[str, Any]], *returning: Any
) -> list[Any]:
    """Insert many rows in batches through Core, returning ``returning`` columns per row.

    Core's "insertmanyvalues" sends a thousand rows per statement; the ORM's bulk insert
    with RETURNING was quadratic in the number of rows here (SQLAlchemy 2.1).
    """
    statement = insert(model.__table__)  # type: ignore[arg-type]
    if not returning:
        session.connection().execute(statement, rows)
        return []
    result = session.connection().execute(statement.returning(*returning), rows)
    return [tuple(row) for row in result]


def _write_customers(session: Session, importer: _Importer, run_id: int, now: datetime) -> None:
    new = importer.new_targets
    if new:
        rows = [
            {
                "first_name": t.first_name,
                "last_name": t.last_name,
                "email": t.email,
                "phone": t.phone,
                "created_at": t.created_at,
                "status": "active",
            }
            for t in new
        ]
        ids = {
            email: id_
            for id_, email in _insert(session, Customer, rows, Customer.id, Customer.email)
        }
        for target in new:
            target.customer_id = ids[target.email or ""]
    # Blanks of customers already in the database, filled from their duplicates.
    for target in {id(t): t for t in importer.by_external.values()}.values():
        if target.new or not target.merges:
            continue
        if target.phone_filled:
            session.execute(
                update(Customer).where(Customer.id == target.customer_id).values(phone=target.phone)
            )
    addresses = [
        {**t.address, "customer_id": t.customer_id, "is_default": True}
        for t in {id(t): t for t in importer.by_external.values()}.values()
        if t.address is not None and (t.new or t.address_filled)
    ]
    if addresses:
        _insert(session, Address, addresses)
    importer.counts["customers.inserted"] = len(new)
    importer.counts["addresses.inserted"] = len(addresses)

    external = []
    merges = []
    for target in {id(t): t for t in importer.by_external.values()}.values():
        external += [
            {
                "source": importer.options.source,
                "external_id": ext,
                "customer_id": target.customer_id,
            }
            for ext in target.external_ids
        ]
        merges += [
            {
                "customer_id": target.customer_id,
                "rule": rule,
                "merged": merged,
                "import_run_id": run_id,
                "created_at": now,
            }
            for rule, merged in target.merges
        ]
    if external:
        _insert(session, ExternalCustomer, external)
    if merges:
        _insert(session, CustomerMerge, merges)


def _write_orders(
    session: Session, importer: _Importer, orders: list[_CleanOrder], numbers: list[str]
) -> None:
    if not orders:
        return
    rows = [
        {
            "number": number,
            "customer_id": order.target.customer_id,
            "status": order.status,
            "ship_line1": order.address["line1"],
            "ship_line2": order.address["line2"],
            "ship_city": order.address["city"],
            "ship_postcode": order.address["postcode"],
            "ship_country": order.address["country"],
            "delivery_method": order.delivery_method,
            "placed_at": order.placed_at,
            "updated_at": order.placed_at,
            "total_pence": order.total_pence,
            "currency": order.currency,
        }
        for order, number in zip(orders, numbers, strict=True)
    ]
    result = _insert(session, Order, rows, Order.number, Order.id)
    ids = {number: id_ for number, id_ in result}
    _insert(
        session,
        ExternalOrder,
        [
            {
                "source": importer.options.source,
                "external_id": order.external_id,
                "order_id": ids[number],
            }
            for order, number in zip(orders, numbers, strict=True)
        ],
    )
