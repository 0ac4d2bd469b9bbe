"""The embedded LocalStack itself: S3 round trip, loopback-only listening, clean stop/start."""

from __future__ import annotations

import http.client
import json
import os
import socket

import psutil
import pytest

from contract import names
from emulator.localstack.launcher import LocalStackError, LocalStackProcess
from tests.fixtures.localstack import free_loopback_port

pytestmark = pytest.mark.integration


def test_s3_round_trip(localstack, localstack_session):
    s3 = localstack_session.client("s3", endpoint_url=localstack.url)
    s3.create_bucket(Bucket="sagestack-roundtrip")
    body = bytes(range(256)) * 100
    s3.put_object(Bucket="sagestack-roundtrip", Key="dir/data.bin", Body=body)
    assert s3.get_object(Bucket="sagestack-roundtrip", Key="dir/data.bin")["Body"].read() == body
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="sagestack-roundtrip")["Contents"]]
    assert keys == ["dir/data.bin"]


def test_s3_errors_are_aws_shaped(localstack, localstack_session):
    s3 = localstack_session.client("s3", endpoint_url=localstack.url)
    with pytest.raises(s3.exceptions.NoSuchBucket) as info:
        s3.get_object(Bucket="sagestack-no-such-bucket", Key="k")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def _assert_listens_on_loopback_only(localstack) -> None:
    listening = [
        conn.laddr
        for conn in psutil.Process(localstack.pid).net_connections(kind="inet")
        if conn.status == psutil.CONN_LISTEN
    ]
    assert listening, "LocalStack has no listening socket"
    assert all(addr.ip == names.LOOPBACK for addr in listening), listening
    assert (names.LOOPBACK, localstack.port) in [(a.ip, a.port) for a in listening]


def test_listens_on_loopback_only(localstack):
    """The kit's gateway server listens where GATEWAY_LISTEN says (the launcher: 127.0.0.1)."""
    _assert_listens_on_loopback_only(localstack)


def test_twisted_server_still_serves_when_chosen_and_listens_on_loopback_only(tmp_path, localstack_session):
    """GATEWAY_SERVER=twisted brings LocalStack's own server back, with its patches (twisted ignores
    GATEWAY_LISTEN's host; patches/listen_loopback.py forces 127.0.0.1)."""
    from contract.net import free_port

    with LocalStackProcess(port=free_port(), state_dir=tmp_path, extra_env={"GATEWAY_SERVER": "twisted"}) as ls:
        _assert_listens_on_loopback_only(ls)
        assert ls.health()["services"]["lambda"] in ("available", "running")
        sts = localstack_session.client("sts", endpoint_url=ls.url)
        assert sts.get_caller_identity()["Account"] == names.LOCAL_ACCOUNT_ID
        connection = http.client.HTTPConnection(names.LOOPBACK, ls.port, timeout=30)
        connection.request("GET", "/_localstack/health")
        response = connection.getresponse()
        response.read()
        connection.close()
        assert response.status == 200 and response.getheader("Server", "").startswith("TwistedWeb/")
        # twisted loads the certificate when it starts (patches/tls_certificate_on_demand.py)
        assert b"PRIVATE KEY" in (ls.runtime_dir / "cert" / "server.test.pem.key").read_bytes()


def test_the_certificate_is_made_by_the_first_https_connection(tmp_path):
    import ssl

    from contract.net import free_port

    with LocalStackProcess(port=free_port(), state_dir=tmp_path) as ls:
        cert_dir = ls.runtime_dir / "cert"
        assert not (cert_dir / "server.test.pem").exists()  # nothing made at start
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        for _ in range(2):  # made by the first, reused by the second
            connection = http.client.HTTPSConnection(names.LOOPBACK, ls.port, context=context, timeout=30)
            connection.request("GET", "/_localstack/health")
            assert connection.getresponse().status == 200
            certificate = connection.sock.getpeercert(binary_form=True)
            connection.close()
        assert (cert_dir / "server.test.pem").read_bytes().count(b"BEGIN CERTIFICATE") == 1
        assert certificate and b"PRIVATE KEY" in (cert_dir / "server.test.pem.key").read_bytes()


def test_health_lists_the_stack_services(localstack):
    services = localstack.health()["services"]
    for name in ("s3", "lambda", "apigateway", "iam", "sts", "logs"):
        assert services[name] == "running"


def test_port_in_use_gives_a_clear_error(tmp_path):
    with socket.socket() as sock:
        sock.bind((names.LOOPBACK, 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(LocalStackError, match="already in use"):
            LocalStackProcess(port=port, state_dir=tmp_path).start()


@pytest.mark.slow
def test_stop_then_start_leaves_no_stray_process(tmp_path):
    port = free_loopback_port()
    proc = LocalStackProcess(port=port, state_dir=tmp_path)
    for _ in range(2):  # start, stop, start again on the same port and state dir
        proc.start(timeout=120)
        pid = proc.pid
        group = [p for p in psutil.process_iter(["pid"]) if _pgid(p.pid) == pid]
        assert group, "expected LocalStack's process group"
        proc.stop()
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        # nothing of the group still runs (an exited process not yet reaped by init is not running)
        assert [p for p in psutil.process_iter(["pid", "status"]) if _pgid(p.pid) == pid
                and p.info["status"] != psutil.STATUS_ZOMBIE] == []
        with socket.socket() as sock:  # a server can bind the port again (TIME_WAIT allowed, as for any server)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((names.LOOPBACK, port))


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except (ProcessLookupError, PermissionError):
        return None


@pytest.mark.slow
def test_cli_start_status_stop_with_pidfile(tmp_path, monkeypatch, capsys):
    """`sagestack localstack start` detaches and records a pidfile; `stop` (as `sagestack down` does) ends it."""
    from emulator.localstack.launcher import main

    port = free_loopback_port()
    monkeypatch.setenv("SAGESTACK_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("SAGESTACK_LOCALSTACK_PORT", str(port))
    assert main(["start"]) == 0
    running = LocalStackProcess.from_pidfile(tmp_path)
    try:
        assert running is not None and running.port == port
        assert main(["status"]) == 0
        assert "lambda" in capsys.readouterr().out
        assert main(["start"]) == 0  # idempotent: already running
        pid = running.pid
    finally:
        assert main(["stop"]) == 0
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert LocalStackProcess.from_pidfile(tmp_path) is None
    assert main(["status"]) == 1


@pytest.mark.slow
def test_localstack_exits_when_its_starter_dies_hard(tmp_path):
    """A test run or `sagestack up` killed without stop() must not leave LocalStack behind."""
    import subprocess
    import sys
    import time

    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from emulator.localstack.launcher import LocalStackProcess\n"
        f"p = LocalStackProcess(port={free_loopback_port()}, state_dir=Path({str(tmp_path)!r})).start(timeout=120)\n"
        "print(p.pid, flush=True)\n"
        "os._exit(0)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=names.PROJECT_ROOT,
                         timeout=180, check=True)
    pid = int(out.stdout.strip().splitlines()[-1])
    deadline = time.monotonic() + 30  # liveness bound, not a speed requirement
    while time.monotonic() < deadline and psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        time.sleep(0.2)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


OFFLINE_SCRIPT = """
import json, sys, tempfile
from pathlib import Path
import boto3
from emulator.localstack.launcher import LocalStackProcess
from tests.localstack.helpers import create_function, ensure_role, invoke_json
with tempfile.TemporaryDirectory() as tmp, LocalStackProcess(port=4566, state_dir=Path(tmp)) as ls:
    s = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    s3 = s.client("s3", endpoint_url=ls.url)
    s3.create_bucket(Bucket="offline-bucket")
    s3.put_object(Bucket="offline-bucket", Key="k", Body=b"v")
    lam, iam = s.client("lambda", endpoint_url=ls.url), s.client("iam", endpoint_url=ls.url)
    name = create_function(lam, iam, "import boto3\\ndef handler(e, c):\\n    return 'ok'\\n")
    print(json.dumps([s3.get_object(Bucket="offline-bucket", Key="k")["Body"].read().decode(), invoke_json(lam, name)[1]]))
"""


@pytest.mark.slow
def test_starts_and_runs_lambda_with_no_network_at_all():
    """In a network namespace that has only a loopback interface: nothing is downloaded at run time."""
    import shutil
    import subprocess
    import sys

    unshare, ip = shutil.which("unshare"), shutil.which("ip")
    probe = subprocess.run([unshare, "-n", ip, "link", "set", "lo", "up"], capture_output=True) if unshare and ip else None
    if probe is None or probe.returncode != 0:
        pytest.skip("cannot create a network namespace here (needs `unshare -n` as root, and `ip`)")
    # ensure the venv exists first: building it is the one step that needs the package index
    from emulator.localstack import runtime_venv

    runtime_venv.ensure_venv()
    command = f'{ip} link set lo up && exec "$0" -c "$1"'
    proc = subprocess.run([unshare, "-n", "sh", "-c", command, sys.executable, OFFLINE_SCRIPT],
                          capture_output=True, text=True, cwd=names.PROJECT_ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == ["v", "ok"]
