"""Optional SigV4 checking, so a wrong credential gets AWS's 403 instead of silently working.

Modes (`--auth`): "off" accepts anything (the default, like LocalStack); "access-key"
requires the Authorization header's access key to be one the emulator knows
(UnrecognizedClientException otherwise); "signature" also recomputes the AWS Signature
Version 4 with that key's secret (InvalidSignatureException on mismatch), following the
algorithm botocore's `SigV4Auth` implements for non-S3 services.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl, quote

from emulator.sagemaker.errors import (
    incomplete_signature,
    invalid_signature,
    missing_authentication,
    unrecognized_client,
)

ALGORITHM = "AWS4-HMAC-SHA256"


def _parse_authorization(value: str) -> dict[str, str]:
    if not value.startswith(ALGORITHM + " "):
        raise incomplete_signature(
            f"Authorization header requires the {ALGORITHM} algorithm; sign requests with SigV4 (any AWS SDK does)."
        )
    parts: dict[str, str] = {}
    for item in value[len(ALGORITHM) + 1:].split(","):
        key, _, val = item.strip().partition("=")
        if key:
            parts[key] = val
    for required in ("Credential", "SignedHeaders", "Signature"):
        if required not in parts:
            raise incomplete_signature(
                f"Authorization header requires '{required}' parameter. Authorization={value[:200]}"
            )
    return parts


def _canonical_headers(headers: dict[str, list[str]], signed: list[str]) -> str:
    lines = []
    for name in signed:
        values = headers.get(name, [])
        joined = ",".join(" ".join(v.split()) for v in values)
        lines.append(f"{name}:{joined}")
    return "\n".join(lines) + "\n"


def _canonical_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    encoded = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def _sign(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


class Authenticator:
    def __init__(self, mode: str, access_keys: dict[str, str]):
        self.mode = mode
        self.access_keys = access_keys

    @property
    def enabled(self) -> bool:
        return self.mode != "off"

    def check(self, method: str, raw_path: str, query: str, headers: dict[str, list[str]], body: bytes) -> None:
        """Raise an AuthError for a request AWS would refuse; `headers` keys are lower-case."""
        if not self.enabled:
            return
        authorization = (headers.get("authorization") or [""])[0]
        if not authorization:
            raise missing_authentication()
        parts = _parse_authorization(authorization)
        credential = parts["Credential"].split("/")
        if len(credential) != 5 or credential[4] != "aws4_request":
            raise incomplete_signature(f"Credential must be <key>/<date>/<region>/<service>/aws4_request, got {parts['Credential']!r}")
        access_key = credential[0]
        secret = self.access_keys.get(access_key)
        if secret is None:
            raise unrecognized_client()
        if self.mode != "signature":
            return
        amz_date = (headers.get("x-amz-date") or [""])[0]
        if not amz_date:
            raise incomplete_signature("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
        signed = parts["SignedHeaders"].split(";")
        payload_hash = (headers.get("x-amz-content-sha256") or [""])[0] or hashlib.sha256(body).hexdigest()
        canonical_request = "\n".join(
            [
                method,
                quote(raw_path or "/", safe="/~"),
                _canonical_query(query),
                _canonical_headers(headers, signed),
                parts["SignedHeaders"],
                payload_hash,
            ]
        )
        scope = "/".join(credential[1:])
        string_to_sign = "\n".join(
            [ALGORITHM, amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
        )
        key = _sign(("AWS4" + secret).encode(), credential[1])
        for part in credential[2:]:
            key = _sign(key, part)
        expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, parts["Signature"]):
            raise invalid_signature()
