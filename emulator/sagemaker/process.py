"""Start and stop the emulator as a real subprocess: for `sagestack up`, tests and benchmarks.

    proc = EmulatorProcess(port=4567, data_dir=Path(".sagestack/sagemaker"),
                           s3_endpoint_url="http://127.0.0.1:4566")
    proc.start()            # spawns `python -m emulator.sagemaker.server ...`, waits for /_sagestack/health
    ...                     # boto3.client("sagemaker", endpoint_url=proc.url)
    proc.stop()             # SIGTERM, then SIGKILL after a grace period

`kill()` sends SIGKILL (what the durability tests use); `start()` again restarts on the same
port and data directory.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Sequence

from contract import names
from contract.net import free_port  # noqa: F401 - re-exported for callers of this module

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
    ):
        self.host = host
        self.port = port or names.sagemaker_port()
        self.data_dir = Path(data_dir) if data_dir else names.state_dir() / "sagemaker"
        self.s3_endpoint_url = s3_endpoint_url
        self.extra_args = list(extra_args)
        self.env = env
        self.log_path = log_path or self.data_dir / "emulator.log"
        self.process: subprocess.Popen[bytes] | None = None

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
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = names.child_env(self.env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=names.PROJECT_ROOT
            )
        self.wait_healthy(timeout)
        return self

    def health(self) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(self.url + HEALTH_PATH, timeout=2) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def wait_healthy(self, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise EmulatorError(f"the SageMaker emulator exited with code {self.process.returncode}:\n{self.log_tail()}")
            health = self.health()
            if health is not None:
                return health
            time.sleep(0.05)
        raise EmulatorError(f"the SageMaker emulator did not answer {self.url}{HEALTH_PATH} within {timeout} s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM and wait (graceful: state flushed, training workers stopped); SIGKILL if it hangs."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL, as a crash would: nothing gets to clean up."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
