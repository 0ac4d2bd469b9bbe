"""The one way the kit runs a child service (docs/ARCHITECTURE.md, "Processes").

`Supervised` spawns a command in its own session (so one signal reaches it and everything it
started), waits until a health probe answers, tails its log, writes a pidfile that is trusted
only while the pid still runs the same command line, and stops the whole process group
(SIGTERM, then SIGKILL to the group after a grace period). LocalStack's launcher, the
emulator's process wrapper, the emulator's training workers and the embedded stack's
supervisor all use it. Stdlib only: every layer may import it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import IO, Any, Callable, Mapping, Sequence

# How often a starting service's health is polled: a service is seen ready at most this long after it is;
# a probe of a port nobody listens on yet is a refused loopback connect (microseconds)
HEALTH_POLL_S = 0.01


class SupervisionError(RuntimeError):
    """A child did not start or become healthy; the message names it and holds its log tail."""


def proc_stat(pid: int | str) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name ([0] state, [2] process group), None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def pid_alive(pid: int) -> bool:
    """Whether a process we did not start (known only by pid) still runs; a zombie counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    fields = proc_stat(pid)
    return fields is not None and fields[0] != "Z"


def runs_command(pid: int, marker: bytes) -> bool:
    """Whether `pid` still runs a command line holding `marker` (NUL-separated argv): after a reboot or
    a hard kill a recorded pid may belong to an unrelated process, which must never be signalled."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return marker in fh.read()
    except OSError:
        return False


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = proc_stat(entry)
            if fields is not None and fields[0] != "Z" and int(fields[2]) == pgid:
                members.append(int(entry))
    return members


def terminate_group(pid: int, timeout: float, proc: subprocess.Popen[bytes] | None = None, group: bool = True) -> int | None:
    """SIGTERM `pid`, wait up to `timeout` s, then SIGKILL it (and its whole group, if it leads one)."""

    def alive() -> bool:
        return proc.poll() is None if proc is not None else pid_alive(pid)

    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group:
            os.killpg(pid, signal.SIGKILL)  # whatever is left: the leader if it hung, its workers
        elif alive():
            os.kill(pid, signal.SIGKILL)
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
    if group:
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and group_members(pid):
            time.sleep(0.05)
    return proc.returncode if proc is not None else None


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def read_pidfile(path: Path, marker: bytes) -> dict[str, Any] | None:
    """The record in `path` if it is ours and its pid still runs a command holding `marker`; else None
    (and a stale file is removed)."""
    try:
        record = json.loads(path.read_text())
        pid = int(record["pid"])
    except (OSError, ValueError, KeyError, TypeError):  # absent, or not a record we wrote
        return None
    if not (pid_alive(pid) and runs_command(pid, marker)):
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    return dict(record)


def write_private(path: Path, text: str) -> None:
    """Replace `path` atomically with `text`, readable by the owner only (0600 in a 0700 directory)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, 0o600)
    tmp.replace(path)


class Supervised:
    """One child process: spawn, wait for health, tail its log, pidfile, stop its group."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        name: str,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        new_session: bool = True,
        marker: bytes | None = None,
    ) -> None:
        self.argv = list(argv)
        self.name = name
        self.log_path = Path(log_path)
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.new_session = new_session
        self.marker = marker  # a command-line fragment that identifies this child in a pidfile check
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def spawn(self, stdout: int | None = None) -> subprocess.Popen[bytes]:
        """Start it; its output (stderr always, stdout unless piped) goes to `log_path`, appended."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._close_log()
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=str(self.cwd) if self.cwd is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=self._log if stdout is None else stdout,
            stderr=self._log,
            start_new_session=self.new_session,  # own group: stop() reaches what it starts
        )
        return self.process

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_healthy(self, probe: Callable[[], Any], timeout: float) -> Any:
        """Poll `probe` until it answers something truthy; fail early if the child exits."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise SupervisionError(f"{self.name} exited with code {self.process.returncode} during startup; last lines of {self.log_path}:\n{self.tail()}")
            last = probe()
            if last:
                return last
            time.sleep(HEALTH_POLL_S)
        raise SupervisionError(f"{self.name} did not become healthy within {timeout:.0f} s (last answer: {last}); last lines of {self.log_path}:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        return tail(self.log_path, lines)

    def write_pidfile(self, path: Path, **extra: Any) -> None:
        write_private(path, json.dumps({"pid": self.pid, **extra}))

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL (to the group when it has its own) after `timeout` s; returns the exit code."""
        code = None
        if self.process is not None:
            if self.process.poll() is None:
                code = terminate_group(self.process.pid, timeout, self.process, group=self.new_session)
            else:  # it exited (and was reaped): never signal its pid, only what is left of its group
                code = self.process.returncode
                if self.new_session and group_members(self.process.pid):
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(self.process.pid, signal.SIGKILL)
        self._close_log()
        return code

    def kill(self) -> None:
        """SIGKILL, as a crash would: nothing gets to clean up."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if self.new_session:
                    os.killpg(self.process.pid, signal.SIGKILL)
                else:
                    self.process.kill()
            self.process.wait(5)

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
