"""Listen on the GATEWAY_LISTEN host (loopback), not on every interface.

LocalStack's twisted server drops the host part of GATEWAY_LISTEN for IPv4 and listens on
0.0.0.0 (runtime/server/twisted.py, "TODO: interface = host?"). The kit promises loopback only,
so an IPv4 listening endpoint created without an interface gets the GATEWAY_LISTEN host
(127.0.0.1 by default). Boot stage: must run before LocalStack builds its server.
"""

from __future__ import annotations

import os

CHECKED_AGAINST = "2026.3.0"
# only with GATEWAY_SERVER=twisted: applied when LocalStack imports its twisted server (patches/__init__.py)
APPLY_ON_IMPORT = "localstack.runtime.server.twisted"
TARGETS = ("twisted.internet.endpoints.TCP4ServerEndpoint (used by localstack.runtime.server.twisted)",)


def listen_host() -> str:
    first = (os.environ.get("GATEWAY_LISTEN") or "127.0.0.1:4566").split(",")[0].strip()
    host = first.rsplit(":", 1)[0] if ":" in first else first
    return host.strip("[]") or "127.0.0.1"


def apply() -> None:
    from twisted.internet import endpoints

    host = listen_host()
    original = endpoints.TCP4ServerEndpoint

    class LoopbackTCP4ServerEndpoint(original):  # type: ignore[misc, valid-type]
        def __init__(self, reactor, port, backlog=50, interface=""):
            super().__init__(reactor, port, backlog=backlog, interface=interface or host)

    endpoints.TCP4ServerEndpoint = LoopbackTCP4ServerEndpoint
