"""Start the action server and Rasa together, wait until both answer, stop both on Ctrl-C.

`make run` calls this after `make setup`; the end-to-end tests and the benchmark use `Stack`
to bring up the same two processes the same way.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO

from pydantic import SecretStr

from config.settings import ROOT, Settings, get_settings

RASA = ROOT / ".venv" / "rasa" / "bin" / "rasa"
RASA_PYTHON = ROOT / ".venv" / "rasa" / "bin" / "python"
ACTIONS_PYTHON = ROOT / ".venv" / "actions" / "bin" / "python"
START_TIMEOUT_S = 240.0


def process_env(settings: Settings) -> dict[str, str]:
    """The environment both processes get: every setting, plus what Rasa's YAML files expand."""
    env = dict(os.environ)
    for field, value in settings.model_dump().items():
        if value is None:
            continue
        secret = value.get_secret_value() if isinstance(value, SecretStr) else value
        # A mapping or list setting is read back from the environment as JSON.
        env[field.upper()] = json.dumps(secret) if isinstance(secret, dict | list) else str(secret)
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "RASA_TELEMETRY_ENABLED": "false",
            # Rasa's own variable: processes sharing the port (the lock store makes it safe).
            "SANIC_WORKERS": str(settings.rasa_workers),
            "WIDGET_ALLOWED_ORIGINS": ",".join(settings.widget_origins()),
            "WIDGET_IDENTITY_SECRET": settings.identity_secret(),
            "STAFF_RELAY_TOKEN": settings.api_token(),
        }
    )
    return env


def http_status(url: str) -> int:
    """The status of a GET on `url`, or 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:  # noqa: S310 (loopback URL)
            return int(reply.status)
    except (urllib.error.URLError, OSError):
        return 0


def stop_group(process: subprocess.Popen[bytes], grace_s: float = 15.0) -> None:
    """Stop a process started in its own session, and its children: TERM, then KILL."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


class Stack:
    """The two server processes; a context manager that always stops what it started."""

    def __init__(
        self,
        settings: Settings,
        *,
        log_dir: Path | None = None,
        demo_shop: bool = False,
        console: bool = False,
    ) -> None:
        self.settings = settings
        self.log_dir = log_dir
        self.demo_shop = demo_shop
        self.console = console
        self.token = settings.api_token()
        self.processes: list[subprocess.Popen[bytes]] = []
        self._logs: list[IO[bytes]] = []

    @property
    def rasa_url(self) -> str:
        """Base URL of the Rasa server."""
        return f"http://127.0.0.1:{self.settings.rasa_port}"

    @property
    def action_url(self) -> str:
        """Base URL of the action server."""
        return f"http://127.0.0.1:{self.settings.action_server_port}"

    @property
    def shop_url(self) -> str:
        """Address of the demo shop page, with the widget."""
        return f"http://localhost:{self.settings.demo_shop_port}"

    @property
    def console_url(self) -> str:
        """Address of the agent console for support staff."""
        return f"http://{self.settings.console_interface}:{self.settings.console_port}"

    def _spawn(self, name: str, command: list[str]) -> None:
        output: IO[bytes] | None = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = (self.log_dir / f"{name}.log").open("wb")
            self._logs.append(output)
        self.processes.append(
            subprocess.Popen(  # noqa: S603 (fixed command from our own settings)
                command,
                cwd=ROOT,
                env=process_env(self.settings),
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
                start_new_session=True,
            )
        )

    def start(self) -> Stack:
        """Start the action server first (Rasa calls it), then Rasa; wait for both."""
        self._spawn("actions", [str(ACTIONS_PYTHON), "-m", "serve.action_server"])
        self._wait("action server", f"{self.action_url}/health")
        self._spawn(
            "rasa",
            [
                str(RASA_PYTHON),
                "-m",
                "serve.rasa_main",  # Rasa's command line with a fix to its hot path
                "run",
                "--enable-api",
                "--auth-token",
                self.token,
                "--interface",
                self.settings.rasa_interface,
                "--port",
                str(self.settings.rasa_port),
                "--credentials",
                "credentials.yml",
                "--endpoints",
                "endpoints.yml",
                "--model",
                "models",
            ],
        )
        self._wait("Rasa", f"{self.rasa_url}/status?token={self.token}")
        if self.console:
            self._spawn("console", [str(ACTIONS_PYTHON), "-m", "console"])
            self._wait("the agent console", f"{self.console_url}/health")
        if self.demo_shop:
            self._spawn("shop", [str(ACTIONS_PYTHON), "-m", "serve.demo_shop"])
            self._wait("the demo shop", f"{self.shop_url}/health")
        return self

    def _wait(self, what: str, url: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    self.stop()
                    raise RuntimeError(
                        f"{what} exited during start-up (code {process.returncode})"
                        + self._log_hint()
                    )
            if http_status(url) == 200:
                return
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(
            f"{what} did not answer within {START_TIMEOUT_S:.0f} s" + self._log_hint()
        )

    def _log_hint(self) -> str:
        return f"; see the logs in {self.log_dir}" if self.log_dir else ""

    def stop(self) -> None:
        """Ask each process to stop, then kill what is left after a grace period."""
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(self.processes):
            stop_group(process)
        self.processes.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


def main() -> int:
    """Run until Ctrl-C or until either process dies."""
    settings = get_settings()
    stack = Stack(settings, demo_shop=True, console=True)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        stack.start()
        print(
            f"""
Larkspur's agent is running.
  Demo shop with the chat widget: {stack.shop_url}/  (signed in as Ada: {stack.shop_url}/signed-in)
  Agent console for staff:        {stack.console_url}/
    (first admin: .venv/actions/bin/python -m crm staff add --role admin --email ... --name ...)
  Rasa (REST channel + HTTP API): {stack.rasa_url}
  Action server (loopback only):  {stack.action_url}
  HTTP API token:                 in {settings.token_file} (or RASA_TOKEN)

Talk to it:
  make shell
  curl -s {stack.rasa_url}/webhooks/rest/webhook -H 'Content-Type: application/json' \\
       -d '{{"sender": "me", "message": "where is my order 100103?"}}'
Demo customers to try: docs/demo.md.  Ctrl-C stops the servers.
""",
            flush=True,
        )
        while all(process.poll() is None for process in stack.processes):
            time.sleep(1)
        print("a server exited; stopping the others", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except RuntimeError as problem:
        print(f"could not start: {problem}", file=sys.stderr)
        return 1
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
