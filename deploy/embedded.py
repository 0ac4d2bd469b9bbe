"""The embedded stack: LocalStack and the SageMaker emulator on loopback, no Docker (docs/ARCHITECTURE.md, "Processes").

Two ways to run it:

* `EmbeddedStack` - a context manager that lives as long as the calling process (the pytest
  plugin, benchmarks): both services on the given (or free) ports with their state in one dir.
* `sagestack up` / `down` - a detached supervisor process (`python -m deploy.embedded serve`)
  owns both services so they outlive the command; its pidfile and ports live in
  `<state dir>/embedded/supervisor.json`. SIGTERM to the supervisor stops both cleanly.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from contract import names
from emulator.localstack.launcher import pid_alive

SUPERVISOR_DIR = "embedded"


class EmbeddedError(RuntimeError):
    """The embedded stack could not start or stop; the message says why and where the logs are."""


class EmbeddedStack:
    """LocalStack + the SageMaker emulator for the lifetime of this object (a context manager)."""

    def __init__(self, localstack_port: int | None = None, sagemaker_port: int | None = None, state_dir: Path | None = None) -> None:
        self.localstack_port = localstack_port or names.localstack_port()
        self.sagemaker_port = sagemaker_port or names.sagemaker_port()
        self.state_dir = Path(state_dir) if state_dir else names.state_dir()
        self.localstack: Any = None
        self.emulator: Any = None

    @property
    def environment(self) -> dict[str, str]:
        """The variables under which `contract.names` (and so the local profile) point at this stack."""
        return names.stack_env(self.localstack_port, self.sagemaker_port, self.state_dir)

    def start(self, timeout: float = 120.0) -> "EmbeddedStack":
        """Start both services, concurrently (LocalStack's boot dominates), and wait until healthy."""
        from emulator.localstack.launcher import LocalStackProcess
        from emulator.sagemaker.process import EmulatorProcess

        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.localstack = LocalStackProcess(port=self.localstack_port, state_dir=self.state_dir)
        self.emulator = EmulatorProcess(
            port=self.sagemaker_port,
            data_dir=self.state_dir / "sagemaker",
            s3_endpoint_url=f"http://{names.LOOPBACK}:{self.localstack_port}",
            env={**os.environ, **self.environment},
        )
        errors: list[BaseException] = []

        def start_emulator() -> None:
            try:
                self.emulator.start(timeout=timeout)
            except BaseException as exc:  # noqa: BLE001 - reported below, after LocalStack's own start
                errors.append(exc)

        thread = threading.Thread(target=start_emulator, name="sagemaker-emulator-start")
        thread.start()
        try:
            self.localstack.start(timeout=timeout)
        except BaseException:
            thread.join()
            self.stop()
            raise
        thread.join()
        if errors:
            self.stop()
            raise EmbeddedError(f"the SageMaker emulator did not start: {errors[0]}")
        return self

    def stop(self) -> None:
        """Stop both (emulator first: it may be writing artifacts to LocalStack's S3)."""
        if self.emulator is not None:
            with contextlib.suppress(Exception):
                self.emulator.stop()
            self.emulator = None
        if self.localstack is not None:
            self.localstack.stop()
            self.localstack = None

    def __enter__(self) -> "EmbeddedStack":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------------- the background supervisor


def supervisor_file(state_dir: Path | None = None) -> Path:
    return (state_dir or names.state_dir()) / SUPERVISOR_DIR / "supervisor.json"


def supervisor_log(state_dir: Path | None = None) -> Path:
    return (state_dir or names.state_dir()) / SUPERVISOR_DIR / "supervisor.log"


def background_status(state_dir: Path | None = None) -> dict[str, Any] | None:
    """The running supervisor's record ({pid, ports, ready}), or None when none runs."""
    path = supervisor_file(state_dir)
    try:
        record = json.loads(path.read_text())
        pid = int(record.get("pid", 0))
    except (OSError, ValueError, AttributeError, TypeError):  # absent, or not a record we wrote
        return None
    if not (pid_alive(pid) and _is_supervisor(pid)):
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    return record


def _is_supervisor(pid: int) -> bool:
    """Whether `pid` still runs `deploy.embedded serve`: after a reboot or a hard kill the record's
    pid may belong to an unrelated process, which `sagestack down` must not signal."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"deploy.embedded\0serve" in fh.read()
    except OSError:
        return False


def start_background(timeout: float = 180.0, log: Any = print, while_starting: Any = None) -> dict[str, Any]:
    """Start the supervisor detached and wait until both services are healthy; idempotent.

    `while_starting` (a callable) runs in this process while the services boot, e.g. to
    prepare the deploy's inputs: the boot is mostly waiting on other processes.
    """
    state_dir = names.state_dir()
    current = background_status(state_dir)
    if current and current.get("ready"):
        log(f"embedded stack already running (supervisor pid {current['pid']}, LocalStack :{current['localstack_port']}, SageMaker :{current['sagemaker_port']})")
        if while_starting is not None:
            while_starting()
        return current
    proc = None
    if current is None:  # else another `up` is starting it right now: wait for that one
        supervisor_file(state_dir).parent.mkdir(parents=True, exist_ok=True)
        env = names.child_env(None, **names.stack_env(names.localstack_port(), names.sagemaker_port(), state_dir))
        with open(supervisor_log(state_dir), "ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "deploy.embedded", "serve"],
                env=env,
                cwd=str(names.PROJECT_ROOT),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # survives this command and the terminal
            )
    if while_starting is not None:
        while_starting()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = background_status(state_dir)
        if record and record.get("ready") and (proc is None or record.get("pid") == proc.pid):
            return record
        if proc is not None and proc.poll() is not None:
            raise EmbeddedError(f"the embedded stack did not start (exit {proc.returncode}); last lines of {supervisor_log(state_dir)}:\n{_tail(supervisor_log(state_dir))}")
        if proc is None and record is None:
            raise EmbeddedError(f"the embedded stack another command was starting has stopped; see {supervisor_log(state_dir)}")
        time.sleep(0.05)
    if proc is not None:
        proc.terminate()
    raise EmbeddedError(f"the embedded stack was not ready within {timeout:.0f} s; see {supervisor_log(state_dir)}")


def stop_background(timeout: float = 30.0) -> bool:
    """SIGTERM the supervisor (it stops both services) and wait; False if none was running."""
    record = background_status()
    if record is None:
        return False
    pid = int(record["pid"])
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.05)
    if pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        supervisor_file().unlink()
    return True


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def serve() -> int:
    """The supervisor: start both services, record readiness, stop both on SIGTERM/SIGINT."""
    state_dir = names.state_dir()
    record_path = supervisor_file(state_dir)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stack = EmbeddedStack(state_dir=state_dir)
    record = {"pid": os.getpid(), "localstack_port": stack.localstack_port, "sagemaker_port": stack.sagemaker_port, "state_dir": str(state_dir), "ready": False}
    record_path.write_text(json.dumps(record))
    try:
        stack.start()
    except Exception as exc:  # noqa: BLE001 - reported through the log the parent shows
        print(f"embedded stack failed to start: {exc}", flush=True)
        with contextlib.suppress(OSError):
            record_path.unlink()
        return 1
    record.update(ready=True, localstack_pid=stack.localstack.pid, sagemaker_pid=stack.emulator.pid)
    tmp = record_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record))
    tmp.replace(record_path)
    print(f"embedded stack ready: LocalStack {stack.localstack.url}, SageMaker emulator {stack.emulator.url}", flush=True)
    try:
        while not stop.wait(1.0):
            if not stack.emulator.is_running():
                print("the SageMaker emulator exited; stopping the embedded stack", flush=True)
                break
    finally:
        stack.stop()
        with contextlib.suppress(OSError):
            record_path.unlink()
        print("embedded stack stopped", flush=True)
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["serve"]:
        sys.exit(serve())
    print("usage: python -m deploy.embedded serve  (use `sagestack up` / `sagestack down`)", file=sys.stderr)
    sys.exit(2)
