"""The kit's gateway server (plugin gateway_server.py) speaks HTTP as LocalStack's twisted server did.

Raw sockets, so that what is on the wire is what is checked: framing, keep-alive, pipelining,
`Expect: 100-continue`, chunked bodies, HEAD, HTTP/1.0, HTTPS on the same port, malformed input.
HTTP/2 with prior knowledge is checked in test_boot_startup.py (with LocalStack's venv's h2 client).
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time

import pytest

from tests.localstack.helpers import create_function, proxy_api

pytestmark = pytest.mark.integration

HEALTH = b"GET /_localstack/health HTTP/1.1\r\nHost: localhost\r\n\r\n"


def _connect(localstack) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", localstack.port), timeout=30)
    return sock


def _read_response(sock: socket.socket, buffer: bytearray, *, head_only: bool = False) -> tuple[bytes, dict[str, str], bytes]:
    """One response from `sock` (status line, headers with lowercase names, body); leftovers stay in `buffer`."""
    while b"\r\n\r\n" not in buffer:
        data = sock.recv(65536)
        if not data:
            raise EOFError(bytes(buffer))
        buffer += data
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    del buffer[:]
    buffer += rest
    status, *lines = head.split(b"\r\n")
    headers = {k.decode().lower(): v.decode().strip() for k, _, v in (line.partition(b":") for line in lines)}
    if head_only:
        return status, headers, b""
    if "content-length" in headers:
        size = int(headers["content-length"])
        while len(buffer) < size:
            buffer += sock.recv(65536)
        body = bytes(buffer[:size])
        del buffer[:size]
        return status, headers, body
    if headers.get("transfer-encoding") == "chunked":
        body = bytearray()
        while True:
            while b"\r\n" not in buffer:
                buffer += sock.recv(65536)
            line, _, _ = bytes(buffer).partition(b"\r\n")
            size = int(line, 16)
            while len(buffer) < len(line) + 2 + size + 2:
                buffer += sock.recv(65536)
            body += buffer[len(line) + 2 : len(line) + 2 + size]
            del buffer[: len(line) + 2 + size + 2]
            if size == 0:
                return status, headers, bytes(body)
    while data := sock.recv(65536):  # ended by close
        buffer += data
    body = bytes(buffer)
    del buffer[:]
    return status, headers, body


def test_keep_alive_and_pipelined_requests_are_answered_in_order_on_one_connection(localstack):
    with _connect(localstack) as sock:
        buffer = bytearray()
        sock.sendall(HEALTH * 3)  # pipelined: three requests before any answer is read
        for _ in range(3):
            status, headers, body = _read_response(sock, buffer)
            assert status == b"HTTP/1.1 200 OK" and "services" in json.loads(body)
            assert headers["date"].endswith("GMT")
        sock.sendall(HEALTH)  # the connection is still open
        assert _read_response(sock, buffer)[0] == b"HTTP/1.1 200 OK"


def test_expect_100_continue_is_answered_before_the_body_is_sent(localstack, lam, iam):
    name = create_function(lam, iam, "def handler(event, context):\n    return {'echo': event}\n")
    payload = json.dumps({"size": "x" * 1000}).encode()
    with _connect(localstack) as sock:
        buffer = bytearray()
        sock.sendall(
            f"POST /2015-03-31/functions/{name}/invocations HTTP/1.1\r\nHost: localhost\r\n"
            f"Content-Length: {len(payload)}\r\nExpect: 100-continue\r\n\r\n".encode()
        )
        status, _, _ = _read_response(sock, buffer, head_only=True)
        assert status == b"HTTP/1.1 100 Continue"
        sock.sendall(payload)
        status, _, body = _read_response(sock, buffer)
        assert status == b"HTTP/1.1 200 OK" and json.loads(body) == {"echo": {"size": "x" * 1000}}


def test_a_chunked_request_body_reaches_the_service_whole(localstack, lam, iam):
    name = create_function(lam, iam, "def handler(event, context):\n    return {'echo': event}\n")
    payload = json.dumps({"parts": ["a" * 300, "b" * 300]}).encode()
    chunks = [payload[:100], payload[100:450], payload[450:]]
    framed = b"".join(b"%x\r\n" % len(c) + c + b"\r\n" for c in chunks) + b"0\r\n\r\n"
    with _connect(localstack) as sock:
        buffer = bytearray()
        sock.sendall(
            f"POST /2015-03-31/functions/{name}/invocations HTTP/1.1\r\nHost: localhost\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode() + framed
        )
        status, _, body = _read_response(sock, buffer)
        assert status == b"HTTP/1.1 200 OK" and json.loads(body) == {"echo": json.loads(payload)}


def test_head_has_headers_and_no_body_and_http_1_0_is_closed_after_the_answer(localstack):
    with _connect(localstack) as sock:
        buffer = bytearray()
        sock.sendall(b"HEAD /_localstack/health HTTP/1.1\r\nHost: localhost\r\n\r\n" + HEALTH)
        status, headers, _ = _read_response(sock, buffer, head_only=True)
        assert status == b"HTTP/1.1 200 OK"
        # the next bytes on the wire are the second answer, not a body of the first
        assert _read_response(sock, buffer)[0] == b"HTTP/1.1 200 OK"
    with _connect(localstack) as sock:
        sock.sendall(b"GET /_localstack/health HTTP/1.0\r\n\r\n")
        status, headers, body = _read_response(sock, bytearray())
        assert status == b"HTTP/1.0 200 OK" and "services" in json.loads(body)
        assert sock.recv(1) == b""  # closed by the server


def test_https_is_served_on_the_same_port(localstack):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    connection = http.client.HTTPSConnection("127.0.0.1", localstack.port, context=context, timeout=30)
    connection.request("GET", "/_localstack/health")
    response = connection.getresponse()
    assert response.status == 200 and "services" in json.loads(response.read())
    connection.close()


@pytest.mark.parametrize(
    "request_bytes, status",
    [
        (b"NOT A REQUEST\r\n\r\n", b"HTTP/1.1 400 Bad Request"),
        (b"GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: nope\r\n\r\n", b"HTTP/1.1 400 Bad Request"),
    ],
)
def test_malformed_requests_get_a_one_line_answer_and_the_server_keeps_serving(localstack, request_bytes, status):
    with _connect(localstack) as sock:
        sock.sendall(request_bytes)
        got, headers, body = _read_response(sock, bytearray())
        assert got == status and body.endswith(b"\n") and body.count(b"\n") == 1
    with _connect(localstack) as sock:
        sock.sendall(HEALTH)
        assert _read_response(sock, bytearray())[0] == b"HTTP/1.1 200 OK"


def test_header_casing_reaches_a_proxy_integration_as_sent(localstack, lam, iam, apigw):
    source = "def handler(event, context):\n    return {'statusCode': 200, 'body': ','.join(sorted(event['headers']))}\n"
    api = proxy_api(lam, apigw, create_function(lam, iam, source), method="GET", stage="test")
    with _connect(localstack) as sock:
        sock.sendall(f"GET /_aws/execute-api/{api}/test/ HTTP/1.1\r\nHost: localhost\r\nX-CamelCase-Header: 1\r\n\r\n".encode())
        status, _, body = _read_response(sock, bytearray())
    assert status == b"HTTP/1.1 200 OK" and "X-CamelCase-Header" in body.decode().split(",")


def test_a_function_environment_outlives_the_connection_that_started_it(localstack, lam, iam):
    """Workers are forked from a long-lived thread: a sandbox's --die-with-parent follows the forking thread."""
    name = create_function(lam, iam, "def handler(event, context):\n    return context.log_stream_name\n")
    streams = []
    for _ in range(3):  # a new connection each time, closed after its answer
        connection = http.client.HTTPConnection("127.0.0.1", localstack.port, timeout=60)
        connection.request("POST", f"/2015-03-31/functions/{name}/invocations", body=b"{}")
        response = connection.getresponse()
        body = response.read()
        connection.close()
        assert response.status == 200 and response.getheader("X-Amz-Function-Error") is None, body
        streams.append(json.loads(body))
        time.sleep(0.2)  # the closed connection's thread has ended
    assert len(set(streams)) == 1  # one warm environment served all three


def test_http2_negotiated_by_alpn_over_tls_is_served(localstack):
    """h2 over TLS (ALPN), as Go's and Java's HTTP clients negotiate it; h2c is in test_boot_startup.py."""
    import subprocess

    from emulator.localstack import runtime_venv
    from tests.localstack.test_boot_startup import H2C_HEALTH

    connect = 's = socket.create_connection(("127.0.0.1", port), timeout=10)'
    assert connect in H2C_HEALTH
    tls = (
        "import ssl\nctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE\n"
        'ctx.set_alpn_protocols(["h2"])\n'
        f"{connect}\ns = ctx.wrap_socket(s)\nassert s.selected_alpn_protocol() == 'h2', s.selected_alpn_protocol()"
    )
    script = H2C_HEALTH.replace(connect, tls).replace('(":scheme", "http")', '(":scheme", "https")')
    python = runtime_venv.venv_python(runtime_venv.ensure_venv())
    run = subprocess.run([str(python), "-c", script, str(localstack.port)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split(" ", 2)[0] == "200" and "'services'" in run.stdout


def test_a_large_s3_object_goes_up_with_100_continue_and_comes_back_whole(localstack, localstack_session):
    """boto3 sends S3 bodies with `Expect: 100-continue`; a body above the spool size is kept in a temporary
    file while the gateway reads it, and the download streams back through the same server."""
    import hashlib
    import os

    s3 = localstack_session.client("s3", endpoint_url=localstack.url)
    bucket = f"gateway-server-{os.getpid()}"
    s3.create_bucket(Bucket=bucket)
    body = os.urandom(3 * 1024 * 1024 + 12345)  # above gateway_server.SPOOL_BYTES (1 MiB)
    s3.put_object(Bucket=bucket, Key="big.bin", Body=body, ChecksumAlgorithm="SHA256")
    got = s3.get_object(Bucket=bucket, Key="big.bin")["Body"].read()
    assert hashlib.sha256(got).digest() == hashlib.sha256(body).digest()
    ranged = s3.get_object(Bucket=bucket, Key="big.bin", Range="bytes=100-199")["Body"].read()
    assert ranged == body[100:200]


def _crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def test_s3_checks_a_crc32c_checksum_with_the_crt_loaded_on_first_use(localstack, localstack_session):
    """LocalStack verifies CRC32C with the AWS CRT, whose extension loads on first use (patches/native_libraries_on_demand.py)."""
    import base64
    import os

    s3 = localstack_session.client("s3", endpoint_url=localstack.url)
    bucket = f"gateway-crc-{os.getpid()}"
    s3.create_bucket(Bucket=bucket)
    body = b"sagestack " * 100
    good = base64.b64encode(_crc32c(body).to_bytes(4, "big")).decode()
    assert _crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value (RFC 3720)
    s3.put_object(Bucket=bucket, Key="ok", Body=body, ChecksumCRC32C=good)
    head = s3.head_object(Bucket=bucket, Key="ok", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32C"] == good
    bad = base64.b64encode((_crc32c(body) ^ 1).to_bytes(4, "big")).decode()
    with pytest.raises(s3.exceptions.ClientError) as info:
        s3.put_object(Bucket=bucket, Key="bad", Body=body, ChecksumCRC32C=bad)
    assert info.value.response["Error"]["Code"] == "BadDigest"


def test_requests_pipelined_before_a_malformed_one_are_answered_first(localstack):
    with _connect(localstack) as sock:
        buffer = bytearray()
        sock.sendall(HEALTH + b"NOT A REQUEST\r\n\r\n")
        assert _read_response(sock, buffer)[0] == b"HTTP/1.1 200 OK"
        status, _, body = _read_response(sock, buffer)
        assert status == b"HTTP/1.1 400 Bad Request" and b"malformed HTTP request" in body
