"""Optional SigV4 checking, so a wrong credential gets AWS's error instead of silently working.

Modes (`--auth`): "off" accepts anything (the default, like LocalStack); "access-key"
requires the Authorization header's access key to be one the emulator knows
(UnrecognizedClientException otherwise); "signature" checks what AWS checks, in AWS's
order: the request time (X-Amz-Date) within 15 minutes of the server's clock, the credential
scope (date, region, service `sagemaker`, terminator), the access key, then the AWS Signature
Version 4 recomputed with that key's secret over the request *as received* — the payload hash
is always computed from the body, so a captured request replayed with another body fails
(InvalidSignatureException), whatever its `x-amz-content-sha256` header claims. The algorithm
is the one botocore's `SigV4Auth` implements for non-S3 services; the messages are AWS's
(the Coral front end's wording, as SDK users report it).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import datetime, timedelta, timezone
from typing import Callable
from urllib.parse import parse_qsl, quote

from contract import names
from emulator.sagemaker.errors import (
    AuthError,
    incomplete_signature,
    invalid_signature,
    missing_authentication,
    unrecognized_client,
)

ALGORITHM = "AWS4-HMAC-SHA256"
SIGNING_NAME = "sagemaker"  # botocore's signingName for both sagemaker and sagemaker-runtime
MAX_SKEW = timedelta(minutes=15)
_AMZ_DATE = "%Y%m%dT%H%M%SZ"


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


def _stamp(moment: datetime) -> str:
    return moment.strftime(_AMZ_DATE)


# AWS's JSON-protocol services answer a skewed clock with 400, not 403 (reports of real answers from
# DynamoDB, Kinesis, ECR and Rekognition: `InvalidSignatureException ... statusCode: 400`).
SKEW_STATUS = 400


def request_time(amz_date: str, now: datetime) -> datetime:
    """X-Amz-Date as a UTC time, refused as AWS refuses it when malformed or off by more than 15 minutes."""
    try:
        signed_at = datetime.strptime(amz_date, _AMZ_DATE).replace(tzinfo=timezone.utc)
    except ValueError:
        raise incomplete_signature(
            f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601"
        ) from None
    if signed_at < now - MAX_SKEW:
        raise AuthError(
            f"Signature expired: {amz_date} is now earlier than {_stamp(now - MAX_SKEW)} ({_stamp(now)} - 15 min.)",
            code="InvalidSignatureException",
            status=SKEW_STATUS,
        )
    if signed_at > now + MAX_SKEW:
        raise AuthError(
            f"Signature not yet current: {amz_date} is still later than {_stamp(now + MAX_SKEW)} ({_stamp(now)} + 15 min.)",
            code="InvalidSignatureException",
            status=SKEW_STATUS,
        )
    return signed_at


def scope_problems(credential: list[str], amz_date: str, region: str, service: str) -> str:
    """AWS's messages for a credential scope that does not fit this endpoint ('' when it fits)."""
    _, date, scope_region, scope_service, terminator = credential
    problems = []
    if scope_region != region:
        problems.append(f"Credential should be scoped to a valid region, not '{scope_region}'. ")
    if scope_service != service:
        problems.append(f"Credential should be scoped to correct service: '{service}'. ")
    if terminator != "aws4_request":
        problems.append(f"Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'. ")
    if date != amz_date[:8]:
        problems.append(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{date}' != '{amz_date[:8]}', from '{amz_date}'."
        )
    return "".join(problems).strip()


class Authenticator:
    def __init__(
        self,
        mode: str,
        access_keys: dict[str, str],
        region: str = names.DEFAULT_REGION,
        service: str = SIGNING_NAME,
        clock: Callable[[], float] = time.time,
    ):
        self.mode = mode
        self.access_keys = access_keys
        self.region = region
        self.service = service
        self.clock = clock  # injectable so tests can move "now" instead of sleeping

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
        if len(credential) != 5:
            raise incomplete_signature(
                "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, "
                f"got '{parts['Credential']}'"
            )
        if self.mode != "signature":
            if self.access_keys.get(credential[0]) is None:
                raise unrecognized_client()
            return
        amz_date = (headers.get("x-amz-date") or [""])[0]
        if not amz_date:
            raise incomplete_signature("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
        request_time(amz_date, datetime.fromtimestamp(self.clock(), timezone.utc))
        problems = scope_problems(credential, amz_date, self.region, self.service)
        if problems:
            raise AuthError(problems, code="InvalidSignatureException")
        secret = self.access_keys.get(credential[0])
        if secret is None:
            raise unrecognized_client()
        signed = parts["SignedHeaders"].split(";")
        # The body as received decides the hash, never a header the sender chose: a header that
        # disagrees with the body was signed over another body, and the signature fails below.
        payload_hash = hashlib.sha256(body).hexdigest()
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
