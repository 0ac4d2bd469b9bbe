"""What the server-CPU cuts on the invoke path must keep: CloudWatch Logs contents (stored straight
to the logs store once a stream exists), metric filters on Lambda logs, the REPORT line's Max Memory
Used (reported by the worker), and the executor <-> worker framing."""

from __future__ import annotations

import base64
import math
import socket
import threading
import time

import pytest

from emulator.localstack.plugin.sagestack_localstack.worker import recv_frame, send_frame
from tests.localstack.conftest import RETRIES
from tests.localstack.helpers import create_function, invoke_json, unique, worker_pid

MARKED = """
import sys
BALLAST = []
def handler(event, context):
    BALLAST.append(bytearray(event.get("mb", 0) * 1024 * 1024))  # touched: counts as resident
    print(event["marker"])
    return context.log_stream_name
"""


def _messages(logs, group: str, want: int, prefix: str = "REPORT") -> list[str]:
    """The group's messages once `want` of them start with `prefix` (20 s at most)."""
    messages: list[str] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            messages = [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]]
        except logs.exceptions.ResourceNotFoundException:
            messages = []
        if sum(m.startswith(prefix) for m in messages) >= want:
            break
        time.sleep(0.2)
    return messages


def test_every_invocation_of_a_warm_stream_is_stored_in_order(lam, iam, logs):
    name = create_function(lam, iam, MARKED)
    markers = [unique("m") for _ in range(4)]
    request_ids = []
    for marker in markers[:1]:  # the first batch creates the group and stream through the API
        request_ids.append(invoke_json(lam, name, {"marker": marker})[0]["ResponseMetadata"]["RequestId"])
    _messages(logs, f"/aws/lambda/{name}", 1)
    for marker in markers[1:]:  # later batches go straight to the store
        request_ids.append(invoke_json(lam, name, {"marker": marker})[0]["ResponseMetadata"]["RequestId"])
    messages = _messages(logs, f"/aws/lambda/{name}", len(markers))
    ordered = [m for m in messages if not m.startswith(("INIT_START", "INIT_REPORT"))]
    expected = []
    for marker, request_id in zip(markers, request_ids):
        expected += [f"START RequestId: {request_id}", marker, f"END RequestId: {request_id}",
                     f"REPORT RequestId: {request_id}"]
    assert len(ordered) == len(expected) and all(m.startswith(e) for m, e in zip(ordered, expected)), messages
    assert all(m.endswith("\n") for m in messages)  # one event per line, newline kept, as LocalStack stores them
    events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)
    stream = logs.describe_log_streams(logGroupName=f"/aws/lambda/{name}")["logStreams"][0]
    assert stream["lastIngestionTime"] >= stream["firstEventTimestamp"]
    got = logs.get_log_events(logGroupName=f"/aws/lambda/{name}", logStreamName=stream["logStreamName"],
                              startFromHead=True)["events"]
    assert [e["message"] for e in got] == messages


def test_metric_filters_still_turn_lambda_log_lines_into_metrics(lam, iam, logs, localstack, localstack_session):
    name = create_function(lam, iam, MARKED)
    group = f"/aws/lambda/{name}"
    invoke_json(lam, name, {"marker": "first"})
    _messages(logs, group, 1)  # the stream exists now: later batches would take the direct path
    namespace = unique("ns")
    logs.put_metric_filter(
        logGroupName=group, filterName="reports", filterPattern="REPORT",
        metricTransformations=[{"metricName": "Reports", "metricNamespace": namespace, "metricValue": "1"}],
    )
    try:
        invoke_json(lam, name, {"marker": "second"})
        cloudwatch = localstack_session.client("cloudwatch", endpoint_url=localstack.url, config=RETRIES)
        metrics: list = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not metrics:
            metrics = cloudwatch.list_metrics(Namespace=namespace)["Metrics"]
            time.sleep(0.2)
        assert [m["MetricName"] for m in metrics] == ["Reports"]
        assert any(m.startswith("second") for m in _messages(logs, group, 2))  # and the lines are stored too
    finally:
        logs.delete_metric_filter(logGroupName=group, filterName="reports")


def _vm_hwm_mb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return math.ceil(int(line.split()[1]) / 1024)
    raise AssertionError("no VmHWM line")


def test_report_max_memory_used_is_the_workers_peak(lam, iam):
    name = create_function(lam, iam, MARKED, MemorySize=256)
    response, stream = invoke_json(lam, name, {"marker": "small"}, LogType="Tail")
    def max_used(resp) -> int:
        report = [line for line in base64.b64decode(resp["LogResult"]).decode().splitlines()
                  if line.startswith("REPORT")][0]
        return int(report.split("Max Memory Used: ")[1].split(" MB")[0])

    small = max_used(response)
    peak_now = _vm_hwm_mb(worker_pid(stream))
    assert 1 <= small <= peak_now
    response, _ = invoke_json(lam, name, {"marker": "big", "mb": 40}, LogType="Tail")
    big = max_used(response)
    assert big >= small + 35  # the 40 MiB the handler touched
    assert abs(big - _vm_hwm_mb(worker_pid(stream))) <= 2  # what /proc says about the same process


@pytest.mark.parametrize("header, body", [
    ({"type": "invoke", "request_id": "r-1"}, b""),
    ({"type": "result", "ok": True, "logs": "caf\u00e9 \u2603\n"}, b'"B"'),
    ({"type": "result", "ok": False, "max_rss_kb": 12345}, bytes(range(256)) * 9000),  # > one recv's worth
])
def test_frames_round_trip_between_executor_and_worker(header, body):
    left, right = socket.socketpair()
    try:
        sender = threading.Thread(target=lambda: [send_frame(left, header, body), send_frame(left, {"n": 2}, b"x")])
        sender.start()
        assert recv_frame(right) == (header, body)
        assert recv_frame(right) == ({"n": 2}, b"x")  # the next frame starts exactly where this one ended
        sender.join()
        left.close()
        with pytest.raises(EOFError):
            recv_frame(right)
    finally:
        left.close()
        right.close()


def test_a_frame_cut_short_is_an_eof_not_a_partial_answer():
    left, right = socket.socketpair()
    try:
        left.sendall((7).to_bytes(4, "big") + (5).to_bytes(4, "big") + b"{}")  # 7 + 5 bytes announced, 2 sent
        left.close()
        with pytest.raises(EOFError):
            recv_frame(right)
    finally:
        right.close()
