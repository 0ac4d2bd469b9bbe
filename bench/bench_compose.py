"""Compose figures: image sizes, and `docker compose up` -> first correct prediction from the host.

Images are built first (not timed: the figure is for a user who already built them). Then, twice
(a fresh project, then after `docker compose down` with the named volumes kept), `up -d` is started
and the host polls for the outputs.json the deploy service writes and POSTs the 2018 request until it
answers 200 "B"; the time from `up` to that answer is the figure. `up --wait` is timed on its own
too. Runs under its own project name and free ports. Skipped (one line) without a Docker engine.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from contract import names
from deploy.client import EXAMPLE_ROW

ROOT = names.PROJECT_ROOT
TAG = "bench"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((names.LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _first_prediction(outputs: Path, since: float, timeout: float = 600) -> float:
    body = json.dumps({"data": EXAMPLE_ROW}).encode()
    while time.monotonic() - since < timeout:
        try:
            out = json.loads(outputs.read_text())
            answer = httpx.post(out["invoke_url"], content=body, headers={"x-api-key": out["api_key"]}, timeout=10)
            if answer.status_code == 200 and answer.json() == "B":
                return time.monotonic() - since
        except (OSError, ValueError, KeyError, httpx.HTTPError):
            pass
        time.sleep(0.1)
    raise RuntimeError("no correct prediction within the timeout")


def main() -> None:
    if shutil.which("docker") is None or subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        print("skipped: no Docker engine reachable (as root: tools/docker/engine.sh)")
        return
    with tempfile.TemporaryDirectory(prefix="sagestack-bench-compose-") as tmp:
        env = {**os.environ, "SAGESTACK_LOCALSTACK_PORT": str(_free_port()), "SAGESTACK_SAGEMAKER_PORT": str(_free_port()),
               "SAGESTACK_OUTPUTS_DIR": tmp, "SAGESTACK_IMAGE_TAG": TAG}
        base = ["docker", "compose", "-p", f"sagestack-bench-{uuid.uuid4().hex[:8]}", "-f", str(ROOT / "docker-compose.yml")]

        def compose(*args: str) -> None:
            subprocess.run([*base, *args], env=env, cwd=ROOT, check=True, capture_output=True)

        compose("build")
        rows = []
        for image in ("sagestack-sagemaker", "sagestack-localstack"):
            size = int(subprocess.run(["docker", "image", "inspect", "-f", "{{.Size}}", f"{image}:{TAG}"], capture_output=True, text=True, check=True).stdout)
            rows.append((f"image {image}", f"{size / 1e6:.0f} MB"))
        outputs = Path(tmp) / names.OUTPUTS_FILE_NAME
        try:
            for run in ("fresh volumes", "after down, volumes kept"):
                outputs.unlink(missing_ok=True)
                started = time.monotonic()
                compose("up", "-d")
                rows.append((f"up -> first correct prediction ({run})", f"{_first_prediction(outputs, started):.1f} s"))
                compose("down", "--timeout", "10")
            started = time.monotonic()
            compose("up", "--wait")
            rows.append(("up --wait returns, stack answering (volumes kept)", f"{time.monotonic() - started:.1f} s"))
        finally:
            subprocess.run([*base, "down", "-v", "--timeout", "10"], env=env, cwd=ROOT, capture_output=True)
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
