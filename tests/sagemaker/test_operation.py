"""Operating the emulator: `sagestack emulator`, the EmulatorProcess API, health route,
loopback binding, structured request logs, and the optional SigV4 credential check."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import boto3
import psutil
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from contract import names
from emulator.sagemaker.process import EmulatorProcess, free_port
from tests.fixtures.sagemaker import start_emulator

pytestmark = pytest.mark.integration


def test_cli_help_lists_the_options():
    done = subprocess.run([sys.executable, "-m", "deploy.cli", "emulator", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    for option in ("--port", "--data-dir", "--s3-endpoint-url", "--auth", "--transition-delay", "--max-endpoints"):
        assert option in done.stdout


def test_port_in_use_is_a_one_line_error(tmp_path):
    with socket.socket() as busy:
        busy.bind((names.LOOPBACK, 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "emulator.sagemaker.server", "--port", str(port), "--data-dir", str(tmp_path)],
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "Traceback" not in done.stderr


def test_health_binding_and_request_log(sagemaker_emulator, sagemaker_clients, deployed_endpoint):
    health = sagemaker_emulator.health()
    assert health["status"] == "running" and health["service"] == "sagemaker"
    assert health["endpoints"][deployed_endpoint] == "InService" and deployed_endpoint in health["serving"]
    listening = [c.laddr for c in psutil.Process(sagemaker_emulator.pid).net_connections(kind="tcp") if c.status == psutil.CONN_LISTEN]
    assert listening and all(address.ip == names.LOOPBACK for address in listening)

    log_path = sagemaker_emulator.data_dir / "requests.log"
    time.sleep(0.5)  # let earlier requests' lines reach the file, then read only what follows
    offset = log_path.stat().st_size
    sagemaker_clients.runtime.invoke_endpoint(EndpointName=deployed_endpoint, Body=",".join(["1"] * 30), ContentType="text/csv")
    with pytest.raises(ClientError):
        sagemaker_clients.sagemaker.describe_endpoint(EndpointName="not-there")
    deadline = time.monotonic() + 5
    while True:
        with log_path.open() as handle:
            handle.seek(offset)
            entries = [json.loads(line) for line in handle.read().splitlines() if line.strip()]
        runtime = [e for e in entries if e["api"] == "runtime" and e["target"] == deployed_endpoint and e["status"] == 200]
        control = [e for e in entries if e["api"] == "control" and e.get("error") == "ValidationException"]
        if (runtime and control) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert runtime and control
    assert runtime[-1]["variant"] == "AllTraffic" and runtime[-1]["ms"] >= 0 and runtime[-1]["request_id"]
    assert control[-1]["target"] == "SageMaker.DescribeEndpoint" and control[-1]["status"] == 400


def test_process_api_start_stop_restart(tmp_path, localstack):
    proc = EmulatorProcess(free_port(), tmp_path / "api", localstack.url)
    with proc:
        assert proc.is_running() and proc.health()["status"] == "running"
        first_pid = proc.pid
    assert not proc.is_running() and proc.process.returncode == 0  # SIGTERM shuts down cleanly
    proc.start()
    try:
        assert proc.pid != first_pid and proc.health() is not None
    finally:
        proc.stop()


def _client(url: str, service: str, key: str, secret: str):
    return boto3.client(service, endpoint_url=url, region_name="us-east-1", aws_access_key_id=key, aws_secret_access_key=secret,
                        config=Config(retries={"max_attempts": 1}))


@pytest.mark.parametrize("mode", ["access-key", "signature"])
def test_credential_check_gives_aws_403s(tmp_path, localstack, mode):
    proc = start_emulator(tmp_path / mode, localstack.url, "--auth", mode, "--access-key", "AKIDSAGESTACK:s3cr3t")
    try:
        assert _client(proc.url, "sagemaker", "AKIDSAGESTACK", "s3cr3t").list_models()["Models"] == []
        with pytest.raises(ClientError) as info:
            _client(proc.url, "sagemaker", "AKIDWRONG", "s3cr3t").list_models()
        assert info.value.response["Error"]["Code"] == "UnrecognizedClientException"
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        with pytest.raises(ClientError) as info:
            _client(proc.url, "sagemaker-runtime", "AKIDWRONG", "s3cr3t").invoke_endpoint(
                EndpointName="any", Body=b"1", ContentType="text/csv")
        assert info.value.response["Error"]["Code"] == "UnrecognizedClientException"
        wrong_secret = _client(proc.url, "sagemaker", "AKIDSAGESTACK", "not-the-secret")
        if mode == "signature":
            with pytest.raises(ClientError) as info:
                wrong_secret.list_models()
            assert info.value.response["Error"]["Code"] == "InvalidSignatureException"
            assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
            with pytest.raises(ClientError) as info:  # a known key and the right secret still reach the runtime
                _client(proc.url, "sagemaker-runtime", "AKIDSAGESTACK", "s3cr3t").invoke_endpoint(
                    EndpointName="any", Body=b"1", ContentType="text/csv")
            assert info.value.response["Error"]["Code"] == "ValidationError"
            _replayed_delete_model_is_refused(proc.url)
        else:
            assert wrong_secret.list_models()["Models"] == []
    finally:
        proc.stop()


def _replayed_delete_model_is_refused(url: str) -> None:
    """A captured, correctly signed DeleteModel sent again with another model's name in the body."""
    import urllib.error
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    captured = AWSRequest(method="POST", url=url + "/", data=b'{"ModelName": "mine"}',
                          headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "SageMaker.DeleteModel"})
    SigV4Auth(Credentials("AKIDSAGESTACK", "s3cr3t"), "sagemaker", "us-east-1").add_auth(captured)
    replay = urllib.request.Request(url + "/", data=b'{"ModelName": "theirs"}', method="POST",
                                    headers=dict(captured.headers.items()))
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(replay, timeout=30)
    assert info.value.code == 403
    assert json.loads(info.value.read())["__type"] == "InvalidSignatureException"


def test_request_log_lines_are_json_and_the_file_rotates(tmp_path):
    from emulator.sagemaker.logs import RequestLog

    log = RequestLog(tmp_path / "requests.log", max_bytes=4_000)
    log.start()
    started = time.perf_counter()
    for index in range(60):
        log.record(f"id-{index}", "runtime", "ep", "AllTraffic", 200, None, started, 10, 20)
    log.record("odd", "control", 'SageMaker."quoted"\n', None, 400, "ValidationException", started, 1, 2)
    log.close()
    lines = [line for name in ("requests.log.1", "requests.log") for line in (tmp_path / name).read_text().splitlines()]
    entries = [json.loads(line) for line in lines]
    assert entries[-1]["target"] == 'SageMaker."quoted"\n' and entries[-1]["error"] == "ValidationException"
    assert {e["request_id"] for e in entries} >= {"id-59", "odd"}
    assert (tmp_path / "requests.log.1").stat().st_size > 4_000
