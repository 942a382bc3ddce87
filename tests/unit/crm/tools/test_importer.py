"""`crm import`: cleaning rules, duplicates and merges, idempotence, dry run and rollback."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from crm.__main__ import main
from crm.records.migrate import upgrade
from crm.records.models import (
    Address,
    AuditLog,
    Base,
    Customer,
    CustomerMerge,
    ExternalCustomer,
    ExternalOrder,
    ImportRun,
    Order,
)
from crm.tools.cleaning import CleanError, clean_name, parse_amount, parse_date, parse_status
from crm.tools.importer import ImportFileError, ImportOptions, import_files

NOW = datetime(2025, 6, 2, 10, 0, tzinfo=timezone.utc)
CUSTOMER_HEADER = [
    "Customer ID", "First Name", "Surname", "E-mail", "Phone", "Address Line1", "Town",
    "Postcode", "Country", "Created",
]  # fmt: skip
ORDER_HEADER = ["Order No", "Customer ID", "Order Date", "Status", "Total", "Currency"]
TABLES: tuple[type[Base], ...] = (
    Customer, Address, Order, ExternalCustomer, ExternalOrder, CustomerMerge, ImportRun, AuditLog,
)  # fmt: skip


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, bom: bool = False) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def person(
    ext: str,
    first: str = "Ada",
    last: str = "Lovelace",
    email: str = "ada@example.com",
    phone: str = "",
    line1: str = "12 Ancoats Way",
    postcode: str = "M4 6AB",
    created: str = "2021-01-01",
    country: str = "GB",
) -> list[str]:
    return [ext, first, last, email, phone, line1, "Manchester", postcode, country, created]


def run(
    sessions: sessionmaker[Session],
    customers: Path,
    orders: Path | None = None,
    **options: Any,
) -> Any:
    return import_files(sessions, customers, orders, ImportOptions(**options), now=NOW)


def snapshot(sessions: sessionmaker[Session]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables an import writes, for before/after comparisons."""
    with sessions() as session:
        return {
            model.__tablename__: [
                tuple(row)
                for row in session.execute(
                    select(*model.__table__.columns).order_by(*model.__table__.primary_key)
                )
            ]
            for model in TABLES
        }


def customers_by_email(sessions: sessionmaker[Session]) -> dict[str, Customer]:
    with sessions() as session:
        found = {c.email: c for c in session.scalars(select(Customer))}
        session.expunge_all()
        return found


# -- cleaning rules, without a database --------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "order", "expected", "form"),
    [
        ("2024-03-05", "dmy", datetime(2024, 3, 5), "iso"),
        ("2024-03-05 14:22", "dmy", datetime(2024, 3, 5, 14, 22), "iso"),
        ("2024-03-05T14:22:00+01:00", "dmy", datetime(2024, 3, 5, 13, 22), "iso"),
        ("2024-03-05T14:22:00Z", "dmy", datetime(2024, 3, 5, 14, 22), "iso"),
        ("2024/03/05", "dmy", datetime(2024, 3, 5), "ymd"),
        ("05/03/2024", "dmy", datetime(2024, 3, 5), "dmy"),
        ("05/03/2024", "mdy", datetime(2024, 5, 3), "mdy"),
        ("25/03/2024", "mdy", datetime(2024, 3, 25), "dmy"),  # unambiguous whatever the option
        ("03/25/2024 09:30", "dmy", datetime(2024, 3, 25, 9, 30), "mdy"),
        ("5.3.24", "dmy", datetime(2024, 3, 5), "dmy"),
        ("05-03-2024", "dmy", datetime(2024, 3, 5), "dmy"),
        ("5 Mar 2024", "dmy", datetime(2024, 3, 5), "text"),
        ("05-Mar-2024", "dmy", datetime(2024, 3, 5), "text"),
        ("5th March, 2024 14:22", "dmy", datetime(2024, 3, 5, 14, 22), "text"),
        ("March 5, 2024", "dmy", datetime(2024, 3, 5), "text"),
    ],
)
def test_dates_in_common_formats(typed: str, order: Any, expected: datetime, form: str) -> None:
    assert parse_date(typed, order) == (expected.replace(tzinfo=timezone.utc), form)


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "missing"),
        ("31/02/2024", "no such date or time"),
        ("13/13/2024", "neither number can be the month"),
        ("5 Smarch 2024", "not a date in a known format"),
        ("yesterday", "not a date in a known format"),
        ("2024-13-01", "not a valid ISO date"),
    ],
)
def test_dates_that_cannot_be_read(typed: str, reason: str) -> None:
    with pytest.raises(CleanError) as caught:
        parse_date(typed)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("£1,234.50", (123450, "GBP", "thousands")),
        ("1234.5", (123450, None, "plain")),
        ("12", (1200, None, "plain")),
        ("1.234,50", (123450, None, "comma_decimal")),
        ("12,50 €", (1250, "EUR", "comma_decimal")),
        ("GBP 12", (1200, "GBP", "plain")),
        ("12.00 usd", (1200, "USD", "plain")),
        ("1,234", (123400, None, "thousands")),
        ("1.234", (123400, None, "comma_decimal")),
        ("£ 1 234.00", (123400, "GBP", "plain")),
    ],
)
def test_amounts_in_common_formats(typed: str, expected: tuple[int, str | None, str]) -> None:
    assert parse_amount(typed) == expected


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "missing"),
        ("twelve pounds", "not an amount in a known format"),
        ("-12.00", "negative"),
        ("12.345.6", "not an amount in a known format"),
        ("12.9999", "not an amount in a known format"),
        ("JPY 1200", "not a currency we take"),
        ("£12 EUR", "two different currencies"),
    ],
)
def test_amounts_that_cannot_be_read(typed: str, reason: str) -> None:
    with pytest.raises(CleanError) as caught:
        parse_amount(typed)
    assert caught.value.reason == reason


def test_names_are_trimmed_and_recased_only_when_all_one_case() -> None:
    assert clean_name("  ANNE-MARIE   ") == ("Anne-Marie", True, True)
    assert clean_name("o'connor") == ("O'Connor", False, True)
    assert clean_name("McDonald") == ("McDonald", False, False)
    assert clean_name("de  Vries") == ("de Vries", True, False)
    assert clean_name("") == ("", False, False)
    with pytest.raises(CleanError, match="only letters"):
        clean_name("J0hn")


def test_order_statuses_map_onto_ours() -> None:
    assert parse_status(" Dispatched ") == "shipped"
    assert parse_status("COMPLETED") == "delivered"
    assert parse_status("canceled") == "cancelled"
    assert parse_status("") is None
    with pytest.raises(CleanError):
        parse_status("lost at sea")


# -- importing into the database --------------------------------------------------------


def test_customers_are_cleaned_on_the_way_in(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    rows = [
        person(
            "1", "  ADA ", "lovelace", " Ada@Example.COM ", "07700 900123", created="5 Mar 2021"
        ),
        # An Irish mobile typed nationally: read in the default region given (IE here).
        person(
            "2",
            "Siobhán",
            "O'Brien",
            "siobhan@example.ie",
            "087 123 4567",
            postcode="d02x285",
            country="",
        ),
        person("3", "Bad", "Email", "not-an-email", ""),  # no usable email or phone
        person("4", "Phone", "Only", "", "+44 7700 900456"),  # phone matches nobody
        person("5", "J0hn", "Smith", "john@example.com"),  # not a name
        person(
            "6",
            "Grace  Brewster",
            "Hopper",
            "grace@example.com",
            "12",
            line1="",
            postcode="",
            created="",
        ),
    ]
    path = write_csv(tmp_path / "customers.csv", CUSTOMER_HEADER, rows, bom=True)
    report = run(sessions, path, default_region="IE")

    found = customers_by_email(sessions)
    assert set(found) == {"ada@example.com", "siobhan@example.ie", "grace@example.com"}
    ada = found["ada@example.com"]
    assert (ada.first_name, ada.last_name) == ("Ada", "Lovelace")
    # A GB number typed nationally with default region IE is not valid: flagged, not stored.
    assert ada.phone is None
    assert ada.created_at == datetime(2021, 3, 5, tzinfo=timezone.utc)
    assert found["siobhan@example.ie"].phone == "+353871234567"
    assert found["grace@example.com"].created_at == NOW
    with sessions() as session:
        irish = session.scalars(select(Address).where(Address.postcode == "D02 X285")).one()
    assert irish.country == "IE"  # filled from the postcode's format

    counts = report.counts
    assert counts["names.recased"] == 2 and counts["names.trimmed"] == 1
    assert counts["cells.trimmed"] == 2
    assert counts["emails.normalised"] == 1
    assert counts["phones.normalised"] == 2  # counted as cleaned, before #4 is rejected
    assert counts["flagged.phone_invalid"] == 2  # Ada's GB number read in IE, Grace's "12"
    assert counts["flagged.phone_missing"] == 1
    assert counts["flagged.email_invalid"] == 1 and counts["flagged.email_missing"] == 1
    assert counts["filled.country"] == 1
    assert counts["filled.created_at"] == 1
    assert counts["flagged.address_incomplete"] == 1  # a town but no street or postcode
    assert counts["dates.text"] == 1 and counts["dates.iso"] == 2  # #3 rejected before
    rejected = [(row.file, row.line, row.external_id, row.reason) for row in report.rejected]
    assert rejected == [
        ("customers.csv", 4, "3", "no usable email or phone"),
        ("customers.csv", 6, "5", "name: only letters, spaces, hyphens and apostrophes"),
        ("customers.csv", 5, "4", "email missing or invalid, and no customer with this phone"),
    ]
    assert counts["customers.inserted"] == 3


def test_orders_are_cleaned_numbered_and_recorded(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    customers = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, [person("C1")])
    orders = write_csv(
        tmp_path / "o.csv",
        ORDER_HEADER,
        [
            ["123456", "C1", "05/03/2024", "Dispatched", "£1,234.50", ""],
            ["ORD-9", "C1", "2024-03-06 14:22", "", "1.234,50", "eur"],
            ["123457", "C1", "7 Mar 2024", "paid", "12", ""],
            ["123458", "C1", "03/25/2024", "new", "twelve", ""],
            ["123459", "C9", "2024-03-05", "paid", "12", ""],
            ["123460", "C1", "someday", "paid", "12", ""],
        ],
    )
    report = run(sessions, customers, orders)

    with sessions() as session:
        found = {
            external: order
            for external, order in session.execute(
                select(ExternalOrder.external_id, Order).join(Order)
            )
        }
    assert set(found) == {"123456", "ORD-9", "123457"}
    first = found["123456"]
    assert first.number == "123456"  # six digits and free: kept
    assert (first.status, first.total_pence, first.currency) == ("shipped", 123450, "GBP")
    assert first.placed_at == datetime(2024, 3, 5, tzinfo=timezone.utc)
    assert (first.ship_line1, first.ship_postcode, first.ship_country) == (
        "12 Ancoats Way",
        "M4 6AB",
        "GB",
    )
    assert first.delivery_method == "UK Standard"
    second = found["ORD-9"]
    assert second.number == "100000"  # allocated: not six digits
    assert (second.status, second.total_pence, second.currency) == ("placed", 123450, "EUR")
    assert (found["123457"].total_pence, found["123457"].currency) == (1200, "GBP")

    rejected = {row.external_id: row.reason for row in report.rejected}
    assert rejected == {
        "123458": "amount: not an amount in a known format",
        "123459": "unknown customer_id",
        "123460": "date: not a date in a known format",
    }
    counts = report.counts
    assert counts["orders.number_kept"] == 2 and counts["orders.number_allocated"] == 1
    assert counts["filled.status"] == 1 and counts["filled.currency"] == 1
    assert counts["filled.ship_address"] == 3
    assert counts["amounts.thousands"] == 1 and counts["amounts.comma_decimal"] == 1
    assert counts["dates.dmy"] == 1 and counts["dates.text"] == 1


def test_exact_duplicates_are_dropped(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    row = person("C1")
    customers = write_csv(
        tmp_path / "c.csv", CUSTOMER_HEADER, [row, row, [f" {cell} " for cell in row]]
    )
    order = ["100001", "C1", "2024-03-05", "paid", "12", ""]
    orders = write_csv(tmp_path / "o.csv", ORDER_HEADER, [order, order])
    report = run(sessions, customers, orders)
    assert report.counts["duplicates.exact_customers"] == 2
    assert report.counts["duplicates.exact_orders"] == 1
    assert report.rejected == []
    with sessions() as session:
        assert session.scalar(select(Customer.id).where(Customer.email == "ada@example.com"))
        assert len(session.scalars(select(Order)).all()) == 1


def merges(sessions: sessionmaker[Session]) -> list[tuple[str, str, str]]:
    """(kept customer's email, rule, duplicate's external id) of every merge."""
    with sessions() as session:
        return [
            (email, rule, merged["external_id"])
            for email, rule, merged in session.execute(
                select(Customer.email, CustomerMerge.rule, CustomerMerge.merged)
                .join(Customer)
                .order_by(CustomerMerge.id)
            )
        ]


def external_ids(sessions: sessionmaker[Session]) -> dict[str, str]:
    with sessions() as session:
        rows = session.execute(select(ExternalCustomer.external_id, Customer.email).join(Customer))
        return {external_id: email for external_id, email in rows}


@pytest.mark.parametrize(
    ("duplicate", "rule"),
    [
        (person("D", "Ada", "Lovelace", " ADA@example.com", "07700 900123", created="2020-01-01"),
         "email"),
        (person("D", "A", "Lovelace", "ada.l@work.example", "+44 7700 900 999", postcode="M1 1AA",
                created="2020-01-01"), "phone"),
        (person("D", "Ada", "Lovelacce", "ada@home.example", "07700 900123", postcode="m46ab",
                created="2020-01-01"), "name_postcode"),
    ],
)  # fmt: skip
def test_fuzzy_duplicates_merge_into_the_earliest_customer(
    sessions: sessionmaker[Session], tmp_path: Path, duplicate: list[str], rule: str
) -> None:
    original = person("A", "Ada", "Lovelace", "ada@example.com", "", created="2021-01-01")
    if rule == "phone":
        original = person("A", "Ada", "Lovelace", "ada@example.com", "07700900999")
    # The duplicate comes second in the file but was created first: it is the one kept.
    customers = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, [original, duplicate])
    report = run(sessions, customers)

    found = customers_by_email(sessions)
    assert len(found) == 1
    (kept_email,) = found
    assert kept_email == normalised_email_of(duplicate)
    assert external_ids(sessions) == {"A": kept_email, "D": kept_email}
    assert merges(sessions) == [(kept_email, rule, "A")]
    assert report.counts[f"merged.{rule}"] == 1
    assert found[kept_email].phone is not None
    with sessions() as session:
        merge = session.scalars(select(CustomerMerge)).one()
        assert merge.import_run_id == session.scalar(select(ImportRun.id))
        assert merge.merged["line"] == 2


def normalised_email_of(row: list[str]) -> str:
    return row[3].strip().lower()


def test_dissimilar_names_at_one_postcode_are_not_merged(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    customers = write_csv(
        tmp_path / "c.csv",
        CUSTOMER_HEADER,
        [person("A", "Ada", "Lovelace"), person("B", "Ida", "Lovell", "ida@example.com")],
    )
    report = run(sessions, customers)
    assert report.counts["customers.inserted"] == 2
    assert merges(sessions) == []


def test_a_row_merges_into_a_customer_already_in_the_database(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    with sessions.begin() as session:
        session.add(
            Customer(
                first_name="Ada",
                last_name="Lovelace",
                email="ada@example.com",
                created_at=datetime(2025, 1, 1, tzinfo=timezone.utc),
            )
        )
    customers = write_csv(
        tmp_path / "c.csv",
        CUSTOMER_HEADER,
        # Created earlier elsewhere, but the shop's own customer is the one kept.
        [person("X1", "ADA", "LOVELACE", "Ada@Example.com", "07700 900123", created="2019-01-01")],
    )
    report = run(sessions, customers)

    found = customers_by_email(sessions)
    assert list(found) == ["ada@example.com"]
    ada = found["ada@example.com"]
    assert ada.created_at == datetime(2025, 1, 1, tzinfo=timezone.utc)
    assert ada.phone == "+447700900123"  # its blank filled from the duplicate
    assert external_ids(sessions) == {"X1": "ada@example.com"}
    assert merges(sessions) == [("ada@example.com", "email", "X1")]
    with sessions() as session:
        address = session.scalars(select(Address)).one()
    assert (address.customer_id, address.is_default) == (ada.id, True)
    assert report.counts["customers.inserted"] == 0


def test_importing_again_changes_nothing(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    rows = [
        person("A", "Ada", "Lovelace", "ada@example.com", "07700 900123"),
        person("B", "Ada", "Lovelace", "ADA@example.com", created="2022-01-01"),
        person("C", "Grace", "Hopper", "grace@example.com", postcode="M1 1AA"),
    ]
    order_rows = [
        ["100001", "B", "2024-03-05", "paid", "12", ""],
        ["X-2", "C", "2024-03-06", "paid", "£3.50", ""],
    ]
    customers = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, rows)
    orders = write_csv(tmp_path / "o.csv", ORDER_HEADER, order_rows)
    first = run(sessions, customers, orders)
    assert first.status == "imported"
    before = snapshot(sessions)
    assert len(before["audit_log"]) == 1
    assert len(before["import_runs"]) == 1

    again = run(sessions, customers, orders)
    assert again.status == "already imported"
    assert snapshot(sessions) == before

    # The same rows in another order (other bytes, so read again): still nothing changes.
    reordered = write_csv(tmp_path / "c2.csv", CUSTOMER_HEADER, rows[::-1])
    reordered_orders = write_csv(tmp_path / "o2.csv", ORDER_HEADER, order_rows[::-1])
    third = run(sessions, reordered, reordered_orders)
    assert third.status == "nothing to change"
    assert third.counts["customers.unchanged"] == 3
    assert third.counts["orders.unchanged"] == 2
    assert snapshot(sessions) == before


def test_the_run_is_recorded_once_with_one_audit_row(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    customers = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, [person("A")])
    report = run(sessions, customers, source="oldshop")
    with sessions() as session:
        run_row = session.scalars(select(ImportRun)).one()
        audit = session.scalars(select(AuditLog)).one()
        external = session.scalars(select(ExternalCustomer)).one()
    assert report.import_run_id == run_row.id
    assert run_row.source == "oldshop" and external.source == "oldshop"
    assert run_row.files[0]["name"] == "c.csv" and run_row.files[0]["rows"] == 1
    assert run_row.counts["customers.inserted"] == 1
    assert (audit.actor, audit.action, audit.entity_id) == (
        "import:oldshop",
        "import",
        str(run_row.id),
    )
    assert "ada@example.com" not in json.dumps(audit.after)


def test_dry_run_reports_but_leaves_the_database_unchanged(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    customers = write_csv(
        tmp_path / "c.csv",
        CUSTOMER_HEADER,
        [person("A"), person("B", email="ADA@example.com"), person("C", email="bad", phone="")],
    )
    orders = write_csv(
        tmp_path / "o.csv", ORDER_HEADER, [["100001", "A", "2024-03-05", "paid", "12", ""]]
    )
    before = snapshot(sessions)
    report = run(sessions, customers, orders, dry_run=True)
    assert report.status == "dry run"
    assert report.import_run_id is None
    assert report.counts["customers.inserted"] == 1
    assert report.counts["merged.email"] == 1
    assert report.counts["orders.inserted"] == 1
    assert [row.reason for row in report.rejected] == ["no usable email or phone"]
    assert snapshot(sessions) == before
    # The real run afterwards does the same.
    assert run(sessions, customers, orders).counts == report.counts


def _refuse_orders_of(engine: Engine, total_pence: int) -> None:
    """A database trigger refusing one order: a failure the cleaner cannot foresee."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse_order BEFORE INSERT ON orders "
                f"WHEN NEW.total_pence = {total_pence} "
                "BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END"
            )
        else:
            connection.exec_driver_sql(
                "CREATE FUNCTION refuse_order() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.total_pence = {total_pence} THEN "
                "RAISE EXCEPTION 'refused by test trigger'; END IF; RETURN NEW; END $$ "
                "LANGUAGE plpgsql"
            )
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse_order BEFORE INSERT ON orders "
                "FOR EACH ROW EXECUTE FUNCTION refuse_order()"
            )


def test_a_failure_at_any_row_rolls_the_whole_import_back(
    sessions: sessionmaker[Session], engine: Engine, tmp_path: Path
) -> None:
    customers = write_csv(
        tmp_path / "c.csv",
        CUSTOMER_HEADER,
        [person("A"), person("B", "Grace", "Hopper", "grace@example.com", postcode="M1 1AA")],
    )
    orders = write_csv(
        tmp_path / "o.csv",
        ORDER_HEADER,
        [
            ["100001", "A", "2024-03-05", "paid", "12", ""],
            ["100002", "B", "2024-03-05", "paid", "42.42", ""],  # the database refuses this
        ],
    )
    _refuse_orders_of(engine, 4242)
    before = snapshot(sessions)
    with pytest.raises(DBAPIError, match="refused by test trigger"):
        run(sessions, customers, orders)
    assert snapshot(sessions) == before
    with engine.begin() as connection:
        connection.execute(
            text(
                "DROP TRIGGER refuse_order"
                + (" ON orders" if engine.dialect.name == "postgresql" else "")
            )
        )
    assert run(sessions, customers, orders).counts["orders.inserted"] == 2


def test_files_without_a_required_column_are_refused(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    customers = write_csv(tmp_path / "c.csv", ["id", "name"], [["1", "Ada Lovelace"]])
    with pytest.raises(ImportFileError, match="missing column"):
        run(sessions, customers)


def test_cli_imports_and_writes_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DEFAULT_PHONE_REGION", "GB")
    customers = write_csv(
        tmp_path / "c.csv",
        CUSTOMER_HEADER,
        [person("A", phone="07700 900123"), person("B", email="x")],
    )
    report_dir = tmp_path / "report"
    assert main(["import", str(customers), "--source", "oldshop", "--report", str(report_dir)]) == 0
    out = capsys.readouterr().out
    assert "imported" in out and str(report_dir) in out
    data = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    assert data["counts"]["customers.inserted"] == 1
    assert data["rejected"] == [
        {"file": "c.csv", "line": 3, "external_id": "B", "reason": "no usable email or phone"}
    ]
    assert "c.csv:3" in (report_dir / "report.txt").read_text(encoding="utf-8")
    assert main(["import", str(customers), "--source", "oldshop", "--report", str(report_dir)]) == 0
    assert "already imported" in capsys.readouterr().out
