"""The domain, the rules and the action code agree: every response an action names exists,
every response is used somewhere, and the action server registers exactly the domain's actions.
"""

import re
from pathlib import Path

import yaml

from config.contract import STAFF_TEAMS
from serve.action_server import make_executor

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text())
RESPONSES = set(DOMAIN["responses"])
# Actions say responses, and so does the staff relay in Rasa (a person joined or left).
CODE = [*(ROOT / "actions").glob("*.py"), ROOT / "bot" / "channels" / "staff.py"]
PYTHON = "\n".join(p.read_text() for p in CODE)
STORIES = "\n".join(p.read_text() for p in (ROOT / "data").rglob("*.yml"))


def named_in_actions() -> set[str]:
    """Fixed names, plus every expansion of f-string names such as utter_order_status_{status}."""
    names = set(re.findall(r'"(utter_[a-z_]+)"', PYTHON))
    names.discard("utter_action")  # Rasa's metadata key naming the response a bot message used
    # A name ending in "_" is a prefix (actions/clarify.py's utter_choice_<intent>).
    prefixes = {name for name in names if name.endswith("_")}
    names -= prefixes
    for prefix in prefixes | set(re.findall(r'f"(utter_[a-z_]+)\{', PYTHON)):
        expanded = {r for r in RESPONSES if r.startswith(prefix)}
        assert expanded, f"no response starts with {prefix}"
        names |= expanded
    return names


def test_every_response_an_action_names_exists():
    assert named_in_actions() - RESPONSES == set()


def test_order_responses_cover_every_status():
    for status in ("placed", "paid", "shipped", "delivered", "cancelled"):
        assert f"utter_order_status_{status}" in RESPONSES
    for status in ("shipped", "delivered", "cancelled"):
        assert f"utter_cancel_not_possible_{status}" in RESPONSES
        assert f"utter_address_change_not_possible_{status}" in RESPONSES


def test_every_response_is_used():
    asked = {f"utter_ask_{slot}" for slot in DOMAIN["slots"]}
    used = named_in_actions() | set(re.findall(r"utter_[a-z_]+", STORIES)) | asked
    used.add("utter_default")  # Rasa's own fallback action says it
    assert RESPONSES - used == set()


def test_the_action_server_registers_exactly_the_domains_actions():
    registered = {item.name for item in make_executor().list_actions()}
    assert registered == set(DOMAIN["actions"])


def test_buttons_send_plain_text_never_intent_commands():
    for name, variants in DOMAIN["responses"].items():
        for variant in variants:
            for button in variant.get("buttons", []):
                assert not button["payload"].startswith("/"), name


def test_slots_that_prove_identity_can_only_be_set_by_actions():
    for slot in ("customer_id", "verified_until", "customer_first_name", "order_status"):
        assert DOMAIN["slots"][slot]["mappings"] == [{"type": "custom"}]


def test_every_team_a_conversation_can_be_passed_to_has_a_notice():
    # The console offers every staff team; the relay says utter_staff_transferred_<team>.
    for team in STAFF_TEAMS:
        assert f"utter_staff_transferred_{team}" in RESPONSES


def _training_examples() -> dict[str, set[str]]:
    """Each training phrasing of data/nlu (words only, lower case) and the intents it has."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / "data" / "nlu").glob("*.yml"):
        for item in yaml.safe_load(path.read_text()).get("nlu", []):
            if "intent" in item:
                for line in item["examples"].splitlines():
                    words = " ".join(re.findall(r"\w+", line.removeprefix("- ").lower()))
                    found.setdefault(words, set()).add(item["intent"])
    return found


def test_every_choice_button_is_an_example_of_its_own_intent_only():
    # The "Do you mean ...?" buttons send these words; the classifier gives a phrasing it was
    # trained on its label with certainty, so a choice reaches its task (actions/clarify.py).
    examples = _training_examples()
    choices = {
        n.removeprefix("utter_choice_"): v
        for n, v in DOMAIN["responses"].items()
        if n.startswith("utter_choice_")
    }
    assert choices, "no choice buttons in domain.yml"
    for intent, variants in choices.items():
        words = " ".join(re.findall(r"\w+", variants[0]["text"].lower()))
        assert examples.get(words) == {intent}, (intent, variants[0]["text"])


def test_every_task_can_be_offered_as_a_choice():
    from bench.nlu_blind import TASKS

    assert {f"utter_choice_{task}" for task in TASKS} <= RESPONSES
