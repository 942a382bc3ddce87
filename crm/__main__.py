"""Command line for the records: ``python -m crm migrate | seed | demo-identities | answers``.

The database URL comes from the project's settings (``DATABASE_URL``, default
``var/records.db``). Logs carry counts and revision names only, never the URL (it may
hold a password) or personal data. ``demo-identities`` writes the fixed, fictional demo
accounts to standard output, because showing them is its whole purpose. ``answers`` prints
how knowledge answers were voted on and the questions the agent could not answer.

``simulate``, ``propensity-train`` and ``score`` are the purchase-propensity commands
(crm/tools/propensity_cli.py).

``import`` loads customers and orders from another system's CSV files, and ``messy`` writes
such files for tests (crm/tools/import_cli.py, docs/crm.md).

``routing-train [--kind lr|finetune] [--data CSV] [--test CSV] [--model-out DIR]`` trains the
ticket-routing classifier (crm/insights/routing.py; the default kind is the benchmark's winner,
docs/crm.md).

``staff add | list`` manage the agent console's accounts. ``staff add`` is how the first
admin comes to exist, since there is no default password. The password is read from the
terminal (twice, unechoed) or, with ``--password-stdin``, as one line of standard input for
scripts; never from an argument, which other users could see in the process list.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import make_url

from config.contract import STAFF_TEAMS
from crm.desk.staff import StaffService
from crm.insights.routing import DEFAULT_KIND as DEFAULT_ROUTING_KIND
from crm.insights.routing import KINDS as ROUTING_KINDS
from crm.insights.routing import Kind as RoutingKind
from crm.records.answers import AnswerLog
from crm.records.db import make_engine, make_session_factory
from crm.records.errors import StaffError
from crm.records.migrate import upgrade
from crm.records.models import STAFF_ROLES
from crm.tools import import_cli, propensity_cli
from crm.tools.demo import identity_statuses, seed

log = logging.getLogger("crm")


def database_url() -> str:
    """Return the records database URL from the project's settings (``DATABASE_URL``)."""
    from config.settings import Settings  # the CLI's entry point, not the library, reads it

    return Settings().database_url


def _backend(url: str) -> str:
    return make_url(url).get_backend_name()


def _migrate(url: str) -> int:
    log.info("migrating %s database to head", _backend(url))
    upgrade(url)
    log.info("migrations applied")
    return 0


def _seed(url: str) -> int:
    engine = make_engine(url)
    try:
        report = seed(make_session_factory(engine))
    finally:
        engine.dispose()
    log.info(
        "seeded %d rows: %d customers, %d products, %d orders, %d invoices, %d refunds, %d tickets",
        report.total,
        report.customers,
        report.products,
        report.orders,
        report.invoices,
        report.refunds,
        report.tickets,
    )
    return 0


def _demo_identities(url: str) -> int:
    engine = make_engine(url)
    try:
        statuses = identity_statuses(make_session_factory(engine))
    finally:
        engine.dispose()
    out = sys.stdout
    out.write(f"{'name':<16}{'email':<22}{'postcode':<10}orders\n")
    for status in statuses:
        identity = status.identity
        orders = ", ".join(f"{order.number} {order.status}" for order in status.orders)
        out.write(
            f"{identity.name:<16}{identity.email:<22}{identity.postcode:<10}"
            f"{orders or '(not seeded: run python -m crm seed)'}\n"
        )
    return 0


def _routing_train(kind: RoutingKind, data: Path, test: Path | None, model_out: Path) -> int:
    """Train the routing model on ``data`` and save it; needs no database."""
    from config.settings import Settings
    from crm.insights.routing import train_and_save

    settings = Settings()
    router = train_and_save(
        kind,
        data,
        model_out,
        encoder_dir=settings.encoder_dir,
        base_model=settings.model_path,
        test=test,
    )
    validation = router.manifest["metrics"]["validation"]
    log.info(
        "saved the %s router in %s: validation accuracy %.3f, macro-F1 %.3f, threshold %.2f, "
        "trained in %.1f s",
        kind,
        model_out,
        validation["accuracy"],
        validation["macro_f1"],
        router.threshold,
        router.manifest["training_seconds"],
    )
    return 0


def _answers(url: str, *, days: int, limit: int) -> int:
    """Print how knowledge answers were received and what could not be answered."""
    since = datetime.now(timezone.utc) - timedelta(days=days)
    engine = make_engine(url)
    try:
        log_ = AnswerLog(make_session_factory(engine))
        articles = log_.article_feedback(since=since)
        unanswered = log_.unanswered(since=since, limit=limit)
    finally:
        engine.dispose()
    out = sys.stdout
    out.write(f"Knowledge answers in the last {days} days, most unhelpful first\n")
    out.write(f"{'article':<44}{'answers':>8}{'helpful':>9}{'not':>6}{'rate':>7}\n")
    for row in articles[:limit]:
        rate = "-" if row.helpful_rate is None else f"{row.helpful_rate:.0%}"
        out.write(
            f"{row.article_id:<44}{row.answers:>8}{row.helpful:>9}{row.not_helpful:>6}{rate:>7}\n"
        )
    out.write("\nQuestions the agent could not answer, most asked first\n")
    for question in unanswered:
        out.write(f"{question.times:>5}  {question.question}\n")
    return 0


class _CommandError(Exception):
    """A problem with what the operator typed, reported as one line on standard error."""


def _read_password(*, from_stdin: bool) -> str:
    """Read the new password: one line of standard input, or twice from the terminal."""
    if from_stdin:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
        if not password:
            raise _CommandError("no password on standard input")
        return password
    try:
        password = getpass.getpass("Password: ")
        repeated = getpass.getpass("Password again: ")
    except EOFError:
        raise _CommandError("no password entered") from None
    if password != repeated:
        raise _CommandError("the passwords do not match")
    return password


def _cli_actor() -> str:
    """Name the audit actor after the operating-system user who ran the command."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name in some containers
        return "cli"
    return f"cli:{user}"[:64]


def _staff_add(url: str, args: argparse.Namespace) -> int:
    password = _read_password(from_stdin=args.password_stdin)
    engine = make_engine(url)
    try:
        member = StaffService(make_session_factory(engine)).create_member(
            email=args.email,
            name=args.name,
            password=password,
            role=args.role,
            team=args.team,
            actor=_cli_actor(),
        )
    finally:
        engine.dispose()
    sys.stdout.write(f"created staff member {member.id}: {member.email} ({member.role})\n")
    return 0


def _staff_list(url: str) -> int:
    engine = make_engine(url)
    try:
        members = StaffService(make_session_factory(engine)).members()
    finally:
        engine.dispose()
    out = sys.stdout
    out.write(f"{'id':>4}  {'email':<32}{'role':<12}{'team':<12}name\n")
    for member in members:
        out.write(
            f"{member.id:>4}  {member.email:<32}{member.role:<12}{member.team:<12}{member.name}\n"
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and run one command; return the process exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m crm", description="Customer-records database tasks."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply database migrations (alembic upgrade head)")
    commands.add_parser("seed", help="insert the demo data that is missing (idempotent)")
    commands.add_parser("demo-identities", help="list the demo accounts and their orders")
    answers = commands.add_parser(
        "answers", help="how knowledge answers were voted on, and the questions not answered"
    )
    answers.add_argument("--days", type=int, default=30, help="look back this many days")
    answers.add_argument("--limit", type=int, default=20, help="rows per table")
    staff = commands.add_parser("staff", help="support-staff accounts for the agent console")
    staff_commands = staff.add_subparsers(dest="staff_command", required=True)
    add = staff_commands.add_parser(
        "add", help="create a staff member; the password is prompted for twice"
    )
    add.add_argument("--email", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, choices=STAFF_ROLES)
    add.add_argument("--team", default="general", choices=STAFF_TEAMS)
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password as one line of standard input instead of prompting",
    )
    staff_commands.add_parser("list", help="list the active staff members")
    propensity_cli.add_commands(commands)
    import_cli.add_commands(commands)
    routing = commands.add_parser(
        "routing-train",
        help="train the ticket-routing classifier and save it (crm/insights/routing.py)",
    )
    routing.add_argument("--kind", choices=ROUTING_KINDS, default=DEFAULT_ROUTING_KIND)
    routing.add_argument("--data", type=Path, default=Path("data/routing/train.csv"))
    routing.add_argument(
        "--test", type=Path, help="also measure on this labelled CSV, into the manifest"
    )
    routing.add_argument("--model-out", type=Path, default=Path("models/routing"))
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    url = database_url()
    if args.command in propensity_cli.COMMANDS:
        return propensity_cli.run(args, url)
    if args.command in import_cli.COMMANDS:
        return import_cli.run(args, url)
    if args.command == "answers":
        return _answers(url, days=args.days, limit=args.limit)
    if args.command == "routing-train":
        return _routing_train(args.kind, args.data, args.test, args.model_out)
    if args.command == "staff":
        try:
            return _staff_add(url, args) if args.staff_command == "add" else _staff_list(url)
        except (_CommandError, StaffError) as exc:
            sys.stderr.write(f"error: {exc}\n")
            return 1
    handlers = {"migrate": _migrate, "seed": _seed, "demo-identities": _demo_identities}
    return handlers[args.command](url)


if __name__ == "__main__":
    raise SystemExit(main())
