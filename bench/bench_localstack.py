"""LocalStack on the host with the `local` Lambda executor: ready time, invoke and API Gateway figures, memory.

`python -m bench localstack` (env BENCH_SECONDS=5, BENCH_DIRECT_THREADS=4, BENCH_APIGW_THREADS=8).

Everything runs against a fresh LocalStack on a free loopback port with a temporary state dir.
Clients are plain keep-alive HTTP connections (http.client, one per thread) so that the
client's CPU, on the same 2 cores, stays small next to the server's; LocalStack does not check
signatures, so requests carry only the credential scope it routes by. Baselines measured in the
same run with the same client: starting a bare python3.13 (for the ready time), and LocalStack
answering requests that run no function (a Lambda API call, GetAccountSettings, and the health
route: the floor of its AWS protocol stack and of its HTTP gateway). Published reference
(Floci's README): LocalStack with its Docker executor 120 Lambda req/s, Floci 289 req/s.
"""

from __future__ import annotations

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
from emulator.localstack import runtime_venv
from emulator.localstack.launcher import LocalStackProcess
from emulator.localstack.plugin.sagestack_localstack.interpreters import find_python

SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
DIRECT_THREADS = int(os.environ.get("BENCH_DIRECT_THREADS", "4"))
APIGW_THREADS = int(os.environ.get("BENCH_APIGW_THREADS", "8"))
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
BOTO3_HANDLER = "import os, boto3\nclient = boto3.client('sagemaker-runtime')\ndef handler(event, context):\n    return os.getpid()\n"
BARE_PID_HANDLER = "import os\ndef handler(event, context):\n    return os.getpid()\n"


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


def _ready_time(runs: int = 3) -> tuple[float, float]:
    """Median seconds from start() to healthy, and the same for a bare `python3.13 -c pass`."""
    runtime_venv.ensure_venv()
    ready, bare = [], []
    python = find_python("3.13")
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([python, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - started)
        with tempfile.TemporaryDirectory(prefix="bench-ls-") as tmp:
            proc = LocalStackProcess(port=free_port(), state_dir=Path(tmp))
            started = time.perf_counter()
            proc.start(timeout=120)
            ready.append(time.perf_counter() - started)
            proc.stop()
    return statistics.median(ready), statistics.median(bare)


def _rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


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


def main() -> None:
    print("LocalStack (host mode) + local Lambda executor; 2 shared cores: compare ratios, not absolutes")
    ready, bare = _ready_time()
    print(f"\n{'start-up':<46}{'seconds':>10}")
    print(f"{'LocalStack start() -> healthy (median of 3)':<46}{ready:>10.2f}")
    print(f"{'baseline: bare python3.13 -c pass':<46}{bare:>10.3f}")

    with tempfile.TemporaryDirectory(prefix="bench-ls-") as tmp:
        proc = LocalStackProcess(port=free_port(), state_dir=Path(tmp)).start(timeout=120)
        try:
            time.sleep(1.0)
            idle_rss = _rss_mb(proc.pid)
            session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
            lam = session.client("lambda", endpoint_url=proc.url)
            iam = session.client("iam", endpoint_url=proc.url)
            apigw = session.client("apigateway", endpoint_url=proc.url)
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

            lambda_headers = {"Authorization": AUTH.format(service="lambda"), "Content-Type": "application/json"}
            invoke_path = "/2015-03-31/functions/bench-constant/invocations"
            event = json.dumps({"data": ROW}).encode()
            api_path = f"/_aws/execute-api/{api}/prod/{names.API_RESOURCE_PATH}"
            api_headers = {"Content-Type": "application/json"}
            # warm up: one environment per client thread
            _load(proc.port, "POST", invoke_path, event, lambda_headers, DIRECT_THREADS, 1.0)
            _load(proc.port, "POST", api_path, event, api_headers, APIGW_THREADS, 1.0)

            rows = []
            get_fn_headers = {"Authorization": AUTH.format(service="lambda")}
            rows.append((f"baseline: Lambda GetAccountSettings ({DIRECT_THREADS} conns)",
                         _load(proc.port, "GET", "/2016-08-19/account-settings/", b"", get_fn_headers,
                               DIRECT_THREADS, SECONDS)))
            rows.append((f"Lambda Invoke, direct ({DIRECT_THREADS} conns)",
                         _load(proc.port, "POST", invoke_path, event, lambda_headers, DIRECT_THREADS, SECONDS)))
            rows.append((f"Lambda Invoke via boto3 clients ({DIRECT_THREADS} threads)",
                         _boto3_invokes(proc.url, "bench-constant", DIRECT_THREADS, SECONDS)))
            rows.append((f"baseline: GET /_localstack/health ({APIGW_THREADS} conns)",
                         _load(proc.port, "GET", "/_localstack/health", b"", {}, APIGW_THREADS, SECONDS)))
            rows.append((f"API Gateway AWS_PROXY -> Lambda ({APIGW_THREADS} conns)",
                         _load(proc.port, "POST", api_path, event, api_headers, APIGW_THREADS, SECONDS)))
            print(f"\n{'throughput (' + str(SECONDS) + ' s closed loop)':<48}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
            for label, (rps, p50, p99, errs) in rows:
                print(f"{label:<48}{rps:>9.0f}{p50:>9.1f}{p99:>9.1f}{errs:>8}")
            print(f"{'reference (Floci README): LocalStack Docker executor':<48}{120:>9}")
            print(f"{'reference (Floci README): Floci':<48}{289:>9}")

            busy_rss = _rss_mb(proc.pid)
            _create(lam, role, "bench-bare", BARE_PID_HANDLER)
            _create(lam, role, "bench-boto3", BOTO3_HANDLER, Timeout=30)
            bare_pid = json.loads(lam.invoke(FunctionName="bench-bare")["Payload"].read())
            boto3_pid = json.loads(lam.invoke(FunctionName="bench-boto3")["Payload"].read())
            workers = [c for c in psutil.Process(proc.pid).children(recursive=True)]
            print(f"\n{'resident memory':<48}{'MB':>9}")
            print(f"{'LocalStack process, idle after start':<48}{idle_rss:>9.0f}")
            print(f"{'LocalStack process, after the load above':<48}{busy_rss:>9.0f}")
            print(f"{'one warm Lambda worker (handler: os.getpid)':<48}{_rss_mb(bare_pid):>9.0f}")
            print(f"{'one warm Lambda worker (handler imports boto3)':<48}{_rss_mb(boto3_pid):>9.0f}")
            print(f"{'Lambda workers alive now':<48}{len(workers):>9}")
        finally:
            proc.stop()
