"""Soak: memory growth per 10,000 requests of LocalStack, the SageMaker emulator and the Lambda workers.

`python -m bench soak` (env BENCH_SOAK_REQUESTS=40000, BENCH_SOAK_CLIENTS=8, BENCH_SOAK_STEP=10000).

`sagestack up` on free ports with a fresh state dir (as bench_stack does), then the original
request through the REST API (API Gateway -> Lambda -> emulator) from keep-alive clients until
the request count is reached. Resident memory is sampled every 10,000 requests: LocalStack's
process, the emulator's process, and the sum over LocalStack's descendants (the Lambda workers,
with their bubblewrap parents where the sandbox is on). The first 10,000 requests are warm-up
(caches, worker start-up, first log streams); growth is reported per 10,000 after it, which is
what a flat-memory soak shows as ~0. Bounded in time (BENCH_SOAK_SECONDS, default 900). A shorter
soak (BENCH_SOAK_STEP below 10,000) samples more often and scales the growth to 10,000 requests.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

from bench.bench_stack import ORIGINAL_ROW, _sagestack, cold_start
from contract.net import free_port

PER = 10_000  # growth is reported per this many requests
STEP = int(os.environ.get("BENCH_SOAK_STEP", str(PER)))  # sampling interval (a shorter soak scales to PER)
REQUESTS = int(os.environ.get("BENCH_SOAK_REQUESTS", "40000"))
CLIENTS = int(os.environ.get("BENCH_SOAK_CLIENTS", "8"))
TIME_LIMIT_S = float(os.environ.get("BENCH_SOAK_SECONDS", "900"))


def _rss_mb(pid: int) -> float:
    try:
        return psutil.Process(pid).memory_info().rss / 2**20
    except psutil.Error:
        return float("nan")


def _workers_rss_mb(localstack_pid: int) -> tuple[float, int]:
    total, count = 0, 0
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process(localstack_pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
                count += 1
    return total / 2**20, count


def sample(pids: dict[str, int]) -> dict[str, float]:
    workers, count = _workers_rss_mb(pids["localstack"])
    return {"localstack": _rss_mb(pids["localstack"]), "emulator": _rss_mb(pids["emulator"]),
            "workers": workers, "worker processes": count}


def soak(url: str, api_key: str, pids: dict[str, int]) -> list[tuple[int, float, dict[str, float], int]]:
    """Drive the REST API; return (requests done, seconds, memory sample, errors) every STEP requests."""
    body = json.dumps({"data": ORIGINAL_ROW}).encode()
    headers = {"x-api-key": api_key, "Content-Type": "application/json"}
    lock = threading.Lock()
    state = {"done": 0, "errors": 0, "next_sample": STEP}
    samples = [(0, 0.0, sample(pids), 0)]
    started = time.perf_counter()
    deadline = started + TIME_LIMIT_S

    def client() -> None:
        with httpx.Client(timeout=60) as http:
            while True:
                with lock:
                    if state["done"] >= REQUESTS or time.perf_counter() > deadline:
                        return
                try:
                    ok = http.post(url, content=body, headers=headers).content == b'"B"'
                except httpx.HTTPError:
                    ok = False
                with lock:
                    state["done"] += 1
                    state["errors"] += not ok
                    if state["done"] >= state["next_sample"]:
                        state["next_sample"] += STEP
                        samples.append((state["done"], time.perf_counter() - started, sample(pids), state["errors"]))

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
        state_dir = Path(tmp)
        env = {**os.environ, "SAGESTACK_LOCALSTACK_PORT": str(free_port()),
               "SAGESTACK_SAGEMAKER_PORT": str(free_port()), "SAGESTACK_STATE_DIR": str(state_dir)}
        try:
            cold_start(env, state_dir)
            outputs = json.loads((state_dir / "outputs.json").read_text())
            record = json.loads((state_dir / "embedded" / "supervisor.json").read_text())
            pids = {"localstack": record["localstack_pid"], "emulator": record["sagemaker_pid"]}
            print(f"soak: {REQUESTS} requests through the REST API from {CLIENTS} clients "
                  f"(at most {TIME_LIMIT_S:.0f} s); resident memory in MB")
            samples = soak(outputs["invoke_url"], outputs["api_key"], pids)
        finally:
            _sagestack(["down"], env)
    print(f"  {'requests':>9} {'seconds':>8} {'LocalStack':>11} {'emulator':>9} {'workers':>8} {'procs':>6} {'errors':>7}")
    for done, seconds, mem, errors in samples:
        print(f"  {done:>9} {seconds:>8.0f} {mem['localstack']:>11.1f} {mem['emulator']:>9.1f} "
              f"{mem['workers']:>8.1f} {mem['worker processes']:>6.0f} {errors:>7}")
    measured = [s for s in samples if s[0] >= STEP]  # after the warm-up
    if len(measured) < 2:
        print("  too few samples after warm-up for a growth figure (raise BENCH_SOAK_REQUESTS)")
        return
    (n0, _, first, _), (n1, _, last, _) = measured[0], measured[-1]
    per = PER / (n1 - n0)
    print(f"\n  growth per {PER} requests after the first {STEP} (warm-up), from requests {n0}..{n1}:")
    for key, label in (("localstack", "LocalStack"), ("emulator", "SageMaker emulator"), ("workers", "Lambda workers")):
        print(f"    {label:<20} {(last[key] - first[key]) * per:+8.2f} MB")
