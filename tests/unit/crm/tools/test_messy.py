"""The messy export generator: reproducible, and its truth is what the importer finds."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crm.__main__ import main
from crm.records.models import Customer, CustomerMerge, ExternalCustomer
from crm.tools.importer import ImportOptions, import_files
from crm.tools.messy import generate, write

NOW = datetime(2025, 6, 2, 10, 0, tzinfo=timezone.utc)


def test_the_same_seed_gives_the_same_files() -> None:
    first, again, other = generate(50, seed=7), generate(50, seed=7), generate(50, seed=8)
    assert (first.customers, first.orders) == (again.customers, again.orders)
    assert first.customers != other.customers


def test_the_importer_finds_exactly_the_generated_truth(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    data = generate(400, seed=3)
    customers, orders = write(data, tmp_path)
    truth = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    # The sample exercises every kind of mess the truth can describe.
    assert {entry["rule"] for entry in truth["duplicates"].values()} == {
        "email",
        "phone",
        "name_postcode",
    }
    assert truth["exact_copies"]["customers"] > 0 and truth["rejected_orders"]

    report = import_files(sessions, customers, orders, ImportOptions(), now=NOW)

    with sessions() as session:
        owner = dict(
            (external_id, customer_id)
            for external_id, customer_id in session.execute(
                select(ExternalCustomer.external_id, ExternalCustomer.customer_id)
            )
        )
        merges = Counter(session.scalars(select(CustomerMerge.rule)))
        customer_count = len(session.scalars(select(Customer.id)).all())
    for duplicate, entry in truth["duplicates"].items():
        assert owner[duplicate] == owner[entry["of"]], (duplicate, entry)
    assert merges == Counter(entry["rule"] for entry in truth["duplicates"].values())
    originals = {row[0] for row in data.customers if row[0] not in truth["duplicates"]} - set(
        truth["rejected_customers"]
    )
    assert customer_count == len(originals)
    assert len({owner[external_id] for external_id in originals}) == len(originals)

    assert report.counts["duplicates.exact_customers"] == truth["exact_copies"]["customers"]
    assert report.counts["duplicates.exact_orders"] == truth["exact_copies"]["orders"]
    rejected = {
        ("customers" if row.file == "customers.csv" else "orders", row.external_id): row.reason
        for row in report.rejected
    }
    expected = {("customers", key): reason for key, reason in truth["rejected_customers"].items()}
    expected |= {("orders", key): reason for key, reason in truth["rejected_orders"].items()}
    assert rejected == expected


def test_cli_writes_the_files(tmp_path: Path) -> None:
    assert main(["messy", "--customers", "20", "--seed", "1", "--out", str(tmp_path)]) == 0
    header = (tmp_path / "customers.csv").read_bytes()[:20]
    assert header.startswith(b"\xef\xbb\xbfCustomer ID")  # a BOM, as some exports have
    assert (tmp_path / "orders.csv").exists() and (tmp_path / "truth.json").exists()
