"""The demo shop page (serve/demo_shop.py): what it passes to the widget, and nothing injected."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.channels.identity import verified_customer
from config.settings import Settings
from crm.records.db import make_engine, make_session_factory
from crm.records.migrate import upgrade
from crm.tools.demo import seed
from serve.demo_shop import Shop, script_json


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    var: Path = tmp_path_factory.mktemp("shop")
    settings = Settings(var_dir=var, rasa_port=5905, widget_identity_secret="demo-secret")
    upgrade(settings.database_url)
    seed(make_session_factory(make_engine(settings.database_url)))
    return Shop(settings)


def config_of(page: str) -> dict[str, object]:
    match = re.search(r"<script>window\.larkspurChat = (.*?);</script>", page)
    assert match, page
    return dict(json.loads(match.group(1)))


def test_a_guest_page_passes_no_identity(shop: Shop) -> None:
    page = shop.page(host="localhost:8080", signed_in=False)
    assert "identity" not in config_of(page)
    assert '<script src="http://localhost:5905/webhooks/widget/widget.js" defer>' in page
    assert "Sign in as Ada Lovelace (demo)" in page
    assert page.count('<li class="card">') == 8


def test_the_signed_in_page_passes_adas_signed_identity(shop: Shop) -> None:
    config = config_of(shop.page(host="127.0.0.1:8080", signed_in=True))
    assert verified_customer(config["identity"], "demo-secret") == shop.shopper_id == 1
    assert verified_customer(config["identity"], "another-secret") is None


def test_a_hostile_host_header_cannot_inject_into_the_page(shop: Shop) -> None:
    page = shop.page(host='x"><script>alert(1)</script>', signed_in=False)
    assert "alert(1)" not in page
    assert 'src="http://localhost:5905/webhooks/widget/widget.js"' in page


def test_json_in_a_script_element_cannot_close_it() -> None:
    text = script_json({"title": "</script><script>alert(1)</script> & <!--"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"title": "</script><script>alert(1)</script> & <!--"}
