"""Start and stop the emulator as a real subprocess: for `sagestack up`, tests and benchmarks.

    proc = EmulatorProcess(port=4567, data_dir=Path(".sagestack/sagemaker"),
                           s3_endpoint_url="http://127.0.0.1:4566")
    proc.start()            # spawns `python -m emulator.sagemaker.server ...`, waits for /_sagestack/health
    ...                     # boto3.client("sagemaker", endpoint_url=proc.url)
    proc.stop()             # SIGTERM, then SIGKILL after a grace period

`kill()` sends SIGKILL to its process group (what the durability tests use); `start()` again
restarts on the same port and data directory. Spawning, health, log and stop are
contract.supervision's, shared with LocalStack's launcher and the embedded supervisor.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Sequence

from contract import names
from contract.net import free_port  # noqa: F401 - re-exported for callers of this module
from contract.supervision import SupervisionError, Supervised

HEALTH_PATH = names.SAGEMAKER_HEALTH_PATH


class EmulatorError(RuntimeError):
    """The emulator did not start or stop as asked; the message includes its log tail."""


class EmulatorProcess:
    def __init__(
        self,
        port: int | None = None,
        data_dir: Path | None = None,
        s3_endpoint_url: str | None = None,
        *,
        host: str = names.LOOPBACK,
        extra_args: Sequence[str] = (),
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        own_session: bool = True,
    ):
        self.host = host
        self.port = port or names.sagemaker_port()
        self.data_dir = Path(data_dir) if data_dir else names.state_dir() / "sagemaker"
        self.s3_endpoint_url = s3_endpoint_url
        self.extra_args = list(extra_args)
        self.env = env
        self.log_path = log_path or self.data_dir / "emulator.log"
        # Own session (default): stop()/kill() reach its training workers too. A supervisor that must
        # take it down with itself even when killed hard keeps it in its own group instead.
        self.own_session = own_session
        self._child: Supervised | None = None

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self._child.process if self._child is not None else None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "emulator.sagemaker.server", "--host", self.host, "--port", str(self.port),
               "--data-dir", str(self.data_dir)]
        if self.s3_endpoint_url:
            cmd += ["--s3-endpoint-url", self.s3_endpoint_url]
        return cmd + self.extra_args

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 30.0) -> EmulatorProcess:
        if self.is_running():
            return self
        if self._child is not None:  # it died: close its log and reap what is left of its group
            self._child.stop(0)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = names.child_env(self.env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        self._child = Supervised(self.command(), name="the SageMaker emulator", log_path=self.log_path, env=env, cwd=names.PROJECT_ROOT, new_session=self.own_session)
        self._child.spawn()
        self.wait_healthy(timeout)
        return self

    def health(self) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(self.url + HEALTH_PATH, timeout=2) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def wait_healthy(self, timeout: float = 30.0) -> dict[str, Any]:
        if self._child is None:
            raise EmulatorError("the SageMaker emulator was not started")
        try:
            return dict(self._child.wait_healthy(self.health, timeout))
        except SupervisionError as exc:
            raise EmulatorError(f"{exc}\n(health URL {self.url}{HEALTH_PATH})") from None

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM and wait (graceful: state flushed, training workers stopped); SIGKILL to its group if it hangs."""
        if self._child is None:
            return None
        return self._child.stop(timeout)

    def kill(self) -> None:
        """SIGKILL to its group, as a crash would: nothing gets to clean up."""
        if self._child is not None:
            self._child.kill()

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
