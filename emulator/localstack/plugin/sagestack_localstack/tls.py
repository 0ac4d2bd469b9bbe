"""Generate the key+certificate PEM LocalStack serves HTTPS with (CUSTOM_SSL_CERT_PATH).

LocalStack normally downloads its certificate; offline that fails, and its built-in
self-signed fallback crashes with current pyOpenSSL (docs/ARCHITECTURE.md, "LocalStack on the host"). A self-signed cert for
localhost / localhost.localstack.cloud / 127.0.0.1 made with `cryptography` (a LocalStack
dependency) is all it needs.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path


def ensure_certificate(path: Path) -> Path:
    """Write `path` (private key + cert, PEM) unless it already exists and parses; return it."""
    if path.exists() and b"BEGIN CERTIFICATE" in path.read_bytes():
        return path
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost.localstack.cloud")])
    now = datetime.datetime.now(datetime.timezone.utc)
    san = x509.SubjectAlternativeName(
        [
            x509.DNSName("localhost"),
            x509.DNSName("localhost.localstack.cloud"),
            x509.DNSName("*.localhost.localstack.cloud"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=825))
        .add_extension(san, critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ) + cert.public_bytes(serialization.Encoding.PEM)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # the private key is never readable by others
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path
