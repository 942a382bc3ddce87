"""The purchase-propensity commands of ``python -m crm``: simulate, propensity-train, score.

* ``simulate --customers N --out PATH [--seed S] [--days D] [--replace]`` writes the customer
  behaviour simulation (crm/tools/simulation.py) into a new SQLite file, migrated to head.
* ``propensity-train --data PATH --model-out DIR`` compares the models on the latest
  leakage-free split of that database (crm/insights/propensity.py), prints the table and saves the
  LightGBM model with its manifest in DIR.
* ``score [--model DIR] [--at DATE]`` scores every active customer of the configured records
  database and replaces ``customer_scores`` in one transaction; safe to run from cron.

Kept apart from crm/__main__.py, which only registers and dispatches them.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Final

from crm.records.db import make_engine

log = logging.getLogger("crm")

COMMANDS: Final = ("simulate", "propensity-train", "score")
DEFAULT_MODEL_DIR: Final = Path("models/propensity")


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the three commands on the CLI's subparsers."""
    from crm.tools.simulation import DEFAULT_CUSTOMERS, DEFAULT_DAYS

    simulate = commands.add_parser(
        "simulate", help="write a customer-behaviour simulation into a new SQLite file"
    )
    simulate.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS)
    simulate.add_argument("--days", type=int, default=DEFAULT_DAYS)
    simulate.add_argument("--seed", type=int, default=20250601)
    simulate.add_argument("--out", type=Path, required=True, help="the SQLite file to create")
    simulate.add_argument("--replace", action="store_true", help="overwrite an existing file")
    train = commands.add_parser(
        "propensity-train", help="compare propensity models on a simulation and save LightGBM's"
    )
    train.add_argument("--data", type=Path, required=True, help="a database from `simulate`")
    train.add_argument("--model-out", type=Path, default=DEFAULT_MODEL_DIR)
    score = commands.add_parser(
        "score", help="score every active customer's purchase propensity (replaces the scores)"
    )
    score.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    score.add_argument("--at", type=_moment, help="score as of this date (default: now)")


def _moment(text: str) -> datetime:
    """An ISO date or date-time; UTC unless it says otherwise."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def run(args: argparse.Namespace, database_url: str) -> int:
    """Run one of :data:`COMMANDS`; return the exit code."""
    if args.command == "simulate":
        return _simulate(args.out, args.customers, args.days, args.seed, replace=args.replace)
    if args.command == "propensity-train":
        return train(args.data, args.model_out)[0]
    return _score(database_url, args.model, args.at)


def _simulate(out: Path, customers: int, days: int, seed: int, *, replace: bool) -> int:
    from crm.records.migrate import upgrade
    from crm.tools.simulation import simulate

    if out.exists():
        if not replace:
            sys.stderr.write(f"error: {out} exists (pass --replace to overwrite it)\n")
            return 1
        out.unlink()
    url = f"sqlite:///{out}"
    upgrade(url)
    engine = make_engine(url)
    try:
        report = simulate(engine, customers=customers, days=days, seed=seed)
    finally:
        engine.dispose()
    log.info(
        "simulated %d customers from %s to %s: %d orders, %d refunds, %d tickets, %d reviews",
        report.customers,
        f"{report.start:%Y-%m-%d}",
        f"{report.end:%Y-%m-%d}",
        report.orders,
        report.refunds,
        report.tickets,
        report.reviews,
    )
    return 0


def train(data: Path, model_out: Path) -> tuple[int, str]:
    """Compare the models on ``data``, save LightGBM's in ``model_out``; (exit code, table)."""
    from crm.insights.propensity import TimeSplit, compare, comparison_table, data_end, save_model

    if not data.exists():
        sys.stderr.write(f"error: no database at {data} (run `python -m crm simulate`)\n")
        return 1, ""
    engine = make_engine(f"sqlite:///{data}")
    try:
        result = compare(engine, TimeSplit.latest(data_end(engine)))
    finally:
        engine.dispose()
    manifest = save_model(result, model_out)
    table = comparison_table(result)
    sys.stdout.write(table + "\n")
    log.info("saved model %s in %s", manifest["version"], model_out)
    return 0, table


def _score(url: str, model_dir: Path, at: datetime | None) -> int:
    from tqdm import tqdm

    from crm.insights.propensity import ModelMismatch, PropensityModel, score_customers

    try:
        model = PropensityModel.load(model_dir)
    except FileNotFoundError:
        sys.stderr.write(f"error: no model in {model_dir} (run `make bench-propensity`)\n")
        return 1
    except ModelMismatch as problem:
        sys.stderr.write(f"error: {problem} (run `make bench-propensity`)\n")
        return 1
    engine = make_engine(url)
    try:
        with tqdm(unit="customer", desc="scoring", disable=not sys.stderr.isatty()) as bar:
            scored = score_customers(engine, model, at=at, progress=bar.update)
    finally:
        engine.dispose()
    log.info("scored %d customers with model %s", scored, model.version)
    return 0
