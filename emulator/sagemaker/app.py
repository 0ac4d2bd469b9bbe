"""The emulator's ASGI application: InvokeEndpoint fast path in front of a FastAPI control plane.

`EmulatorApp` looks at each request once: `POST /endpoints/{name}/invocations` goes to the
bare `runtime.InvocationHandler` (no routing framework on the hot path); everything else —
the awsJson1_1 control plane on `POST /` and the health route — is a small FastAPI app.
The lifespan is handled here: recover state before the first request, close on shutdown.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from contract import names
from emulator.sagemaker import s3
from emulator.sagemaker.artifacts import ArtifactStore
from emulator.sagemaker.channels import validate_input
from emulator.sagemaker.auth import Authenticator
from emulator.sagemaker.backend import SageMakerBackend
from emulator.sagemaker.config import EmulatorConfig
from emulator.sagemaker.control import JSON_CONTENT_TYPE, ControlPlane, error_body
from emulator.sagemaker.errors import AuthError, ServiceError
from emulator.sagemaker.limits import MAX_BODY_BYTES
from emulator.sagemaker.logs import RequestLog
from emulator.sagemaker.runtime import InvocationHandler, is_invocation
from emulator.sagemaker.serving import Router
from emulator.sagemaker.shapes import runtime_operation_at
from emulator.sagemaker.store import StateStore

log = logging.getLogger("sagestack.sagemaker")

HEALTH_PATHS = names.SAGEMAKER_HEALTH_PATHS
SERVICE_VERSION = "sagestack-sagemaker-emulator/1"


class LazyS3Client:
    """One boto3 S3 client, created on first use (client creation costs ~50 ms) and shared."""

    def __init__(self, config: EmulatorConfig):
        self.config = config
        self._client: Any = None
        self._lock = threading.Lock()

    def __call__(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = s3.make_s3_client(self.config.resolved_s3_endpoint_url, self.config.region)
        return self._client


class EmulatorApp:
    def __init__(self, config: EmulatorConfig):
        self.config = config
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.started_at = time.time()
        self.router = Router()
        self.store = StateStore(config.data_dir / "state.db")
        s3_client = LazyS3Client(config)
        self.artifacts = ArtifactStore(config.data_dir / "artifacts", s3_client)
        self.backend = SageMakerBackend(
            config, self.store, self.router, self.artifacts,
            channel_check=lambda params: validate_input(params, s3_client(), config.region),
        )
        self.request_log = RequestLog(config.request_log_path)
        self.auth = Authenticator(config.auth_mode, dict(config.access_keys), region=config.region)
        self.control = ControlPlane(self.backend)
        self.invocations = InvocationHandler(self.router, config, self.request_log, self.auth)
        self.api = self._build_api()
        self._started = False

    # --- lifecycle ----------------------------------------------------------------------------

    def startup(self) -> None:
        if self._started:
            return
        self.request_log.start()
        self.backend.recover()
        # Long-lived objects (modules, models, botocore's service model) leave the collector's
        # view, so the young-generation collections during request bursts stay short.
        gc.collect()
        gc.freeze()
        self._started = True

    def shutdown(self) -> None:
        if not self._started:
            return
        self._started = False
        self.invocations.close()
        self.backend.close()
        self.request_log.close()
        self.store.close()

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await run_in_threadpool(self.startup)
                except Exception as exc:
                    log.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await run_in_threadpool(self.shutdown)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http" and is_invocation(scope):
            await self.invocations(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        else:
            await self.api(scope, receive, send)

    # --- control plane and health ---------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        endpoints, jobs = self.backend.statuses()
        return {
            "status": "running",
            "service": "sagemaker",
            "version": SERVICE_VERSION,
            "uptime_seconds": round(time.time() - self.started_at, 1),
            "region": self.config.region,
            "data_dir": str(self.config.data_dir),
            "endpoints": endpoints,
            "serving": sorted(self.router.names()),
            "training_jobs": jobs,
        }

    def _build_api(self) -> FastAPI:
        api = FastAPI(title="sagestack SageMaker emulator", docs_url=None, redoc_url=None, openapi_url=None)
        app = self

        async def health() -> JSONResponse:
            return JSONResponse(app.health())

        for path in HEALTH_PATHS:
            api.add_api_route(path, health, methods=["GET"], include_in_schema=False)

        @api.post("/", include_in_schema=False)
        async def control_plane(request: Request) -> Response:
            started = time.perf_counter()
            request_id = str(uuid.uuid4())
            target = request.headers.get("x-amz-target")
            body = await _read_bounded(request, CONTROL_MAX_BODY_BYTES)
            if body is None:  # refused while reading: never buffered past the limit
                error = ServiceError(
                    f"The request body is larger than the {CONTROL_MAX_BODY_BYTES} bytes the SageMaker API accepts; "
                    "control-plane requests are small JSON documents (send data through S3).",
                    code="RequestEntityTooLargeException", status=413,
                )
                app.request_log.record(request_id, "control", target or "", None, error.status, error.code, started, 0, 0)
                return _aws_response(error.status, error_body(error), error.code, request_id)
            if app.auth.enabled:
                headers: dict[str, list[str]] = {}
                for key, value in request.scope["headers"]:
                    headers.setdefault(key.decode("latin-1"), []).append(value.decode("latin-1"))
                raw_path = (request.scope.get("raw_path") or b"/").decode("latin-1")
                try:
                    app.auth.check("POST", raw_path, request.url.query, headers, body)
                except AuthError as error:
                    app.request_log.record(request_id, "control", target or "", None, error.status, error.code, started, len(body), 0)
                    return _aws_response(error.status, error_body(error), error.code, request_id)
            status, payload, code = await run_in_threadpool(app.control.handle, target, body)
            app.request_log.record(request_id, "control", target or "", None, status, code, started, len(body), len(payload))
            return _aws_response(status, payload, code, request_id)

        @api.exception_handler(StarletteHTTPException)
        async def not_routed(request: Request, exc: StarletteHTTPException) -> Response:
            served = "the control plane is POST / with X-Amz-Target, the runtime POST /endpoints/{name}/invocations."
            operation = runtime_operation_at(request.method, request.url.path)
            if operation:
                message = (f"SageMakerRuntime.{operation} ({request.method} {request.url.path}) is a real SageMaker Runtime "
                           f"operation that the sagestack emulator does not implement; it serves InvokeEndpoint: {served}")
            else:
                message = f"{request.method} {request.url.path} is not part of the SageMaker API; {served}"
            error = ServiceError(message, code="UnknownOperationException", status=exc.status_code)
            return _aws_response(error.status, error_body(error), error.code, str(uuid.uuid4()))

        return api


# Control-plane requests are JSON documents of a few KB; the runtime's body limit bounds them too, so
# eight concurrent 60 MB bodies cost nothing (docs/ARCHITECTURE.md, "Limits at the edge").
CONTROL_MAX_BODY_BYTES = MAX_BODY_BYTES


async def _read_bounded(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as Content-Length or the bytes received pass `limit`."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _aws_response(status: int, body: bytes, code: str | None, request_id: str) -> Response:
    headers = {"x-amzn-RequestId": request_id}
    if code:
        headers["x-amzn-ErrorType"] = code
    return Response(content=body, status_code=status, media_type=JSON_CONTENT_TYPE, headers=headers)


def create_app(config: EmulatorConfig) -> EmulatorApp:
    return EmulatorApp(config)


__all__ = ["EmulatorApp", "create_app"]
