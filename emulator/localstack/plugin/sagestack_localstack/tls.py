"""Generate the key+certificate PEM LocalStack serves HTTPS with (CUSTOM_SSL_CERT_PATH).

LocalStack normally downloads its certificate; offline that fails, and its built-in
self-signed fallback crashes with current pyOpenSSL (docs/ARCHITECTURE.md, "LocalStack on the host"). A self-signed cert for
localhost / localhost.localstack.cloud / 127.0.0.1 made with `cryptography` (a LocalStack
dependency) is all it needs.

The PEM holds a private key, so it is written 0600 in a 0700 directory, and so are the `.key` and
`.crt` files split out of it next to it (`<pem>.key`, `<pem>.crt`, as LocalStack's utils/crypto.py
names them): written here, created with mode 0600 before anything is written into them (LocalStack's
own split, when it runs, opens them with `open(..., "w+")`, which keeps an existing file's mode).
A PEM left 0644 by an older kit is tightened the next time it is ensured.

When it is made: the kit's gateway server (gateway_server.py) needs it only for the first HTTPS
connection and ensures it then (patches/tls_certificate_on_demand.py); LocalStack's twisted server
needs it when it starts.
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
    if path.exists() and b"BEGIN CERTIFICATE" in (existing := path.read_bytes()):
        _protect(path)
        _write_split_files(path, existing)
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
    _write_split_files(path, pem)
    return path


def split_paths(path: Path) -> tuple[Path, Path]:
    """(certificate file, key file) split out of the PEM at `path`, named as LocalStack names them."""
    return Path(f"{path}.crt"), Path(f"{path}.key")


def _write_split_files(path: Path, pem: bytes) -> None:
    """The key and the certificate of `pem` in files of their own (created 0600 by `_protect`)."""
    text = pem.decode("ascii")
    key_start = text.index("-----BEGIN ")
    key_end = text.index("-----", text.index("-----END ") + 9) + 5
    cert_start = text.index("-----BEGIN CERTIFICATE-----")
    cert_file, key_file = split_paths(path)
    for target, content in ((key_file, text[key_start:key_end] + "\n"), (cert_file, text[cert_start:])):
        if target.read_text() != content:
            with open(target, "w") as fh:  # the mode set by _protect stays
                fh.write(content)


def _private_dir(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True, mode=SECRET_DIR_MODE)
    os.chmod(directory, SECRET_DIR_MODE)


def _protect(path: Path) -> None:
    """0600 on the PEM and on the key/cert files LocalStack derives from it (created now if absent)."""
    os.chmod(path, SECRET_FILE_MODE)
    for derived in split_paths(path):
        fd = os.open(derived, os.O_WRONLY | os.O_CREAT, SECRET_FILE_MODE)
        os.close(fd)
        os.chmod(derived, SECRET_FILE_MODE)
