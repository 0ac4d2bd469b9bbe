"""LocalStack on the host with the `local` Lambda executor against MiniStack: ready time, invoke and API Gateway
figures, memory, and the ratios issue 10 sets as targets.

`python -m bench localstack` (env BENCH_SECONDS=5, BENCH_DIRECT_THREADS=4, BENCH_APIGW_THREADS=8).

Everything runs against a fresh LocalStack on a free loopback port with a temporary state dir.
Clients are plain keep-alive HTTP connections (http.client, one per thread) so that the
client's CPU, on the same 2 cores, stays small next to the server's; LocalStack does not check
signatures, so requests carry only the credential scope it routes by. Baselines measured in the
same run with the same client: starting a bare python3.13 (for the ready time), and LocalStack
answering requests that run no function (a Lambda API call, GetAccountSettings, and the health
route: the floor of its AWS protocol stack and of its HTTP gateway), and MiniStack (bench/ministack.py, in a
bench-only venv) given the same functions, the same REST API and the same load. Published reference
(Floci's README): LocalStack with its Docker executor 120 Lambda req/s, Floci 289 req/s.
Ready times are the median of 3 starts of each server, the two servers' starts interleaved, so a drift
of the shared machine's speed within the run weighs on both sides alike.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import boto3
import psutil

from contract import names
from contract.net import free_port
from emulator.localstack.launcher import LocalStackProcess
from emulator.localstack.plugin.sagestack_localstack.interpreters import find_python

SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
DIRECT_THREADS = int(os.environ.get("BENCH_DIRECT_THREADS", "4"))
APIGW_THREADS = int(os.environ.get("BENCH_APIGW_THREADS", "8"))
IDLE_SETTLE_S = 4.0
AUTH = (
    "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{service}/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0000"
)
ROW = "13.49,22.3,86.91,561.0,0.08752,0.07698,0.04751,0.03384,0.1809,0.05718"
CONSTANT_HANDLER = "def handler(event, context):\n    return {'label': 'B'}\n"
PROXY_HANDLER = (
    "import json\n"
    "def handler(event, context):\n"
    "    data = json.loads(event['body'])['data']\n"
    "    return {'statusCode': 200, 'body': json.dumps('M' if float(data.split(',')[0]) > 15 else 'B')}\n"
)
# each returns its environment's log stream name: the worker is found by it on the host (a sandboxed
# worker's os.getpid() is a pid of its own namespace)
BOTO3_HANDLER = ("import boto3\nclient = boto3.client('sagemaker-runtime')\n"
                 "def handler(event, context):\n    return context.log_stream_name\n")
BARE_PID_HANDLER = "def handler(event, context):\n    return context.log_stream_name\n"


def _run_and_summarise(run, threads: int, latencies: list[list[float]], errors: list[int], seconds: float):
    """Run `run(i)` on `threads` threads, then return (requests/s, p50 ms, p99 ms, errors) of what they recorded."""
    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    merged = sorted(x for per in latencies for x in per)
    if not merged:
        return 0.0, float("nan"), float("nan"), sum(errors)
    p99 = merged[min(len(merged) - 1, int(len(merged) * 0.99))]
    return len(merged) / seconds, statistics.median(merged), p99, sum(errors)


def _load(port: int, method: str, path: str, body: bytes, headers: dict[str, str], threads: int, seconds: float):
    """Closed-loop load for `seconds`: returns (requests/s, p50 ms, p99 ms, errors)."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors = [0] * threads
    start_at = time.perf_counter() + 0.2
    stop_at = start_at + seconds

    def run(index: int) -> None:
        conn = http.client.HTTPConnection(names.LOOPBACK, port, timeout=60)
        while time.perf_counter() < start_at:
            time.sleep(0.001)
        while (now := time.perf_counter()) < stop_at:
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status >= 300 or response.getheader("X-Amz-Function-Error"):
                    errors[index] += 1
            except (OSError, http.client.HTTPException):
                errors[index] += 1
                conn.close()
                conn = http.client.HTTPConnection(names.LOOPBACK, port, timeout=60)
                continue
            latencies[index].append((time.perf_counter() - now) * 1000)
        conn.close()

    return _run_and_summarise(run, threads, latencies, errors, seconds)


def _boto3_invokes(url: str, function: str, threads: int, seconds: float):
    """Same closed loop through boto3 clients (one per thread): what user code sees, client cost included."""
    from botocore.config import Config

    session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    clients = [session.client("lambda", endpoint_url=url, config=Config(retries={"max_attempts": 1}))
               for _ in range(threads)]
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors = [0] * threads
    stop_at = time.perf_counter() + seconds

    def run(index: int) -> None:
        while (now := time.perf_counter()) < stop_at:
            response = clients[index].invoke(FunctionName=function, Payload=b'{"data": "1"}')
            response["Payload"].read()
            errors[index] += 1 if response.get("FunctionError") else 0
            latencies[index].append((time.perf_counter() - now) * 1000)

    return _run_and_summarise(run, threads, latencies, errors, seconds)


def _start_once(start_target) -> float:
    """Seconds from launching a target to its health route answering (then it is stopped)."""
    with tempfile.TemporaryDirectory(prefix="bench-ls-") as tmp:
        started = time.perf_counter()
        proc = start_target(Path(tmp))
        elapsed = time.perf_counter() - started
        proc.stop()
    return elapsed


def _ready_times(targets: dict[str, object], optional: frozenset[str] = frozenset(), runs: int = 3) -> tuple[dict[str, float], dict[str, str]]:
    """Median start -> health seconds of each target, the targets' starts interleaved (A, B, A, B, ...).

    On a shared machine the speed drifts within a minute; interleaving puts each pair of starts in the
    same stretch, so the ratio compares the servers, not two moments of the machine. An `optional`
    target that cannot start (MiniStack without its venv: no PyPI at set-up) is left out, with why;
    any other failure is raised.
    """
    times: dict[str, list[float]] = {name: [] for name in targets}
    failed: dict[str, str] = {}
    for _ in range(runs):
        for name, start_target in targets.items():
            if name in failed:
                continue
            try:
                times[name].append(_start_once(start_target))
            except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
                if name not in optional:
                    raise
                failed[name] = str(exc)
    return {name: statistics.median(values) for name, values in times.items() if name not in failed}, failed


def _bare_python_time(runs: int = 3) -> float:
    python = find_python("3.13")
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([python, "-c", "pass"], check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def _tree_rss_mb(pid: int) -> tuple[float, int]:
    """RSS of a server and all its descendants (its Lambda workers), and how many descendants."""
    root = psutil.Process(pid)
    children = root.children(recursive=True)
    total = root.memory_info().rss
    for child in children:
        with contextlib.suppress(psutil.Error):
            total += child.memory_info().rss
    return total / 2**20, len(children)


def _create(lam, iam_arn: str, name: str, source: str, **kwargs) -> str:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("handler.py", source)
    lam.create_function(
        FunctionName=name, Runtime="python3.13", Role=iam_arn, Handler="handler.handler",
        Code={"ZipFile": buf.getvalue()}, **kwargs,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
    return lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]


def deploy_bench_api(url: str) -> tuple[str, str]:
    """The bench's functions and REST API on a target; returns (invoke path, REST API path)."""
    session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    lam = session.client("lambda", endpoint_url=url)
    iam = session.client("iam", endpoint_url=url)
    apigw = session.client("apigateway", endpoint_url=url)
    role = iam.create_role(RoleName="bench", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    _create(lam, role, "bench-constant", CONSTANT_HANDLER)
    proxy_arn = _create(lam, role, "bench-proxy", PROXY_HANDLER)
    api = apigw.create_rest_api(name="bench")["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    res = apigw.create_resource(restApiId=api, parentId=root, pathPart=names.API_RESOURCE_PATH)["id"]
    apigw.put_method(restApiId=api, resourceId=res, httpMethod="POST", authorizationType="NONE")
    apigw.put_integration(
        restApiId=api, resourceId=res, httpMethod="POST", type="AWS_PROXY", integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{proxy_arn}/invocations",
    )
    apigw.create_deployment(restApiId=api, stageName="prod")
    return "/2015-03-31/functions/bench-constant/invocations", f"/_aws/execute-api/{api}/prod/{names.API_RESOURCE_PATH}"


LAMBDA_HEADERS = {"Authorization": AUTH.format(service="lambda"), "Content-Type": "application/json"}
API_HEADERS = {"Content-Type": "application/json"}
EVENT = json.dumps({"data": ROW}).encode()


def _workload(proc, health_path: str) -> dict:
    """The same run on any target: idle memory, then the same functions under the same load."""
    # idle: started and answering health, no AWS request yet (both servers load services on use); after
    # the few seconds in which LocalStack's collector, paused for start-up, is handed back (warm_up.py)
    time.sleep(IDLE_SETTLE_S)
    result: dict = {"idle_rss": _rss_mb(proc.pid)}
    if isinstance(proc, LocalStackProcess):
        proc.wait_warm()  # the first AWS request's background load of the stack's services, done
        time.sleep(1.0)
        result["warm_rss"] = _rss_mb(proc.pid)
    invoke_path, api_path = deploy_bench_api(proc.url)
    # warm up: one environment per client thread
    _load(proc.port, "POST", invoke_path, EVENT, LAMBDA_HEADERS, DIRECT_THREADS, 1.0)
    _load(proc.port, "POST", api_path, EVENT, API_HEADERS, APIGW_THREADS, 1.0)
    get_settings = {"Authorization": AUTH.format(service="lambda")}
    result["rows"] = {
        "settings": _load(proc.port, "GET", "/2016-08-19/account-settings/", b"", get_settings, DIRECT_THREADS, SECONDS),
        "invoke": _load(proc.port, "POST", invoke_path, EVENT, LAMBDA_HEADERS, DIRECT_THREADS, SECONDS),
        "boto3": _boto3_invokes(proc.url, "bench-constant", DIRECT_THREADS, SECONDS),
        "health": _load(proc.port, "GET", health_path, b"", {}, APIGW_THREADS, SECONDS),
        "apigw": _load(proc.port, "POST", api_path, EVENT, API_HEADERS, APIGW_THREADS, SECONDS),
    }
    result["busy_rss"] = _rss_mb(proc.pid)
    result["tree_rss"], result["descendants"] = _tree_rss_mb(proc.pid)
    return result


ROW_LABELS = {
    "settings": f"Lambda GetAccountSettings, no function ({DIRECT_THREADS} conns)",
    "invoke": f"Lambda Invoke, direct ({DIRECT_THREADS} conns)",
    "boto3": f"Lambda Invoke via boto3 clients ({DIRECT_THREADS} threads)",
    "health": f"GET health route ({APIGW_THREADS} conns)",
    "apigw": f"API Gateway AWS_PROXY -> Lambda ({APIGW_THREADS} conns)",
}
# issue 10's targets, as (key, direction, bound): ready <= 2x and idle RSS <= 3x MiniStack's,
# throughput >= 2x MiniStack's on Invoke and on AWS_PROXY
TARGETS = (("ready", "<=", 2.0), ("idle_rss", "<=", 3.0), ("invoke", ">=", 2.0), ("apigw", ">=", 2.0))


def _start_localstack(tmp: Path) -> LocalStackProcess:
    return LocalStackProcess(port=free_port(), state_dir=tmp).start(timeout=120)


def _start_localstack_previous(tmp: Path) -> LocalStackProcess:
    """The kit's earlier defaults: every service loaded before ready, workers as host processes."""
    return LocalStackProcess(port=free_port(), state_dir=tmp, eager=True,
                             extra_env={"SAGESTACK_LAMBDA_SANDBOX": "0"}).start(timeout=120)


def _start_ministack(tmp: Path):
    from bench.ministack import MiniStackProcess

    return MiniStackProcess(port=free_port(), state_dir=tmp).start(timeout=120)


def _run_target(start_target, health_path: str, ready: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-ls-") as tmp:
        proc = start_target(Path(tmp))
        try:
            result = _workload(proc, health_path)
            if isinstance(proc, LocalStackProcess):
                result.update(_worker_memory(proc))
        finally:
            proc.stop()
    result["ready"] = ready
    return result


def _worker_memory(proc: LocalStackProcess) -> dict:
    session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    lam = session.client("lambda", endpoint_url=proc.url)
    role = "arn:aws:iam::000000000000:role/bench"
    _create(lam, role, "bench-bare", BARE_PID_HANDLER)
    _create(lam, role, "bench-boto3", BOTO3_HANDLER, Timeout=30)
    bare = _worker_of(proc.pid, json.loads(lam.invoke(FunctionName="bench-bare")["Payload"].read()))
    with_boto3 = _worker_of(proc.pid, json.loads(lam.invoke(FunctionName="bench-boto3")["Payload"].read()))
    return {"bare_worker_rss": _rss_mb(bare), "boto3_worker_rss": _rss_mb(with_boto3)}


def _worker_of(server_pid: int, log_stream_name: str) -> int:
    """The worker process (the function's Python, not its bwrap parents) writing `log_stream_name`."""
    for child in psutil.Process(server_pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if child.environ().get("AWS_LAMBDA_LOG_STREAM_NAME") == log_stream_name and \
                    os.path.basename(child.cmdline()[0]).startswith("python"):
                return child.pid
    raise RuntimeError(f"no worker process found for log stream {log_stream_name}")


def _ratio(ls: float, ms: float) -> str:
    return f"{ls / ms:.2f}x" if ms else "n/a"


def main() -> None:
    print("LocalStack (host mode, local executor) vs MiniStack (local executor), one run, same functions,")
    print("same client; 2 shared cores: compare ratios, not absolutes")
    bare = _bare_python_time()
    targets = {"LocalStack": _start_localstack, "MiniStack": _start_ministack}
    with_previous = os.environ.get("BENCH_LOCALSTACK_PREVIOUS") == "1"
    if with_previous:
        targets["previous"] = _start_localstack_previous
    ready, failed = _ready_times(targets, optional=frozenset({"MiniStack"}))
    ls = _run_target(_start_localstack, names.LOCALSTACK_HEALTH_PATH, ready["LocalStack"])
    previous = None
    if with_previous:
        previous = _run_target(_start_localstack_previous, names.LOCALSTACK_HEALTH_PATH, ready["previous"])
    ms = None
    if "MiniStack" in ready:
        try:
            ms = _run_target(_start_ministack, "/_ministack/health", ready["MiniStack"])
        except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
            failed["MiniStack"] = str(exc)
    if ms is None:  # no PyPI at set-up: LocalStack alone
        print(f"\nMiniStack baseline unavailable ({failed.get('MiniStack')}); LocalStack figures only")
    width = 50
    print(f"\n{'start-up (median of 3, interleaved), seconds':<{width}}{'LocalStack':>11}{'MiniStack':>11}{'ratio':>8}")
    print(f"{'start -> health answers':<{width}}{ls['ready']:>11.2f}{(ms or ls)['ready'] if ms else float('nan'):>11.2f}"
          f"{_ratio(ls['ready'], ms['ready']) if ms else '':>8}")
    print(f"{'baseline: bare python3.13 -c pass':<{width}}{bare:>11.3f}")
    print(f"\n{'throughput (' + str(SECONDS) + ' s closed loop), req/s | p50 ms':<{width}}"
          f"{'LocalStack':>15}{'MiniStack':>15}{'ratio':>8}{'errors':>9}")
    for key, label in ROW_LABELS.items():
        lr, lp50, _, lerr = ls["rows"][key]
        mr, mp50, _, merr = ms["rows"][key] if ms else (float("nan"),) * 3 + (0,)
        print(f"{label:<{width}}{lr:>8.0f} |{lp50:>5.0f}{mr:>8.0f} |{mp50:>5.0f}"
              f"{_ratio(lr, mr) if ms else '':>8}{f'{lerr}/{merr}':>9}")
    print(f"{'reference (Floci README): LocalStack Docker executor':<{width}}{120:>8}")
    print(f"{'reference (Floci README): Floci':<{width}}{289:>8}")
    print(f"\n{'resident memory, MB':<{width}}{'LocalStack':>11}{'MiniStack':>11}{'ratio':>8}")
    for key, label in (("idle_rss", "server, idle after start (no AWS request yet)"), ("warm_rss", "server, after the first request's warm-up"),
                       ("busy_rss", "server, after the load above"), ("tree_rss", "server + Lambda workers, after the load")):
        peer = ms.get(key, ms["idle_rss"]) if ms else float("nan")  # MiniStack has no warm-up: its idle figure
        print(f"{label:<{width}}{ls[key]:>11.0f}{peer:>11.0f}{_ratio(ls[key], peer) if ms else '':>8}")
    print(f"{'processes under the server':<{width}}{ls['descendants']:>11}{ms['descendants'] if ms else '':>11}")
    print(f"{'one warm LocalStack Lambda worker (no imports)':<{width}}{ls['bare_worker_rss']:>11.0f}")
    print(f"{'one warm LocalStack Lambda worker (imports boto3)':<{width}}{ls['boto3_worker_rss']:>11.0f}")
    if ms:
        print("\nissue 10 targets (LocalStack / MiniStack):")
        for key, direction, bound in TARGETS:
            value = ls[key] if key in ls else ls["rows"][key][0]
            peer = ms[key] if key in ms else ms["rows"][key][0]
            ratio = value / peer if peer else float("nan")
            met = ratio <= bound if direction == "<=" else ratio >= bound
            print(f"  {key:<10} {ratio:>6.2f}x  target {direction} {bound:.1f}x  {'met' if met else 'NOT met'}")
    if previous:
        print("\nLocalStack with the earlier defaults (eager start, no sandbox), same run:")
        print(f"  ready {previous['ready']:.2f} s, idle RSS {previous['idle_rss']:.0f} MB, "
              f"Invoke {previous['rows']['invoke'][0]:.0f} req/s, AWS_PROXY {previous['rows']['apigw'][0]:.0f} req/s")
