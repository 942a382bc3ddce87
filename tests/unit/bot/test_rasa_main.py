"""The fix `bot.rasa_main` applies to Rasa, checked inside the Rasa venv where it runs."""

from __future__ import annotations

import subprocess
import textwrap

from bot.run import RASA_PYTHON, process_env
from bot.settings import ROOT, Settings

CHECK = textwrap.dedent(
    """
    import jsonschema.validators
    from jsonschema import ValidationError
    from rasa.core.actions.action import RemoteAction
    from bot.rasa_main import apply_fixes

    checks = []
    original = jsonschema.validators.Draft202012Validator.check_schema.__func__

    def counting(cls, schema, *args, **kwargs):
        checks.append(1)
        return original(cls, schema, *args, **kwargs)

    jsonschema.validators.Draft202012Validator.check_schema = classmethod(counting)
    apply_fixes()
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


def test_every_action_reply_is_still_validated_and_the_schema_checked_once() -> None:
    result = subprocess.run(
        [str(RASA_PYTHON), "-c", CHECK],
        cwd=ROOT,
        env=process_env(Settings()),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "schema checks: 1" in result.stdout
