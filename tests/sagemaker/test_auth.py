"""`--auth signature` checks what AWS checks: the request time (15 minutes either way), the
credential scope (region, service), and the signature over the body as received — so a
captured request replayed with another body fails. Signed by botocore's own SigV4Auth."""

from __future__ import annotations

import hashlib
import re
import time
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from emulator.sagemaker.auth import Authenticator
from emulator.sagemaker.errors import AuthError

BODY = b'{"ModelName": "keep-me"}'


def _signed(body: bytes = BODY, *, region: str = "us-east-1", service: str = "sagemaker", extra: dict | None = None) -> AWSRequest:
    request = AWSRequest(method="POST", url="http://127.0.0.1:4567/", data=body,
                         headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "SageMaker.DeleteModel",
                                  **(extra or {})})
    SigV4Auth(Credentials("test", "test"), service, region).add_auth(request)
    return request


def _check(auth: Authenticator, request: AWSRequest, body: bytes | None = None) -> None:
    url = urlsplit(request.url)
    headers = {key.lower(): [value] for key, value in request.headers.items()}
    headers["host"] = [url.netloc]
    auth.check("POST", url.path, url.query, headers, request.body if body is None else body)


def _refusal(auth: Authenticator, request: AWSRequest, body: bytes | None = None) -> AuthError:
    with pytest.raises(AuthError) as info:
        _check(auth, request, body)
    return info.value


def test_a_fresh_botocore_signature_passes():
    _check(Authenticator("signature", {"test": "test"}), _signed())


@pytest.mark.parametrize("shift, wording", [
    (16 * 60, r"Signature expired: (\d{8}T\d{6}Z) is now earlier than (\d{8}T\d{6}Z) \((\d{8}T\d{6}Z) - 15 min\.\)"),
    (-16 * 60, r"Signature not yet current: (\d{8}T\d{6}Z) is still later than (\d{8}T\d{6}Z) \((\d{8}T\d{6}Z) \+ 15 min\.\)"),
])
def test_a_request_time_off_by_more_than_15_minutes_is_refused_in_aws_words(shift, wording):
    request = _signed()
    error = _refusal(Authenticator("signature", {"test": "test"}, clock=lambda: time.time() + shift), request)
    assert error.code == "InvalidSignatureException"
    match = re.fullmatch(wording, error.message)
    assert match, error.message
    assert match.group(1) == request.headers["X-Amz-Date"]
    # ... and 14 minutes either way still passes
    _check(Authenticator("signature", {"test": "test"}, clock=lambda: time.time() + shift * 14 / 16), request)


def test_a_2015_request_is_expired():
    request = _signed()
    request.headers.replace_header("X-Amz-Date", "20150101T000000Z")
    error = _refusal(Authenticator("signature", {"test": "test"}), request)
    assert error.code == "InvalidSignatureException" and error.message.startswith("Signature expired: 20150101T000000Z is now earlier than ")
    assert error.status == 400  # as AWS's JSON services answer a skewed clock


def test_the_credential_scope_must_name_this_region_and_service():
    auth = Authenticator("signature", {"test": "test"}, region="eu-west-1")
    _check(auth, _signed(region="eu-west-1"))
    error = _refusal(auth, _signed(region="us-east-1"))
    assert (error.code, error.message) == ("InvalidSignatureException", "Credential should be scoped to a valid region, not 'us-east-1'.")
    error = _refusal(auth, _signed(region="eu-west-1", service="s3"))
    assert (error.code, error.message) == ("InvalidSignatureException", "Credential should be scoped to correct service: 'sagemaker'.")


def test_a_captured_request_replayed_with_another_body_fails():
    auth = Authenticator("signature", {"test": "test"})
    captured = _signed()
    assert _refusal(auth, captured, b'{"ModelName": "someone-elses"}').code == "InvalidSignatureException"
    # a signed x-amz-content-sha256 naming the original body does not vouch for a new body
    with_hash = _signed(extra={"X-Amz-Content-SHA256": hashlib.sha256(BODY).hexdigest()})
    _check(auth, with_hash)
    assert _refusal(auth, with_hash, b'{"ModelName": "someone-elses"}').code == "InvalidSignatureException"
