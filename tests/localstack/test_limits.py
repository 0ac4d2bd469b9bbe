"""AWS's quotas and secrets on the LocalStack side: payload limits answered as AWS answers them, CloudWatch
Logs bounded by the group's retention and a cap, the TLS private key not readable by others.

Sources: API Gateway quotas (REST API payload 10 MB; gateway response REQUEST_TOO_LARGE, 413),
Lambda quotas (invocation payload 6 MB request and response; Invoke's RequestEntityTooLargeException
413 "Request must be smaller than 6291456 bytes for the InvokeFunction operation"; an oversized
response is Function.ResponseSizeTooLarge), CloudWatch Logs PutRetentionPolicy.
"""

from __future__ import annotations

import json
import stat
import time
from types import SimpleNamespace

import httpx
import pytest
from botocore.exceptions import ClientError

from contract import names
from emulator.localstack.plugin.sagestack_localstack.patches import logs_retention_bounds as logs_bounds
from tests.localstack.helpers import create_function, proxy_api, unique

MB = 1024 * 1024
SIZE_HANDLER = """
import json
def handler(event, context):
    if event.get("body") == "big-response":
        return {"statusCode": 200, "body": "x" * 7_000_000}
    return {"statusCode": 200, "body": json.dumps(len(event.get("body") or ""))}
"""


@pytest.fixture(scope="module")
def size_api(lam, iam, apigw) -> str:
    name = create_function(lam, iam, SIZE_HANDLER, Timeout=30, MemorySize=512)
    return proxy_api(lam, apigw, name, path_part=names.API_RESOURCE_PATH)


def _post(localstack, api: str, body: bytes) -> httpx.Response:
    url = f"{localstack.url}/_aws/execute-api/{api}/prod/{names.API_RESOURCE_PATH}"
    return httpx.post(url, content=body, headers={"Content-Type": "text/plain"}, timeout=120)


# ---- payload limits ---------------------------------------------------------------------------
@pytest.mark.integration
def test_apigateway_body_over_10_mb_is_413_request_too_long(localstack, size_api):
    response = _post(localstack, size_api, b"a" * (10 * MB + 1))
    assert response.status_code == 413
    assert response.json() == {"message": "Request Too Long"}


@pytest.mark.integration
def test_apigateway_event_over_lambdas_6_mb_is_413_without_running_the_function(localstack, size_api):
    response = _post(localstack, size_api, b"a" * (6 * MB + 10))  # under API Gateway's 10 MB, over Lambda's 6 MB
    assert response.status_code == 413
    assert response.json() == {"message": "Request Too Long"}


@pytest.mark.integration
def test_apigateway_body_under_the_limits_reaches_the_function(localstack, size_api):
    response = _post(localstack, size_api, b"a" * (5 * MB))
    assert response.status_code == 200 and response.json() == 5 * MB


@pytest.mark.integration
def test_lambda_response_over_6_mb_through_apigateway_is_502(localstack, size_api):
    response = _post(localstack, size_api, b"big-response")
    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}


@pytest.mark.integration
def test_direct_invoke_over_6_mb_is_request_entity_too_large(lam, iam):
    name = create_function(lam, iam, "def handler(e, c):\n    return 1\n")
    with pytest.raises(ClientError) as info:
        lam.invoke(FunctionName=name, Payload=json.dumps("a" * (6 * MB)).encode())
    error = info.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert error["Error"]["Code"] == "RequestEntityTooLargeException"
    assert error["Error"]["Message"] == "Request must be smaller than 6291456 bytes for the InvokeFunction operation"


# ---- CloudWatch Logs: retention and a bound -----------------------------------------------------
@pytest.mark.integration
def test_log_group_retention_drops_expired_events(logs):
    group, stream = unique("/sagestack/retention"), "s"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    now = int(time.time() * 1000)
    old = [{"timestamp": now - 3 * logs_bounds.DAY_MS, "message": "three days old"}]
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=old)  # kept: no retention yet
    assert [e["message"] for e in logs.get_log_events(logGroupName=group, logStreamName=stream)["events"]] == [
        "three days old"]
    logs.put_retention_policy(logGroupName=group, retentionInDays=1)
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[{"timestamp": now, "message": "new"}])
    events = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
    assert [e["message"] for e in events] == ["new"]
    described = logs.describe_log_streams(logGroupName=group)["logStreams"][0]
    assert described.get("storedBytes", 0) in (0, len("new"))


def _fake_stream(retention, timestamps, messages=None):
    group = SimpleNamespace(retention_in_days=retention)
    messages = messages or ["m" * 10] * len(timestamps)
    events = [SimpleNamespace(timestamp=t, message=m) for t, m in zip(timestamps, messages)]
    return SimpleNamespace(log_group=group, events=events, stored_bytes=sum(len(m) for m in messages))


def test_prune_applies_retention_by_event_timestamp():
    now = 100 * logs_bounds.DAY_MS
    stream = _fake_stream(7, [now - 8 * logs_bounds.DAY_MS, now - 6 * logs_bounds.DAY_MS, now])
    assert logs_bounds.prune_stream(stream, now_ms=now) == 1
    assert [e.timestamp for e in stream.events] == [now - 6 * logs_bounds.DAY_MS, now]
    assert stream.stored_bytes == 20


def test_prune_without_retention_keeps_events_up_to_the_cap(monkeypatch):
    monkeypatch.setenv("SAGESTACK_LOGS_MAX_EVENTS_PER_STREAM", "3")
    stream = _fake_stream(None, list(range(5)), [str(i) * (i + 1) for i in range(5)])
    assert logs_bounds.prune_stream(stream) == 2
    assert [e.timestamp for e in stream.events] == [2, 3, 4]
    assert stream.stored_bytes == 3 + 4 + 5
    assert logs_bounds.prune_stream(stream) == 0  # nothing more to drop


def test_group_keeps_at_most_the_cap_of_streams_dropping_the_stalest(monkeypatch):
    monkeypatch.setenv("SAGESTACK_LOGS_MAX_STREAMS_PER_GROUP", "2")
    streams = {name: SimpleNamespace(last_ingestion_time=t, creation_time=0)
               for name, t in (("a", 30), ("b", 10), ("c", None), ("d", 20))}
    group = SimpleNamespace(streams=dict(streams))
    logs_bounds.prune_group_streams(group)
    assert sorted(group.streams) == ["a", "d"]


def test_bad_cap_settings_fall_back_to_the_defaults(monkeypatch):
    monkeypatch.setenv("SAGESTACK_LOGS_MAX_EVENTS_PER_STREAM", "lots")
    monkeypatch.setenv("SAGESTACK_LOGS_MAX_STREAMS_PER_GROUP", "-1")
    assert logs_bounds.max_events_per_stream() == logs_bounds.DEFAULT_MAX_EVENTS_PER_STREAM
    assert logs_bounds.max_streams_per_group() == logs_bounds.DEFAULT_MAX_STREAMS_PER_GROUP


# ---- secrets on disk ----------------------------------------------------------------------------
@pytest.mark.integration
def test_tls_private_key_files_are_0600_in_a_0700_directory(localstack):
    """Made by the first HTTPS connection (patches/tls_certificate_on_demand.py), then kept."""
    import http.client
    import ssl

    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    connection = http.client.HTTPSConnection("127.0.0.1", localstack.port, context=context, timeout=30)
    connection.request("GET", "/_localstack/health")
    assert connection.getresponse().status == 200
    connection.close()
    cert_dir = localstack.runtime_dir / "cert"
    assert stat.S_IMODE(cert_dir.stat().st_mode) == 0o700
    files = sorted(cert_dir.iterdir())
    assert {p.name for p in files} >= {"server.test.pem", "server.test.pem.key", "server.test.pem.crt"}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert b"PRIVATE KEY" in (cert_dir / "server.test.pem.key").read_bytes()


def test_existing_world_readable_certificate_is_tightened(tmp_path):
    from emulator.localstack.plugin.sagestack_localstack.tls import ensure_certificate

    target = tmp_path / "cert" / "server.test.pem"
    ensure_certificate(target)
    target.chmod(0o644)
    target.parent.chmod(0o755)
    ensure_certificate(target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "cert" / "server.test.pem.key").stat().st_mode) == 0o600
