"""Code that runs inside Rasa's venv (no pytest there), started by the tests beside it."""

from __future__ import annotations

import subprocess

from config.settings import ROOT, Settings
from serve.run import RASA_PYTHON, process_env
from tests.conftest import require_slow


def run_in_rasa(*args: str, env: dict[str, str] | None = None) -> str:
    """Run Rasa's Python with `args` from the repository root; its output, if it succeeded.

    Starting Rasa's Python and importing Rasa takes seconds: only tests marked `slow` may.
    """
    require_slow("runs code in the Rasa venv")
    result = subprocess.run(
        [str(RASA_PYTHON), *args],
        cwd=ROOT,
        env=env or process_env(Settings()),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result.stdout
