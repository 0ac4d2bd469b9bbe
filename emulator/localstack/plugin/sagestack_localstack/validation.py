"""The rules behind the Lambda API checks the patches add (patches/lambda_*.py), as plain functions.

- `runtime_problem`: why a runtime cannot run on this machine (no interpreter, not Python,
  a container image), or None; used at CreateFunction/UpdateFunctionConfiguration and again
  when an environment is prepared.
- `reserved_keys_problem`: AWS's message for reserved keys in Environment.Variables.
- the Invoke payload quotas.
"""

from __future__ import annotations

from localstack.aws.api.lambda_ import PackageType

from sagestack_localstack.interpreters import (
    SUPPORTED_PYTHON_RUNTIMES,
    InterpreterNotFound,
    find_python,
    version_of_runtime,
)


def runtime_problem(runtime: str | None, package_type: str | None = None) -> str | None:
    """Why `runtime` cannot run here, or None when it can."""
    if package_type == PackageType.Image:
        return "container-image functions need Docker; the local executor runs Zip packages with python3.8-python3.14"
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
