"""The whole stack: `make up` to the first correct prediction, and REST round trips under load.

1. Cold start: `sagestack up` (LocalStack + emulator + deploy, venvs already built) on free
   ports with a fresh state dir, then the original request until it answers "B"; timed by
   phase. Target: under 10 s.
2. Round trips through API Gateway -> Lambda -> emulator at 1/4/8 concurrent clients, against
   two baselines measured in the same run on the same stack: the emulator's InvokeEndpoint
   called directly (the floor of the chain) and LocalStack's gateway answering its health
   route (the cost of the gateway alone). Bounded in count and time; loopback only.
   The clients first run the same load unmeasured until every one of them has had an answer and
   at least BENCH_STACK_WARM_SECONDS (1) have passed: their connections are open and, on the chain,
   LocalStack has started as many Lambda environments as the load keeps busy (each a cold start,
   which phase 1 measures). The clock and the time limit start then, so a row is the steady state.
3. Where each row's CPU goes: user+system seconds of every process of the stack over the measured part
   of the row, per request, by process group (LocalStack, its Lambda workers, the emulator, this
   client). On 2 cores the sum bounds the throughput: 2 / (CPU ms per request) requests per ms.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil

from deploy import embedded
from deploy.client import EXAMPLE_ROW
from contract.net import free_port
from bench.bench_localstack import deploy_bench_api

ROOT = Path(__file__).resolve().parent.parent
ORIGINAL_ROW = EXAMPLE_ROW
# 2000 per row: at 300 a row of the chain at 8 clients lasted about a second and read 30% lower than its
# steady state (213 against 305 req/s on one machine), while the direct rows were steady either way
REQUESTS_PER_LEVEL = int(os.environ.get("BENCH_STACK_REQUESTS", "2000"))
TIME_LIMIT_S = float(os.environ.get("BENCH_STACK_SECONDS", "20"))
WARM_S = float(os.environ.get("BENCH_STACK_WARM_SECONDS", "1"))


def _sagestack(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "deploy.cli", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)


def cold_start(env: dict[str, str], state_dir: Path) -> dict[str, float]:
    started = time.perf_counter()
    result = _sagestack(["up"], env)
    up_done = time.perf_counter()
    if result.returncode != 0:
        raise RuntimeError(f"sagestack up failed:\n{result.stdout}\n{result.stderr}")
    outputs = json.loads((state_dir / "outputs.json").read_text())
    body = json.dumps({"data": ORIGINAL_ROW})
    with httpx.Client(timeout=30) as client:
        while True:
            response = client.post(outputs["invoke_url"], content=body, headers={"x-api-key": outputs["api_key"], "Content-Type": "application/json"})
            if response.status_code == 200 and response.json() == "B":
                break
            if time.perf_counter() - started > 120:
                raise RuntimeError(f"no correct prediction within 120 s: {response.status_code} {response.text}")
            time.sleep(0.05)
    first = time.perf_counter()
    phases = {}
    for line in result.stdout.splitlines():
        if line.startswith("embedded stack up in "):
            phases["services up"] = float(line.split()[4])
        if line.startswith("stack 'sagestack' ready in "):
            phases["deploy"] = float(line.split()[4])
    return {**phases, "sagestack up (command)": up_done - started, "first prediction": first - up_done, "total: up -> first correct prediction": first - started}


NO_MODEL = "baseline: REST -> Lambda, no model call"
CPU_GROUPS = ("Lambda workers", "LocalStack", "emulator", "client")


def stack_cpu(state_dir: Path) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each process group of the running stack and this client."""
    record = embedded.background_status(state_dir) or {}
    totals = dict.fromkeys(CPU_GROUPS, 0.0)

    def add(group: str, process: psutil.Process) -> None:
        try:
            times = process.cpu_times()
        except psutil.Error:  # exited meanwhile: its CPU is lost to the figure
            return
        totals[group] += times.user + times.system

    for group, key in (("LocalStack", "localstack_pid"), ("emulator", "sagemaker_pid")):
        try:
            server = psutil.Process(int(record[key]))
        except (KeyError, TypeError, ValueError, psutil.Error):
            continue
        add(group, server)
        if group == "LocalStack":
            for child in server.children(recursive=True):  # bwrap, its reaper and the worker of each environment
                add("Lambda workers", child)
    add("client", psutil.Process())
    return totals


def load(label: str, call: Callable[[httpx.Client], bool], concurrency: int,
         cpu: Callable[[], dict[str, float]] | None = None) -> dict[str, object]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    remaining = [REQUESTS_PER_LEVEL]
    clock = [0.0, 0.0]  # start, deadline: set once every client is warm, before any goes on

    cpu_at_start: dict[str, float] = {}

    def start_clock() -> None:
        if cpu:
            cpu_at_start.update(cpu())
        clock[0] = time.perf_counter()
        clock[1] = clock[0] + TIME_LIMIT_S

    warm = threading.Barrier(concurrency, action=start_clock)
    answered = [0]
    warm_until = time.perf_counter() + WARM_S

    def worker() -> None:
        nonlocal errors
        with httpx.Client(timeout=30) as client:
            try:
                call(client)
                with lock:
                    answered[0] += 1
                # unmeasured load while the other clients wait for their first (maybe cold) answer
                while (answered[0] < concurrency and time.perf_counter() < warm_until + 120) or \
                        time.perf_counter() < warm_until:
                    call(client)
            finally:
                warm.wait(timeout=300)  # a client whose warm-up failed still lets the others start
            while time.perf_counter() < clock[1]:
                with lock:
                    if remaining[0] <= 0:
                        return
                    remaining[0] -= 1
                started = time.perf_counter()
                ok = call(client)
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed * 1000)
                    errors += not ok

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - clock[0]
    cpu_ms = {}
    if cpu and cpu_at_start and latencies:
        cpu_ms = {group: (used - cpu_at_start.get(group, 0.0)) * 1000 / len(latencies) for group, used in cpu().items()}
    ordered = sorted(latencies)
    return {
        "cpu ms": cpu_ms,
        "path": label,
        "conc": concurrency,
        "n": len(ordered),
        "req/s": len(ordered) / wall if wall else 0.0,
        "p50 ms": statistics.median(ordered) if ordered else float("nan"),
        "p99 ms": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else float("nan"),
        "errors": errors,
    }


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-stack-") as tmp:
        state_dir = Path(tmp)
        env = {
            **os.environ,
            "SAGESTACK_LOCALSTACK_PORT": str(free_port()),
            "SAGESTACK_SAGEMAKER_PORT": str(free_port()),
            "SAGESTACK_STATE_DIR": str(state_dir),
        }
        try:
            phases = cold_start(env, state_dir)
            print("\ncold start (venvs present, fresh state):")
            for name, seconds in phases.items():
                print(f"  {name:<40} {seconds:6.2f} s")
            outputs = json.loads((state_dir / "outputs.json").read_text())
            rest_body = json.dumps({"data": ORIGINAL_ROW}).encode()
            rest_headers = {"x-api-key": outputs["api_key"], "Content-Type": "application/json"}
            emulator = f"http://127.0.0.1:{env['SAGESTACK_SAGEMAKER_PORT']}/endpoints/{outputs['endpoint_name']}/invocations"
            localstack = f"http://127.0.0.1:{env['SAGESTACK_LOCALSTACK_PORT']}"
            health = f"{localstack}/_localstack/health"
            no_model_url = localstack + deploy_bench_api(localstack)[1]

            def rest(client: httpx.Client) -> bool:
                response = client.post(outputs["invoke_url"], content=rest_body, headers=rest_headers)
                return response.status_code == 200 and response.content == b'"B"'

            def rest_no_model(client: httpx.Client) -> bool:
                response = client.post(no_model_url, content=rest_body, headers={"Content-Type": "application/json"})
                return response.status_code == 200 and response.content == b'"B"'

            def invoke_direct(client: httpx.Client) -> bool:
                response = client.post(emulator, content=ORIGINAL_ROW.encode(), headers={"Content-Type": "text/csv", "Accept": "application/json"})
                return response.status_code == 200

            def gateway_only(client: httpx.Client) -> bool:
                return client.get(health).status_code == 200

            rows = []

            def cpu() -> dict[str, float]:
                return stack_cpu(state_dir)

            for concurrency in (1, 4, 8):
                rows.append(load("REST API -> Lambda -> emulator", rest, concurrency, cpu))
                rows.append(load("baseline: emulator InvokeEndpoint", invoke_direct, concurrency, cpu))
                rows.append(load(NO_MODEL, rest_no_model, concurrency, cpu))
                rows.append(load("baseline: LocalStack gateway only", gateway_only, concurrency, cpu))
            print(f"\nround trips (<= {REQUESTS_PER_LEVEL} requests or {TIME_LIMIT_S:.0f} s per row, keep-alive clients):")
            print(f"  {'path':<40} {'conc':>4} {'n':>5} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
            for row in rows:
                print(f"  {row['path']:<40} {row['conc']:>4} {row['n']:>5} {row['req/s']:>8.1f} {row['p50 ms']:>8.1f} {row['p99 ms']:>8.1f} {row['errors']:>6}")
            print("\nCPU per request, ms (user + system over the measured part of each row; 2 cores):")
            print(f"  {'path':<40} {'conc':>4} " + " ".join(f"{g:>14}" for g in CPU_GROUPS) + f" {'sum':>7}")
            for row in rows:
                used = row["cpu ms"]
                if used:
                    print(f"  {row['path']:<40} {row['conc']:>4} " + " ".join(f"{used[g]:>14.2f}" for g in CPU_GROUPS)
                          + f" {sum(used.values()):>7.2f}")
            by = {(r["path"], r["conc"]): r for r in rows}
            for concurrency in (1, 4, 8):
                full = by[("REST API -> Lambda -> emulator", concurrency)]
                direct = by[("baseline: emulator InvokeEndpoint", concurrency)]
                gateway = by[("baseline: LocalStack gateway only", concurrency)]
                no_model = by[(NO_MODEL, concurrency)]
                print(f"  conc {concurrency}: the full chain runs at {full['req/s'] / direct['req/s']:.2f}x the emulator's direct "
                      f"throughput (target 0.35x); without the function's InvokeEndpoint call at "
                      f"{no_model['req/s'] / direct['req/s']:.2f}x; LocalStack's gateway alone, answering its health route, at "
                      f"{gateway['req/s'] / direct['req/s']:.2f}x")
        finally:
            _sagestack(["down"], env)


if __name__ == "__main__":
    main()
