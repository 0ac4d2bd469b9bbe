"""Generate the key+certificate PEM LocalStack serves HTTPS with (CUSTOM_SSL_CERT_PATH).

LocalStack normally downloads its certificate; offline that fails, and its built-in
self-signed fallback crashes with current pyOpenSSL (docs/ARCHITECTURE.md, "LocalStack on the host"). A self-signed cert for
localhost / localhost.localstack.cloud / 127.0.0.1 made with `cryptography` (a LocalStack
dependency) is all it needs.

The PEM holds a private key, so it is written 0600 in a 0700 directory, and so are the `.key` and
`.crt` files LocalStack splits out of it next to it (`<pem>.key`, `<pem>.crt`, utils/crypto.py):
they are created empty with mode 0600 before LocalStack writes them, and its `open(..., "w+")`
keeps an existing file's mode. A PEM left 0644 by an older kit is tightened on the next start.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path


SECRET_FILE_MODE = 0o600
SECRET_DIR_MODE = 0o700


def ensure_certificate(path: Path) -> Path:
    """Write `path` (private key + cert, PEM) unless it already exists and parses; return it."""
    _private_dir(path.parent)
    if path.exists() and b"BEGIN CERTIFICATE" in path.read_bytes():
        _protect(path)
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
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, SECRET_FILE_MODE)  # never readable by others
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    os.replace(tmp, path)
    _protect(path)
    return path


def _private_dir(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True, mode=SECRET_DIR_MODE)
    os.chmod(directory, SECRET_DIR_MODE)


def _protect(path: Path) -> None:
    """0600 on the PEM and on the key/cert files LocalStack derives from it (created now if absent)."""
    os.chmod(path, SECRET_FILE_MODE)
    for derived in (Path(f"{path}.key"), Path(f"{path}.crt")):
        fd = os.open(derived, os.O_WRONLY | os.O_CREAT, SECRET_FILE_MODE)
        os.close(fd)
        os.chmod(derived, SECRET_FILE_MODE)
