"""The compose deploy service's pieces that need no engine: outputs for the host, written 0600."""

from __future__ import annotations

import json
import os
import stat

from deploy.compose_service import host_outputs
from deploy.outputs import read_outputs, write_outputs


def test_host_outputs_use_the_published_address():
    outputs = {
        "invoke_url": "http://localstack:4566/_aws/execute-api/abc/prod/ml-model-api",
        "api_key": "k" * 40,
        "extra": {"n": 1},
        "endpoint_name": "sagestack",
    }
    public = host_outputs(outputs, "http://localstack:4566", "http://127.0.0.1:32123/")
    assert public["invoke_url"] == "http://127.0.0.1:32123/_aws/execute-api/abc/prod/ml-model-api"
    assert public["api_key"] == outputs["api_key"] and public["extra"] == {"n": 1}
    assert outputs["invoke_url"].startswith("http://localstack:4566/")  # the original is not modified


def test_outputs_file_is_private_even_over_a_readable_one(tmp_path):
    path = tmp_path / "outputs.json"
    path.write_text("{}")
    os.chmod(path, 0o644)
    document = {"invoke_url": "http://127.0.0.1:1/x", "api_key": "secret"}
    write_outputs(document, path=path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_outputs(path) == document
    assert [p.name for p in tmp_path.iterdir()] == ["outputs.json"]  # no temporary file left behind
    assert json.loads(path.read_text())["api_key"] == "secret"



def _server_answering_after(delay_s: float):
    """A loopback HTTP server whose /health answers 503 until `delay_s` has passed, then 200."""
    import http.server
    import threading
    import time

    ready_at = time.monotonic() + delay_s

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            self.send_response(200 if time.monotonic() >= ready_at else 503)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_the_deploy_service_waits_until_every_service_answers():
    import pytest

    from contract.net import free_port
    from deploy.compose_service import wait_for_services

    late = _server_answering_after(0.5)
    try:
        urls = {"late": f"http://127.0.0.1:{late.server_port}/health"}
        assert 0.4 < wait_for_services(urls, timeout_s=30, interval_s=0.05) < 30
        nobody = {"LocalStack": f"http://127.0.0.1:{free_port()}/_localstack/health"}
        with pytest.raises(RuntimeError, match=r"LocalStack \(http://127.0.0.1:\d+/_localstack/health\) did not answer within 0 s"):
            wait_for_services({**urls, **nobody}, timeout_s=0.3, interval_s=0.05)
    finally:
        late.shutdown()


def test_a_stop_while_waiting_ends_the_wait():
    import threading

    import pytest

    from contract.net import free_port
    from deploy.compose_service import wait_for_services

    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    with pytest.raises(InterruptedError):
        wait_for_services({"nobody": f"http://127.0.0.1:{free_port()}/"}, timeout_s=30, interval_s=0.05, stop=stop)
