"""Throughput and latency through the REST channel, at several numbers of concurrent chats.

Starts its own action server and Rasa (as `make run` does, on free ports and a scratch copy of
the demo records), then for each concurrency level runs that many simulated customers, each
holding a conversation that mixes small talk, knowledge questions (custom action + FAISS) and
a verified order lookup (forms + records). Every request is timed; the run is repeated and the
median of the repeats is reported with its spread (min-max).

    python -m bench.load [--levels 1 10 50] [--repeats 3] [--seconds 20]
                         [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.report import write_block
from bot.run import Stack
from bot.settings import ROOT, Settings
from crm.db import make_engine, make_session_factory
from crm.demo import seed
from crm.migrate import upgrade

# One customer's conversation; it loops until the time is up.
SCRIPT = [
    "hello",
    "how long does UK standard delivery take?",
    "where is my order 100103",
    "ada@example.com",
    "M4 6AB",
    "can I pay with klarna?",
    "thanks, bye",
]


@dataclass
class Run:
    level: int
    messages: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    def pct(self, p: float) -> float:
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, round(p / 100 * (len(data) - 1)))]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def customer(client: httpx.AsyncClient, url: str, deadline: float, run: Run) -> None:
    while time.monotonic() < deadline:
        sender = f"bench-{uuid.uuid4().hex[:12]}"
        for text in SCRIPT:
            if time.monotonic() >= deadline:
                return
            start = time.perf_counter()
            try:
                reply = await client.post(url, json={"sender": sender, "message": text})
                ok = reply.status_code == 200 and reply.json()
            except httpx.HTTPError:
                ok = False
            run.latencies_ms.append((time.perf_counter() - start) * 1000)
            run.messages += 1
            run.errors += 0 if ok else 1


async def measure(url: str, level: int, seconds: float) -> Run:
    run = Run(level, 0, 0, 0.0, [])
    limits = httpx.Limits(max_connections=level, max_keepalive_connections=level)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        started = time.monotonic()
        deadline = started + seconds
        await asyncio.gather(*(customer(client, url, deadline, run) for _ in range(level)))
        run.seconds = time.monotonic() - started
    return run


def spread(values: list[float], digits: int = 1) -> str:
    return (
        f"{statistics.median(values):.{digits}f} "
        f"({min(values):.{digits}f}–{max(values):.{digits}f})"
    )


def table(results: dict[int, list[Run]], seconds: float, repeats: int) -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    lines = [
        f"Machine: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}. Each level: {repeats} runs of {seconds:.0f} s; "
        "median (min–max) over the runs.",
        "",
        "| concurrent chats | messages/s | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---|---|---|---|---|",
    ]
    for level, runs in results.items():
        lines.append(
            f"| {level} | {spread([r.rate for r in runs])} | "
            f"{spread([r.pct(50) for r in runs], 0)} | {spread([r.pct(95) for r in runs], 0)} | "
            f"{spread([r.pct(99) for r in runs], 0)} | {sum(r.errors for r in runs)} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        settings = Settings(
            var_dir=Path(scratch),
            rasa_port=free_port(),
            action_server_port=free_port(),
            knowledge_index_dir=ROOT / "var" / "knowledge",
            rasa_token=uuid.uuid4().hex,
        )
        upgrade(settings.database_url)
        seed(make_session_factory(make_engine(settings.database_url)))
        with Stack(settings, log_dir=Path(scratch) / "logs") as stack:
            url = f"{stack.rasa_url}/webhooks/rest/webhook"
            asyncio.run(measure(url, 2, 5))  # warm-up: first requests load lazy parts
            results: dict[int, list[Run]] = {level: [] for level in args.levels}
            # Interleave the levels so machine noise spreads over all of them alike.
            for _ in range(args.repeats):
                for level in args.levels:
                    run = asyncio.run(measure(url, level, args.seconds))
                    results[level].append(run)
                    print(
                        f"{level:>3} chats: {run.rate:6.1f} msg/s  p50 {run.pct(50):6.0f} ms  "
                        f"p95 {run.pct(95):6.0f} ms  errors {run.errors}",
                        flush=True,
                    )
    text = table(results, args.seconds, args.repeats)
    print(text)
    if args.write:
        write_block(args.write, "load", text)


if __name__ == "__main__":
    main()
