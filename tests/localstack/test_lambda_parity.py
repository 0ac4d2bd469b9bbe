"""Lambda details LocalStack's own parity suite checks against AWS, on the `local` executor.

Each test is one item of the parity list: provisioned concurrency with a failing init, the
LogResult tail of a cold start, Function URLs without DNS, runtime validation in AWS's order and
wording, python3.8/3.9, and AWS's paths in stack traces.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time

import httpx
import pytest

from emulator.localstack.plugin.sagestack_localstack.interpreters import InterpreterNotFound, find_python
from tests.localstack.helpers import create_function, ensure_role, invoke_json, unique, zip_source

pytestmark = pytest.mark.integration

PRINTS_AT_IMPORT = """
print("module imported")
def handler(event, context):
    print("handled")
    return "ok"
"""


def _tail(response) -> list[str]:
    return base64.b64decode(response["LogResult"]).decode().splitlines()


def test_provisioned_concurrency_with_a_failing_init_is_failed(lam, iam):
    name = create_function(lam, iam, "raise RuntimeError('init fails')\ndef handler(e, c):\n    return 1\n")
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier=version, ProvisionedConcurrentExecutions=1)
    deadline = time.monotonic() + 60
    config = {}
    while time.monotonic() < deadline:
        config = lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier=version)
        if config["Status"] != "IN_PROGRESS":
            break
        time.sleep(0.2)
    assert config["Status"] == "FAILED"
    assert config["StatusReason"] == "FUNCTION_ERROR_INIT_FAILURE"


def test_provisioned_concurrency_with_a_working_init_is_ready(lam, iam):
    name = create_function(lam, iam, PRINTS_AT_IMPORT)
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier=version, ProvisionedConcurrentExecutions=1)
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        config = lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier=version)
        if config["Status"] != "IN_PROGRESS":
            break
        time.sleep(0.2)
    assert config["Status"] == "READY"


def test_cold_start_tail_is_start_output_end_report_and_the_init_goes_to_cloudwatch(lam, iam, logs):
    name = create_function(lam, iam, PRINTS_AT_IMPORT)
    response, _ = invoke_json(lam, name, {}, LogType="Tail")
    lines = _tail(response)
    assert lines[0].startswith("START RequestId: ")
    assert lines[1] == "handled"
    assert lines[2].startswith("END RequestId: ")
    assert lines[3].startswith("REPORT RequestId: ") and "Init Duration: " in lines[3]
    assert len(lines) == 4
    assert not any("INIT_START" in line or "module imported" in line for line in lines)
    messages: list[str] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            messages = [e["message"] for e in logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]]
        except logs.exceptions.ResourceNotFoundException:
            messages = []
        if any(m.startswith("REPORT") for m in messages):
            break
        time.sleep(0.2)
    starts = [i for i, m in enumerate(messages) if m.startswith(("INIT_START", "module imported", "START"))]
    assert [messages[i].split(" ")[0].rstrip("\n") for i in starts] == ["INIT_START", "module", "START"]


def test_function_url_is_reachable_from_the_host_and_from_a_function(lam, iam):
    target = create_function(
        lam, iam,
        "import json\ndef handler(event, context):\n"
        "    return {'statusCode': 200, 'body': json.dumps({'path': event['rawPath']})}\n",
    )
    url = lam.create_function_url_config(FunctionName=target, AuthType="NONE")["FunctionUrl"]
    assert ".lambda-url.us-east-1.localhost:" in url  # a name clients resolve to loopback without DNS
    curl = shutil.which("curl")
    if curl:  # curl resolves *.localhost by itself (RFC 6761), as browsers do
        out = subprocess.run([curl, "-s", "--max-time", "30", url + "from-curl"], capture_output=True, text=True)
        assert json.loads(out.stdout) == {"path": "/from-curl"}, out
    caller = create_function(
        lam, iam,
        "import json, urllib.request\ndef handler(event, context):\n"
        "    with urllib.request.urlopen(event['url'], timeout=20) as r:\n        return json.loads(r.read())\n",
        Timeout=30,
    )
    assert invoke_json(lam, caller, {"url": url + "from-inside"})[1] == {"path": "/from-inside"}


def test_update_function_configuration_with_a_bad_runtime_is_the_enum_error(lam, iam):
    name = create_function(lam, iam, PRINTS_AT_IMPORT)
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as info:
        lam.update_function_configuration(FunctionName=name, Runtime="python3.99")
    message = info.value.response["Error"]["Message"]
    assert message.startswith("Value python3.99 at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [")
    assert message.endswith("] or be a valid ARN")


@pytest.mark.parametrize("call", ["create", "update"])
def test_blocked_runtime_is_refused_with_awss_wording(lam, iam, call):
    expected = ("The runtime parameter of python3.7 is no longer supported for creating or updating AWS Lambda "
                "functions. We recommend you use a supported runtime while creating or updating functions.")
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as info:
        if call == "create":
            lam.create_function(FunctionName=unique("old"), Runtime="python3.7", Role=ensure_role(iam),
                                Handler="handler.handler", Code={"ZipFile": zip_source({"handler.py": PRINTS_AT_IMPORT})})
        else:
            name = create_function(lam, iam, PRINTS_AT_IMPORT)
            lam.update_function_configuration(FunctionName=name, Runtime="python3.7")
    assert info.value.response["Error"]["Message"] == expected


def _create_node(lam, iam, name: str):
    return lam.create_function(FunctionName=name, Runtime="nodejs22.x", Role=ensure_role(iam), Handler="index.handler",
                               Code={"ZipFile": zip_source({"index.js": "exports.handler = async () => 1;"})})


def test_snapstart_enum_error_comes_before_the_local_runtime_rule(lam, iam):
    # LocalStack's test_snapstart_exceptions: java21 cannot run here, but AWS answers the request's enum error
    with pytest.raises(lam.exceptions.ClientError) as info:
        lam.create_function(FunctionName=unique("snap"), Runtime="java21", Role=ensure_role(iam),
                            Handler="cloud.localstack.sample.LambdaHandlerWithLib",
                            Code={"ZipFile": zip_source({"handler.py": PRINTS_AT_IMPORT})},
                            SnapStart={"ApplyOn": "invalidOption"})
    error = info.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"] == ("1 validation error detected: Value 'invalidOption' at 'snapStart.applyOn' failed to "
                                "satisfy constraint: Member must satisfy enum value set: [PublishedVersions, None]")


def test_existing_function_conflict_comes_before_the_local_runtime_rule(lam, iam):
    name = create_function(lam, iam, PRINTS_AT_IMPORT)
    with pytest.raises(lam.exceptions.ResourceConflictException):
        _create_node(lam, iam, name)


def test_update_checks_the_function_and_revision_before_the_runtime_rules(lam, iam):
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.update_function_configuration(FunctionName=unique("absent"), Runtime="nodejs22.x")
    name = create_function(lam, iam, PRINTS_AT_IMPORT)
    with pytest.raises(lam.exceptions.PreconditionFailedException):
        lam.update_function_configuration(FunctionName=name, Runtime="python3.7", RevisionId="not-the-revision")


def test_update_to_a_runtime_that_cannot_run_here_is_refused_and_changes_nothing(lam, iam):
    name = create_function(lam, iam, PRINTS_AT_IMPORT)
    before = lam.get_function_configuration(FunctionName=name)
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as info:
        lam.update_function_configuration(FunctionName=name, Runtime="nodejs22.x", Description="changed")
    assert "python3.10" in info.value.response["Error"]["Message"]
    after = lam.get_function_configuration(FunctionName=name)
    assert (after["Runtime"], after["Description"], after["RevisionId"]) == (
        before["Runtime"], before["Description"], before["RevisionId"])
    # the check owed by the refused call is gone: the next update of the same function's code goes through
    lam.update_function_code(FunctionName=name, ZipFile=zip_source({"handler.py": PRINTS_AT_IMPORT}))


@pytest.mark.parametrize("runtime", ["python3.8", "python3.9"])
def test_deprecated_but_not_blocked_runtimes_run_where_their_interpreter_exists(lam, iam, runtime):
    try:
        find_python(runtime.removeprefix("python"))
    except InterpreterNotFound:
        pytest.skip(f"no {runtime} interpreter on this machine")
    name = create_function(
        lam, iam,
        "import sys, os, boto3\ndef handler(event, context):\n"
        "    boto3.client('s3', region_name='us-east-1')\n"
        "    return ['%d.%d' % sys.version_info[:2], os.environ['AWS_EXECUTION_ENV'], boto3.__version__ > '1']\n",
        runtime=runtime, Timeout=60,
    )
    assert invoke_json(lam, name, {})[1] == [runtime.removeprefix("python"), f"AWS_Lambda_{runtime}", True]


def _host_paths_absent(frames: list[str]) -> None:
    for frame in frames:
        path = frame.split('"')[1] if '"' in frame else ""
        assert path.startswith(("/var/task/", "/var/lang/lib/python3.", "/var/runtime/", "<frozen")), frame


def test_stack_traces_name_awss_paths_for_code_stdlib_and_runtime_libraries(lam, iam):
    name = create_function(
        lam, iam,
        {
            "handler.py": "import json, helper\ndef handler(event, context):\n"
                          "    if event.get('where') == 'boto3':\n"
                          "        import boto3\n        boto3.client('no-such-service')\n"
                          "    return helper.parse(event['text'])\n",
            "helper.py": "import json\ndef parse(text):\n    return json.loads(text)\n",
        },
        Timeout=60,  # importing boto3 on a loaded 2-core machine can take seconds
    )
    response, body = invoke_json(lam, name, {"text": "not json"}, LogType="Tail")
    assert body["errorType"] == "JSONDecodeError"
    frames = body["stackTrace"]
    assert frames[0].startswith('  File "/var/task/handler.py", line 6, in handler')
    assert frames[1].startswith('  File "/var/task/helper.py", line 3, in parse')
    assert any('File "/var/lang/lib/python3.12/json/__init__.py"' in f for f in frames)
    _host_paths_absent(frames)
    assert "/var/lang/lib/python3.12/json/" in "\n".join(_tail(response))
    _, body = invoke_json(lam, name, {"where": "boto3"})
    assert any('File "/var/runtime/botocore/' in f or 'File "/var/runtime/boto3/' in f for f in body.get("stackTrace", [])), body
    _host_paths_absent(body["stackTrace"])


def test_init_error_traces_name_awss_paths(lam, iam):
    name = create_function(lam, iam, "import json\nCONFIG = json.loads('{')\ndef handler(e, c):\n    return 1\n")
    _, body = invoke_json(lam, name, {})
    assert body["errorType"] == "JSONDecodeError"
    assert body["stackTrace"][0].startswith('  File "/var/task/handler.py", line 2, in <module>') or any(
        f.startswith('  File "/var/task/handler.py", line 2, in <module>') for f in body["stackTrace"]
    )
    _host_paths_absent(body["stackTrace"])


def test_function_url_from_python_on_the_host_with_rfc6761_resolution(lam, iam, monkeypatch):
    """Python's resolver needs the same rule curl applies; the LocalStack process applies it itself."""
    import socket

    from emulator.localstack.plugin.sagestack_localstack import worker

    name = create_function(lam, iam, "def handler(event, context):\n    return {'statusCode': 200, 'body': 'hi'}\n")
    url = lam.create_function_url_config(FunctionName=name, AuthType="NONE")["FunctionUrl"]
    monkeypatch.setattr(socket, "getaddrinfo", socket.getaddrinfo)  # restored after the test
    worker.resolve_localhost_subdomains()
    assert httpx.get(url, timeout=30).text == "hi"


LOCALSTACK_DOMAIN_CALLER = """
import os, urllib.request
from urllib.parse import urlparse
import boto3

def handler(event, context):
    port = urlparse(os.environ["AWS_ENDPOINT_URL"]).port
    answers = {}
    for host in ("localhost.localstack.cloud", "sync-localhost.localstack.cloud"):
        with urllib.request.urlopen(f"http://{host}:{port}/_localstack/health", timeout=20) as response:
            answers[host] = response.status
    sts = boto3.client("sts", endpoint_url=f"http://localhost.localstack.cloud:{port}")
    answers["sts"] = sts.get_caller_identity()["Account"]
    return answers
"""


def test_functions_reach_localstack_by_its_documented_host_name_offline(lam, iam):
    # code written for LocalStack names it localhost.localstack.cloud (public DNS: 127.0.0.1), with a host
    # prefix for some operations (LocalStack's test_lambda_host_prefix_api_operation); there is no DNS here
    name = create_function(lam, iam, LOCALSTACK_DOMAIN_CALLER, Timeout=30)
    assert invoke_json(lam, name, {})[1] == {
        "localhost.localstack.cloud": 200, "sync-localhost.localstack.cloud": 200, "sts": "000000000000"}


@pytest.mark.parametrize("name, loopback", [
    ("localhost.localstack.cloud", True), ("sync-localhost.localstack.cloud", True),
    ("bucket.s3.localhost.localstack.cloud.", True), ("LOCALHOST.LocalStack.Cloud", True),
    ("abc.lambda-url.us-east-1.localhost", True), ("localstack.cloud", False),
    ("localhost.localstack.cloud.example.com", False), ("data-localhost.localstack.cloud", True),
    ("example.com", False), ("localhost", False),
])
def test_loopback_names(name, loopback):
    from emulator.localstack.plugin.sagestack_localstack import worker

    assert worker.is_loopback_name(name) is loopback
