"""`sagestack up` under faults (issue 11): kill -9 of each service under the supervisor.

The supervisor restarts the dead service and leaves the other running; after LocalStack (which
keeps no state) comes back, the stack is re-created in it with the same REST API id and API key
value, so the invoke URL and key in outputs.json keep working; the emulator's state survives;
`down` keeps that state and `down --purge` deletes it only when confirmed.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from contract.supervision import pid_alive
from tests.fixtures.localstack import free_loopback_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROW = "13.49,22.3,86.91,561.0,0.08752,0.07698,0.04751,0.03384,0.1809,0.05718,0.2338,1.353,1.735,20.2,0.004455,0.01382,0.02095,0.01184,0.01641,0.001956,15.15,31.82,99.0,698.8,0.1162,0.1711,0.2287,0.1065,0.2902,0.06669"


def _record(state: Path) -> dict[str, Any]:
    return json.loads((state / "embedded" / "supervisor.json").read_text())


def _predict(outputs: dict[str, Any], timeout: float = 120.0) -> tuple[int, Any]:
    """The answer for the 2018 example row; a 503 (a service still warming up after a restart) is retried."""
    from deploy.client import ApiClient

    deadline = time.monotonic() + timeout
    while True:
        answer = ApiClient(outputs["invoke_url"], outputs["api_key"]).predict(ROW)
        if answer.status != 503 or time.monotonic() > deadline:
            return answer.status, answer.body
        time.sleep(1.0)


def _wait_restarted(state: Path, service: str, old_pid: int, timeout: float = 240.0, restored: bool = False) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    record: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            record = _record(state)
        except (OSError, ValueError):
            time.sleep(0.2)
            continue
        entry = record["services"][service]
        if entry["state"] == "running" and entry["pid"] != old_pid and (not restored or "restored" in record):
            return record
        time.sleep(0.2)
    raise AssertionError(f"{service} was not restarted within {timeout} s: {record}\n{(state / 'embedded' / 'supervisor.log').read_text()[-3000:]}")


@pytest.fixture
def cli_env(tmp_path) -> dict[str, str]:
    return {
        **os.environ,
        "SAGESTACK_STATE_DIR": str(tmp_path / "state"),
        "SAGESTACK_LOCALSTACK_PORT": str(free_loopback_port()),
        "SAGESTACK_SAGEMAKER_PORT": str(free_loopback_port()),
        "CI": "",
    }


def _cli(env: dict[str, str], *args: str, timeout: float = 900, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "deploy.cli", *args], env=env, capture_output=True, text=True, timeout=timeout, input=stdin)


def test_each_service_killed_is_restarted_and_the_stack_comes_back_unchanged(cli_env, tmp_path):
    state = tmp_path / "state"
    up = _cli(cli_env, "up")
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        outputs_path = state / "outputs.json"
        outputs = json.loads(outputs_path.read_text())
        assert stat.S_IMODE(outputs_path.stat().st_mode) == 0o600 and stat.S_IMODE(state.stat().st_mode) == 0o700
        assert _predict(outputs) == (200, "B")
        before = _record(state)["services"]

        # The emulator dies: restarted on its state, LocalStack untouched, same endpoint answers.
        os.kill(before["sagemaker"]["pid"], signal.SIGKILL)
        record = _wait_restarted(state, "sagemaker", before["sagemaker"]["pid"])
        assert record["services"]["localstack"]["pid"] == before["localstack"]["pid"] and pid_alive(before["localstack"]["pid"])
        assert record["services"]["sagemaker"]["restarts"] == 1 and record["services"]["sagemaker"]["last_exit"] == -9
        assert _predict(outputs) == (200, "B")

        # LocalStack dies (and loses everything): restarted, the stack re-created with the same URL and key.
        emulator_pid = record["services"]["sagemaker"]["pid"]
        os.kill(before["localstack"]["pid"], signal.SIGKILL)
        record = _wait_restarted(state, "localstack", before["localstack"]["pid"], restored=True)
        assert record["services"]["sagemaker"]["pid"] == emulator_pid  # the other one kept running
        recreated = record["restored"]["recreated"]
        assert any(r.startswith("rest-api ") for r in recreated) and any(r.startswith("api-key ") for r in recreated), recreated
        after = json.loads(outputs_path.read_text())
        assert (after["invoke_url"], after["api_key"]) == (outputs["invoke_url"], outputs["api_key"])
        assert _predict(outputs) == (200, "B")  # the URL and key the user saved before the crash
        log = (state / "embedded" / "supervisor.log").read_text()
        assert "exited with code -9; restarting it in" in log and "re-created in LocalStack" in log

        status = _cli(cli_env, "status", timeout=300)
        assert "restarted 1x" in status.stdout and "re-created" in status.stdout, status.stdout + status.stderr
        quiet = _cli({**cli_env, "CI": "true"}, "deploy")
        assert quiet.returncode == 0 and outputs["api_key"] not in quiet.stdout and "hidden" in quiet.stdout
    finally:
        down = _cli(cli_env, "down", timeout=120)
    assert down.returncode == 0 and "state is kept" in down.stdout
    # down without --purge keeps the emulator's state and the outputs
    assert (state / "sagemaker").is_dir() and any((state / "sagemaker").iterdir())
    assert json.loads((state / "outputs.json").read_text())["api_key"] == outputs["api_key"]
    refused = _cli(cli_env, "down", "--purge", timeout=120, stdin="")
    assert refused.returncode == 1 and "--purge --yes" in refused.stderr and (state / "sagemaker").is_dir()
    purged = _cli(cli_env, "down", "--purge", "--yes", timeout=120)
    assert purged.returncode == 0 and not (state / "sagemaker").exists() and not (state / "outputs.json").exists()
