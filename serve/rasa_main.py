"""Rasa's command line, with fixes to its hot path: `python -m serve.rasa_main run ...`.

Each fix removes work Rasa 3.6 repeats on every message without changing what it computes
(profiles and measurements in docs/benchmarks.md):

- Action replies: `jsonschema.validate(result, schema)` first checks the (large, constant)
  events schema against the JSON Schema meta-schema, about 45 ms of the single event loop per
  custom action. The schema is checked once here and the validator kept; every reply is still
  validated, and an invalid one still fails with Rasa's own message.
- Event types: turning a stored or received event into an object looks its class up by walking
  every subclass of `Event` (all of them, recursively, per event). The class found for a type
  name is remembered.
- Rules: `RulePolicy` filters all its rules against the dialogue state, turn by turn, twice per
  prediction: about a million rule checks a minute under load. The rules a trained policy
  finds applicable depend only on the dialogue states, so the answer is remembered per states.
  A rule is checked only on the keys it names: when no rule names the customer's text (no
  end-to-end rules), the text is left out of the states, so every message shares the entry.
  Training changes the rules while it uses this filter, so this fix is applied only to commands
  that serve or test a trained model (`run`, `shell`, `test`).

Fixes are applied when `main` runs, never on import, and each refuses to start on a Rasa whose
code has moved. `serve.run.Stack` starts the Rasa server through this module, and `make validate`
runs Rasa's test stories through it; training uses Rasa's own command.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any

# Commands that load a trained model and never train one: the rule cache is safe for them.
SERVING_COMMANDS = frozenset({"run", "shell", "test"})
RULE_CACHE_SIZE = 10_000


@functools.cache
def _action_response_validator() -> Any:
    """The validator of Rasa's action-server response schema, its schema checked once."""
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
    """Rasa's `RemoteAction._validate_action_result`, without re-checking the schema."""
    from jsonschema import ValidationError
    from rasa.shared.constants import DOCS_BASE_URL

    try:
        _action_response_validator().validate(result)
    except ValidationError as error:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response "
            "from the Action endpoint is valid. For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise
    return True


def _remember_event_types(original: Callable[..., Any]) -> Callable[..., Any]:
    """`Event.resolve_by_type` that walks the subclasses once per type name."""
    found: dict[str, Any] = {}

    def resolve_by_type(type_name: str, default: Any = None) -> Any:
        event_class = found.get(type_name)
        if event_class is None:
            event_class = original(type_name, default)  # raises for unknown names, as before
            if event_class is not None and event_class is not default:
                found[type_name] = event_class
        return event_class

    return resolve_by_type


def _rules_read_text(policy: Any, lookup: dict[str, str]) -> bool:
    """Whether any rule in `lookup` names the customer's text (end-to-end rules do)."""
    known: dict[int, bool] = policy.__dict__.setdefault("_rules_read_text", {})
    reads = known.get(id(lookup))
    if reads is None:
        reads = any(
            "text" in (state.get("user") or {}) for key in lookup for state in json.loads(key)
        )
        known[id(lookup)] = reads
    return reads


def _without_text(state: dict[str, Any]) -> dict[str, Any]:
    """`state` without the customer's text."""
    user = state.get("user")
    if not user or "text" not in user:
        return state
    return {**state, "user": {key: value for key, value in user.items() if key != "text"}}


def _remember_rule_matches(original: Callable[..., Any]) -> Callable[..., Any]:
    """`RulePolicy._get_possible_keys`, remembered per rule table and dialogue states."""

    def get_possible_keys(self: Any, lookup: dict[str, str], states: list[Any]) -> set[str]:
        if any("text" in state.get("user", {}) for state in states):
            if _rules_read_text(self, lookup):
                # The customer's own words are all different: nothing to remember.
                return set(original(self, lookup, states))
            # A rule is checked only on the keys it names, so words no rule names are dropped.
            states = [_without_text(state) for state in states]
        cache: dict[tuple[int, str], frozenset[str]] = self.__dict__.setdefault(
            "_possible_keys_cache", {}
        )
        key = (id(lookup), json.dumps(states, sort_keys=True))
        keys = cache.get(key)
        if keys is None:
            keys = frozenset(original(self, lookup, states))
            if len(cache) >= RULE_CACHE_SIZE:
                cache.clear()
            cache[key] = keys
        return set(keys)

    return get_possible_keys


def apply_fixes(command: str | None = None) -> None:
    """Apply the fixes for `command` (all of them for a serving command); check Rasa first."""
    from rasa.core.actions.action import RemoteAction
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.shared.core.events import Event

    for owner, name in (
        (RemoteAction, "_validate_action_result"),
        (Event, "resolve_by_type"),
        (RulePolicy, "_get_possible_keys"),
    ):
        if not hasattr(owner, name):
            raise RuntimeError(
                f"this Rasa has no {owner.__name__}.{name}: the fixes in serve/rasa_main.py "
                "were written for Rasa 3.6 and must be reviewed"
            )
    RemoteAction._validate_action_result = _validate_action_result
    if not getattr(Event.resolve_by_type, "_larkspur_fix", False):
        fixed = _remember_event_types(Event.resolve_by_type)
        fixed._larkspur_fix = True  # type: ignore[attr-defined]
        Event.resolve_by_type = staticmethod(fixed)
    if command in SERVING_COMMANDS and not getattr(
        RulePolicy._get_possible_keys, "_larkspur_fix", False
    ):
        fixed = _remember_rule_matches(RulePolicy._get_possible_keys)
        fixed._larkspur_fix = True  # type: ignore[attr-defined]
        RulePolicy._get_possible_keys = fixed


def main() -> None:
    """Apply the fixes, then hand the command line to Rasa."""
    apply_fixes(sys.argv[1] if len(sys.argv) > 1 else None)
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
