"""Our agent against a stock Rasa 3.6 assistant: messages/s, latency and memory, side by side.

Starts our action server and Rasa (as `make run` does, on free ports and a scratch copy of the
demo records) and a stock assistant: the project `rasa init` creates, trained by this benchmark
on first use (kept in `var/bench/stock-rasa`, retrained when missing). For each number of
concurrent conversations it runs that many simulated customers against each side in turn
through the REST channel: each customer holds one conversation of ten turns, then a new
customer starts. Our customers ask real questions (knowledge answers through a custom action
and the FAISS index, a verified order lookup through a form and the records); the stock
assistant's customers talk about their mood, which is all it knows. Every request is timed;
the levels and the two sides are interleaved over the repeats, and the median of the repeats is
reported with its spread (min-max). The resident memory of every server process is sampled
after each run.

    python -m bench.load [--levels 1 10 50] [--repeats 3] [--seconds 20] [--no-stock]
                         [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from pydantic import SecretStr

from bench.report import write_block
from config.settings import ROOT, Settings
from crm.records.db import make_engine, make_session_factory
from crm.records.migrate import upgrade
from crm.tools.demo import seed
from serve.run import RASA, START_TIMEOUT_S, Stack, http_status, stop_group

# One customer's conversation with our agent (ten turns); then a new customer starts.
OURS = [
    "hello",
    "how long does UK standard delivery take?",
    "where is my order 100103",
    "ada@example.com",
    "M4 6AB",
    "can I pay with klarna?",
    "what is your returns policy?",
    "do you ship to Ireland?",
    "thanks",
    "bye",
]
# The same shape for the stock assistant, in the words its training data knows.
STOCK = [
    "hello",
    "very sad",
    "yes it did",
    "are you a bot?",
    "good morning",
    "I'm great",
    "hi there",
    "I am unhappy",
    "yes",
    "bye",
]
STOCK_DIR = ROOT / "var" / "bench" / "stock-rasa"


@dataclass
class Run:
    """One timed run of one side at one level."""

    level: int
    messages: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    rss_mb: dict[str, float] = field(default_factory=dict)
    cpu_ms: dict[str, float] = field(default_factory=dict)  # CPU time per message

    @property
    def rate(self) -> float:
        """Replies per second over the whole run."""
        return self.messages / self.seconds

    def pct(self, p: float) -> float:
        """The p-th percentile latency in ms."""
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, round(p / 100 * (len(data) - 1)))]


@dataclass(frozen=True)
class Side:
    """One assistant under test: its REST webhook, its conversation and its processes."""

    name: str
    url: str
    script: list[str]
    processes: dict[str, int]  # label -> pid
    workers: tuple[int, int] | None = None  # (pid, worker processes it must keep)

    def check_workers(self) -> None:
        """Stop the benchmark if a server lost a worker process: its figures would be wrong."""
        if self.workers is None:
            return
        pid, expected = self.workers
        running = len(child_processes().get(pid, []))
        if running != expected:
            raise RuntimeError(
                f"{self.name}: {running} of {expected} worker processes running; see its log"
            )


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def child_processes() -> dict[int, list[int]]:
    """Each running process's children, by parent pid."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def process_tree(pid: int) -> list[int]:
    """A process and all its descendants (Sanic workers, Rasa's forks)."""
    children = child_processes()
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB."""
    total_kb = 0
    for member in process_tree(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024


def cpu_seconds(pid: int) -> float:
    """User and system CPU time used so far by a process and its living descendants."""
    ticks = 0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


async def customer(side: Side, deadline: float, run: Run) -> None:
    """Hold conversations of the side's script, one after another, until the deadline.

    Each conversation is a new customer on a connection of its own, kept for its turns, as a
    browser's would be: the last turn asks the server to close it. (One pool shared by all
    customers opened its connections in one burst at the start, and on some machines one Rasa
    process accepted them all and served the whole run while the other stayed idle.)
    """
    async with httpx.AsyncClient(timeout=120) as client:
        while time.monotonic() < deadline:
            sender = f"bench-{uuid.uuid4().hex[:12]}"
            for turn, text in enumerate(side.script, start=1):
                if time.monotonic() >= deadline:
                    return
                last = {"Connection": "close"} if turn == len(side.script) else {}
                start = time.perf_counter()
                try:
                    reply = await client.post(
                        side.url, json={"sender": sender, "message": text}, headers=last
                    )
                    ok = reply.status_code == 200 and bool(reply.json())
                except httpx.HTTPError:
                    ok = False
                run.latencies_ms.append((time.perf_counter() - start) * 1000)
                run.messages += 1
                run.errors += 0 if ok else 1


async def measure(side: Side, level: int, seconds: float) -> Run:
    """`level` customers at once for `seconds`."""
    run = Run(level)
    cpu_before = {label: cpu_seconds(pid) for label, pid in side.processes.items()}
    own_before = time.process_time()  # this process alone: the servers are its children
    started = time.monotonic()
    deadline = started + seconds
    await asyncio.gather(*(customer(side, deadline, run) for _ in range(level)))
    run.seconds = time.monotonic() - started
    run.rss_mb = {label: rss_mb(pid) for label, pid in side.processes.items()}
    per_message = 1000 / max(run.messages, 1)
    run.cpu_ms = {
        label: (cpu_seconds(pid) - cpu_before[label]) * per_message
        for label, pid in side.processes.items()
    }
    run.cpu_ms["load generator"] = (time.process_time() - own_before) * per_message
    return run


class StockRasa:
    """The `rasa init` assistant, trained here once, served on its own port."""

    def __init__(self, directory: Path, port: int, log: Path) -> None:
        """Nothing starts before `__enter__`."""
        self.directory = directory
        self.port = port
        self.log = log
        self.train_seconds: float | None = None
        self.process: subprocess.Popen[bytes] | None = None

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({"RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"})
        return env

    def train(self) -> None:
        """`rasa init --no-prompt`: the default project and its default training."""
        if any((self.directory / "models").glob("*.tar.gz")):
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        with self.log.open("ab") as output:
            subprocess.run(  # noqa: S603 (our venv's rasa, fixed arguments)
                [str(RASA), "init", "--no-prompt", "--init-dir", str(self.directory)],
                cwd=self.directory,
                env=self._env(),
                stdout=output,
                stderr=subprocess.STDOUT,
                check=True,
            )
        self.train_seconds = time.perf_counter() - started

    def __enter__(self) -> StockRasa:
        self.train()
        output = self.log.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 (our venv's rasa, fixed arguments)
            [str(RASA), "run", "--port", str(self.port), "--model", "models"],
            cwd=self.directory,
            env=self._env(),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        output.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"stock Rasa exited during start-up; see {self.log}")
            if http_status(f"http://127.0.0.1:{self.port}/") == 200:
                return self
            time.sleep(0.5)
        self.__exit__(None, None, None)
        raise RuntimeError(f"stock Rasa did not answer within {START_TIMEOUT_S:.0f} s")

    def __exit__(self, *_: object) -> None:
        if self.process is not None:
            stop_group(self.process)


def spread(values: list[float], digits: int = 1) -> str:
    """Median (min–max)."""
    return (
        f"{statistics.median(values):.{digits}f} "
        f"({min(values):.{digits}f}–{max(values):.{digits}f})"
    )


def table(
    results: dict[str, dict[int, list[Run]]],
    seconds: float,
    repeats: int,
    stock_train_seconds: float | None,
) -> str:
    """The Markdown tables for docs/benchmarks.md."""
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
        f"{time.strftime('%Y-%m-%d')}. Each side and level: {repeats} runs of {seconds:.0f} s; "
        "median (min–max) over the runs.",
        "",
        "| assistant | concurrent chats | messages/s | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, by_level in results.items():
        for level, runs in by_level.items():
            lines.append(
                f"| {name} | {level} | {spread([r.rate for r in runs])} | "
                f"{spread([r.pct(50) for r in runs], 0)} | "
                f"{spread([r.pct(95) for r in runs], 0)} | "
                f"{spread([r.pct(99) for r in runs], 0)} | {sum(r.errors for r in runs)} |"
            )
    names = list(results)
    if len(names) == 2:
        ours, stock = (results[n] for n in names)
        lines += ["", f"| concurrent chats | messages/s, {names[0]} ÷ {names[1]} |", "|---|---|"]
        for level in ours:
            ratios = [a.rate / b.rate for a, b in zip(ours[level], stock[level], strict=True)]
            lines.append(f"| {level} | {spread(ratios, 2)} |")
    levels = list(next(iter(results.values())))
    lines += [
        "",
        "| process | resident memory, MB | "
        + " | ".join(f"CPU ms per message, {level} chats" for level in levels)
        + " |",
        "|---|---|" + "---|" * len(levels),
    ]
    for name, by_level in results.items():
        every = [run for runs in by_level.values() for run in runs]
        for label in every[0].cpu_ms:
            memory = (
                spread([r.rss_mb[label] for r in every], 0) if label in every[0].rss_mb else "–"
            )
            cpu = " | ".join(spread([r.cpu_ms[label] for r in by_level[level]]) for level in levels)
            lines.append(f"| {name}: {label} | {memory} | {cpu} |")
    if stock_train_seconds is not None:
        lines += ["", f"Training the stock assistant (`rasa init`): {stock_train_seconds:.0f} s."]
    return "\n".join(lines)


def main() -> None:
    """Bring both assistants up, measure them in turn, write the tables."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--no-stock", action="store_true", help="measure our agent only")
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        settings = Settings(
            var_dir=Path(scratch),
            rasa_port=free_port(),
            action_server_port=free_port(),
            knowledge_index_dir=ROOT / "var" / "knowledge",
            rasa_token=SecretStr(uuid.uuid4().hex),
        )
        upgrade(settings.database_url)
        seed(make_session_factory(make_engine(settings.database_url)))
        logs = Path(scratch) / "logs"
        logs.mkdir()
        stock = StockRasa(STOCK_DIR, free_port(), logs / "stock-rasa.log")
        with Stack(settings, log_dir=logs) as stack:
            action_pid, rasa_pid = (p.pid for p in stack.processes)
            sides = [
                Side(
                    "ours",
                    f"{stack.rasa_url}/webhooks/rest/webhook",
                    OURS,
                    {"Rasa server": rasa_pid, "action server": action_pid},
                    workers=(rasa_pid, settings.rasa_workers),
                )
            ]
            if args.no_stock:
                results = run_all(sides, args)
            else:
                with stock:
                    assert stock.process is not None
                    sides.append(
                        Side(
                            "stock Rasa",
                            f"http://127.0.0.1:{stock.port}/webhooks/rest/webhook",
                            STOCK,
                            {"Rasa server": stock.process.pid},
                        )
                    )
                    results = run_all(sides, args)
    text = table(results, args.seconds, args.repeats, stock.train_seconds)
    print(text)
    if args.write:
        write_block(args.write, "load", text)


def run_all(sides: list[Side], args: argparse.Namespace) -> dict[str, dict[int, list[Run]]]:
    """Warm each side up, then interleave levels and sides over the repeats."""
    for side in sides:
        asyncio.run(measure(side, 2, 5))  # the first requests load lazy parts
        side.check_workers()
    results: dict[str, dict[int, list[Run]]] = {
        side.name: {level: [] for level in args.levels} for side in sides
    }
    for _ in range(args.repeats):
        for level in args.levels:
            for side in sides:
                run = asyncio.run(measure(side, level, args.seconds))
                side.check_workers()
                results[side.name][level].append(run)
                print(
                    f"{side.name:>10} {level:>3} chats: {run.rate:6.1f} msg/s  "
                    f"p50 {run.pct(50):6.0f} ms  p95 {run.pct(95):6.0f} ms  "
                    f"errors {run.errors}",
                    flush=True,
                )
    return results


if __name__ == "__main__":
    main()
