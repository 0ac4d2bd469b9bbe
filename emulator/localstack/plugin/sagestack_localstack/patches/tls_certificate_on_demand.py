"""The TLS certificate is made, or checked, on the first HTTPS connection instead of at every start.

LocalStack's runtime calls `localstack.utils.ssl.create_ssl_cert` before it builds its server:
with CUSTOM_SSL_CERT_PATH (the kit's generated certificate, tls.py) that splits the PEM into
`<pem>.key` and `<pem>.crt`, after `from OpenSSL import crypto` (pyOpenSSL, which loads
cryptography's x509: about 45 ms of a 1 s start on 2 cores), and the kit generated the PEM itself
first (cryptography's x509 again, on a fresh state dir). Nothing needs the files before a client
opens an HTTPS connection, which local clients rarely do.

Here `create_ssl_cert` returns the same three paths at once; with the kit's gateway server
(GATEWAY_SERVER=sagestack) the files are written by `tls.ensure_certificate` when the first TLS
handshake arrives (gateway_server.py), with LocalStack's twisted server they are written now, as
it needs them to start. Without CUSTOM_SSL_CERT_PATH, LocalStack's own function runs. Boot stage:
applied when `localstack.utils.ssl` is imported.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

CHECKED_AGAINST = "2026.3.0"
APPLY_ON_IMPORT = "localstack.utils.ssl"
TARGETS = ("localstack.utils.ssl.create_ssl_cert (called by localstack.runtime.runtime._init_gateway_server)",)


def apply() -> None:
    ssl_utils = importlib.import_module(APPLY_ON_IMPORT)
    original = ssl_utils.create_ssl_cert

    def create_ssl_cert(serial_number=None):
        pem = os.environ.get("CUSTOM_SSL_CERT_PATH", "").strip()
        if not pem:
            return original(serial_number=serial_number)
        from localstack import config

        from sagestack_localstack import gateway_server, tls

        if (config.GATEWAY_SERVER or "").strip() != gateway_server.NAME:
            tls.ensure_certificate(Path(pem))
        cert_file, key_file = tls.split_paths(Path(pem))
        return pem, str(cert_file), str(key_file)

    ssl_utils.create_ssl_cert = create_ssl_cert
