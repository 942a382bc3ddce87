"""Time `crm import` of generated messy exports into a fresh SQLite database (docs/crm.md).

    python -m bench.crm_import [--sizes 10000 100000] [--repeats 3] [--write docs/crm.md]

For each size, ``crm.tools.messy`` generates the files once (seed 0); each repeat then imports them
into a new, migrated SQLite database in a child process, so the peak RSS is that import's
alone. The time covers reading, cleaning, matching and writing (not migrating). Rows/s counts
customer and order rows read.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.report import write_block


def _one(customers: Path, orders: Path, database: Path) -> None:
    """Child process: migrate, import, print seconds and peak RSS as JSON."""
    from crm.records.db import make_engine, make_session_factory
    from crm.records.migrate import upgrade
    from crm.tools.importer import ImportOptions, import_files

    url = f"sqlite:///{database}"
    upgrade(url)
    engine = make_engine(url)
    started = time.perf_counter()
    report = import_files(make_session_factory(engine), customers, orders, ImportOptions())
    seconds = time.perf_counter() - started
    engine.dispose()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = report.counts["customers.read"] + report.counts["orders.read"]
    sys.stdout.write(json.dumps({"seconds": seconds, "rss_mb": rss_mb, "rows": rows}) + "\n")


def measure(size: int, repeats: int, folder: Path) -> dict[str, float]:
    """Generate ``size`` people once; import them ``repeats`` times; return the figures."""
    from crm.tools.messy import generate, write

    data = generate(size, seed=0)
    customers, orders = write(data, folder / str(size))
    runs = []
    for repeat in range(repeats):
        database = folder / f"{size}-{repeat}.db"
        child = subprocess.run(  # noqa: S603 - our own module, arguments we built
            [sys.executable, "-m", "bench.crm_import", "--one", str(customers), str(orders),
             str(database)],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        runs.append(json.loads(child.stdout.strip().splitlines()[-1]))
        database.unlink()
    times = [run["seconds"] for run in runs]
    return {
        "customers": len(data.customers),
        "orders": len(data.orders),
        "median": statistics.median(times),
        "min": min(times),
        "max": max(times),
        "rows_per_s": runs[0]["rows"] / statistics.median(times),
        "rss_mb": max(run["rss_mb"] for run in runs),
    }


def table(results: list[dict[str, float]], repeats: int) -> str:
    """Render the figures as a Markdown table with how they were measured."""
    lines = [
        f"`make bench-crm-import` on {platform.machine()} ({platform.python_version()}), "
        f"SQLite, {repeats} runs each, generated messy files (seed 0).",
        "",
        "| customer rows | order rows | time, median (min–max) | rows/s | peak RSS |",
        "|---:|---:|---|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {int(r['customers']):,} | {int(r['orders']):,} | {r['median']:.1f} s "
            f"({r['min']:.1f}–{r['max']:.1f}) | {r['rows_per_s']:,.0f} | {r['rss_mb']:.0f} MB |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and print the table; with ``--write``, put it into the document too."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", type=Path, help="Markdown file to put the table into")
    parser.add_argument("--one", nargs=3, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        _one(*args.one)
        return 0
    with tempfile.TemporaryDirectory() as folder:
        results = [measure(size, args.repeats, Path(folder)) for size in args.sizes]
    rendered = table(results, args.repeats)
    sys.stdout.write(rendered + "\n")
    if args.write:
        write_block(args.write, "crm-import", rendered)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
