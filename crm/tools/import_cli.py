"""The ``import`` and ``messy`` commands of ``python -m crm`` (see docs/crm.md).

``import CUSTOMERS [ORDERS]`` loads another system's CSV export in one transaction and writes
a report (``report.json`` and ``report.txt``) to ``--report DIR``, by default
``var/imports/<UTC timestamp>/``; the summary is also printed. Phone numbers without ``+`` are
read in ``DEFAULT_PHONE_REGION`` from the project's settings, which only this entry point
reads: the library takes the region as an argument. ``messy`` writes a generated export with
its truth, for tests and ``bench/crm_import.py``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Final

from sqlalchemy.exc import SQLAlchemyError

from crm.records.db import make_engine, make_session_factory
from crm.tools.importer import ImportFileError, ImportOptions, import_files
from crm.tools.messy import generate, write

COMMANDS: Final = ("import", "messy")

log = logging.getLogger("crm")


def add_commands(commands: Any) -> None:
    """Add ``import`` and ``messy`` to the subcommands of ``python -m crm``."""
    run = commands.add_parser(
        "import", help="import customers and orders from another system's CSV files"
    )
    run.add_argument("customers", type=Path, help="customers CSV file")
    run.add_argument("orders", type=Path, nargs="?", help="orders CSV file (optional)")
    run.add_argument("--source", default="import", help="name of the other system (max 32)")
    run.add_argument(
        "--date-order",
        choices=("dmy", "mdy"),
        default="dmy",
        help="how to read dates like 05/03/2024 that could be either (default: day first)",
    )
    run.add_argument("--currency", default="GBP", help="currency of amounts without one")
    run.add_argument(
        "--dry-run", action="store_true", help="clean and match, report, then roll back"
    )
    run.add_argument(
        "--report", type=Path, help="folder for report.json and report.txt (var/imports/<time>)"
    )
    messy = commands.add_parser(
        "messy", help="write a messy customers/orders export and its truth, for tests"
    )
    messy.add_argument("--customers", type=int, default=1000, help="people to generate")
    messy.add_argument("--seed", type=int, default=0)
    messy.add_argument("--out", type=Path, required=True, help="folder to write the files to")


def run(args: argparse.Namespace, url: str) -> int:
    """Run ``import`` or ``messy``; return the exit code."""
    if args.command == "messy":
        data = generate(args.customers, seed=args.seed)
        customers, orders = write(data, args.out)
        log.info("wrote %d customer and %d order rows", len(data.customers), len(data.orders))
        sys.stdout.write(f"{customers}\n{orders}\n{args.out / 'truth.json'}\n")
        return 0
    return _import(args, url)


def _import(args: argparse.Namespace, url: str) -> int:
    from config.settings import Settings  # the CLI's entry point, not the library, reads it

    settings = Settings()
    if not 0 < len(args.source) <= 32:
        sys.stderr.write("error: --source must be 1 to 32 characters\n")
        return 1
    options = ImportOptions(
        source=args.source,
        default_region=settings.default_phone_region.upper(),
        date_order=args.date_order,
        default_currency=args.currency.upper(),
        dry_run=args.dry_run,
        progress=sys.stderr.isatty(),
    )
    started = datetime.now(timezone.utc)
    report_dir = args.report or settings.var_dir / "imports" / started.strftime("%Y%m%dT%H%M%SZ")
    engine = make_engine(url)
    try:
        report = import_files(make_session_factory(engine), args.customers, args.orders, options)
    except ImportFileError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    except SQLAlchemyError as exc:
        # The statement and its parameters hold customer data: name the error type only.
        sys.stderr.write(
            f"error: the database refused a write ({type(exc).__name__}); "
            "the whole import was rolled back\n"
        )
        return 1
    finally:
        engine.dispose()
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "report.json").write_text(report.to_json(), encoding="utf-8")
    text = report.to_text()
    (report_dir / "report.txt").write_text(text, encoding="utf-8")
    summary = text.split("\nRejected rows", 1)[0]
    sys.stdout.write(f"{summary}\nReport: {report_dir}\n")
    return 0
