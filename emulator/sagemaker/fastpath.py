"""uvicorn's httptools protocol with small InvokeEndpoints answered inside the parser callbacks.

For a plain `POST /endpoints/{name}/invocations` (no query, no `Expect: 100-continue`,
nothing else in flight on the connection) whose Content-Length is at most
`limits.INLINE_BODY_BYTES`, the request never becomes an ASGI cycle: the body is collected
in `on_body`, `InvocationHandler.invoke` — the same pipeline every transport runs — runs
when the message is complete, and the whole response goes out in one write. That skips the
per-request scope, task, coroutine, event and two validated ASGI sends — most of the Python
work a request costs. Everything else (the control plane, health, pipelined requests,
chunked or big bodies, any edge case) goes through uvicorn's own code path to the ASGI app,
which refuses oversized bodies before reading them and runs big ones off the event loop.

It also enforces the request-head limit (`limits.MAX_HEAD_BYTES`) for every request on the
port: httptools has no such limit and would buffer megabytes of headers.

Built against uvicorn 0.54's `HttpToolsProtocol` (pinned in constraints.txt); if its
internals ever differ, `server.py` falls back to stock "httptools".
"""

from __future__ import annotations

from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from emulator.sagemaker import limits
from emulator.sagemaker.runtime import PREFIX, SUFFIX, InvocationHandler

_PREFIX = PREFIX.encode()
_SUFFIX = SUFFIX.encode()
_CLOSE = b"connection: close\r\n"


class InvocationProtocol(HttpToolsProtocol):
    """HttpToolsProtocol + a synchronous InvokeEndpoint fast path (see the module docstring)."""

    _fast = False
    _in_head = True  # between the end of one request's headers and the next request's
    _head_bytes = 0
    _ended_in_read = False

    def _handler(self) -> InvocationHandler | None:
        handler = getattr(self.app, "invocations", None)  # EmulatorApp exposes its InvocationHandler
        return handler if isinstance(handler, InvocationHandler) else None

    # --- the head-size limit ------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self._ended_in_read = False
        super().data_received(data)
        if self._in_head and not self._ended_in_read and not self.transport.is_closing():
            # Whole reads that end inside a head are counted. A read in which a message also
            # ended (its body's tail, perhaps a pipelined request) is not counted at all: the
            # head part of it is unknown, and undercounting by one read can never refuse a
            # request under the limit.
            self._head_bytes += len(data)
            if self._head_bytes > limits.MAX_HEAD_BYTES:
                self.transport.write(limits.head_too_large_response())
                self.transport.close()

    def on_message_begin(self) -> None:
        self._in_head = True
        self._head_bytes = 0
        super().on_message_begin()

    # --- the fast path ------------------------------------------------------------------------

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._fast = False
        if (
            self.parser.get_method() == b"POST"
            and not self.expect_100_continue
            and (self.cycle is None or self.cycle.response_complete)
            and not self.pipeline
        ):
            url = httptools.parse_url(self.url)
            raw_path = url.path
            if url.query is None and raw_path.startswith(_PREFIX) and raw_path.endswith(_SUFFIX) and b"%" not in raw_path:
                handler = self._handler()
                if handler is not None and _small_body(self.headers):
                    self._fast = True
                    self._fast_handler = handler
                    self._fast_path = raw_path
                    self._fast_body: list[bytes] = []
                    self._fast_keep_alive = self.parser.get_http_version() != "1.0" and self.parser.should_keep_alive()
                    return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._fast:
            super().on_body(body)
            return
        self._fast_body.append(body)  # at most INLINE_BODY_BYTES: the Content-Length said so

    def on_message_complete(self) -> None:
        self._in_head = True
        self._head_bytes = 0
        self._ended_in_read = True
        if not self._fast:
            super().on_message_complete()
            return
        self._fast = False
        chunks = self._fast_body
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        raw_path = self._fast_path
        name = raw_path[len(_PREFIX):-len(_SUFFIX)].decode("ascii", "replace")
        status, headers, output = self._fast_handler.invoke("POST", name, self.headers, body, len(body), raw_path, b"")
        content = [STATUS_LINE[status]]
        for header_name, value in self.server_state.default_headers:
            content += [header_name, b": ", value, b"\r\n"]
        for header_name, value in headers:
            content += [header_name, b": ", value, b"\r\n"]
        if not self._fast_keep_alive:
            content.append(_CLOSE)
        content += [b"\r\n", output]
        self.transport.write(b"".join(content))
        if not self._fast_keep_alive:
            self.transport.close()
        self.on_response_complete()  # uvicorn's bookkeeping: request count, keep-alive timer, resume reading


def _small_body(headers: list[tuple[bytes, bytes]]) -> bool:
    """A Content-Length (no chunked body) of at most INLINE_BODY_BYTES."""
    length = None
    for name, value in headers:
        if name == b"content-length":
            length = value
        elif name == b"transfer-encoding":
            return False
    if length is None:
        return True  # no body at all
    return length.isdigit() and int(length) <= limits.INLINE_BODY_BYTES


def protocol_class() -> Any:
    """The protocol for uvicorn's `http=` option, or the stock name if uvicorn's internals moved."""
    needed = ("on_headers_complete", "on_body", "on_message_complete", "on_response_complete", "on_message_begin", "data_received")
    if all(hasattr(HttpToolsProtocol, attr) for attr in needed) and isinstance(STATUS_LINE, dict):
        return InvocationProtocol
    return "httptools"
