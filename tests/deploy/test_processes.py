"""contract.supervision, the one process primitive: group stop, pidfile trust, private files."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from contract.supervision import Supervised, SupervisionError, pid_alive, read_pidfile, write_private

# A parent that starts a grandchild in its own group and prints the grandchild's pid.
PARENT = (
    "import subprocess, sys, time\n"
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
    "print(child.pid, flush=True)\n"
    "time.sleep(120)\n"
)


def _wait_for_line(path: Path, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        if text.strip():
            return text.strip().splitlines()[0]
        time.sleep(0.05)
    raise AssertionError(f"nothing in {path}")


def test_stop_takes_the_whole_group_with_it(tmp_path):
    child = Supervised([sys.executable, "-c", PARENT], name="probe", log_path=tmp_path / "probe.log")
    child.spawn()
    grandchild = int(_wait_for_line(tmp_path / "probe.log"))
    assert pid_alive(grandchild) and os.getpgid(grandchild) == child.pid  # its own session and group
    child.stop(timeout=0.5)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and pid_alive(grandchild):
        time.sleep(0.05)
    assert not pid_alive(grandchild) and not child.is_running()


def test_kill_is_a_crash_of_the_group(tmp_path):
    child = Supervised([sys.executable, "-c", PARENT], name="probe", log_path=tmp_path / "probe.log")
    child.spawn()
    grandchild = int(_wait_for_line(tmp_path / "probe.log"))
    child.kill()
    assert child.returncode == -9
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and pid_alive(grandchild):
        time.sleep(0.05)
    assert not pid_alive(grandchild)
    assert child.stop() == -9  # stopping a dead child signals nothing and reports its exit


def test_wait_healthy_fails_early_with_the_log_tail(tmp_path):
    child = Supervised([sys.executable, "-c", "print('bad config: port'); raise SystemExit(3)"], name="probe", log_path=tmp_path / "p.log")
    child.spawn()
    with pytest.raises(SupervisionError, match=r"(?s)probe exited with code 3.*bad config: port"):
        child.wait_healthy(lambda: None, timeout=30)


def test_pidfile_counts_only_while_the_pid_runs_the_same_command(tmp_path):
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        # set-up: Popen returns once exec has begun, and for a moment after that the kernel shows an
        # empty /proc/PID/cmdline (the new image's arguments are not mapped yet); wait until it is shown
        deadline = time.monotonic() + 30
        while b"time.sleep(60)" not in Path(f"/proc/{bystander.pid}/cmdline").read_bytes() and time.monotonic() < deadline:
            time.sleep(0.01)
        pidfile = tmp_path / "x.pid.json"
        pidfile.write_text(json.dumps({"pid": bystander.pid, "port": 1}))
        assert read_pidfile(pidfile, b"deploy.embedded\0serve") is None  # pid reused by something else
        assert not pidfile.exists() and bystander.poll() is None
        pidfile.write_text(json.dumps({"pid": bystander.pid, "port": 1}))
        assert read_pidfile(pidfile, b"time.sleep(60)") == {"pid": bystander.pid, "port": 1}
        pidfile.write_text("[1, 2]")
        assert read_pidfile(pidfile, b"x") is None
    finally:
        bystander.kill()
        bystander.wait()


def test_private_files_are_0600_in_0700_directories(tmp_path):
    target = tmp_path / "state" / "outputs.json"
    write_private(target, '{"api_key": "k"}')
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    target.chmod(0o644)
    write_private(target, "{}")  # a rewrite tightens an existing file too
    assert stat.S_IMODE(target.stat().st_mode) == 0o600 and target.read_text() == "{}"
