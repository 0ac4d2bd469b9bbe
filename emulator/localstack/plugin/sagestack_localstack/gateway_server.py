"""LocalStack's gateway served by one thread per connection and a C HTTP parser (GATEWAY_SERVER=sagestack).

LocalStack serves its gateway with twisted by default: the reactor thread parses HTTP in Python
(twisted.web), builds a WSGI environ, hands each request to a thread pool, and every response
write goes back through the reactor (`callFromThread`, a wake-up pipe). Profiled on 2 cores, that
was about three quarters of LocalStack's CPU per API Gateway -> Lambda request, and importing
twisted, pyOpenSSL and cryptography before the gateway answered a tenth of start-up.

This server does the same job with less: each accepted connection gets a thread that reads the
socket, feeds llhttp (httptools, C), runs the gateway for each complete request in that same thread
(LocalStack's handlers block: a Lambda invoke waits for its function) and writes the answer with
`sendall`. There is no hand-off between threads on the request path. What twisted's server did
for LocalStack, this one does too:

- HTTP/1.1 keep-alive and pipelining, HTTP/1.0, chunked request bodies, `Expect: 100-continue`
  (answered `100 Continue` when the headers arrive, as boto3's S3 uploads expect), HEAD;
- response bodies with a Content-Length as they are, without one chunked (HTTP/1.1) or ended by
  closing (HTTP/1.0), streamed chunk by chunk as the gateway yields them (Lambda response streams);
- request headers passed with their original casing (`rolo.headers`, as rolo's twisted binding),
  the WSGI environ twisted built (PATH_INFO percent-decoded, RAW_URI/REQUEST_URI as sent);
- `Date` on every answer (botocore corrects clock skew from it);
- HTTPS on the same port: a connection whose first byte is a TLS handshake is wrapped with
  LocalStack's certificate (`ssl_creds`), as its TLS multiplexer does; ALPN offers h2 and http/1.1;
- HTTP/2 with prior knowledge (cleartext, or TLS without ALPN) and by ALPN: gateway_http2.py.

Not served: WebSocket upgrades (no service of the stack uses them; the request is answered as
plain HTTP/1.1). `GATEWAY_SERVER=twisted` (the launcher's extra_env, or the environment) brings
LocalStack's own server back. Listens where GATEWAY_LISTEN says (the launcher: 127.0.0.1).
"""

from __future__ import annotations

import logging
import os
import socket
import ssl
import tempfile
import threading
from collections import deque
from email.utils import formatdate
from io import BytesIO
from pathlib import Path
from typing import IO
from urllib.parse import unquote_to_bytes

import httptools
from localstack.runtime.server.core import RuntimeServer, RuntimeServerPlugin

from sagestack_localstack import gateway_http2 as http2

LOG = logging.getLogger(__name__)

NAME = "sagestack"  # GATEWAY_SERVER value (entry point in pyproject.toml)
RECV_BYTES = 256 * 1024
SPOOL_BYTES = 1024 * 1024  # request bodies above this are kept in a temporary file, as twisted does
IDLE_TIMEOUT_S = 300.0  # a keep-alive connection nobody uses is closed after this
BACKLOG = 1024
ACCEPT_RETRY_S = 0.1
TLS_HANDSHAKE = 0x16
NO_BODY_STATUSES = frozenset({204, 304})
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class GatewayServerPlugin(RuntimeServerPlugin):
    name = NAME

    def load(self, *args, **kwargs) -> RuntimeServer:
        return GatewayServer()


class GatewayServer(RuntimeServer):
    """Accepts connections on every GATEWAY_LISTEN address; each is served by a `Connection` thread."""

    def __init__(self) -> None:
        self.app = None
        self._listeners: list[socket.socket] = []
        self._ssl_creds: tuple[str, str] | None = None
        self._tls: ssl.SSLContext | None = None
        self._tls_lock = threading.Lock()
        self._stopped = threading.Event()

    def register(self, gateway, listen, ssl_creds=None) -> None:
        from rolo.gateway.wsgi import WsgiGateway

        self.app = WsgiGateway(gateway)
        self._ssl_creds = ssl_creds
        for address in listen:
            family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
            self._listeners.append(socket.create_server((address.host, address.port), family=family, backlog=BACKLOG))

    def run(self) -> None:
        for listener in self._listeners:
            threading.Thread(target=self._accept, args=(listener,), name="gateway-accept", daemon=True).start()
        self._stopped.wait()

    def shutdown(self) -> None:
        self._stopped.set()
        for listener in self._listeners:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked on it
            except OSError:
                pass
            listener.close()

    def tls_context(self) -> ssl.SSLContext:
        """LocalStack's certificate, loaded on the first HTTPS connection."""
        with self._tls_lock:
            if self._tls is None:
                if not self._ssl_creds:
                    raise ssl.SSLError("no certificate configured for HTTPS")
                pem = os.environ.get("CUSTOM_SSL_CERT_PATH", "").strip()
                if pem:  # the kit's certificate is made (or checked) now (patches/tls_certificate_on_demand.py)
                    from sagestack_localstack.tls import ensure_certificate

                    ensure_certificate(Path(pem))
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                cert_file, key_file = self._ssl_creds
                context.load_cert_chain(cert_file, key_file)
                context.set_alpn_protocols(["h2", "http/1.1"])
                self._tls = context
            return self._tls

    def _accept(self, listener: socket.socket) -> None:
        while not self._stopped.is_set():
            try:
                sock, peer = listener.accept()
            except OSError as exc:
                if self._stopped.is_set():
                    return
                # e.g. EMFILE: the connection stays in the backlog; try again shortly, without spinning
                LOG.warning("accepting a connection failed (%s); retrying", exc)
                self._stopped.wait(ACCEPT_RETRY_S)
                continue
            connection = Connection(self, sock, peer, listener.getsockname()[1])
            threading.Thread(target=connection.serve, name="gateway-conn", daemon=True).start()


class ParsedRequest:
    """One request as llhttp delivered it: target, raw headers in order, body."""

    __slots__ = ("method", "target", "headers", "body", "size", "version", "keep_alive")

    def __init__(self) -> None:
        self.target = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: BytesIO | IO[bytes] = BytesIO()
        self.size = 0
        self.method = b""
        self.version = "1.1"
        self.keep_alive = True

    def add_body(self, chunk: bytes) -> None:
        """Append to the body, moving it to a temporary file once it outgrows SPOOL_BYTES."""
        self.size += len(chunk)
        if self.size > SPOOL_BYTES and isinstance(self.body, BytesIO):
            spooled = tempfile.TemporaryFile()
            spooled.write(self.body.getbuffer())
            self.body = spooled
        self.body.write(chunk)


class Connection:
    """One client connection: parse, run the gateway, answer; repeat while the client keeps it alive."""

    def __init__(self, server: GatewayServer, sock: socket.socket, peer, port: int) -> None:
        self.server = server
        self.sock = sock
        self.peer = peer
        self.port = port
        self.secure = False
        self.parser = httptools.HttpRequestParser(self)
        self.current: ParsedRequest | None = None
        self.ready: deque[ParsedRequest] = deque()

    # ---- llhttp callbacks ----------------------------------------------------------------
    def on_message_begin(self) -> None:
        self.current = ParsedRequest()

    def on_url(self, url: bytes) -> None:
        self.current.target += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.current.headers.append((name, value))

    def on_headers_complete(self) -> None:
        request = self.current
        request.method = self.parser.get_method()
        request.version = self.parser.get_http_version()
        request.keep_alive = self.parser.should_keep_alive()
        for name, value in request.headers:
            if name.lower() == b"expect" and value.strip().lower() == b"100-continue" and request.version == "1.1":
                self.sock.sendall(CONTINUE)

    def on_body(self, chunk: bytes) -> None:
        self.current.add_body(chunk)

    def on_message_complete(self) -> None:
        self.ready.append(self.current)
        self.current = None

    # ---- the connection's loop -----------------------------------------------------------
    def serve(self) -> None:
        sock = self.sock
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(IDLE_TIMEOUT_S)
            first = sock.recv(1, socket.MSG_PEEK)
            if first and first[0] == TLS_HANDSHAKE:
                self.sock = sock = self.server.tls_context().wrap_socket(sock, server_side=True)
                self.secure = True
                if sock.selected_alpn_protocol() == "h2":
                    http2.Http2Session(self, sock).serve(b"")
                    return
            data = sock.recv(RECV_BYTES)
            while data and len(data) < len(http2.PREFACE) and http2.is_preface(data):  # a preface in pieces
                more = sock.recv(RECV_BYTES)
                if not more:
                    return
                data += more
            if data.startswith(http2.PREFACE):  # HTTP/2 with prior knowledge (h2c, or TLS without ALPN)
                http2.Http2Session(self, sock).serve(data)
                return
            while True:
                if not data:
                    return
                malformed = None
                try:
                    self.parser.feed_data(data)
                except httptools.HttpParserUpgrade:
                    # answered as plain HTTP/1.1 (RFC 9110: a server may ignore Upgrade), then closed:
                    # the parser reads nothing after an upgrade request
                    for request in self.ready:
                        request.keep_alive = False
                except httptools.HttpParserError as exc:
                    malformed = exc  # the requests complete before it are answered first, in order
                while self.ready:
                    if not self._respond(self.ready.popleft()):
                        return
                if malformed is not None:
                    self._refuse(malformed)
                    return
                data = sock.recv(RECV_BYTES)
        except (OSError, ssl.SSLError):
            return  # the client went away, timed out, or failed its TLS handshake
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def _refuse(self, exc: Exception) -> None:
        message = f"malformed HTTP request ({exc}): send HTTP/1.1 or HTTP/2\n".encode()
        head = b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n"
        self.sock.sendall(head + b"Content-Length: %d\r\n\r\n" % len(message) + message)

    def _respond(self, request: ParsedRequest) -> bool:
        """Run the gateway for `request` and write its answer; whether the connection stays open."""
        environ = self._environ(request)
        state: dict = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info=None):
            if exc_info is not None and state.get("sent"):
                raise exc_info[1].with_traceback(exc_info[2])
            state["status"], state["headers"] = status, headers
            return lambda data: self._write(request, state, data)

        try:
            result = self.server.app(environ, start_response)
        except Exception:
            LOG.exception("the gateway failed on %s %s", request.method, request.target)
            result = None
            if not state.get("sent"):
                state["status"], state["headers"] = "500 Internal Server Error", [("Content-Length", "0")]
        try:
            try:
                if result is not None:
                    for data in result:
                        if data:
                            self._write(request, state, data)
            except OSError:
                raise  # the client went away
            except Exception:  # the answer's body failed while it was being produced
                LOG.exception("the gateway's answer to %s %s failed", request.method, request.target)
                if state.get("sent"):
                    return False  # part of it is on the wire: closing is the only honest end
                state["status"], state["headers"] = "500 Internal Server Error", [("Content-Length", "0")]
            self._finish(request, state)
        finally:
            _close(result, request)
        return state["keep_alive"]

    def run_gateway(self, request: ParsedRequest) -> tuple[str, list[tuple[str, str]], bytes]:
        """Run the gateway for `request` and return its whole answer (status, headers, body): for HTTP/2."""
        state: dict = {}
        written: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info=None):
            state["status"], state["headers"] = status, headers
            return written.append

        result = None
        try:
            result = self.server.app(self._environ(request), start_response)
            written.extend(result)
        except Exception:
            LOG.exception("the gateway failed on %s %s", request.method, request.target)
            state["status"], state["headers"], written = "500 Internal Server Error", [], []
        finally:
            _close(result, request)
        return state["status"], state["headers"], b"".join(written)

    def _write(self, request: ParsedRequest, state: dict, data: bytes) -> None:
        if not state.get("sent"):
            self._send_head(request, state)
        if not state["body"]:
            return
        if state["chunked"]:
            self.sock.sendall(b"%x\r\n" % len(data) + data + b"\r\n")
        else:
            self.sock.sendall(data)

    def _finish(self, request: ParsedRequest, state: dict) -> None:
        if not state.get("sent"):
            self._send_head(request, state, complete=True)
        elif state["chunked"]:
            self.sock.sendall(b"0\r\n\r\n")

    def _send_head(self, request: ParsedRequest, state: dict, complete: bool = False) -> None:
        """Status line and headers; decides the framing (Content-Length as given, else chunked or close)."""
        status: str = state["status"]
        code = int(status[:3])
        lines = [f"HTTP/{request.version} {status}\r\n".encode("latin-1")]
        has_length = has_date = False
        keep_alive = request.keep_alive
        for name, value in state["headers"]:
            lower = name.lower()
            if lower == "content-length":
                has_length = True
            elif lower == "date":
                has_date = True
            elif lower == "connection" and value.lower() == "close":
                keep_alive = False
            elif lower == "transfer-encoding":
                continue  # the framing is ours to choose
            lines.append(f"{name}: {value}\r\n".encode("latin-1"))
        if not has_date:
            lines.append(f"Date: {formatdate(usegmt=True)}\r\n".encode("latin-1"))
        body = request.method != b"HEAD" and code not in NO_BODY_STATUSES and code >= 200
        chunked = False
        if body and not has_length:
            if complete:
                lines.append(b"Content-Length: 0\r\n")
            elif request.version == "1.1":
                lines.append(b"Transfer-Encoding: chunked\r\n")
                chunked = True
            else:
                keep_alive = False  # HTTP/1.0 without a length: the end of the body is the end of the connection
        if not keep_alive:
            lines.append(b"Connection: close\r\n")
        lines.append(b"\r\n")
        self.sock.sendall(b"".join(lines))
        state.update(sent=True, body=body, chunked=chunked, keep_alive=keep_alive)

    def _environ(self, request: ParsedRequest) -> dict:
        """The WSGI environ twisted.web.wsgi built for LocalStack, plus rolo's raw headers."""
        target = request.target
        if target.startswith(b"/") or target == b"*":
            path, _, query = target.partition(b"?")
        else:  # absolute-form (a request sent to a proxy): the path part of the URL
            url = httptools.parse_url(target)
            path, query = url.path or b"/", url.query or b""
        grouped: dict[bytes, tuple[bytes, list[bytes]]] = {}
        for name, value in request.headers:
            entry = grouped.setdefault(name.lower(), (name, []))
            entry[1].append(value)
        environ = {
            "REQUEST_METHOD": request.method.decode("latin-1"),
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query.decode("latin-1"),
            "CONTENT_TYPE": b",".join(grouped.get(b"content-type", (b"", []))[1]).decode("latin-1"),
            "CONTENT_LENGTH": b",".join(grouped.get(b"content-length", (b"", []))[1]).decode("latin-1"),
            "SERVER_NAME": self._host_name(grouped),
            "SERVER_PORT": str(self.port),
            "SERVER_PROTOCOL": f"HTTP/{request.version}",
            "REMOTE_ADDR": str(self.peer[0]),
            "REMOTE_PORT": str(self.peer[1]),
            "REQUEST_URI": target.decode("utf-8", "surrogateescape"),
            "RAW_URI": target.decode("utf-8", "surrogateescape"),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "https" if self.secure else "http",
            "wsgi.run_once": False,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.errors": LOG_STREAM,
            "wsgi.input_terminated": True,
            "rolo.headers": [(name, value) for name, values in grouped.values() for value in values],
        }
        for lower, (_, values) in grouped.items():
            key = "HTTP_" + lower.decode("latin-1").upper().replace("-", "_")
            environ[key] = ",".join(v.decode("latin-1") for v in values).replace("\n", " ")
        body = request.body
        body.seek(0)
        environ["wsgi.input"] = body
        if not environ["CONTENT_LENGTH"] and request.size:  # a chunked body: its length is known now
            environ["CONTENT_LENGTH"] = str(request.size)
        return environ

    def _host_name(self, grouped: dict) -> str:
        host = grouped.get(b"host")
        if host:
            value = host[1][0].decode("latin-1")
            if value.startswith("["):
                return value[: value.find("]") + 1]
            return value.rsplit(":", 1)[0] if value.count(":") == 1 else value
        return self.sock.getsockname()[0]


def _close(result, request: ParsedRequest) -> None:
    """Close the WSGI answer (PEP 3333 asks for it, even after a failure) and the request's body."""
    close = getattr(result, "close", None)
    if close is not None:
        close()
    request.body.close()


class _LogStream:
    """`wsgi.errors`: what an application writes there goes to LocalStack's log."""

    def write(self, text: str) -> None:
        if text.strip():
            LOG.warning("%s", text.rstrip())

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass


LOG_STREAM = _LogStream()  # stateless: one serves every request
