"""Reject, at CreateFunction/UpdateFunctionConfiguration time, runtimes the local executor can't run
and Environment variables Lambda reserves (and, at Invoke, payloads that are not JSON or too large),
as AWS does.

AWS accepts every managed runtime; this machine can only run Python ones whose interpreter it
has. Failing the API call (InvalidParameterValueException, HTTP 400 — the code AWS uses for a
bad runtime value) tells the user at once what to install, instead of a function stuck in
State=Failed or an invoke error later.
"""

from __future__ import annotations

import io
import json

from localstack.aws.api.lambda_ import InvalidParameterValueException, InvalidRequestContentException, PackageType
from localstack.services.lambda_.invocation.lambda_models import RequestEntityTooLargeException
from localstack.services.lambda_.provider import LambdaProvider
from localstack.utils.patch import patch

from sagestack_localstack.interpreters import (
    SUPPORTED_PYTHON_RUNTIMES,
    InterpreterNotFound,
    find_python,
    version_of_runtime,
)


def runtime_problem(runtime: str | None, package_type: str | None = None) -> str | None:
    """Why `runtime` cannot run here, or None when it can."""
    if package_type == PackageType.Image:
        return "container-image functions need Docker; the local executor runs Zip packages with python3.10-python3.13"
    if not runtime:
        return None
    if runtime not in SUPPORTED_PYTHON_RUNTIMES:
        return (
            f"runtime {runtime} cannot run on the local Lambda executor, which runs "
            f"{', '.join(SUPPORTED_PYTHON_RUNTIMES)}; choose one of those"
        )
    try:
        find_python(version_of_runtime(runtime))
    except InterpreterNotFound as exc:
        return f"runtime {runtime} needs a local Python interpreter: {exc}"
    return None


# AWS's "reserved environment variables" (Lambda developer guide, configuration-envvars, defined
# runtime environment variables): the runtime sets them, and CreateFunction /
# UpdateFunctionConfiguration refuse them in Environment.Variables. The unreserved ones (LANG,
# PATH, LD_LIBRARY_PATH, PYTHONPATH, TZ, AWS_XRAY_*) may be set. LocalStack accepts all of them.
RESERVED_ENVIRONMENT_KEYS = (
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
    "AWS_LAMBDA_MAX_CONCURRENCY",
    "AWS_LAMBDA_METADATA_API",
    "AWS_LAMBDA_METADATA_TOKEN",
)
# Invoke request payload quotas: 6 MB synchronous, 1 MB asynchronous (Event)
MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024
MAX_ASYNC_PAYLOAD_BYTES = 1024 * 1024


def reserved_keys_problem(environment: dict | None) -> str | None:
    """AWS's message when Environment.Variables uses reserved keys, or None."""
    variables = (environment or {}).get("Variables") or {}
    used = [key for key in RESERVED_ENVIRONMENT_KEYS if key in variables]
    if not used:
        return None
    return (
        "Lambda was unable to configure your environment variables because the environment variables you have "
        "provided contains reserved keys that are currently not supported for modification. "
        f"Reserved keys used in this request: {', '.join(used)}"
    )


_installed = False


def install_runtime_validation() -> None:
    global _installed
    if _installed:
        return
    _installed = True

    @patch(LambdaProvider._validate_runtime)
    def _validate_runtime(fn, self, package_type, runtime):
        fn(self, package_type, runtime)  # AWS's own validation (enum, deprecations) first
        problem = runtime_problem(runtime, package_type)
        if problem:
            raise InvalidParameterValueException(problem, Type="User")

    @patch(LambdaProvider.invoke)
    def _invoke(fn, self, context, function_name, *args, **kwargs):
        # AWS rejects a payload that is not JSON before running anything (400
        # InvalidRequestContentException); LocalStack would hand it to the runtime.
        payload = kwargs.get("payload")
        if payload is not None:
            raw = payload.read() if hasattr(payload, "read") else payload
            limit = MAX_ASYNC_PAYLOAD_BYTES if kwargs.get("invocation_type") == "Event" else MAX_SYNC_PAYLOAD_BYTES
            if len(raw) > limit:
                raise RequestEntityTooLargeException(
                    f"Request must be smaller than {limit} bytes for the InvokeFunction operation"
                )
            if raw:
                try:
                    json.loads(raw)
                except ValueError as exc:
                    raise InvalidRequestContentException(
                        f"Could not parse request body into json: Could not parse payload into json: {exc}",
                        Type="User",
                    ) from None
            kwargs["payload"] = io.BytesIO(raw)
        return fn(self, context, function_name, *args, **kwargs)

    @patch(LambdaProvider.create_function)
    def _create_function(fn, self, context, request):
        problem = reserved_keys_problem(request.get("Environment"))
        if problem:
            raise InvalidParameterValueException(problem, Type="User")
        return fn(self, context, request)

    @patch(LambdaProvider.update_function_configuration)
    def _update_function_configuration(fn, self, context, request):
        runtime = request.get("Runtime")
        if runtime:
            problem = runtime_problem(runtime)
            if problem:
                raise InvalidParameterValueException(problem, Type="User")
        problem = reserved_keys_problem(request.get("Environment"))
        if problem:
            raise InvalidParameterValueException(problem, Type="User")
        return fn(self, context, request)
