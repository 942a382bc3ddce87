"""Rasa's command line, with one fix to its hot path: `python -m bot.rasa_main run ...`.

Rasa 3.6 checks every reply of the action server with `jsonschema.validate(result, schema)`,
and `validate` first checks the schema itself against the JSON Schema meta-schema. The events
schema is large, so that check cost about 45 ms of the Rasa process's single event loop per
custom action, more than everything else a message needs (profile in docs/benchmarks.md). The
schema never changes, so it is checked once here and the validator kept: every reply is still
validated, and an invalid one still fails with Rasa's own message.

The fix is applied when `main` runs, never on import. `bot.run.Stack` starts the Rasa server
through this module; training and `rasa test` do not call actions and use Rasa's own command.
"""

from __future__ import annotations

import functools
from typing import Any


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


def apply_fixes() -> None:
    """Replace the slow validation; refuse to start on a Rasa whose code has moved."""
    from rasa.core.actions.action import RemoteAction

    if not hasattr(RemoteAction, "_validate_action_result"):
        raise RuntimeError(
            "this Rasa has no RemoteAction._validate_action_result: the fix in "
            "bot/rasa_main.py was written for Rasa 3.6 and must be reviewed"
        )
    RemoteAction._validate_action_result = _validate_action_result


def main() -> None:
    """Apply the fix, then hand the command line to Rasa."""
    apply_fixes()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
