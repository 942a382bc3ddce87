"""The widget's queue between Rasa processes: the SQL manager on SQLite and PostgreSQL, real
socket.io servers and clients over it and over Redis, forked workers, and the channel in Rasa."""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import socket
import subprocess
import textwrap
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import socketio
import sqlalchemy as sa
from aiohttp import ClientSession, web

from bot.channels.pubsub import (
    CHANNEL,
    SQLPubSubManager,
    client_manager,
    start_listening,
    stop_listening,
)
from config.settings import ROOT, Settings
from serve.run import RASA_PYTHON, process_env
from tests.conftest import postgres_url_in, require_slow

REDIS_URL = "redis://localhost:6379/0"
FAST = 0.02  # poll interval of the tests' managers
WAIT = 5.0


async def eventually(condition: Callable[[], bool]) -> None:
    """Until `condition()` holds or `WAIT` has passed; the caller's assertion says what failed."""
    deadline = time.monotonic() + WAIT
    # Polled: some of the states waited for are another process's or the database's.
    while not condition() and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(FAST)


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'locks.db'}"


def rows_in(manager: SQLPubSubManager) -> int:
    with manager.engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT count(*) FROM widget_pubsub")).scalar_one())


class Listener:
    """Runs a manager's `_listen()` and keeps what it yields."""

    def __init__(self, manager: SQLPubSubManager) -> None:
        self.manager = manager
        self.got: list[dict[str, Any]] = []
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for message in self.manager._listen():
            self.got.append(message)

    async def started(self) -> Listener:
        await asyncio.wait_for(self.manager.listening.wait(), WAIT)
        return self

    async def until(self, count: int) -> list[dict[str, Any]]:
        """What it got once it has `count`, plus whatever comes in a few more polls."""
        await eventually(lambda: len(self.got) >= count)
        await asyncio.sleep(5 * FAST)
        return self.got

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def check_order_and_once(url: str) -> None:
    publisher, racing = SQLPubSubManager(url), SQLPubSubManager(url)
    one, other = SQLPubSubManager(url, poll_s=FAST), SQLPubSubManager(url, poll_s=FAST)
    listeners = [await Listener(one).started(), await Listener(other).started()]
    sent = [{"method": "emit", "n": n, "text": "ä €"} for n in range(20)]
    for message in sent:
        await publisher._publish(message)
    # Two processes publishing at once: every listener gets each event once, in one order.
    together = [{"n": f"{who}{n}"} for n in range(20) for who in "ab"]
    await asyncio.gather(
        *(p._publish(m) for p, m in zip([publisher, racing] * 20, together, strict=True))
    )
    got = [await listener.until(len(sent) + len(together)) for listener in listeners]
    assert got[0][: len(sent)] == sent  # in order
    assert sorted(m["n"] for m in got[0][len(sent) :]) == sorted(m["n"] for m in together)
    assert got[1] == got[0]
    for listener in listeners:
        await listener.stop()


async def test_each_listener_gets_every_event_once_in_order_on_sqlite(tmp_path: Path) -> None:
    await check_order_and_once(sqlite_url(tmp_path))


@pytest.mark.postgres
async def test_each_listener_gets_every_event_once_in_order_on_postgresql(
    postgres_schema: str,
) -> None:
    await check_order_and_once(postgres_url_in(postgres_schema))


async def test_events_from_before_the_listener_started_are_not_replayed(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    publisher = SQLPubSubManager(url, poll_s=FAST)
    await publisher._publish({"n": "before"})
    listener = await Listener(SQLPubSubManager(url, poll_s=FAST)).started()
    await publisher._publish({"n": "after"})
    assert await listener.until(1) == [{"n": "after"}]
    await listener.stop()


async def test_only_its_own_channel_is_listened_to(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    listener = await Listener(SQLPubSubManager(url, poll_s=FAST)).started()
    await SQLPubSubManager(url, channel="another-app")._publish({"n": "theirs"})
    await SQLPubSubManager(url)._publish({"n": "ours"})
    assert await listener.until(1) == [{"n": "ours"}]
    await listener.stop()


async def test_old_events_are_pruned_and_ids_go_on_after_the_table_emptied(
    tmp_path: Path,
) -> None:
    url = sqlite_url(tmp_path)
    publisher = SQLPubSubManager(url)
    for n in range(3):
        await publisher._publish({"n": n})
    await asyncio.sleep(0.05)
    await publisher._publish({"n": "recent"})
    assert publisher.forget_before(time.time() - 0.04) == 3  # only the old ones
    assert rows_in(publisher) == 1

    pruning = SQLPubSubManager(url, poll_s=FAST, retention_s=0.1)
    listener = await Listener(pruning).started()
    await eventually(lambda: rows_in(publisher) == 0)
    assert rows_in(publisher) == 0  # the listener pruned the table by itself
    # The table is empty: the next id must still be past the ones the listener has seen.
    await publisher._publish({"n": "after pruning"})
    assert await listener.until(1) == [{"n": "after pruning"}]
    await listener.stop()


@pytest.mark.postgres
async def test_on_postgresql_an_event_committed_late_is_not_skipped(postgres_schema: str) -> None:
    url = postgres_url_in(postgres_schema)
    publisher = SQLPubSubManager(url)
    listener = await Listener(SQLPubSubManager(url, poll_s=FAST)).started()
    with publisher.engine.connect() as slow:
        transaction = slow.begin()
        publisher.insert(slow, json.dumps({"n": 1}))  # id taken, not committed yet
        later = asyncio.create_task(asyncio.to_thread(publisher.publish_now, json.dumps({"n": 2})))
        await asyncio.sleep(0.3)
        # Had the second event committed now with the larger id, the listener would have moved
        # past the first one for good.
        assert listener.got == []
        transaction.commit()
    await later
    assert await listener.until(2) == [{"n": 1}, {"n": 2}]
    await listener.stop()


def test_the_manager_is_chosen_by_the_url(tmp_path: Path) -> None:
    for url in (REDIS_URL, "rediss://user:secret@cache.example:6380/1"):
        manager = client_manager(url)  # built only: no connection is made
        assert isinstance(manager, socketio.AsyncRedisManager)
        assert manager.channel == CHANNEL
    manager = client_manager(sqlite_url(tmp_path))
    assert isinstance(manager, SQLPubSubManager)
    assert manager.channel == CHANNEL
    for wrong in ("http://x", "amqp://guest:guest@localhost//", "", "locks.db"):
        with pytest.raises(ValueError, match="WIDGET_PUBSUB_URL"):
            client_manager(wrong)
    with pytest.raises(ValueError, match="not mysql") as refused:
        client_manager("mysql://root:hunter2@localhost/test")
    assert "hunter2" not in str(refused.value)  # a URL's password is never repeated
    with pytest.raises(ValueError, match="SQLite file"):
        client_manager("sqlite://")  # in memory: no other process could read it


@pytest.fixture
def redis_url() -> str:
    """The local Redis server; skipped when unreachable, except under CI."""
    try:
        socket.create_connection(("localhost", 6379), timeout=2).close()
    except OSError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis not reachable at localhost:6379: {exc} (CI is set)")
        pytest.skip(f"Redis not reachable at localhost:6379: {exc}")
    return REDIS_URL


def new_server(manager: socketio.AsyncManager) -> socketio.AsyncServer:
    """A socket.io server on aiohttp whose clients join a room by calling `join`."""
    server = socketio.AsyncServer(async_mode="aiohttp", client_manager=manager)

    @server.on("join")
    async def join(sid: str, room: str) -> bool:
        await server.enter_room(sid, room)
        return True

    @server.on("shout")
    async def shout(sid: str, data: dict[str, Any]) -> None:
        await server.emit("bot_uttered", data, room=data["room"])  # through the queue

    return server


@contextlib.asynccontextmanager
async def serving(server: socketio.AsyncServer) -> AsyncIterator[int]:
    """Serve on an ephemeral loopback port, listening to the queue from the start."""
    app = web.Application()
    server.attach(app)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    start_listening(server)
    try:
        yield int(sock.getsockname()[1])
    finally:
        await stop_listening(server)
        await runner.cleanup()


async def until_listening(manager: Any) -> None:
    if isinstance(manager, SQLPubSubManager):
        await asyncio.wait_for(manager.listening.wait(), WAIT)
        return
    await eventually(lambda: manager.pubsub is not None and manager.pubsub.subscribed)
    assert manager.pubsub.subscribed, "never subscribed to Redis"
    await asyncio.sleep(0.1)  # the SUBSCRIBE reaches the server


class Browser:
    """A real socket.io client in a room, keeping the `bot_uttered` events it gets."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient()
        self.got: list[Any] = []
        self.client.on("bot_uttered", self.got.append)

    async def join(self, port: int, room: str) -> Browser:
        await self.client.connect(f"http://127.0.0.1:{port}", transports=["websocket"])
        assert await self.client.call("join", room, timeout=WAIT)
        return self

    async def until(self, count: int) -> list[Any]:
        await eventually(lambda: len(self.got) >= count)
        await asyncio.sleep(0.3)  # anything extra would come by now
        return self.got


@pytest.mark.parametrize("backend", ["sql", "redis"])
async def test_a_socket_on_one_server_gets_what_another_emits_through_the_queue(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = sqlite_url(tmp_path) if backend == "sql" else request.getfixturevalue("redis_url")
    a, b = new_server(client_manager(url)), new_server(client_manager(url))
    for manager in (a.manager, b.manager):
        if isinstance(manager, SQLPubSubManager):
            manager.poll_s = FAST
    room = f"web-{uuid.uuid4().hex}"
    async with serving(a) as port_a, serving(b) as port_b:
        await until_listening(a.manager)
        await until_listening(b.manager)
        on_a, on_b = await Browser().join(port_a, room), await Browser().join(port_b, room)
        elsewhere = await Browser().join(port_b, f"web-{uuid.uuid4().hex}")

        await a.emit("bot_uttered", {"text": "local only"}, room=room, ignore_queue=True)
        await a.emit("bot_uttered", {"text": "queued", "n": [1, 2]}, room=room)
        assert await on_b.until(1) == [{"text": "queued", "n": [1, 2]}]
        assert await on_a.until(2) == [{"text": "local only"}, {"text": "queued", "n": [1, 2]}]
        assert elsewhere.got == []
        for browser in (on_a, on_b, elsewhere):
            await browser.client.disconnect()
    if backend == "redis":
        for manager in (a.manager, b.manager):
            await manager.redis.close()


def serve_worker(
    server: socketio.AsyncServer, ports: Any, stop: Any
) -> None:  # pragma: no cover - runs in a forked process
    async def main() -> None:
        async with serving(server) as port:
            await until_listening(server.manager)
            ports.put(port)
            await asyncio.to_thread(stop.wait)

    asyncio.run(main())


@pytest.fixture
def forked_workers(tmp_path: Path) -> Iterator[list[int]]:
    """Two worker processes forked from one server, as Rasa forks its workers after building
    the widget channel; their ports."""
    manager = SQLPubSubManager(sqlite_url(tmp_path), poll_s=FAST)
    server = new_server(manager)
    fork = multiprocessing.get_context("fork")
    ports, stop = fork.Queue(), fork.Event()
    workers = [fork.Process(target=serve_worker, args=(server, ports, stop)) for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        yield [ports.get(timeout=WAIT * 2) for _ in workers]
    finally:
        stop.set()
        for worker in workers:
            worker.join(WAIT)
            if worker.is_alive():
                worker.kill()


def test_forked_workers_deliver_each_others_events(forked_workers: list[int]) -> None:
    async def talk() -> tuple[list[Any], list[Any]]:
        room = f"web-{uuid.uuid4().hex}"
        first, second = [await Browser().join(port, room) for port in forked_workers]
        await first.client.emit("shout", {"room": room, "text": "from the first worker"})
        got = await first.until(1), await second.until(1)
        for browser in (first, second):
            await browser.client.disconnect()
        return got

    expected = [{"room": "", "text": "from the first worker"}]
    got_first, got_second = asyncio.run(talk())
    for got in (got_first, got_second):
        assert [{**m, "room": ""} for m in got] == expected


WORKERS = textwrap.dedent(
    '''
    import asyncio
    import logging
    import multiprocessing
    import socket
    import sys

    from sanic import Sanic, response
    from socketio import AsyncRedisManager

    from bot.channels.pubsub import SQLPubSubManager
    from bot.channels.widget import WidgetInput

    url, origin, pubsub_url = sys.argv[1:4]
    credentials = {"allowed_origins": origin, "identity_secret": "s", "deliveries_url": url}
    logging.getLogger("sanic.root").setLevel(logging.WARNING)


    async def answer(message):
        await message.output_channel.send_text_message(message.sender_id, "reply")


    # Built before the fork, as Rasa builds its channels before it forks its workers.
    widget = WidgetInput.from_credentials({**credentials, "pubsub_url": pubsub_url})
    manager = widget.client_manager
    assert isinstance(manager, AsyncRedisManager if pubsub_url else SQLPubSubManager)
    app = Sanic("widget_workers")
    app.blueprint(widget.blueprint(answer), url_prefix="/webhooks/widget")


    @app.post("/staff/<conversation>")
    async def staff(request, conversation):
        """A support agent's reply, landing on either process."""
        if "image" in request.json:
            # As the staff relay does: the output of the customer's channel, Rasa's dispatch.
            output = widget.output_for(conversation, {})
            await output.send_response(conversation, {"image": request.json["image"]})
        else:
            await widget.deliver(conversation, request.json["messages"])
        return response.json({"ok": True})


    def worker(sock, ready, stop):
        async def main():
            server = await app.create_server(sock=sock, return_asyncio_server=True)
            await server.startup()
            await server.before_start()
            await server.after_start()
            if pubsub_url:
                while not (manager.pubsub and manager.pubsub.subscribed):
                    await asyncio.sleep(0.02)
                await asyncio.sleep(0.1)  # the SUBSCRIBE reaches the server
            else:
                await manager.listening.wait()
            ready.put(sock.getsockname()[1])
            while not stop.is_set():
                await asyncio.sleep(0.02)
            await server.before_stop()
            server.close()
            await server.wait_closed()
            await server.after_stop()
            assert widget.sio.manager.thread.done(), "the listener still runs"

        asyncio.run(main())


    async def refusals():
        for wrong in ("telegram:42", "web-" + "0" * 31, "web-" + "0" * 32 + "x"):
            assert widget.output_for(wrong, {}) is None, wrong
            try:
                await widget.deliver(wrong, [{"text": "x"}])
            except ValueError:
                continue
            raise AssertionError(wrong)
        idle = WidgetInput.from_credentials(credentials)  # its blueprint was never built
        assert idle.output_for("web-" + "0" * 32) is None
        try:
            await idle.deliver("web-" + "0" * 32, [])
        except RuntimeError:
            print("ok refusals")


    fork = multiprocessing.get_context("fork")
    ready, stop = fork.Queue(), fork.Event()
    socks = [socket.socket() for _ in range(2)]
    for sock in socks:
        sock.bind(("127.0.0.1", 0))
    workers = [
        fork.Process(target=worker, args=(sock, ready, stop), daemon=True) for sock in socks
    ]
    for process in workers:
        process.start()
    for process in workers:
        ready.get(timeout=60)
    print("ports", *[sock.getsockname()[1] for sock in socks], flush=True)
    sys.stdin.read()  # until the test is done
    stop.set()
    for process in workers:
        process.join(20)
    print("exit codes", *[process.exitcode for process in workers])
    asyncio.run(refusals())
    try:
        WidgetInput.from_credentials({**credentials, "pubsub_url": "http://x"})
    except ValueError as error:
        assert "WIDGET_PUBSUB_URL" in str(error), error
        print("ok pubsub_url")
    '''
)
ORIGIN = "http://shop.test"


class Tab:
    """A browser tab of the widget: a real socket.io client with the page's origin."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient()
        self.got: list[dict[str, Any]] = []
        self.session_id = ""
        self.confirmed = asyncio.Event()
        self.client.on("bot_uttered", self.got.append)
        self.client.on("session_confirm", self._confirm)

    def _confirm(self, data: dict[str, Any]) -> None:
        self.session_id = data["session_id"]
        self.confirmed.set()

    async def open(self, port: int, session_id: str = "") -> Tab:
        await self.client.connect(
            f"http://127.0.0.1:{port}", headers={"Origin": ORIGIN}, transports=["websocket"]
        )
        await self.client.emit("session_request", {"session_id": session_id})
        await asyncio.wait_for(self.confirmed.wait(), WAIT)
        return self

    async def until(self, count: int) -> list[dict[str, Any]]:
        """What it got (without the times) once it has `count`; cleared for the next step."""
        await eventually(lambda: len(self.got) >= count)
        await asyncio.sleep(0.4)  # anything extra would come by now
        assert all(isinstance(m.pop("timestamp"), float) for m in self.got)
        got = list(self.got)
        self.got.clear()  # in place: the client's handler appends to this list
        return got


@pytest.mark.slow  # two Rasa workers, started in the Rasa venv
@pytest.mark.parametrize("backend", ["sql", "redis"])
async def test_the_widget_reaches_every_tab_from_either_rasa_worker(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    require_slow("starts Rasa workers")
    url = sqlite_url(tmp_path)
    pubsub_url = request.getfixturevalue("redis_url") if backend == "redis" else ""
    env = process_env(Settings(var_dir=tmp_path))
    workers = subprocess.Popen(  # noqa: ASYNC220 - read and stopped through threads below
        [str(RASA_PYTHON), "-c", WORKERS, url, ORIGIN, pubsub_url],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = await asyncio.wait_for(asyncio.to_thread(ports_of, workers), 120)
        port_a, port_b = (int(p) for p in line.split()[1:])
        await check_tabs(url if backend == "sql" else "", port_a, port_b)
    finally:
        try:
            out, err = await asyncio.to_thread(workers.communicate, "", 60)
        except subprocess.TimeoutExpired:
            workers.kill()
            raise
    assert workers.returncode == 0, err[-3000:]
    for line in ("exit codes 0 0", "ok refusals", "ok pubsub_url"):
        assert line in out, out + err[-3000:]


def ports_of(workers: subprocess.Popen[str]) -> str:
    """The line with the workers' ports (Sanic prints its banner on the same output)."""
    assert workers.stdout is not None
    for line in workers.stdout:
        if line.startswith("ports "):
            return line
    raise AssertionError("the workers did not start")


async def check_tabs(sql_url: str, port_a: int, port_b: int) -> None:
    on_b = await Tab().open(port_b)
    conversation = f"web-{on_b.session_id}"
    on_a = await Tab().open(port_a, on_b.session_id)  # the same conversation on the other worker
    assert on_a.session_id == on_b.session_id
    queue = SQLPubSubManager(sql_url) if sql_url else None

    queued = rows_in(queue) if queue else 0
    ack = await on_b.client.call("user_uttered", {"message": "hi", "id": uuid.uuid4().hex})
    assert ack == {"ok": True}
    assert await on_b.until(1) == [{"sender": "bot", "text": "reply"}]
    if queue:
        assert rows_in(queue) == queued  # the reply went straight to the worker's own sockets
    assert await on_a.until(0) == []  # so the tab on the other worker sees it after a reload

    messages = [
        {"text": "Sam here", "buttons": [{"title": "Yes", "payload": "/affirm", "x": 1}]},
        {"custom": {"notice": "agent_joined", "name": "Sam"}},
    ]
    shown = [
        {"sender": "bot", "text": "Sam here", "buttons": [{"title": "Yes", "payload": "/affirm"}]},
        {"sender": "bot", "custom": {"notice": "agent_joined", "name": "Sam"}},
    ]
    image = "https://shop.test/a.png"
    async with ClientSession() as http:
        for port in (port_a, port_b):  # the agent's reply may land on either worker
            staff = f"http://127.0.0.1:{port}/staff/{conversation}"
            async with http.post(staff, json={"messages": messages}) as reply:
                assert reply.status == 200, await reply.text()
            assert await on_a.until(2) == shown
            assert await on_b.until(2) == shown
        async with http.post(staff, json={"image": image}) as reply:
            assert reply.status == 200, await reply.text()
    for tab in (on_a, on_b):
        assert await tab.until(1) == [{"sender": "bot", "image": image}]
        await tab.client.disconnect()
