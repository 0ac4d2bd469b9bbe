"""`make demo` is `sagestack demo`: run it as users do, as a process, and read what it prints.

Ports and state are the test's own (free ports, a temporary state dir) so it runs beside any
other stack; the venvs are the shared ones `make` builds.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from contract import names
from emulator.sagemaker.process import free_port

pytestmark = pytest.mark.integration


def test_demo_trains_deploys_and_answers_through_the_rest_api(tmp_path: Path) -> None:
    env = dict(
        os.environ,
        SAGESTACK_STATE_DIR=str(tmp_path / "state"),
        SAGESTACK_LOCALSTACK_PORT=str(free_port()),
        SAGESTACK_SAGEMAKER_PORT=str(free_port()),
        SAGESTACK_VENVS_DIR=str(names.venvs_dir()),
    )
    for variable in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_ENDPOINT_URL"):
        env.pop(variable, None)
    done = subprocess.run(
        [sys.executable, "-m", "deploy.cli", "demo"], cwd=names.PROJECT_ROOT, env=env,
        capture_output=True, text=True, timeout=600,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "quality bars: accuracy PASS" in out
    accuracy = re.search(r"accuracy\s+(\d+)/(\d+) = ([\d.]+)% on the test split", out)
    assert accuracy and int(accuracy.group(2)) == 57 and float(accuracy.group(3)) >= 90.0, out
    assert 'original    HTTP 200 "B"' in out
    assert re.search(r'no API key\s+HTTP 403 \{"message": "Forbidden"\}', out)
    assert re.search(r"malformed\s+HTTP 400 ", out)
    # the demo stops what it started: nothing is left listening on its ports
    for port in (env["SAGESTACK_LOCALSTACK_PORT"], env["SAGESTACK_SAGEMAKER_PORT"]):
        with pytest.raises(OSError):
            socket.create_connection((names.LOOPBACK, int(port)), timeout=1).close()
