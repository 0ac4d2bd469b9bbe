"""Lambda on the embedded LocalStack with the `local` executor, checked against AWS's documented behaviour."""

from __future__ import annotations

import base64
import concurrent.futures
import json
import time

import pytest

from emulator.localstack.plugin.sagestack_localstack import sandbox
from tests.localstack.helpers import create_function, invoke_json, process_gone, unique, worker_pid, zip_source

pytestmark = pytest.mark.integration

ECHO = """
import json, os, sys
COUNTER = {"n": 0}
PROCESS = os.urandom(8).hex()  # one value per worker process
def handler(event, context):
    COUNTER["n"] += 1
    print("echo", json.dumps(event))
    return {"event": event, "n": COUNTER["n"], "process": PROCESS}
"""


def test_create_invoke_update_delete(lam, iam):
    name = create_function(lam, iam, "def handler(event, context):\n    return {'version': 1, 'got': event}\n")
    response, body = invoke_json(lam, name, {"x": 1})
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert body == {"version": 1, "got": {"x": 1}}
    assert response["ExecutedVersion"] == "$LATEST"

    lam.update_function_code(
        FunctionName=name, ZipFile=zip_source({"handler.py": "def handler(event, context):\n    return {'version': 2}\n"})
    )
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
    assert invoke_json(lam, name)[1] == {"version": 2}

    lam.delete_function(FunctionName=name)
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as info:
        lam.invoke(FunctionName=name, Payload=b"{}")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_environment_is_kept_warm_and_reused(lam, iam):
    name = create_function(lam, iam, ECHO)
    bodies = [invoke_json(lam, name, {"i": i})[1] for i in range(3)]
    assert [b["n"] for b in bodies] == [1, 2, 3]  # module state survives: same environment
    assert len({b["process"] for b in bodies}) == 1


def test_handler_exception_payload(lam, iam):
    name = create_function(
        lam,
        iam,
        """
        def handler(event, context):
            raise ValueError("the input had no 'data' key")
        """,
    )
    response, body = invoke_json(lam, name, {}, LogType="Tail")
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "the input had no 'data' key"
    assert body["requestId"] == response["ResponseMetadata"]["RequestId"]
    assert len(body["stackTrace"]) == 1 and "handler.py" in body["stackTrace"][0]
    assert "raise ValueError" in body["stackTrace"][0]
    log = base64.b64decode(response["LogResult"]).decode()
    assert "[ERROR] ValueError: the input had no 'data' key" in log


@pytest.mark.parametrize(
    ("files", "handler", "error_type", "message"),
    [
        ({"handler.py": "import no_such_module_xyz\n"}, "handler.handler", "Runtime.ImportModuleError",
         "Unable to import module 'handler': No module named 'no_such_module_xyz'"),
        ({"handler.py": "x = 1\n"}, "missing.handler", "Runtime.ImportModuleError",
         "Unable to import module 'missing': No module named 'missing'"),
        ({"handler.py": "def other(e, c):\n    return 1\n"}, "handler.handler", "Runtime.HandlerNotFound",
         "Handler 'handler' missing on module 'handler'"),
        ({"handler.py": "def handler(e, c)\n    return 1\n"}, "handler.handler", "Runtime.UserCodeSyntaxError",
         "Syntax error in module 'handler': "),
        ({"handler.py": "x = 1\n"}, "handler", "Runtime.MalformedHandlerName", "Bad handler 'handler': "),
    ],
    ids=["import-error", "missing-module", "handler-not-found", "syntax-error", "malformed-handler"],
)
def test_init_errors_are_reported_like_the_python_runtime(lam, iam, files, handler, error_type, message):
    name = create_function(lam, iam, files, handler=handler)
    for _ in range(2):  # init is retried on the next invoke and fails the same way
        response, body = invoke_json(lam, name, {})
        assert response["StatusCode"] == 200
        assert response["FunctionError"] == "Unhandled"
        assert body["errorType"] == error_type
        assert body["errorMessage"].startswith(message)
        assert isinstance(body["stackTrace"], list)


def test_timeout_kills_the_worker_and_reports_task_timed_out(lam, iam):
    name = create_function(
        lam,
        iam,
        """
        import os, time
        PROCESS = os.urandom(8).hex()
        def handler(event, context):
            if event.get("sleep"):
                print("sleeping in", PROCESS, flush=True)
                time.sleep(event["sleep"])
            return {"process": PROCESS, "stream": context.log_stream_name,
                    "remaining": context.get_remaining_time_in_millis()}
        """,
        Timeout=1,
    )
    first = invoke_json(lam, name, {})[1]
    assert 0 < first["remaining"] <= 1000
    first_pid = worker_pid(first["stream"])
    assert first_pid is not None
    response, body = invoke_json(lam, name, {"sleep": 30}, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    request_id = response["ResponseMetadata"]["RequestId"]
    assert body == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after 1.00 seconds",
    }
    log = base64.b64decode(response["LogResult"]).decode()
    assert "Task timed out after 1.00 seconds" in log and "Status: timeout" in log
    # the sleeping worker was killed, and the next invoke gets a fresh one
    assert process_gone(first_pid)
    after = invoke_json(lam, name, {})[1]
    assert after["process"] != first["process"]


def test_worker_exit_is_a_runtime_exit_error(lam, iam):
    name = create_function(lam, iam, "import os\ndef handler(event, context):\n    os._exit(3)\n")
    response, body = invoke_json(lam, name, {})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert body["errorMessage"].endswith("Error: Runtime exited with error: exit status 3")


def test_unserializable_result_is_a_marshal_error(lam, iam):
    name = create_function(lam, iam, "def handler(event, context):\n    return {1, 2}\n")
    response, body = invoke_json(lam, name, {})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.MarshalError"
    assert body["errorMessage"].startswith("Unable to marshal response: Object of type set is not JSON serializable")


def test_environment_variables_like_lambda(lam, iam, localstack):
    name = create_function(
        lam,
        iam,
        """
        import os, boto3
        def handler(event, context):
            client = boto3.client("sagemaker-runtime")
            return {"env": dict(os.environ), "sagemaker_runtime_endpoint": client.meta.endpoint_url,
                    "region": client.meta.region_name, "cwd": os.getcwd()}
        """,
        MemorySize=256,
        Timeout=30,
        Environment={"Variables": {"ENDPOINT_NAME": "wdbc-endpoint",
                                   "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": "http://127.0.0.1:4567"}},
    )
    body = invoke_json(lam, name, {})[1]
    env = body["env"]
    assert env["ENDPOINT_NAME"] == "wdbc-endpoint"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{name}"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert env["_HANDLER"] == "handler.handler"
    assert env["LAMBDA_TASK_ROOT"] == body["cwd"]
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        assert env[key]
    # LocalStack's own settings do not leak into the function
    for key in ("GATEWAY_LISTEN", "LAMBDA_RUNTIME_EXECUTOR", "FILESYSTEM_ROOT", "SERVICES",
                "LOCALSTACK_RUNTIME_ENDPOINT", "SAGESTACK_LAMBDA_RUNTIME_LIBS", "PYTHONUNBUFFERED"):
        assert key not in env
    # the handler's boto3 talks to LocalStack by default and to the emulator where the function says so
    assert env["AWS_ENDPOINT_URL"] == localstack.url
    assert body["sagemaker_runtime_endpoint"] == "http://127.0.0.1:4567"
    assert body["region"] == "us-east-1"


def test_context_object_has_the_real_attributes(lam, iam):
    name = create_function(
        lam,
        iam,
        """
        def handler(event, context):
            return {k: getattr(context, k) for k in (
                "function_name", "function_version", "invoked_function_arn", "memory_limit_in_mb",
                "aws_request_id", "log_group_name", "log_stream_name")} | {
                "remaining": context.get_remaining_time_in_millis(),
                "identity": [context.identity.cognito_identity_id, context.identity.cognito_identity_pool_id],
                "client_context": context.client_context}
        """,
        Timeout=7,
    )
    response, body = invoke_json(lam, name, {})
    arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    assert body["function_name"] == name
    assert body["function_version"] == "$LATEST"
    assert body["invoked_function_arn"] == arn
    assert body["memory_limit_in_mb"] == "128"  # a string, as in the managed runtime
    assert body["aws_request_id"] == response["ResponseMetadata"]["RequestId"]
    assert body["log_group_name"] == f"/aws/lambda/{name}"
    assert body["log_stream_name"].endswith("]" + body["log_stream_name"].split("]")[1])
    assert 0 < body["remaining"] <= 7000
    assert body["identity"] == [None, None]
    assert body["client_context"] is None


def test_handler_sees_its_code_and_boto3_but_not_localstack(lam, iam):
    name = create_function(
        lam,
        iam,
        {
            "handler.py": """
            import sys, importlib.util, helper_module
            def handler(event, context):
                import boto3, botocore
                return {"path": sys.path, "boto3": boto3.__file__, "botocore": botocore.__version__,
                        "helper": helper_module.VALUE,
                        "localstack": importlib.util.find_spec("localstack") is not None,
                        "twisted": importlib.util.find_spec("twisted") is not None,
                        "pip": importlib.util.find_spec("pip") is not None}
            """,
            "helper_module.py": "VALUE = 42\n",
        },
        Timeout=30,
    )
    body = invoke_json(lam, name, {})[1]
    assert body["helper"] == 42
    if sandbox.unavailable_reason() is None:  # the function runs in Lambda's layout
        assert body["path"][0] == "/var/task"
        assert body["boto3"] == "/var/runtime/boto3/__init__.py"
    else:  # host fallback: the same order with host paths
        assert body["path"][0].endswith("/code")
        assert "lambda-runtime-libs" in body["boto3"]
    assert body["botocore"] == "1.44.8"
    assert body["localstack"] is False and body["twisted"] is False and body["pip"] is False


@pytest.mark.parametrize("runtime", ["python3.10", "python3.11", "python3.12", "python3.13"])
def test_python_runtimes_use_their_own_interpreter(lam, iam, runtime):
    name = create_function(
        lam,
        iam,
        "import sys, os\ndef handler(event, context):\n    return ['%d.%d' % sys.version_info[:2], os.environ['AWS_EXECUTION_ENV']]\n",
        runtime=runtime,
    )
    assert invoke_json(lam, name, {})[1] == [runtime.removeprefix("python"), f"AWS_Lambda_{runtime}"]


def test_runtime_that_cannot_run_here_is_rejected_on_create(lam, iam):
    from tests.localstack.helpers import ensure_role

    with pytest.raises(lam.exceptions.InvalidParameterValueException) as info:
        lam.create_function(
            FunctionName=unique("node"),
            Runtime="nodejs22.x",
            Role=ensure_role(iam),
            Handler="index.handler",
            Code={"ZipFile": zip_source({"index.js": "exports.handler = async () => 1;"})},
        )
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "python3.10" in info.value.response["Error"]["Message"]


def test_concurrent_invokes_get_separate_environments(lam, iam):
    name = create_function(
        lam, iam, "import time\ndef handler(event, context):\n    time.sleep(1.0)\n    return context.log_stream_name\n",
        Timeout=30,
    )
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        streams = list(pool.map(lambda _: invoke_json(lam, name, {})[1], range(3)))
    assert len(set(streams)) >= 2


def test_logs_reach_cloudwatch_logs(lam, iam, logs):
    name = create_function(lam, iam, ECHO)
    marker = unique("marker")
    response, _ = invoke_json(lam, name, {"marker": marker}, LogType="Tail")
    request_id = response["ResponseMetadata"]["RequestId"]
    tail = base64.b64decode(response["LogResult"]).decode()
    assert f"START RequestId: {request_id} Version: $LATEST" in tail
    assert f"END RequestId: {request_id}" in tail and f"REPORT RequestId: {request_id}\tDuration: " in tail
    messages: list[str] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
        except logs.exceptions.ResourceNotFoundException:
            events = []
        messages = [e["message"] for e in events]
        if any(marker in m for m in messages) and any(m.startswith("REPORT") for m in messages):
            break
        time.sleep(0.2)
    assert any(marker in m for m in messages), messages
    assert any(m.startswith(f"START RequestId: {request_id}") for m in messages)
    stream = logs.describe_log_streams(logGroupName=f"/aws/lambda/{name}")["logStreams"][0]["logStreamName"]
    assert stream.endswith("]" + stream.split("]")[1]) and "[$LATEST]" in stream


def test_invalid_json_payload_is_rejected_by_the_api(lam, iam):
    name = create_function(lam, iam, ECHO)
    with pytest.raises(lam.exceptions.InvalidRequestContentException) as info:
        lam.invoke(FunctionName=name, Payload=b"{not json")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_large_payload_round_trip(lam, iam):
    name = create_function(lam, iam, "def handler(event, context):\n    return event\n")
    event = {"data": "x" * 2_000_000}
    response = lam.invoke(FunctionName=name, Payload=json.dumps(event))
    assert json.loads(response["Payload"].read()) == event


def test_invoke_without_payload_and_none_result(lam, iam):
    name = create_function(lam, iam, "def handler(event, context):\n    return None if event == {} else event\n")
    response = lam.invoke(FunctionName=name)
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert response["Payload"].read() == b"null"


def test_response_larger_than_6_mb_is_function_response_size_too_large(lam, iam):
    name = create_function(lam, iam, "def handler(event, context):\n    return 'x' * 7_000_000\n", Timeout=30)
    response, body = invoke_json(lam, name, {})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Function.ResponseSizeTooLarge"
    assert body["errorMessage"].startswith("Response payload size exceeded maximum allowed payload size (")


def test_function_deleted_during_a_long_invoke_does_not_hang(lam, iam):
    name = create_function(lam, iam, "import time\ndef handler(event, context):\n    time.sleep(60)\n", Timeout=120)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(lambda: lam.invoke(FunctionName=name, Payload=b"{}"))
        time.sleep(1.5)
        lam.delete_function(FunctionName=name)
        # an error answer is fine; waiting for the handler's 60 s sleep is not (liveness, not speed)
        done, _ = concurrent.futures.wait([pending], timeout=30)
        assert done


def test_client_context_reaches_the_handler(lam, iam):
    name = create_function(
        lam, iam,
        "def handler(event, context):\n"
        "    cc = context.client_context\n"
        "    return None if cc is None else {'custom': cc.custom, 'env': cc.env, 'app': cc.client and cc.client.app_title}\n",
    )
    payload = {"custom": {"tenant": "a"}, "env": {"locale": "en"}, "client": {"app_title": "wdbc-ui"}}
    encoded = base64.b64encode(json.dumps(payload).encode()).decode()
    assert invoke_json(lam, name, {}, ClientContext=encoded)[1] == {"custom": {"tenant": "a"}, "env": {"locale": "en"},
                                                                   "app": "wdbc-ui"}
    assert invoke_json(lam, name, {})[1] is None


def test_json_log_format_and_application_log_level(lam, iam):
    name = create_function(
        lam, iam,
        "import logging\n"
        "log = logging.getLogger('wdbc')\n"
        "def handler(event, context):\n"
        "    log.debug('hidden at INFO')\n"
        "    log.info('scored %d rows', 3)\n"
        "    return 1\n",
        LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "INFO"},
    )
    response, _ = invoke_json(lam, name, {}, LogType="Tail")
    lines = base64.b64decode(response["LogResult"]).decode().splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert [r["message"] for r in records] == ["scored 3 rows"]
    assert records[0]["level"] == "INFO" and records[0]["logger"] == "wdbc"
    assert records[0]["requestId"] == response["ResponseMetadata"]["RequestId"]


def test_async_and_dry_run_invocations(lam, iam, logs):
    name = create_function(lam, iam, ECHO)
    assert lam.invoke(FunctionName=name, InvocationType="DryRun")["StatusCode"] == 204
    marker = unique("async")
    response = lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"marker": marker}))
    assert response["StatusCode"] == 202
    deadline = time.monotonic() + 30  # liveness bound for the queued event to run and its logs to land
    found = False
    while time.monotonic() < deadline and not found:
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
            found = any(marker in e["message"] for e in events)
        except logs.exceptions.ResourceNotFoundException:
            pass
        time.sleep(0.3)
    assert found


SDK_BYTECODE = """
import importlib.util, os, sys
import boto3, botocore, urllib3

def handler(event, context):
    return {
        "version": "%d.%d" % sys.version_info[:2],
        "compiled": {m.__name__: os.path.exists(importlib.util.cache_from_source(m.__file__)) for m in (boto3, botocore, urllib3)},
        "file": botocore.__file__,
    }
"""


@pytest.mark.parametrize("runtime", ["python3.12", "python3.13"])
def test_the_handlers_sdk_is_loaded_from_bytecode_as_on_lambda(lam, iam, runtime):
    """Lambda's runtimes ship boto3 compiled; ours is compiled per interpreter when LocalStack's venv is made
    (runtime_venv._compile_bytecode), so a cold start does not compile botocore again (1.4 s -> 0.6 s)."""
    from emulator.localstack.plugin.sagestack_localstack.interpreters import InterpreterNotFound, find_python

    try:
        find_python(runtime.removeprefix("python"))
    except InterpreterNotFound:
        pytest.skip(f"no {runtime} interpreter here")
    name = create_function(lam, iam, SDK_BYTECODE, runtime=runtime)
    response, body = invoke_json(lam, name, {})
    assert "FunctionError" not in response, body
    assert body["version"] == runtime.removeprefix("python")
    assert body["compiled"] == {"boto3": True, "botocore": True, "urllib3": True}, body
