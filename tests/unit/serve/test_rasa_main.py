"""The fixes `serve.rasa_main` applies to Rasa, checked inside the Rasa venv where they run."""

from __future__ import annotations

import textwrap

import pytest

from tests.unit.bot.rasa_side import run_in_rasa

pytestmark = pytest.mark.slow  # each test runs its check in the Rasa venv

CHECK = textwrap.dedent(
    """
    import jsonschema.validators
    from jsonschema import ValidationError
    from rasa.core.actions.action import RemoteAction
    from serve.rasa_main import apply_fixes

    checks = []
    original = jsonschema.validators.Draft202012Validator.check_schema.__func__

    def counting(cls, schema, *args, **kwargs):
        checks.append(1)
        return original(cls, schema, *args, **kwargs)

    jsonschema.validators.Draft202012Validator.check_schema = classmethod(counting)
    apply_fixes("run")
    action = RemoteAction("action_answer_from_knowledge", None)
    good = {"events": [{"event": "slot", "name": "order_id", "value": "100102"}],
            "responses": [{"response": "utter_greet"}]}
    for _ in range(5):
        assert action._validate_action_result(good) is True
    try:
        action._validate_action_result({"events": [{"event": "no_such_event"}]})
    except ValidationError as error:
        assert "Failed to validate Action server response" in error.message, error.message
    else:
        raise AssertionError("an invalid reply passed")
    try:
        action._validate_action_result({"events": "not a list", "responses": []})
    except ValidationError:
        pass
    else:
        raise AssertionError("an invalid reply passed")
    print("schema checks:", len(checks))
    """
)


EVENT_TYPES = textwrap.dedent(
    """
    import rasa.shared.utils.common
    from rasa.shared.core.events import Event, SlotSet, UserUttered
    from serve.rasa_main import apply_fixes

    original = Event.resolve_by_type
    classes = rasa.shared.utils.common.all_subclasses(Event)
    expected = {cls.type_name: original(cls.type_name) for cls in classes}
    apply_fixes("train")
    assert Event.resolve_by_type is not original
    for _ in range(2):
        for name, event_class in expected.items():
            assert Event.resolve_by_type(name) is event_class, name
    assert Event.resolve_by_type("no_such_event", UserUttered) is UserUttered
    try:
        Event.resolve_by_type("no_such_event")
    except ValueError as error:
        assert "no_such_event" in str(error)
    else:
        raise AssertionError("an unknown event type was accepted")
    event = Event.from_parameters({"event": "slot", "name": "order_number", "value": "100102"})
    assert isinstance(event, SlotSet) and event.value == "100102"
    print("event types:", len(expected))
    """
)

RULES = textwrap.dedent(
    """
    import json
    from rasa.core.policies.rule_policy import RulePolicy
    from serve.rasa_main import apply_fixes

    original = RulePolicy._get_possible_keys
    apply_fixes("train")
    assert RulePolicy._get_possible_keys is original, "training must keep Rasa's own filter"
    apply_fixes("run")
    assert RulePolicy._get_possible_keys is not original

    def turn(intent, previous="action_listen"):
        return {"prev_action": {"action_name": previous}, "user": {"intent": intent}}

    greet = json.dumps([turn("greet")])
    bye = json.dumps([turn("goodbye")])
    then_thank = json.dumps([turn("greet"), turn("thank", "utter_greet")])
    rules = {greet: "utter_greet", bye: "utter_goodbye", then_thank: "utter_welcome"}
    other_rules = {bye: "utter_goodbye"}
    policy = RulePolicy.__new__(RulePolicy)
    conversations = [
        [turn("greet")],
        [turn("goodbye")],
        [turn("greet"), turn("thank", "utter_greet")],
        [turn("goodbye"), turn("thank", "utter_goodbye")],
        [{"prev_action": {"action_name": "action_listen"}, "user": {"text": "hello"}}],
        [turn("greet"), {"prev_action": {"action_name": "utter_greet"}, "user": {"text": "hi"}}],
        [{"prev_action": {"action_name": "action_listen"}, "user": {"text": "thanks"}}],
    ]
    after_listening = json.dumps([{"prev_action": {"action_name": "action_listen"}}])
    text_blind = {after_listening: "utter_default", greet: "utter_greet"}
    said_hello = json.dumps(
        [{"prev_action": {"action_name": "action_listen"}, "user": {"text": "hello"}}]
    )
    reads_text = {said_hello: "utter_greet", greet: "utter_greet"}
    for _ in range(3):
        for lookup in (rules, other_rules, text_blind, reads_text):
            for states in conversations:
                got = policy._get_possible_keys(lookup, states)
                assert got == original(policy, lookup, states), (lookup, states)
                got.add("changed by the caller")
    assert policy._get_possible_keys(rules, conversations[2]) == {then_thank}
    assert policy._get_possible_keys(rules, conversations[0]) == {greet}
    assert policy._get_possible_keys(text_blind, conversations[4]) == {after_listening}
    assert policy._get_possible_keys(reads_text, conversations[4]) == {said_hello}
    assert policy._get_possible_keys(reads_text, conversations[6]) == set()
    # Without text rules, "hello" and "thanks" after listening share one entry.
    entries = [key for key in policy._possible_keys_cache if key[0] == id(text_blind)]
    assert len(entries) == 6, entries
    # With them, the customer's words are never remembered.
    entries = [key for key in policy._possible_keys_cache if key[0] == id(reads_text)]
    assert len(entries) == 4, entries
    print("rule checks passed")
    """
)


def test_every_action_reply_is_still_validated_and_the_schema_checked_once() -> None:
    assert "schema checks: 1" in run_in_rasa("-c", CHECK)


def test_event_types_resolve_as_before_and_unknown_ones_still_fail() -> None:
    assert "event types:" in run_in_rasa("-c", EVENT_TYPES)


def test_remembered_rule_matches_equal_rasas_and_only_when_serving() -> None:
    assert "rule checks passed" in run_in_rasa("-c", RULES)
