"""HTTP/2 on the kit's gateway server: h2c with prior knowledge, and h2 negotiated by ALPN over TLS.

LocalStack's twisted server answers HTTP/2 (the AWS SDK for Java v2's Netty client speaks it, also
over TLS without ALPN), so the kit's server (gateway_server.py) does too, with the `h2` library
LocalStack already ships (imported on the first HTTP/2 connection only). A connection is served by
its own thread, as HTTP/1.1 is: frames are read, each request stream that has ended runs the gateway
in turn, and its answer is sent as HEADERS then DATA frames within the client's flow-control window
(frames that arrive meanwhile, WINDOW_UPDATEs and new streams, are read while waiting for it).
Header names go out lowercase, as HTTP/2 requires.
"""

from __future__ import annotations

import logging
import socket
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sagestack_localstack.gateway_server import Connection

LOG = logging.getLogger(__name__)
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
RECV_BYTES = 256 * 1024
CONNECTION_HEADERS = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"})


def is_preface(data: bytes) -> bool:
    """Whether a connection's first bytes start (or are a start of) HTTP/2's connection preface."""
    return data.startswith(PREFACE[: len(data)]) if len(data) < len(PREFACE) else data.startswith(PREFACE)


class Http2Session:
    """One HTTP/2 connection: streams are read as they arrive and answered in the order they end."""

    def __init__(self, connection: "Connection", sock: socket.socket) -> None:
        import h2.config
        import h2.connection
        import h2.events

        self.events = h2.events
        self.connection = connection
        self.sock = sock
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding=None))
        self.open: dict[int, object] = {}  # stream id -> ParsedRequest still receiving
        self.ended: deque[tuple[int, object]] = deque()
        self.closed = False

    def serve(self, data: bytes) -> None:
        self.h2.initiate_connection()
        self._flush()
        while not self.closed:
            if data:
                self._receive(data)
            while self.ended and not self.closed:
                self._answer(*self.ended.popleft())
            if self.closed:
                return
            data = self.sock.recv(RECV_BYTES)
            if not data:
                return

    def _receive(self, data: bytes) -> None:
        from sagestack_localstack.gateway_server import ParsedRequest

        events = self.events
        for event in self.h2.receive_data(data):
            if isinstance(event, events.RequestReceived):
                request = ParsedRequest()
                request.version = "2"
                authority = b""
                for name, value in event.headers:
                    if name == b":method":
                        request.method = value
                    elif name == b":path":
                        request.target = value
                    elif name == b":authority":
                        authority = value
                    elif not name.startswith(b":"):
                        request.headers.append((name, value))
                if authority and not any(name == b"host" for name, _ in request.headers):
                    request.headers.append((b"host", authority))
                self.open[event.stream_id] = request
                if event.stream_ended is not None:
                    self.ended.append((event.stream_id, self.open.pop(event.stream_id)))
            elif isinstance(event, events.DataReceived):
                request = self.open.get(event.stream_id)
                if request is not None:
                    request.add_body(event.data)
                self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, events.StreamEnded):
                if event.stream_id in self.open:
                    self.ended.append((event.stream_id, self.open.pop(event.stream_id)))
            elif isinstance(event, events.StreamReset):
                self.open.pop(event.stream_id, None)
            elif isinstance(event, events.ConnectionTerminated):
                self.closed = True
        self._flush()

    def _flush(self) -> None:
        outgoing = self.h2.data_to_send()
        if outgoing:
            self.sock.sendall(outgoing)

    def _answer(self, stream_id: int, request) -> None:
        status, headers, body = self.connection.run_gateway(request)
        from h2.exceptions import StreamClosedError

        try:
            fields = [(b":status", status.split(" ", 1)[0].encode())]
            fields += [
                (name.lower().encode("latin-1"), value.encode("latin-1"))
                for name, value in headers
                if name.lower() not in CONNECTION_HEADERS
            ]
            empty = request.method == b"HEAD" or not body
            self.h2.send_headers(stream_id, fields, end_stream=empty)
            self._flush()
            if not empty:
                self._send_data(stream_id, body)
        except StreamClosedError:  # the client reset the stream meanwhile
            pass

    def _send_data(self, stream_id: int, body: bytes) -> None:
        view = memoryview(body)
        while view:
            window = min(self.h2.local_flow_control_window(stream_id), self.h2.max_outbound_frame_size)
            if window <= 0:  # wait for the client's WINDOW_UPDATE (other frames are taken in too)
                data = self.sock.recv(RECV_BYTES)
                if not data:
                    raise ConnectionError("client closed the connection during a response")
                self._receive(data)
                if self.closed:
                    return
                continue
            chunk, view = view[:window], view[window:]
            self.h2.send_data(stream_id, chunk.tobytes(), end_stream=not view)
            self._flush()
