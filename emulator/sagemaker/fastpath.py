"""uvicorn's httptools protocol with InvokeEndpoint answered inside the parser callbacks.

For a plain `POST /endpoints/{name}/invocations` (no query, no `Expect: 100-continue`,
nothing else in flight on the connection) the request never becomes an ASGI cycle: the
body is collected in `on_body`, `InvocationHandler.invoke` runs when the message is
complete, and the whole response goes out in one write. That skips the per-request scope,
task, coroutine, event and two validated ASGI sends — most of the Python work a request
costs. Everything else (the control plane, health, pipelined requests, any edge case) goes
through uvicorn's own code path unchanged, so behaviour is uvicorn's except for speed.

Built against uvicorn 0.54's `HttpToolsProtocol` (pinned in constraints.txt); if its
internals ever differ, `server.py` falls back to stock "httptools".
"""

from __future__ import annotations

from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from emulator.sagemaker.runtime import DISCARD_LIMIT, PREFIX, SUFFIX, InvocationHandler

_PREFIX = PREFIX.encode()
_SUFFIX = SUFFIX.encode()
_CLOSE = b"connection: close\r\n"


class InvocationProtocol(HttpToolsProtocol):
    """HttpToolsProtocol + a synchronous InvokeEndpoint fast path (see the module docstring)."""

    _fast = False

    def _handler(self) -> InvocationHandler | None:
        handler = getattr(self.app, "invocations", None)  # EmulatorApp exposes its InvocationHandler
        return handler if isinstance(handler, InvocationHandler) else None

    def on_headers_complete(self) -> None:
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
                if handler is not None:
                    self._fast = True
                    self._fast_handler = handler
                    self._fast_path = raw_path
                    self._fast_body: list[bytes] = []
                    self._fast_size = 0
                    self._fast_keep_alive = self.parser.get_http_version() != "1.0" and self.parser.should_keep_alive()
                    return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._fast:
            super().on_body(body)
            return
        self._fast_size += len(body)
        if self._fast_size <= DISCARD_LIMIT:  # past the limit only count: the answer is "too large"
            self._fast_body.append(body)

    def on_message_complete(self) -> None:
        if not self._fast:
            super().on_message_complete()
            return
        self._fast = False
        chunks = self._fast_body
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        raw_path = self._fast_path
        name = raw_path[len(_PREFIX):-len(_SUFFIX)].decode("ascii", "replace")
        status, headers, output = self._fast_handler.invoke("POST", name, self.headers, body, self._fast_size, raw_path, b"")
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


def protocol_class() -> Any:
    """The protocol for uvicorn's `http=` option, or the stock name if uvicorn's internals moved."""
    needed = ("on_headers_complete", "on_body", "on_message_complete", "on_response_complete")
    if all(hasattr(HttpToolsProtocol, attr) for attr in needed) and isinstance(STATUS_LINE, dict):
        return InvocationProtocol
    return "httptools"
