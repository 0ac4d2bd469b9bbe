"""SageMaker Runtime's InvokeEndpoint: the emulator's hot path, as a pipeline of named steps.

`POST /endpoints/{EndpointName}/invocations` (rest-json, botocore's sagemaker-runtime
model). A reader follows a request by step, each with one home:

1. limits   - body size, at the edge, before anything reads the body     `limits.py`
2. auth     - SigV4 (off / access-key / signature)                        `auth.py`
3. route    - endpoint name -> the published, immutable route             `serving.Router`
4. limits   - the constrained request headers (botocore's model)          `limits.py`
5. variant  - X-Amzn-SageMaker-Target-Variant, or a weighted draw         `serving.EndpointRoute`
6. parse    - Content-Type/Accept, then the body (CSV's one home)         `payloads.py`
7. score    - one row in pure Python, or the numpy matrix path           `predict.py`
8. render   - the Accept type's body                                      `payloads.py`
9. log      - one deque append; a thread writes the JSON lines            `logs.py`

`InvocationHandler.invoke` runs them synchronously and never raises. Transports:
`fastpath.InvocationProtocol` calls it inside uvicorn's parser callbacks for small bodies
(no ASGI cycle); `InvocationHandler.__call__` is the ASGI entry for everything else and runs
bodies over `limits.INLINE_BODY_BYTES` in a thread pool sized for the machine, so a 6 MB
request never holds the event loop while one-row requests wait.

Errors are SageMaker's: unknown endpoint or one not InService -> ValidationError 400
"Endpoint {name} of account {account} not found."; body over 6291456 bytes, bad header
values -> ValidationError 400; a payload the Linear Learner container rejects -> ModelError
424 with OriginalStatusCode, OriginalMessage and LogStreamArn.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable

from emulator.sagemaker import limits, payloads, xgboost_serving
from emulator.sagemaker.auth import Authenticator
from emulator.sagemaker.config import EmulatorConfig
from emulator.sagemaker.errors import AuthError, ModelError, RuntimeValidationError, ServiceError
from emulator.sagemaker.logs import RequestLog
from emulator.sagemaker.predict import predict
from emulator.sagemaker.serving import EndpointRoute, Router, ServingVariant
from training.inference import InferenceInputError

log = logging.getLogger("sagestack.sagemaker.runtime")

PREFIX, SUFFIX = "/endpoints/", "/invocations"

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Response = tuple[int, list[tuple[bytes, bytes]], bytes]


def worker_count() -> int:
    """Threads for big requests: one per core (numpy's parser and products release the GIL
    for part of their work), at least 2 so one big request never queues behind another, at
    most 8."""
    return max(2, min(8, os.cpu_count() or 1))


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
        self._pool: ThreadPoolExecutor | None = None

    # --- transports -----------------------------------------------------------------------------

    @property
    def pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=worker_count(), thread_name_prefix="invoke")
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    @staticmethod
    async def _read_body(receive: Receive) -> tuple[bytes, int]:
        """The body, or (b"", size) as soon as it exceeds the limit: nothing past the limit is
        buffered, and the server discards the rest once the answer is sent."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limits.MAX_BODY_BYTES:
                return b"", size
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        return (chunks[0] if len(chunks) == 1 else b"".join(chunks)), size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry: the transport for chunked, large or unusual requests."""
        declared = _content_length(scope["headers"])
        if declared is not None and declared > limits.MAX_BODY_BYTES:
            body, size = b"", declared  # refused before reading a byte of it
        else:
            body, size = await self._read_body(receive)
        args = (scope["method"], scope["path"][len(PREFIX):-len(SUFFIX)], scope["headers"], body, size,
                scope.get("raw_path") or scope["path"].encode(), scope.get("query_string", b""))
        if limits.INLINE_BODY_BYTES < size <= limits.MAX_BODY_BYTES:
            status, headers, output = await asyncio.get_running_loop().run_in_executor(self.pool, self.invoke, *args)
        else:
            status, headers, output = self.invoke(*args)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": output})

    # --- the pipeline ---------------------------------------------------------------------------

    def invoke(
        self,
        method: str,
        name: str,
        header_list: list[tuple[bytes, bytes]],
        body: bytes,
        size: int,
        raw_path: bytes,
        query: bytes,
    ) -> Response:
        """One InvokeEndpoint, synchronously: (status, response headers, body). Never raises."""
        started = time.perf_counter()
        request_id = self.request_ids.next()
        headers = dict(header_list)  # header names are lower-case bytes
        variant_name = None
        try:
            if method != "POST":
                raise RuntimeValidationError(f"InvokeEndpoint requires POST, got {method}.", status=405)
            limits.check_body_size(size)
            if self._auth_enabled:
                self._authenticate(method, header_list, raw_path, query, body)
            route = self._route(name)
            limits.check_headers(headers)
            variant = self._choose_variant(route, name, headers)
            variant_name = variant.name
            output, response_type = self._predict(name, variant, headers, body)
            response_headers = [
                _CONTENT_TYPES.get(response_type) or (b"content-type", response_type.encode()),
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

    def _route(self, name: str) -> EndpointRoute:
        route = self.router.get(name)
        if route is None:
            problem = limits.violation(limits.ENDPOINT_NAME_RULE, name)
            if problem:
                raise RuntimeValidationError(f"1 validation error detected: {problem}")
            raise RuntimeValidationError(f"Endpoint {name} of account {self.config.account_id} not found.")
        return route

    def _choose_variant(self, route: EndpointRoute, name: str, headers: dict[bytes, bytes]) -> ServingVariant:
        if b"x-amzn-sagemaker-target-model" in headers:
            # Every emulated endpoint is single-model (Linear Learner), as SageMaker words it.
            raise RuntimeValidationError(
                f"Endpoint {name} is not a multi-model endpoint and does not support target model header."
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
            return variant
        variant = route.single or route.pick(self.rng)
        if variant is None:
            raise RuntimeValidationError(
                f"Endpoint {name} has no production variant with a weight above 0; set a weight with "
                "UpdateEndpointWeightsAndCapacities or send X-Amzn-SageMaker-Target-Variant."
            )
        return variant

    def _predict(self, name: str, variant: ServingVariant, headers: dict[bytes, bytes], body: bytes) -> tuple[bytes, str]:
        """Parse, score and render (`predict.py`); the container's rejections become ModelError."""
        content_type = headers.get(b"content-type")
        accept = headers.get(b"accept")
        if variant.scorer is None:  # not Linear Learner: the algorithm's own container answers (XGBoost)
            try:
                response_type, output = xgboost_serving.invoke(
                    variant.model,
                    content_type.decode("latin-1") if content_type is not None else None,
                    accept.decode("latin-1") if accept is not None else None,
                    body,
                )
            except payloads.PayloadError as exc:
                raise self._model_error(name, exc.status, exc.message) from None
            return output, response_type
        try:
            media = self._request_formats.get(content_type) or self._request_format(content_type)
            response_type = self._response_formats.get(accept) or self._response_format(accept)
            return predict(variant, media, response_type, body), response_type
        except payloads.PayloadError as exc:
            raise self._model_error(name, exc.status, exc.message) from None
        except InferenceInputError as exc:
            raise self._model_error(name, 400, str(exc)) from None

    # --- helpers ----------------------------------------------------------------------------------

    def _model_error(self, endpoint: str, status: int, message: str) -> ModelError:
        region = self.config.region
        return ModelError(
            f'Received client error ({status}) from primary with message "{message}". See '
            f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logEventViewer:group="
            f"/aws/sagemaker/Endpoints/{endpoint} in account {self.config.account_id} for more information.",
            ErrorCode="CLIENT_ERROR_FROM_MODEL",
            OriginalStatusCode=status,
            OriginalMessage=message,
            LogStreamArn=f"arn:{self.config.partition}:logs:{region}:{self.config.account_id}:log-group:/aws/sagemaker/Endpoints/{endpoint}",
        )

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
    def _error_response(error: ServiceError, request_id: str) -> Response:
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


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for key, value in headers:
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
