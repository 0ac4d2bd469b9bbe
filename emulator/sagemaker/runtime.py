"""SageMaker Runtime's InvokeEndpoint as a bare ASGI handler: the emulator's hot path.

`POST /endpoints/{EndpointName}/invocations` (rest-json, botocore's sagemaker-runtime
model). No framework routing or pydantic here: headers are read once from the ASGI scope,
the route is a dict lookup, CSV goes through numpy's C parser and scoring is one matrix
product. Everything a client can send ends in a response; the errors are SageMaker's:

- unknown endpoint, or one not InService -> ValidationError 400
  "Endpoint {name} of account {account} not found."
- body over 6291456 bytes, bad header values -> ValidationError 400
- payload the Linear Learner container rejects -> ModelError 424 with OriginalStatusCode,
  OriginalMessage and LogStreamArn, Message "Received client error (400) from primary ..."
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import random
import re
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from emulator.sagemaker import payloads
from emulator.sagemaker.auth import Authenticator
from emulator.sagemaker.config import EmulatorConfig
from emulator.sagemaker.errors import AuthError, ModelError, RuntimeValidationError, ServiceError
from emulator.sagemaker.logs import RequestLog
from emulator.sagemaker.serving import Router
from emulator.sagemaker.shapes import RUNTIME_SERVICE_NAME, compiled_pattern, service_model
from training.inference import InferenceInputError, score_matrix

log = logging.getLogger("sagestack.sagemaker.runtime")

# Past this we stop buffering and only count, so a huge upload cannot exhaust memory.
DISCARD_LIMIT = 64 * 1024 * 1024
PREFIX, SUFFIX = "/endpoints/", "/invocations"

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class HeaderRule:
    """A request header's constraints, read from botocore's sagemaker-runtime model."""

    member: str  # AWS's name for it in validation messages (lower camel case)
    low: int | None
    high: int | None
    pattern: str | None
    compiled: re.Pattern[str] | None


def _input_rules() -> tuple[dict[bytes, HeaderRule], HeaderRule, int]:
    shape = service_model(RUNTIME_SERVICE_NAME).operation_model("InvokeEndpoint").input_shape
    rules: dict[bytes, HeaderRule] = {}
    name_rule = None
    for member_name, member in shape.members.items():
        meta = member.metadata
        pattern = meta.get("pattern")
        rule = HeaderRule(
            member_name[:1].lower() + member_name[1:],
            meta.get("min"),
            meta.get("max"),
            pattern,
            compiled_pattern(pattern) if pattern else None,
        )
        if member.serialization.get("location") == "header" and member_name not in ("ContentType", "Accept"):
            rules[member.serialization["name"].lower().encode()] = rule
        elif member_name == "EndpointName":
            name_rule = rule
    assert name_rule is not None
    return rules, name_rule, shape.members["Body"].metadata["max"]


HEADER_RULES, ENDPOINT_NAME_RULE, MAX_BODY_BYTES = _input_rules()  # MAX_BODY_BYTES == 6291456


def _violation(rule: HeaderRule, value: str) -> str | None:
    shown = value if len(value) <= 80 else value[:77] + "..."
    if rule.high is not None and len(value) > rule.high:
        return f"Value '{shown}' at '{rule.member}' failed to satisfy constraint: Member must have length less than or equal to {rule.high}"
    if rule.low is not None and len(value) < rule.low:
        return f"Value '{shown}' at '{rule.member}' failed to satisfy constraint: Member must have length greater than or equal to {rule.low}"
    if rule.compiled is not None and rule.compiled.fullmatch(value) is None:
        return f"Value '{shown}' at '{rule.member}' failed to satisfy constraint: Member must satisfy regular expression pattern: {rule.pattern}"
    return None


class RequestIds:
    """UUID-shaped request ids (like AWS's x-amzn-RequestId): a random per-process prefix plus a
    counter — unique within a run at a fraction of uuid4's cost on the hot path."""

    def __init__(self) -> None:
        prefix = os.urandom(8).hex()
        self._prefix = f"{prefix[:8]}-{prefix[8:12]}-{prefix[12:16]}-"
        self._counter = itertools.count(1)

    def next(self) -> str:
        tail = f"{next(self._counter) & 0xFFFFFFFFFFFFFFFF:016x}"
        return f"{self._prefix}{tail[:4]}-{tail[4:]}"


def _single_row_csv(body: bytes, dim: int) -> list[float] | None:
    """The one-row CSV the Lambda sends, parsed without numpy; None means "use the general path"."""
    newline = body.find(b"\n")
    if newline != -1 and body[newline:].strip():
        return None  # several rows: numpy's parser
    if b"_" in body:
        return None  # a form Python's float() accepts but the CSV reader must refuse
    parts = body.split(b",")
    if len(parts) != dim:
        return None
    try:
        return list(map(float, parts))
    except ValueError:
        return None


_CONTENT_TYPES = {media: (b"content-type", media.encode()) for media in payloads.RESPONSE_TYPES}


def is_invocation(scope: Scope) -> bool:
    path = scope["path"]
    return path.startswith(PREFIX) and path.endswith(SUFFIX)


class InvocationHandler:
    def __init__(self, router: Router, config: EmulatorConfig, request_log: RequestLog, auth: Authenticator):
        self.router = router
        self.config = config
        self.request_log = request_log
        self.auth = auth
        self.rng = random.Random()
        self._log = request_log.append
        self._auth_enabled = auth.enabled
        self.request_ids = RequestIds()
        self._request_formats: dict[bytes | None, str] = {}
        self._response_formats: dict[bytes | None, str] = {}

    def _log_stream(self, endpoint: str) -> str:
        return f"arn:{self.config.partition}:logs:{self.config.region}:{self.config.account_id}:log-group:/aws/sagemaker/Endpoints/{endpoint}"

    def _model_error(self, endpoint: str, status: int, message: str) -> ModelError:
        region = self.config.region
        return ModelError(
            f'Received client error ({status}) from primary with message "{message}". See '
            f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logEventViewer:group="
            f"/aws/sagemaker/Endpoints/{endpoint} in account {self.config.account_id} for more information.",
            ErrorCode="CLIENT_ERROR_FROM_MODEL",
            OriginalStatusCode=status,
            OriginalMessage=message,
            LogStreamArn=self._log_stream(endpoint),
        )

    @staticmethod
    async def _read_body(receive: Receive) -> tuple[bytes, int]:
        message = await receive()
        body = message.get("body", b"")
        if not message.get("more_body"):
            return body, len(body)  # the usual case: the whole body arrived in one message
        chunks, size = [body], len(body)
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size <= DISCARD_LIMIT:
                chunks.append(chunk)
            if not message.get("more_body"):
                break
        return b"".join(chunks), size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry (any ASGI server; uvicorn normally uses `fastpath.InvocationProtocol`)."""
        body, size = await self._read_body(receive)
        status, headers, output = self.invoke(
            scope["method"],
            scope["path"][len(PREFIX):-len(SUFFIX)],
            scope["headers"],
            body,
            size,
            scope.get("raw_path") or scope["path"].encode(),
            scope.get("query_string", b""),
        )
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": output})

    def invoke(
        self,
        method: str,
        name: str,
        header_list: list[tuple[bytes, bytes]],
        body: bytes,
        size: int,
        raw_path: bytes,
        query: bytes,
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """One InvokeEndpoint, synchronously: (status, response headers, body). Never raises."""
        started = time.perf_counter()
        request_id = self.request_ids.next()
        headers = dict(header_list)  # header names are lower-case bytes
        variant_name = None
        try:
            if method != "POST":
                raise RuntimeValidationError(f"InvokeEndpoint requires POST, got {method}.", status=405)
            if self._auth_enabled:
                self._authenticate(method, header_list, raw_path, query, body)
            route = self.router.get(name)
            if route is None:
                problem = _violation(ENDPOINT_NAME_RULE, name)
                if problem:
                    raise RuntimeValidationError(f"1 validation error detected: {problem}")
                raise RuntimeValidationError(f"Endpoint {name} of account {self.config.account_id} not found.")
            checked = HEADER_RULES.keys() & headers.keys()
            if checked:
                self._check_headers([(key, headers[key]) for key in sorted(checked)])
                if b"x-amzn-sagemaker-target-model" in checked:
                    # Every emulated endpoint is single-model (Linear Learner), as SageMaker words it.
                    raise RuntimeValidationError(
                        f"Endpoint {name} is not a multi-model endpoint and does not support target model header."
                    )
            if size > MAX_BODY_BYTES:
                raise RuntimeValidationError(
                    f"1 validation error detected: Value at 'body' failed to satisfy constraint: Member must have "
                    f"length less than or equal to {MAX_BODY_BYTES} (the request body is {size} bytes; split it "
                    "into smaller requests or use batch transform)"
                )
            target_variant = headers.get(b"x-amzn-sagemaker-target-variant")
            if target_variant is not None:
                variant = route.variant(target_variant.decode("latin-1"))
                if variant is None:
                    raise RuntimeValidationError(
                        f"The variant {target_variant.decode('latin-1')} specified in the X-Amzn-SageMaker-Target-Variant "
                        f"header is not a production variant of endpoint {name}; use one of: "
                        f"{', '.join(v.name for v in route.variants)}."
                    )
            else:
                variant = route.single or route.pick(self.rng)
                if variant is None:
                    raise RuntimeValidationError(
                        f"Endpoint {name} has no production variant with a weight above 0; set a weight with "
                        "UpdateEndpointWeightsAndCapacities or send X-Amzn-SageMaker-Target-Variant."
                    )
            variant_name = variant.name
            content_type = headers.get(b"content-type")
            accept = headers.get(b"accept")
            try:
                media = self._request_formats.get(content_type) or self._request_format(content_type)
                response_type = self._response_formats.get(accept) or self._response_format(accept)
                output = None
                if media == payloads.CSV and response_type == payloads.JSON:
                    row = _single_row_csv(body, variant.model.feature_dim)
                    scored = variant.scorer.score(row) if row is not None else None
                    if scored is not None:
                        output = payloads.render_one_json(*scored)
                if output is None:
                    matrix = payloads.parse_request(media, body, variant.model.feature_dim)
                    scores, labels = score_matrix(variant.model, matrix)
                    output = payloads.render(response_type, scores, labels)
            except payloads.PayloadError as exc:
                raise self._model_error(name, exc.status, exc.message) from None
            except InferenceInputError as exc:
                raise self._model_error(name, 400, str(exc)) from None
            response_headers = [
                _CONTENT_TYPES[response_type],
                variant.header,
                (b"x-amzn-requestid", request_id.encode()),
                (b"content-length", b"%d" % len(output)),
            ]
            custom = headers.get(b"x-amzn-sagemaker-custom-attributes")
            if custom is not None:
                response_headers.append((b"x-amzn-sagemaker-custom-attributes", custom))
            self._log((time.time(), request_id, "runtime", name, variant_name, 200, None, started, time.perf_counter(), size, len(output)))
            return 200, response_headers, output
        except ServiceError as error:
            failure = error
        except Exception as exc:  # never a crash: answer like SageMaker's InternalFailure and log the cause
            log.exception("unexpected error invoking %s", name)
            failure = ServiceError(f"An internal error occurred in the SageMaker emulator: {type(exc).__name__}: {exc}")
        status, response_headers, output = self._error_response(failure, request_id)
        self._log((time.time(), request_id, "runtime", name, variant_name, status, failure.code, started, time.perf_counter(), size, 0))
        return status, response_headers, output

    def _authenticate(self, method: str, header_list: list[tuple[bytes, bytes]], raw_path: bytes, query: bytes, body: bytes) -> None:
        headers_map: dict[str, list[str]] = {}
        for key, value in header_list:
            headers_map.setdefault(key.decode("latin-1"), []).append(value.decode("latin-1"))
        self.auth.check(method, raw_path.decode("latin-1"), query.decode("latin-1"), headers_map, body)

    def _request_format(self, content_type: bytes | None) -> str:
        media = payloads.request_format(content_type.decode("latin-1") if content_type is not None else None)
        return self._remember(self._request_formats, content_type, media)

    def _response_format(self, accept: bytes | None) -> str:
        media = payloads.response_format(accept.decode("latin-1") if accept is not None else None)
        return self._remember(self._response_formats, accept, media)

    @staticmethod
    def _remember(cache: dict[bytes | None, str], key: bytes | None, value: str) -> str:
        if len(cache) < 256:  # header values are client-chosen: bound the cache
            cache[key] = value
        return value

    @staticmethod
    def _check_headers(checks: list[tuple[bytes, bytes]]) -> None:
        problems = []
        for key, raw in checks:
            problem = _violation(HEADER_RULES[key], raw.decode("latin-1"))
            if problem:
                problems.append(problem)
        if problems:
            noun = "error" if len(problems) == 1 else "errors"
            raise RuntimeValidationError(f"{len(problems)} validation {noun} detected: " + "; ".join(problems))

    @staticmethod
    def _error_response(error: ServiceError, request_id: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        body = {"message": error.message, **error.fields}
        if isinstance(error, AuthError):
            body = {"__type": error.code, "message": error.message}
        data = json.dumps(body).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"x-amzn-errortype", error.code.encode()),
            (b"x-amzn-requestid", request_id.encode()),
            (b"content-length", b"%d" % len(data)),
        ]
        return error.status, headers, data
