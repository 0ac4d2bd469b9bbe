"""pytest plugin for LocalStack's parity tests: `*.localstack.cloud` and `*.localhost` resolve to loopback.

LocalStack's tests address the server as `localhost.localstack.cloud` and build host-based URLs
under it (`<api>.execute-api.localhost.localstack.cloud:<port>`); the kit's Function URLs are
`<id>.lambda-url.<region>.localhost:<port>`. With no DNS (and no LocalStack DNS server) the C
library resolves none of them, so the test process maps them to 127.0.0.1 itself. Loaded with
`-p resolve_localhost` by __main__.py; stdlib only.
"""

from __future__ import annotations

import socket

SUFFIXES = (".localstack.cloud", ".localhost")
_original = socket.getaddrinfo


def _getaddrinfo(host, *args, **kwargs):
    name = host.decode("ascii", "replace") if isinstance(host, bytes) else host
    if isinstance(name, str):
        bare = name.rstrip(".").lower()
        if bare == "localhost.localstack.cloud" or bare.endswith(SUFFIXES):
            host = "127.0.0.1"
    return _original(host, *args, **kwargs)


socket.getaddrinfo = _getaddrinfo
