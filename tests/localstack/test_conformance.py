"""The embedded LocalStack's Lambda (`local` executor) and API Gateway, checked against what AWS documents.

Each test states one documented behaviour, with the source: the Lambda API reference (Invoke),
the developer guide (Python handler errors, context object, defined runtime environment
variables, timeouts, logs, quotas), the Python runtime interface client (awslambdaric, the code
the managed Python runtimes run: error payloads, log formats, JSON encoding) and the API Gateway
developer guide (Lambda proxy integration input/output format, API keys).
"""

from __future__ import annotations

import base64
import concurrent.futures
import http.client
import json
import re
import time

import httpx
import psutil
import pytest

from contract import names
from emulator.localstack.plugin.sagestack_localstack import sandbox
from tests.localstack.helpers import create_function, ensure_role, invoke_json, unique, worker_pid, zip_source

pytestmark = pytest.mark.integration

ERROR_KEYS = ["errorMessage", "errorType", "requestId", "stackTrace"]  # the runtime's make_error, in order
# traceback.format_list of (file, line, function, source) tuples: no Python 3.11+ caret lines
FRAME = re.compile(r'  File "/var/task/handler\.py", line \d+, in \w+\n    [^\n]+\n')
LOG_STREAM = re.compile(r"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$")
TEXT_LOG_LINE = re.compile(r"^\[WARNING\]\t\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\t(?P<rid>[0-9a-f-]{36})\t(?P<msg>.*)$")

ERRORS = """
import logging, os, sys, time
def inner(x):
    return x["a"] + x["missing"] * 2
def handler(event, context):
    kind = event.get("kind")
    if kind == "raise":
        inner({"a": 1})
    if kind == "marshal":
        return {1, 2}
    if kind == "exit":
        os._exit(7)
    if kind == "big":
        return "x" * 7_000_000
    if kind == "chatty":
        for i in range(400):
            print("line %03d %s" % (i, "y" * 40))
        return "done"
    if kind == "sleep":
        time.sleep(event["seconds"])
    return {"environment": context.log_stream_name}
"""


def _tail(response: dict) -> str:
    return base64.b64decode(response["LogResult"]).decode("utf-8", "replace")


def _request_id(response: dict) -> str:
    return response["ResponseMetadata"]["RequestId"]


@pytest.fixture(scope="module")
def errors_fn(lam, iam) -> str:
    return create_function(lam, iam, ERRORS, Timeout=30)


# ---- Invoke: errors ---------------------------------------------------------------------------
def test_unhandled_exception_is_function_error_with_the_runtime_payload(lam, errors_fn):
    response, body = invoke_json(lam, errors_fn, {"kind": "raise"}, LogType="Tail")
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amz-function-error"] == "Unhandled"
    assert list(body) == ERROR_KEYS
    assert body["errorType"] == "KeyError"
    assert body["errorMessage"] == "'missing'"
    assert body["requestId"] == _request_id(response)
    assert len(body["stackTrace"]) == 2
    for frame in body["stackTrace"]:
        assert FRAME.fullmatch(frame), frame
    assert body["stackTrace"][1].endswith('in inner\n    return x["a"] + x["missing"] * 2\n')
    # the runtime logs it as one event: \r-joined lines, NBSP indentation
    tail = _tail(response)
    assert ("[ERROR] KeyError: 'missing'\rTraceback (most recent call last):\r"
            "\u00a0\u00a0File \"/var/task/handler.py\"") in tail


def test_unserialisable_result_is_runtime_marshal_error(lam, errors_fn):
    response, body = invoke_json(lam, errors_fn, {"kind": "marshal"})
    assert response["FunctionError"] == "Unhandled"
    assert body == {
        "errorMessage": "Unable to marshal response: Object of type set is not JSON serializable",
        "errorType": "Runtime.MarshalError",
        "requestId": _request_id(response),
        "stackTrace": [],
    }


@pytest.mark.parametrize(
    ("files", "handler", "expected"),
    [
        ({"handler.py": "import no_such_dependency\ndef handler(e, c):\n    return 1\n"}, "handler.handler",
         {"errorMessage": "Unable to import module 'handler': No module named 'no_such_dependency'",
          "errorType": "Runtime.ImportModuleError", "requestId": "", "stackTrace": []}),
        ({"handler.py": "def other(e, c):\n    return 1\n"}, "handler.handler",
         {"errorMessage": "Handler 'handler' missing on module 'handler'",
          "errorType": "Runtime.HandlerNotFound", "requestId": "", "stackTrace": []}),
        ({"handler.py": "def handler(e, c)\n    return 1\n"}, "handler.handler",
         {"errorMessage": "Syntax error in module 'handler': expected ':' (handler.py, line 1)",
          "errorType": "Runtime.UserCodeSyntaxError", "requestId": "",
          "stackTrace": ['  File "/var/task/handler.py" Line 1\n    def handler(e, c)\n']}),
    ],
    ids=["import-module-error", "handler-not-found", "syntax-error"],
)
def test_init_errors_have_the_runtime_payload(lam, iam, files, handler, expected):
    name = create_function(lam, iam, files, handler=handler)
    response, body = invoke_json(lam, name, {}, LogType="Tail")
    assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
    assert body == expected  # init errors carry an empty requestId (awslambdaric make_error without one)
    tail = _tail(response)
    assert "[WARNING]" in tail and "LAMBDA_WARNING: Unhandled exception." in tail
    assert f"[ERROR] {expected['errorType']}: {expected['errorMessage']}" in tail


def test_exception_while_importing_is_reported_with_its_own_type(lam, iam):
    name = create_function(lam, iam, "raise RuntimeError('no config at import time')\n")
    response, body = invoke_json(lam, name, {})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "RuntimeError"
    assert body["errorMessage"] == "no config at import time"
    assert body["requestId"] == ""
    assert any(frame.startswith('  File "/var/task/handler.py", line 1, in <module>') for frame in body["stackTrace"])


def test_timeout_is_sandbox_timedout(lam, iam):
    name = create_function(lam, iam, "import time\ndef handler(e, c):\n    time.sleep(30)\n", Timeout=1)
    response, body = invoke_json(lam, name, {}, LogType="Tail")
    assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
    assert body == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {_request_id(response)} Error: Task timed out after 1.00 seconds",
    }
    tail = _tail(response)
    assert re.search(rf"\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z {_request_id(response)} Task timed out after 1\.00 seconds", tail)
    assert "\tStatus: timeout" in tail


def test_worker_crash_is_runtime_exit_error_and_the_next_invoke_works(lam, errors_fn):
    response, body = invoke_json(lam, errors_fn, {"kind": "exit"})
    assert response["FunctionError"] == "Unhandled"
    assert body == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {_request_id(response)} Error: Runtime exited with error: exit status 7",
    }
    response, body = invoke_json(lam, errors_fn, {})
    assert "FunctionError" not in response and "environment" in body


# ---- Invoke: request and response limits, invocation types --------------------------------------
def test_payload_that_is_not_json_is_invalid_request_content(lam, errors_fn):
    with pytest.raises(lam.exceptions.InvalidRequestContentException) as info:
        lam.invoke(FunctionName=errors_fn, Payload=b"{'single': 'quotes'}")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert info.value.response["Error"]["Message"].startswith("Could not parse request body into json")


def test_request_payload_over_6_mb_is_413(lam, errors_fn):
    padding = 6 * 1024 * 1024 - len(b'{"kind": "", "pad": ""}')
    response, _ = invoke_json(lam, errors_fn, {"kind": "", "pad": "p" * padding})  # exactly 6 MB: accepted
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    with pytest.raises(lam.exceptions.ClientError) as info:
        invoke_json(lam, errors_fn, {"kind": "", "pad": "p" * (padding + 1)})
    error = info.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert error["Error"]["Code"] == "RequestEntityTooLargeException"
    assert error["Error"]["Message"] == "Request must be smaller than 6291456 bytes for the InvokeFunction operation"


def test_response_over_6_mb_is_function_response_size_too_large(lam, errors_fn):
    response, body = invoke_json(lam, errors_fn, {"kind": "big"})
    assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
    assert body == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }


def test_log_tail_is_the_last_4_kb_of_the_invocation_log(lam, errors_fn):
    response, body = invoke_json(lam, errors_fn, {"kind": "chatty"}, LogType="Tail")
    assert body == "done"
    raw = base64.b64decode(response["LogResult"])
    assert 4000 < len(raw) <= 4096
    lines = raw.decode().splitlines()
    assert lines[-2] == f"END RequestId: {_request_id(response)}"
    assert lines[-1].startswith(f"REPORT RequestId: {_request_id(response)}\tDuration: ")
    assert "line 399 " in lines[-3] and not any("line 000 " in line for line in lines)
    assert "LogResult" not in lam.invoke(FunctionName=errors_fn, Payload=b"{}")  # only with LogType=Tail


def test_event_invocation_is_202_and_dry_run_is_204(lam, errors_fn):
    event = lam.invoke(FunctionName=errors_fn, InvocationType="Event", Payload=b"{}")
    assert event["StatusCode"] == 202 and event["Payload"].read() == b""
    dry = lam.invoke(FunctionName=errors_fn, InvocationType="DryRun")
    assert dry["StatusCode"] == 204 and dry["Payload"].read() == b""


def test_versions_and_aliases_with_qualifier(lam, iam):
    source = (
        "import os\nVERSION = {v}\n"
        "def handler(e, c):\n"
        "    return [VERSION, c.function_version, c.invoked_function_arn, c.log_stream_name,\n"
        "            os.environ['AWS_LAMBDA_FUNCTION_VERSION']]\n"
    )
    name = create_function(lam, iam, source.format(v=1))
    arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    version = lam.publish_version(FunctionName=name)["Version"]
    assert version == "1"
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    lam.update_function_code(FunctionName=name, ZipFile=zip_source({"handler.py": source.format(v=2)}))
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})

    response, body = invoke_json(lam, name, {}, Qualifier="1", LogType="Tail")
    assert response["ExecutedVersion"] == "1"
    assert body[:3] == [1, "1", f"{arn}:1"] and "/[1]" in body[3] and body[4] == "1"
    assert f"START RequestId: {_request_id(response)} Version: 1" in _tail(response)

    response, body = invoke_json(lam, name, {}, Qualifier="live")
    assert response["ExecutedVersion"] == "1"
    assert body[:3] == [1, "1", f"{arn}:live"]

    response, body = invoke_json(lam, name, {})
    assert response["ExecutedVersion"] == "$LATEST"
    assert body[:3] == [2, "$LATEST", arn] and body[4] == "$LATEST"

    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName=name, Qualifier="7", Payload=b"{}")


# ---- context object -----------------------------------------------------------------------------
def test_context_object(lam, iam):
    name = create_function(
        lam, iam,
        """
        import time
        def handler(event, context):
            first = context.get_remaining_time_in_millis()
            time.sleep(0.2)
            second = context.get_remaining_time_in_millis()
            return {
                "attrs": {k: getattr(context, k) for k in (
                    "function_name", "function_version", "invoked_function_arn", "memory_limit_in_mb",
                    "aws_request_id", "log_group_name", "log_stream_name")},
                "remaining": [first, second],
                "identity": [type(context.identity).__name__, context.identity.cognito_identity_id,
                             context.identity.cognito_identity_pool_id],
                "client_context": context.client_context,
                "repr": repr(context),
            }
        """,
        Timeout=4, MemorySize=192,
    )
    response, body = invoke_json(lam, name, {})
    arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    attrs = body["attrs"]
    assert attrs == {
        "function_name": name,
        "function_version": "$LATEST",
        "invoked_function_arn": arn,
        "memory_limit_in_mb": "192",
        "aws_request_id": _request_id(response),
        "log_group_name": f"/aws/lambda/{name}",
        "log_stream_name": attrs["log_stream_name"],
    }
    assert LOG_STREAM.match(attrs["log_stream_name"])
    first, second = body["remaining"]
    assert 0 < second < first <= 4000 and first - second >= 190
    assert body["identity"] == ["CognitoIdentity", None, None]
    assert body["client_context"] is None
    assert body["repr"].startswith(f"LambdaContext([aws_request_id={_request_id(response)},log_group_name=/aws/lambda/")


# ---- environment --------------------------------------------------------------------------------
def test_defined_runtime_environment_variables(lam, iam):
    name = create_function(
        lam, iam,
        "import os\ndef handler(e, c):\n    return {'env': dict(os.environ), 'stream': c.log_stream_name, 'cwd': os.getcwd()}\n",
        MemorySize=256, runtime="python3.12",
    )
    body = invoke_json(lam, name, {})[1]
    env = body["env"]
    expected = {
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": body["stream"],
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": names.DEFAULT_REGION,
        "AWS_DEFAULT_REGION": names.DEFAULT_REGION,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "_HANDLER": "handler.handler",
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "LAMBDA_TASK_ROOT": body["cwd"],
    }
    assert {k: env.get(k) for k in expected} == expected
    assert LOG_STREAM.match(env["AWS_LAMBDA_LOG_STREAM_NAME"])
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "LAMBDA_RUNTIME_DIR"):
        assert env.get(key), key
    if sandbox.unavailable_reason() is None:  # Lambda's own values, character for character
        assert env["PATH"] == "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin"
        assert env["LD_LIBRARY_PATH"] == (
            "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib")
        assert (env["LAMBDA_TASK_ROOT"], env["LAMBDA_RUNTIME_DIR"]) == ("/var/task", "/var/runtime")
    assert {"/usr/local/bin", "/bin"} <= set(env["PATH"].split(":"))
    ld_path = env["LD_LIBRARY_PATH"].split(":")
    assert {"/lib64", "/usr/lib64", env["LAMBDA_TASK_ROOT"], env["LAMBDA_TASK_ROOT"] + "/lib", "/opt/lib"} <= set(ld_path)
    assert env["PYTHONPATH"] == env["LAMBDA_RUNTIME_DIR"]


def test_unreserved_variables_can_be_overridden(lam, iam):
    name = create_function(
        lam, iam, "import os, time\ndef handler(e, c):\n    return [os.environ['TZ'], os.environ['LANG'], time.strftime('%Z')]\n",
        Environment={"Variables": {"TZ": "Asia/Tokyo", "LANG": "C.UTF-8"}},
    )
    assert invoke_json(lam, name, {})[1] == ["Asia/Tokyo", "C.UTF-8", "JST"]


@pytest.mark.parametrize("keys", [["AWS_REGION"], ["AWS_DEFAULT_REGION"], ["_HANDLER"], ["AWS_ACCESS_KEY_ID"],
                                  ["AWS_LAMBDA_FUNCTION_NAME"], ["LAMBDA_TASK_ROOT"],
                                  ["AWS_REGION", "AWS_SESSION_TOKEN"]])
def test_reserved_environment_keys_are_rejected_on_create(lam, iam, keys):
    name = unique("reserved")
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as info:
        lam.create_function(
            FunctionName=name, Runtime="python3.12", Role=ensure_role(iam), Handler="handler.handler",
            Code={"ZipFile": zip_source({"handler.py": "def handler(e, c):\n    return 1\n"})},
            Environment={"Variables": {"ENDPOINT_NAME": "x", **{k: "v" for k in keys}}},
        )
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert info.value.response["Error"]["Message"] == (
        "Lambda was unable to configure your environment variables because the environment variables you have "
        "provided contains reserved keys that are currently not supported for modification. "
        f"Reserved keys used in this request: {', '.join(keys)}"
    )
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName=name)


def test_reserved_environment_keys_are_rejected_on_update(lam, errors_fn):
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as info:
        lam.update_function_configuration(FunctionName=errors_fn, Environment={"Variables": {"AWS_REGION": "eu-west-1"}})
    assert info.value.response["Error"]["Message"].endswith("Reserved keys used in this request: AWS_REGION")


# ---- logs ---------------------------------------------------------------------------------------
def test_print_and_logging_reach_cloudwatch_logs(lam, iam, logs):
    name = create_function(
        lam, iam,
        """
        import logging
        logger = logging.getLogger()
        def handler(event, context):
            print("printed", event["marker"])
            logger.info("info is below the default level")
            logger.warning("logged %s", event["marker"])
            return context.log_stream_name
        """,
    )
    marker = unique("m")
    response, stream = invoke_json(lam, name, {"marker": marker})
    request_id = _request_id(response)
    assert LOG_STREAM.match(stream)
    group = f"/aws/lambda/{name}"
    messages: list[str] = []
    deadline = time.monotonic() + 20  # logs arrive shortly after the invoke, as on AWS
    while time.monotonic() < deadline and not any(m.startswith("REPORT") for m in messages):
        try:
            messages = [e["message"] for e in logs.get_log_events(logGroupName=group, logStreamName=stream)["events"]]
        except logs.exceptions.ResourceNotFoundException:
            pass
        time.sleep(0.2)
    assert f"START RequestId: {request_id} Version: $LATEST\n" in messages
    assert f"printed {marker}\n" in messages
    warnings = [TEXT_LOG_LINE.match(m.rstrip("\n")) for m in messages if m.startswith("[WARNING]")]
    assert [(w["rid"], w["msg"]) for w in warnings if w] == [(request_id, f"logged {marker}")]
    assert not any("below the default level" in m for m in messages)
    assert f"END RequestId: {request_id}\n" in messages
    assert any(m.startswith(f"REPORT RequestId: {request_id}\tDuration: ") for m in messages)
    assert [s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group)["logStreams"]] == [stream]


def test_json_log_format_entries(lam, iam):
    name = create_function(
        lam, iam,
        """
        import logging
        log = logging.getLogger("wdbc")
        def handler(event, context):
            log.info("scored", extra={"rows": 3})
            raise ValueError("bad row")
        """,
        LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "INFO"},
    )
    response, body = invoke_json(lam, name, {}, LogType="Tail")
    records = [json.loads(line) for line in _tail(response).splitlines() if line.startswith("{")]
    info, error = records
    assert set(info) == {"timestamp", "level", "message", "logger", "requestId", "rows"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", info["timestamp"])
    assert (info["level"], info["message"], info["logger"], info["requestId"], info["rows"]) == (
        "INFO", "scored", "wdbc", _request_id(response), 3)
    assert error["log_level"] == "ERROR" and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", error["timestamp"])
    assert {k: error[k] for k in ERROR_KEYS} == body


@pytest.mark.parametrize(("runtime", "raw"), [("python3.11", b'"caf\\u00e9"'), ("python3.13", '"café"'.encode())])
def test_response_json_encoding_follows_the_runtime(lam, iam, runtime, raw):
    name = create_function(lam, iam, "def handler(e, c):\n    return 'caf\\u00e9'\n", runtime=runtime)
    assert lam.invoke(FunctionName=name, Payload=b"{}")["Payload"].read() == raw


# ---- lifecycle ----------------------------------------------------------------------------------
def test_updates_take_effect_on_the_next_invoke_and_delete_stops_workers(lam, iam):
    source = ("import os\nCODE = {v}\ndef handler(e, c):\n"
              "    return [CODE, os.environ.get('STAGE'), c.get_remaining_time_in_millis(), c.log_stream_name]\n")
    name = create_function(lam, iam, source.format(v=1), Timeout=3, Environment={"Variables": {"STAGE": "a"}})
    code, stage, remaining, stream1 = invoke_json(lam, name, {})[1]
    pid1 = worker_pid(stream1)
    assert (code, stage) == (1, "a") and remaining <= 3000

    lam.update_function_configuration(FunctionName=name, Timeout=20, Environment={"Variables": {"STAGE": "b"}})
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
    code, stage, remaining, stream2 = invoke_json(lam, name, {})[1]
    pid2 = worker_pid(stream2)
    assert (code, stage) == (1, "b") and 3000 < remaining <= 20000
    assert stream2 != stream1 and pid2 != pid1

    lam.update_function_code(FunctionName=name, ZipFile=zip_source({"handler.py": source.format(v=2)}))
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
    code, stage, _, stream3 = invoke_json(lam, name, {})[1]
    pid3 = worker_pid(stream3)
    assert (code, stage) == (2, "b") and stream3 != stream2 and pid3 != pid2
    assert None not in (pid1, pid2, pid3)

    lam.delete_function(FunctionName=name)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in (pid1, pid2, pid3)):
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in (pid1, pid2, pid3))


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_parallel_invokes_use_separate_environments(lam, errors_fn):
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda _: invoke_json(lam, errors_fn, {"kind": "sleep", "seconds": 1.5})[1], range(3)))
    assert len({r["environment"] for r in results}) == 3


# ---- API Gateway REST API, AWS_PROXY --------------------------------------------------------------
PROXY = """
import json
def handler(event, context):
    shape = (event.get("queryStringParameters") or {}).get("shape")
    if shape == "string":
        return "not a proxy response"
    if shape == "headers":
        return {"statusCode": 200, "headers": ["not", "a", "map"], "body": "x"}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(event)}
"""


@pytest.fixture(scope="module")
def proxy_api(lam, iam, apigw) -> dict:
    name = create_function(lam, iam, PROXY)
    arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    api_id = apigw.create_rest_api(name=unique("conformance"))["id"]
    root = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    resource = apigw.create_resource(restApiId=api_id, parentId=root, pathPart=names.API_RESOURCE_PATH)["id"]
    for method, key_required in (("POST", True), ("GET", False)):
        apigw.put_method(restApiId=api_id, resourceId=resource, httpMethod=method, authorizationType="NONE",
                         apiKeyRequired=key_required)
        apigw.put_integration(
            restApiId=api_id, resourceId=resource, httpMethod=method, type="AWS_PROXY", integrationHttpMethod="POST",
            uri=f"arn:aws:apigateway:{names.DEFAULT_REGION}:lambda:path/2015-03-31/functions/{arn}/invocations",
        )
    lam.add_permission(FunctionName=name, StatementId=unique("apigw"), Action="lambda:InvokeFunction",
                       Principal="apigateway.amazonaws.com")
    apigw.create_deployment(restApiId=api_id, stageName="prod")
    plan = apigw.create_usage_plan(name=unique("plan"), apiStages=[{"apiId": api_id, "stage": "prod"}])
    key = apigw.create_api_key(name=unique("key"), enabled=True)
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    return {"id": api_id, "resource": resource, "key": key["value"], "key_id": key["id"]}


def _url(localstack, api: dict) -> str:
    return f"{localstack.url}/_aws/execute-api/{api['id']}/prod/{names.API_RESOURCE_PATH}"


def test_aws_proxy_event_shape(localstack, proxy_api):
    response = httpx.post(
        _url(localstack, proxy_api) + "?a=1&a=2&b=3",
        content=b'{"data": "13.49,22.3"}',
        headers={"Content-Type": "application/json", "X-Custom": "v", "x-api-key": proxy_api["key"]},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    event = response.json()
    for key in ("resource", "path", "httpMethod", "headers", "multiValueHeaders", "queryStringParameters",
                "multiValueQueryStringParameters", "pathParameters", "stageVariables", "requestContext", "body",
                "isBase64Encoded"):
        assert key in event, key
    assert event["resource"] == event["path"] == f"/{names.API_RESOURCE_PATH}"
    assert event["httpMethod"] == "POST"
    assert event["headers"]["X-Custom"] == "v" and event["multiValueHeaders"]["X-Custom"] == ["v"]
    assert event["queryStringParameters"] == {"a": "2", "b": "3"}  # the last value of a repeated parameter
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["3"]}
    assert event["body"] == '{"data": "13.49,22.3"}' and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["stage"] == "prod" and context["apiId"] == proxy_api["id"]
    assert context["resourceId"] == proxy_api["resource"] and context["resourcePath"] == f"/{names.API_RESOURCE_PATH}"
    assert context["httpMethod"] == "POST" and context["path"] == f"/prod/{names.API_RESOURCE_PATH}"
    assert context["accountId"] == names.LOCAL_ACCOUNT_ID
    assert re.fullmatch(r"[0-9a-f-]{36}", context["requestId"])
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == response.request.headers["User-Agent"]
    assert context["identity"]["apiKey"] == proxy_api["key"] and context["identity"]["apiKeyId"] == proxy_api["key_id"]
    assert re.fullmatch(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", context["requestTime"]), context["requestTime"]
    assert abs(context["requestTimeEpoch"] / 1000 - time.time()) < 300


@pytest.mark.parametrize("target", ["//prod/", "///prod/", "/prod/"])
def test_aws_proxy_slashes_repeated_before_the_stage_are_one(localstack, proxy_api, target):
    # AWS (LocalStack's test_lambda_aws_proxy_integration, "prepended slash to stage"): the event's path and
    # requestContext.path are those of /prod/<resource>; LocalStack's requestContext.path was /prod//<resource>
    connection = http.client.HTTPConnection("127.0.0.1", localstack.port, timeout=60)
    try:
        connection.request("GET", target + names.API_RESOURCE_PATH,
                           headers={"Host": f"{proxy_api['id']}.execute-api.localhost:{localstack.port}"})
        response = connection.getresponse()
        event = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 200, event
    assert event["path"] == f"/{names.API_RESOURCE_PATH}"
    assert event["requestContext"]["path"] == f"/prod/{names.API_RESOURCE_PATH}"


def test_aws_proxy_get_without_body_or_query(localstack, proxy_api):
    event = httpx.get(_url(localstack, proxy_api), timeout=60).json()
    assert event["httpMethod"] == "GET"
    assert event["body"] is None and event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None and event["pathParameters"] is None


@pytest.mark.parametrize("shape", ["string", "headers"])
def test_aws_proxy_bad_response_shape_is_502(localstack, proxy_api, shape):
    response = httpx.get(_url(localstack, proxy_api) + f"?shape={shape}", timeout=60)
    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}


def test_missing_or_wrong_api_key_is_403(localstack, proxy_api):
    for headers in ({}, {"x-api-key": "not-a-key"}):
        response = httpx.post(_url(localstack, proxy_api), content=b"{}", headers=headers, timeout=60)
        assert response.status_code == 403
        assert response.json() == {"message": "Forbidden"}
    ok = httpx.post(_url(localstack, proxy_api), content=b"{}", headers={"x-api-key": proxy_api["key"]}, timeout=60)
    assert ok.status_code == 200
