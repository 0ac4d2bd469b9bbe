"""SageMaker's control plane and runtime on LocalStack's port: requests are forwarded to the emulator.

Community LocalStack has no SageMaker: a client pointed at the single endpoint every local-AWS
user expects (`AWS_ENDPOINT_URL=http://localhost:4566`) gets `InternalFailure: The API for
service sagemaker-runtime is either not included in your current license plan or has not yet
been emulated by LocalStack`, and a Lambda function written for AWS (the 2018 blog's, with only
ENDPOINT_NAME set) cannot reach the model, although LocalStack already gives every function
AWS_ENDPOINT_URL pointing at itself.

A handler in LocalStack's `preprocess_request` chain (it runs before LocalStack parses the
service request, so nothing is re-serialised) recognises a SageMaker request and relays it,
raw, to the sagestack emulator (`SAGESTACK_SAGEMAKER_URL`, set by the launcher): same method,
raw path and query, headers (Host included, so a SigV4 signature still verifies), body. The
emulator's answer comes back unchanged (status, headers such as x-amzn-errortype and
x-Amzn-Invoked-Production-Variant, body bytes): byte for byte what 4567 answers, errors included.
LocalStack's response handlers are skipped for it. An emulator that does not answer gives
SageMaker's 503 ServiceUnavailable saying where it was looked for and how to start it.

A request is SageMaker's when its SigV4 credential scope names the `sagemaker` signing service
(both APIs sign as `sagemaker`), or, unsigned, when it carries `X-Amz-Target: SageMaker.*` or is
a runtime invocation path (`/endpoints/<name>/invocations...`).
"""

from __future__ import annotations

import json
import logging
import os
import re

CHECKED_AGAINST = "2026.3.0"
# applied right after this module is first imported (patches/__init__.py): not at start-up
APPLY_ON_IMPORT = "localstack.aws.handlers"
TARGETS = ("localstack.aws.handlers.preprocess_request (a CompositeHandler extensions append to)",)
LOG = logging.getLogger(__name__)
ENV_SAGEMAKER_URL = "SAGESTACK_SAGEMAKER_URL"
SIGNING_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/sagemaker/aws4_request")
RUNTIME_PATH = re.compile(r"^/endpoints/[^/]+/(invocations|invocations-response-stream|async-invocations)$")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
UNREACHABLE_STATUS = 503
# a connect that does not complete (a listener whose backlog is full) fails instead of holding a gateway
# thread; no read limit: an answer takes as long as it takes on the emulator's own port
CONNECT_TIMEOUT_S = 10.0


def is_sagemaker_request(method: str, path: str, headers, query: dict | None = None) -> bool:
    """Whether a request is addressed to SageMaker (control plane or runtime)."""
    authorization = headers.get("Authorization") or ""
    if authorization:
        return bool(SIGNING_SCOPE.search(authorization))
    credential = (query or {}).get("X-Amz-Credential") or ""
    if credential:
        return "/sagemaker/aws4_request" in credential
    if (headers.get("X-Amz-Target") or "").startswith("SageMaker."):
        return True
    return method == "POST" and bool(RUNTIME_PATH.match(path))


class SageMakerForwarder:
    """Relays one request to the emulator over a pooled keep-alive connection."""

    def __init__(self, base_url: str) -> None:
        import urllib3

        self.base_url = base_url.rstrip("/")
        self.pool = urllib3.connection_from_url(
            self.base_url, maxsize=64, block=False, timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT_S, read=None)
        )

    def __call__(self, chain, context, response) -> None:
        request = context.request
        if not is_sagemaker_request(request.method, request.path, request.headers, request.args):
            return
        from rolo.request import get_raw_path

        target = get_raw_path(request)
        if request.query_string:
            target += "?" + request.query_string.decode("latin-1")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        body = request.get_data()
        try:
            answer = self.pool.urlopen(
                request.method, target, body=body, headers=headers, retries=False, redirect=False,
                preload_content=True, decode_content=False, assert_same_host=False,
            )
        except Exception as exc:  # connection refused, reset, timeout: the emulator is not there
            self._unreachable(response, exc)
        else:
            response.status_code = answer.status
            response.headers.clear()
            for key, value in answer.headers.iteritems():
                if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                    response.headers.add(key, value)
            response.set_data(answer.data)
        chain.terminate()  # the emulator's answer as is: no LocalStack response handler touches it

    def _unreachable(self, response, exc: Exception) -> None:
        message = (
            f"The SageMaker emulator at {self.base_url} did not answer ({type(exc).__name__}); "
            f"start it with `sagestack up` or `sagestack emulator`."
        )
        response.status_code = UNREACHABLE_STATUS
        response.headers.clear()
        response.headers["Content-Type"] = "application/x-amz-json-1.1"
        response.headers["x-amzn-errortype"] = "ServiceUnavailable"
        response.set_data(json.dumps({"__type": "ServiceUnavailable", "message": message, "Message": message}))


def apply() -> None:
    base_url = os.environ.get(ENV_SAGEMAKER_URL, "").strip()
    if not base_url:
        LOG.info("%s is not set: SageMaker requests on this port are not forwarded", ENV_SAGEMAKER_URL)
        return
    from localstack.aws import handlers

    handlers.preprocess_request.append(SageMakerForwarder(base_url))
