"""A Lambda function sees what AWS shows it (/var/task, /var/lang, /var/runtime, its own /tmp), not the host.

Where bubblewrap can build namespaces (Linux with `bwrap`), each execution environment runs in its
own; elsewhere the executor keeps host processes and says so once (unit tests at the end).
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from emulator.localstack.plugin.sagestack_localstack import sandbox
from tests.localstack.helpers import create_function, invoke_json, proxy_api, worker_pid

needs_sandbox = pytest.mark.skipif(
    sandbox.unavailable_reason() is not None, reason=f"no Lambda sandbox here: {sandbox.unavailable_reason()}"
)

PROBE = """
import json, os, signal, sys, urllib.request
import boto3
def _exists(path):
    return os.path.exists(path)
def handler(event, context):
    out = {"root": sorted(os.listdir("/")), "var": sorted(os.listdir("/var")), "file": __file__,
           "cwd": os.getcwd(), "prefix": sys.prefix, "executable": sys.executable, "boto3": boto3.__file__,
           "task": sorted(os.listdir("/var/task")), "tmp": sorted(os.listdir("/tmp")),
           "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
           "seen": {p: _exists(p) for p in event["paths"]}}
    try:
        os.kill(event["localstack_pid"], 0)
        out["signal"] = "delivered"
    except ProcessLookupError:
        out["signal"] = "no such process"
    except PermissionError:
        out["signal"] = "permission denied"
    with open("/tmp/mark-" + event["mark"], "w") as fh:
        fh.write("x")
    try:
        open("/var/task/written", "w").close()
        out["task_writable"] = True
    except OSError:
        out["task_writable"] = False
    with urllib.request.urlopen(event["health"], timeout=10) as resp:
        out["health"] = resp.status
    return out
"""


def _probe(lam, name: str, localstack, mark: str, extra_paths: list[str]) -> dict:
    cert = localstack.runtime_dir / "cert" / "server.test.pem"
    paths = [str(localstack.state_dir), str(cert), str(localstack.runtime_dir / "filesystem"),
             str(Path.home()), str(Path(__file__).resolve()), *extra_paths]
    event = {"paths": paths, "localstack_pid": localstack.pid, "mark": mark,
             "health": f"{localstack.url}/_localstack/health"}
    response, body = invoke_json(lam, name, event)
    assert "FunctionError" not in response, body
    return body


@needs_sandbox
def test_function_sees_lambdas_layout_and_nothing_of_the_host(lam, iam, localstack):
    name = create_function(lam, iam, PROBE, runtime="python3.12", Timeout=30)
    body = _probe(lam, name, localstack, "one", [])
    assert {"var", "tmp", "proc", "dev", "usr", "opt"} <= set(body["root"])
    assert not {"root", "home", "work", "srv", "mnt"} & set(body["root"])
    assert body["var"] == ["lang", "runtime", "task"]
    assert body["file"] == "/var/task/handler.py" and body["cwd"] == "/var/task"
    assert body["task"] == ["handler.py"]
    assert body["prefix"] == "/var/lang" and body["executable"] == "/var/lang/bin/python3.12"
    assert body["boto3"] == "/var/runtime/boto3/__init__.py"
    # no state dir, TLS key, emulator/LocalStack files, home directory or repository of the host
    assert body["seen"] == {path: False for path in body["seen"]}
    # its own PID namespace: LocalStack (and every other process of the host) cannot be seen or signalled
    assert max(body["pids"]) < 10 and localstack.pid not in body["pids"]
    assert body["signal"] == "no such process"
    assert body["task_writable"] is False  # /var/task is read-only, as on Lambda
    assert body["health"] == 200  # the stack's endpoints are reachable


@needs_sandbox
def test_each_environment_has_its_own_tmp_and_cannot_see_other_functions(lam, iam, localstack):
    first = create_function(lam, iam, PROBE, runtime="python3.12", Timeout=30)
    second = create_function(lam, iam, PROBE, runtime="python3.13", Timeout=30)
    body1 = _probe(lam, first, localstack, "first", [])
    body2 = _probe(lam, second, localstack, "second", [])
    assert body1["tmp"] == [] and body2["tmp"] == []  # a fresh /tmp each
    assert _probe(lam, first, localstack, "again", [])["tmp"] == ["mark-first"]  # kept while warm
    assert body2["task"] == ["handler.py"]
    assert body2["executable"] == "/var/lang/bin/python3.13"


@needs_sandbox
def test_stack_traces_show_aws_paths_for_real(lam, iam):
    source = "import json\ndef handler(event, context):\n    return json.loads(event['text'])\n"
    name = create_function(lam, iam, source, runtime="python3.12")
    response, body = invoke_json(lam, name, {"text": "{"})
    assert response["FunctionError"] == "Unhandled" and body["errorType"] == "JSONDecodeError"
    files = [frame.split('"')[1] for frame in body["stackTrace"]]
    assert files[0] == "/var/task/handler.py"
    assert "/var/lang/lib/python3.12/json/__init__.py" in files
    assert all(f.startswith(("/var/task/", "/var/lang/", "/var/runtime/")) for f in files)


@needs_sandbox
def test_worker_dies_with_its_environment(lam, iam):
    name = create_function(lam, iam, "def handler(e, c):\n    return c.log_stream_name\n")
    stream = invoke_json(lam, name, {})[1]
    pid = worker_pid(stream)
    assert pid is not None
    lam.delete_function(FunctionName=name)
    import time

    from tests.localstack.helpers import process_gone

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not process_gone(pid):
        time.sleep(0.1)
    assert process_gone(pid)


def test_apigateway_invocation_still_works(localstack, lam, iam, apigw):
    """The sandbox keeps the kit's path working: API Gateway -> Lambda in its namespaces -> answer."""
    source = "import json\ndef handler(event, context):\n    return {'statusCode': 200, 'body': json.dumps(__file__)}\n"
    api = proxy_api(lam, apigw, create_function(lam, iam, source))
    response = httpx.post(f"{localstack.url}/_aws/execute-api/{api}/prod/", content=b"{}", timeout=60)
    assert response.status_code == 200
    seen = json.loads(response.text)
    assert seen == "/var/task/handler.py" if sandbox.unavailable_reason() is None else seen.endswith("/handler.py")


# ---- without a sandbox ------------------------------------------------------------------------
def test_without_bwrap_the_layout_is_the_hosts_and_the_reason_is_given(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on PATH
    sandbox.unavailable_reason.cache_clear()
    try:
        reason = sandbox.unavailable_reason()
        assert reason is not None and "apt-get install bubblewrap" in reason
        layout = sandbox.layout("/usr/bin/python3", "/code/dir", "/libs/dir", Path("/x/worker.py"))
        assert not layout.sandboxed
        assert layout.argv(5) == ["/usr/bin/python3", "-S", "-B", "-u", "/x/worker.py", "5", "/code/dir", "/libs/dir"]
        assert layout.env["LAMBDA_TASK_ROOT"] == "/code/dir" and layout.env["PYTHONPATH"] == "/libs/dir"
    finally:
        sandbox.unavailable_reason.cache_clear()


def test_sandbox_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("SAGESTACK_LAMBDA_SANDBOX", "0")
    sandbox.unavailable_reason.cache_clear()
    try:
        assert sandbox.unavailable_reason() == "SAGESTACK_LAMBDA_SANDBOX=0"
    finally:
        sandbox.unavailable_reason.cache_clear()


def test_fallback_is_reported_once_at_start(monkeypatch, caplog):
    monkeypatch.setenv("SAGESTACK_LAMBDA_SANDBOX", "off")
    sandbox.unavailable_reason.cache_clear()
    try:
        with caplog.at_level("WARNING"):
            sandbox.report_at_start()
        lines = [r.getMessage() for r in caplog.records]
        assert len(lines) == 1 and "without isolation" in lines[0] and "SAGESTACK_LAMBDA_SANDBOX=0" in lines[0]
    finally:
        sandbox.unavailable_reason.cache_clear()


def test_running_localstack_reports_no_fallback_when_sandboxed(localstack):
    log = localstack.log_path.read_text(errors="replace")
    if sandbox.unavailable_reason() is None:
        assert "without isolation" not in log
    else:
        assert log.count("without isolation") == 1
