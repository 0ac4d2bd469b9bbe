"""MiniStack (PyPI `ministack`, MIT) as the bench's peer baseline: the same workload, the same run.

MiniStack is what users pick instead of LocalStack for Lambda without Docker (docs/ARCHITECTURE.md,
"MiniStack"). It is a bench-only tool: it lives in a venv of its own under the venvs dir (never in
the kit's `.venv`, never a run-time dependency), built once with the same Python 3.13 that runs
LocalStack and the Lambda workers, so interpreter start-up and handler cost are the same on both
sides. `python -m ministack` listens on GATEWAY_PORT; BIND_HOST keeps it on loopback; its `local`
Lambda executor runs handlers with the `python3` first on PATH, which is set to that same 3.13.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from contract import names
from contract.supervision import HEALTH_POLL_S
from emulator.localstack.plugin.sagestack_localstack.interpreters import find_python

MINISTACK_VERSION = "1.5.33"
HEALTH_PATH = "/_ministack/health"


def venv_dir() -> Path:
    return names.venvs_dir() / f"bench-ministack-{MINISTACK_VERSION}"


def ensure_venv() -> Path:
    """Build MiniStack's bench venv once (PyPI at set-up time only); return its python."""
    venv = venv_dir()
    python = venv / "bin" / "python"
    stamp = venv / ".sagestack-stamp"
    if stamp.is_file() and python.exists():
        return python
    python313 = find_python("3.13")
    if venv.exists():
        shutil.rmtree(venv)
    uv = shutil.which("uv")
    if uv:
        subprocess.run([uv, "venv", "-q", "-p", python313, str(venv)], check=True)
        subprocess.run([uv, "pip", "install", "-q", "-p", str(python), f"ministack=={MINISTACK_VERSION}"], check=True)
    else:
        subprocess.run([python313, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", f"ministack=={MINISTACK_VERSION}"], check=True)
    stamp.write_text(f"ministack=={MINISTACK_VERSION}\n")
    return python


class MiniStackProcess:
    """One MiniStack on 127.0.0.1:`port`, its state in `state_dir`; start() waits for its health route."""

    def __init__(self, port: int, state_dir: Path) -> None:
        self.port = port
        self.state_dir = Path(state_dir)
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{names.LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self, timeout: float = 60.0) -> "MiniStackProcess":
        python = ensure_venv()
        python313_bin = str(Path(find_python("3.13")).parent)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        env = {
            "PATH": os.pathsep.join([python313_bin, "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": str(self.state_dir),
            "TMPDIR": str(self.state_dir),
            "GATEWAY_PORT": str(self.port),
            "BIND_HOST": names.LOOPBACK,
            "MINISTACK_HOST": names.LOOPBACK,
            "LAMBDA_EXECUTOR": "local",
            "LOG_LEVEL": "WARNING",
        }
        log = open(self.state_dir / "ministack.log", "ab")
        self._proc = subprocess.Popen(
            [str(python), "-m", "ministack"], env=env, cwd=self.state_dir, stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"MiniStack exited with {self._proc.returncode}; see {self.state_dir}/ministack.log")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{self.url}{HEALTH_PATH}", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            time.sleep(HEALTH_POLL_S)  # as the kit's launcher polls LocalStack
        self.stop()
        raise RuntimeError(f"MiniStack did not answer {HEALTH_PATH} within {timeout:.0f} s")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


if __name__ == "__main__":  # `python -m bench.ministack`: build the venv only
    print(ensure_venv(), file=sys.stdout)
