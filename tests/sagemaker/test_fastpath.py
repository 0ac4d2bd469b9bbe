"""The InvokeEndpoint fast path inside uvicorn's protocol: HTTP edge cases over raw sockets
(keep-alive, Connection: close, HTTP/1.0, pipelining mixed with the ASGI path, chunked
bodies, Expect: 100-continue, query strings), and a protocol-level check that a plain
invocation is answered in one write without an ASGI task."""

from __future__ import annotations

import asyncio
import json
import socket
from urllib.parse import urlsplit

import pytest

from emulator.sagemaker.fastpath import InvocationProtocol, protocol_class
from tests.sagemaker.invoke_helpers import Transport

pytestmark = pytest.mark.integration

ROW = ",".join(["1.25"] * 30).encode()


def _request(endpoint: str, body: bytes = ROW, *, extra: str = "", version: str = "1.1", path_suffix: str = "") -> bytes:
    head = (f"POST /endpoints/{endpoint}/invocations{path_suffix} HTTP/{version}\r\nHost: x\r\nContent-Type: text/csv\r\n"
            f"{extra}Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def _read_response(sock: socket.socket, buffer: bytearray) -> tuple[int, dict[str, str], bytes]:
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a full response")
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside a body")
        rest += chunk
    del buffer[:]
    buffer += rest[length:]
    return status, headers, rest[:length]


@pytest.fixture
def connect(sagemaker_emulator):
    address = urlsplit(sagemaker_emulator.url)
    sockets = []

    def open_socket() -> socket.socket:
        sock = socket.create_connection((address.hostname, address.port), timeout=10)
        sockets.append(sock)
        return sock

    yield open_socket
    for sock in sockets:
        sock.close()


def test_keep_alive_many_requests_one_connection(connect, deployed_endpoint):
    sock, buffer = connect(), bytearray()
    for _ in range(50):
        sock.sendall(_request(deployed_endpoint))
        status, headers, body = _read_response(sock, buffer)
        assert status == 200 and headers["x-amzn-invoked-production-variant"] == "AllTraffic"
        assert "connection" not in headers
        assert json.loads(body)["predictions"][0]["predicted_label"] in (0, 1)


@pytest.mark.parametrize("extra, version", [("Connection: close\r\n", "1.1"), ("", "1.0")])
def test_connection_close_and_http_1_0(connect, deployed_endpoint, extra, version):
    sock, buffer = connect(), bytearray()
    sock.sendall(_request(deployed_endpoint, extra=extra, version=version))
    status, headers, _ = _read_response(sock, buffer)
    assert status == 200 and headers["connection"] == "close"
    assert sock.recv(10) == b""  # the server closed the connection


def test_pipelined_requests_mixed_with_the_asgi_path_answer_in_order(connect, deployed_endpoint):
    control = (b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: SageMaker.ListEndpoints\r\n"
               b"Content-Type: application/x-amz-json-1.1\r\nContent-Length: 2\r\n\r\n{}")
    health = b"GET /_sagestack/health HTTP/1.1\r\nHost: x\r\n\r\n"
    bad = _request(deployed_endpoint, b"1,2,3")
    sock, buffer = connect(), bytearray()
    sock.sendall(_request(deployed_endpoint) + control + _request(deployed_endpoint) + health + bad + _request("nope"))
    answers = [_read_response(sock, buffer) for _ in range(6)]
    assert [a[0] for a in answers] == [200, 200, 200, 200, 424, 400]
    assert "predictions" in json.loads(answers[0][2]) and "Endpoints" in json.loads(answers[1][2])
    assert "predictions" in json.loads(answers[2][2]) and json.loads(answers[3][2])["status"] == "running"
    assert answers[4][1]["x-amzn-errortype"] == "ModelError" and answers[5][1]["x-amzn-errortype"] == "ValidationError"


def test_chunked_body_expect_continue_and_query_string(connect, deployed_endpoint):
    sock, buffer = connect(), bytearray()
    half = len(ROW) // 2
    chunked = (f"POST /endpoints/{deployed_endpoint}/invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
               f"Transfer-Encoding: chunked\r\n\r\n{half:x}\r\n").encode() + ROW[:half] + \
              f"\r\n{len(ROW) - half:x}\r\n".encode() + ROW[half:] + b"\r\n0\r\n\r\n"
    sock.sendall(chunked)
    assert _read_response(sock, buffer)[0] == 200
    sock.sendall(_request(deployed_endpoint, extra="Expect: 100-continue\r\n"))
    status, _, body = _read_response(sock, buffer)
    if status == 100:
        status, _, body = _read_response(sock, buffer)
    assert status == 200 and b"predictions" in body
    sock.sendall(_request(deployed_endpoint, path_suffix="?x=1"))
    assert _read_response(sock, buffer)[0] == 200


def test_oversized_body_is_a_validation_error_and_the_connection_survives(connect, deployed_endpoint):
    sock, buffer = connect(), bytearray()
    sock.sendall(_request(deployed_endpoint, b"1" * 6291457))
    status, headers, body = _read_response(sock, buffer)
    assert status == 400 and headers["x-amzn-errortype"] == "ValidationError"
    assert "6291456" in json.loads(body)["message"]
    sock.sendall(_request(deployed_endpoint))
    assert _read_response(sock, buffer)[0] == 200


def test_protocol_answers_an_invocation_in_one_write_without_an_asgi_task(tmp_path):
    import numpy as np
    import uvicorn
    from uvicorn.server import ServerState

    from emulator.sagemaker.app import EmulatorApp
    from emulator.sagemaker.config import EmulatorConfig
    from emulator.sagemaker.serving import EndpointRoute, ServingVariant
    from training.artifact import LinearModel

    assert protocol_class() is InvocationProtocol
    app = EmulatorApp(EmulatorConfig(data_dir=tmp_path, request_log="-"))
    model = LinearModel(predictor_type="binary_classifier", feature_dim=30, feature_names=[f"f{i}" for i in range(30)],
                        weights=np.ones(30), bias=0.0, feature_shift=np.zeros(30), feature_scale=np.ones(30),
                        loss="logistic", threshold=0.5)
    app.router.publish(EndpointRoute("unit", (ServingVariant("AllTraffic", model, 1.0),)))

    async def scenario() -> None:
        config = uvicorn.Config(app, http=InvocationProtocol, proxy_headers=False, lifespan="off", server_header=False, date_header=False)
        config.load()
        state = ServerState()
        protocol = InvocationProtocol(config=config, server_state=state, app_state={})
        transport = Transport()
        protocol.connection_made(transport)  # type: ignore[arg-type]
        protocol.data_received(_request("unit"))
        assert len(transport.writes) == 1 and not protocol.tasks and protocol.cycle is None
        head, _, body = transport.writes[0].partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK") and b"x-amzn-invoked-production-variant: AllTraffic" in head
        assert json.loads(body) == {"predictions": [{"score": 1.0, "predicted_label": 1}]}
        assert state.total_requests == 1
        protocol.data_received(b"GET /_sagestack/health HTTP/1.1\r\nHost: x\r\n\r\n")  # not an invocation: ASGI
        assert protocol.tasks
        await asyncio.gather(*protocol.tasks)
        assert b'"status":"running"' in b"".join(transport.writes[1:])
        protocol.connection_lost(None)

    try:
        asyncio.run(scenario())
    finally:
        app.store.close()
