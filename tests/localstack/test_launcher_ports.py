"""`sagestack localstack start` on any port: it works or says in one line why not (no traceback).

Unit level: a fake health server and sockets stand in for LocalStack.
"""

from __future__ import annotations

import socket
import threading

import pytest

from contract import names
from contract.net import free_port
from emulator.localstack import launcher


def _serve_once_forever(answer: bytes) -> tuple[int, threading.Event]:
    server = socket.socket()
    server.bind((names.LOOPBACK, 0))
    server.listen()
    stop = threading.Event()

    def loop() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(answer)
        server.close()

    threading.Thread(target=loop, daemon=True).start()
    return server.getsockname()[1], stop


@pytest.mark.parametrize(
    "answer",
    [b"garbage that is no status line\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n[1,2]",
     b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n{not", b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n", b""],
)
def test_a_malformed_health_answer_counts_as_not_healthy(answer):
    port, stop = _serve_once_forever(answer)
    try:
        proc = launcher.LocalStackProcess(port=port)
        assert proc.health() is None
        with pytest.raises(launcher.LocalStackError, match="did not become healthy"):
            proc.wait_healthy(timeout=0.5)
    finally:
        stop.set()


def test_the_health_poll_refuses_a_connection_to_itself():
    """With a port in the ephemeral range, connect() can pick that very port as the source port."""
    port = free_port()
    conn = launcher._NoSelfConnect(names.LOOPBACK, port, timeout=2, source_address=(names.LOOPBACK, port))
    with pytest.raises(OSError):
        conn.connect()
    assert launcher._port_is_free(port)  # nothing keeps the port LocalStack is about to bind


@pytest.mark.parametrize("port", ["0", "70000", "-1", "http"])
def test_cli_rejects_an_impossible_port_in_one_line(port, capsys):
    with pytest.raises(SystemExit) as info:
        launcher.main(["start", "--port", port])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("sagestack localstack: error: argument --port:")
    assert "Traceback" not in "\n".join(err)
