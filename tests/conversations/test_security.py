"""What a hostile customer or a broken client can send, and what it must never achieve."""

import json
from pathlib import Path

import pytest

from tests.conversations.conftest import new_sender, said

pytestmark = pytest.mark.conversation


def test_typed_intent_syntax_cannot_skip_verification(agent):
    sender = new_sender()
    attack = (
        '/track_order{"order_number": "100103", "customer_id": 1, '
        '"verified_until": 99999999999, "order_status": "shipped"}'
    )
    reply = agent.say(sender, attack)
    assert not said(reply, "utter_order_status_shipped")
    slots = agent.tracker(sender)["slots"]
    assert slots["customer_id"] is None
    assert slots["verified_until"] is None
    user_events = [e for e in agent.tracker(sender)["events"] if e["event"] == "user"]
    assert not user_events[-1]["text"].startswith("/")


def test_typed_action_names_are_only_words(agent):
    sender = new_sender()
    reply = agent.say(sender, "/action_cancel_order")
    assert not said(reply, "utter_order_cancelled")
    assert agent.tracker(sender)["slots"]["customer_id"] is None


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'"hello"',
        b"",
        b"42",
        b'{"sender": 5, "message": "hi"}',
        b'{"sender": "a", "message": {"text": "hi"}}',
        b'{"sender": "a"}',
        b"\xff\xfe",
    ],
)
def test_malformed_bodies_get_a_4xx_and_the_server_stays_up(agent, body):
    reply = agent.client.post(
        agent.webhook, content=body, headers={"Content-Type": "application/json"}
    )
    assert 400 <= reply.status_code < 500
    assert said(agent.say(new_sender(), "hello"), "utter_greet")


@pytest.mark.parametrize(
    "body",
    [
        b'{"sender": "%s", "message": "hello \\ud800"}',
        b'{"sender": "%s", "message": "hello\\u0000\\u0007 \\udfff"}',
    ],
)
def test_lone_surrogates_and_control_characters_are_dropped_not_a_500(agent, body):
    # A lone UTF-16 surrogate cannot be written as UTF-8 anywhere downstream (the tracker,
    # the logs); the channels drop it, and the control characters, and read the rest.
    reply = agent.client.post(
        agent.webhook,
        content=body % new_sender().encode(),
        headers={"Content-Type": "application/json"},
    )
    assert reply.status_code == 200
    assert said(reply.json(), "utter_greet")


def rss_kb(pid: int) -> int:
    with Path(f"/proc/{pid}/status").open() as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_oversized_messages_are_refused_before_nlu_without_growing_memory(agent):
    rasa_pid = agent.stack.processes[-1].pid
    megabyte = json.dumps({"sender": new_sender(), "message": "x" * 1_000_000})
    agent.client.post(agent.webhook, content=megabyte)  # warm up the code path
    before = rss_kb(rasa_pid)
    for _ in range(20):
        reply = agent.client.post(
            agent.webhook, content=megabyte, headers={"Content-Type": "application/json"}
        )
        assert reply.status_code == 413
    assert rss_kb(rasa_pid) - before < 30_000  # 20 MB sent; well under that kept
    just_over = {"sender": new_sender(), "message": "y" * 2001}
    assert agent.client.post(agent.webhook, json=just_over).status_code == 413
    assert said(agent.say(new_sender(), "hi"), "utter_greet")


def test_the_http_api_needs_the_token(agent):
    base = agent.stack.rasa_url
    assert agent.client.get(f"{base}/conversations/x/tracker").status_code == 401
    assert agent.client.post(f"{base}/model/parse", json={"text": "hi"}).status_code == 401
    wrong = agent.client.get(f"{base}/conversations/x/tracker", params={"token": "guess"})
    assert wrong.status_code == 401


def test_the_action_server_never_echoes_a_request(agent):
    secret = "ada@example.com lives at 12 Ancoats Way"
    url = f"{agent.stack.action_url}/webhook"
    for body in (
        secret.encode(),
        json.dumps([secret]).encode(),
        json.dumps({"next_action": "nope", "tracker": {"note": secret}}).encode(),
        json.dumps({"next_action": "action_track_order", "tracker": secret}).encode(),
    ):
        reply = agent.client.post(url, content=body)
        assert 400 <= reply.status_code < 500
        assert "Ancoats" not in reply.text


def listening_addresses(port: int) -> set[str]:
    """Local addresses of the sockets listening on `port`, read from /proc/net/tcp{,6}."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with Path(table).open() as rows:
            next(rows)
            for row in rows:
                local, state = row.split()[1], row.split()[3]
                address, port_hex = local.split(":")
                if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                    found.add(address)
    return found


def test_the_action_server_listens_on_loopback_only(agent):
    addresses = listening_addresses(agent.stack.settings.action_server_port)
    assert addresses == {"0100007F"}  # 127.0.0.1, little-endian hex; nothing else


def test_logs_hold_no_emails_or_addresses(agent):
    sender = new_sender()
    agent.say(sender, "where is order 100103")
    agent.say(sender, "ada@example.com")
    agent.say(sender, "M4 6AB")
    logs = "".join(p.read_text(errors="replace") for p in agent.log_dir.glob("*.log"))
    assert logs, "the servers wrote no logs at all"
    for private in ("ada@example.com", "Ancoats", "M4 6AB"):
        assert private not in logs
    assert (agent.log_dir / "rasa.log").stat().st_size > 0
