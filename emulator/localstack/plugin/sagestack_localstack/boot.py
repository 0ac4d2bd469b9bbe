"""`python -m sagestack_localstack.boot`: start LocalStack's runtime on the host, loopback only.

Why a wrapper instead of `python -m localstack.runtime.main`:
- LocalStack's twisted server drops the host part of GATEWAY_LISTEN for IPv4 and listens on
  0.0.0.0 (runtime/server/twisted.py, "TODO: interface = host?"). We wrap
  `TCP4ServerEndpoint` so that an endpoint created without an interface gets the GATEWAY_LISTEN
  host (127.0.0.1 by default) before LocalStack builds its server.
- The TLS cert LocalStack insists on is generated here (tls.py), so nothing is downloaded.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _listen_host() -> str:
    first = (os.environ.get("GATEWAY_LISTEN") or "127.0.0.1:4566").split(",")[0].strip()
    host = first.rsplit(":", 1)[0] if ":" in first else first
    return host.strip("[]") or "127.0.0.1"


def force_listen_interface(host: str) -> None:
    """Make every IPv4 listening endpoint default to `host` instead of all interfaces."""
    from twisted.internet import endpoints

    original = endpoints.TCP4ServerEndpoint

    class LoopbackTCP4ServerEndpoint(original):  # type: ignore[misc, valid-type]
        def __init__(self, reactor, port, backlog=50, interface=""):
            super().__init__(reactor, port, backlog=backlog, interface=interface or host)

    endpoints.TCP4ServerEndpoint = LoopbackTCP4ServerEndpoint


def main() -> None:
    cert_path = os.environ.get("CUSTOM_SSL_CERT_PATH")
    if cert_path:
        from sagestack_localstack.tls import ensure_certificate

        ensure_certificate(Path(cert_path))
    force_listen_interface(_listen_host())
    from localstack.runtime.main import main as localstack_main

    localstack_main()


if __name__ == "__main__":
    main()
    sys.exit(0)
