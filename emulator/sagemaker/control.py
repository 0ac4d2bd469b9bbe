"""The SageMaker control plane's wire protocol: awsJson1_1 in, awsJson1_1 out.

`POST /` with `X-Amz-Target: SageMaker.<Operation>` and a JSON body. The operation must be
one botocore's service model knows; the body is validated against its input shape, the
backend does the work, and the result is serialized through the output shape. Errors
become `{"__type": code, "message": ...}` with the same code in `x-amzn-errortype`, which
is where botocore looks for it.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Callable

from emulator.sagemaker.backend import SageMakerBackend
from emulator.sagemaker.errors import ServiceError, SerializationException, UnknownOperationException
from emulator.sagemaker.shapes import modelled_members, operation_model, serialize_output, validate_input

log = logging.getLogger("sagestack.sagemaker")

JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "SageMaker."


def _handlers(backend: SageMakerBackend) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
    return {
        "CreateTrainingJob": backend.create_training_job,
        "DescribeTrainingJob": backend.describe_training_job,
        "ListTrainingJobs": backend.list_training_jobs,
        "StopTrainingJob": backend.stop_training_job,
        "CreateModel": backend.create_model,
        "DescribeModel": backend.describe_model,
        "DeleteModel": backend.delete_model,
        "ListModels": backend.list_models,
        "CreateEndpointConfig": backend.create_endpoint_config,
        "DescribeEndpointConfig": backend.describe_endpoint_config,
        "DeleteEndpointConfig": backend.delete_endpoint_config,
        "ListEndpointConfigs": backend.list_endpoint_configs,
        "CreateEndpoint": backend.create_endpoint,
        "DescribeEndpoint": backend.describe_endpoint,
        "UpdateEndpoint": backend.update_endpoint,
        "UpdateEndpointWeightsAndCapacities": backend.update_endpoint_weights_and_capacities,
        "DeleteEndpoint": backend.delete_endpoint,
        "ListEndpoints": backend.list_endpoints,
        "AddTags": backend.add_tags,
        "DeleteTags": backend.delete_tags,
        "ListTags": backend.list_tags,
    }


def error_body(error: ServiceError) -> bytes:
    return json.dumps({"__type": error.code, "message": error.message, **error.fields}).encode()


class ControlPlane:
    def __init__(self, backend: SageMakerBackend):
        self.backend = backend
        self.handlers = _handlers(backend)

    @property
    def operations(self) -> list[str]:
        return sorted(self.handlers)

    def operation_name(self, target: str | None) -> str:
        if not target or not target.startswith(TARGET_PREFIX):
            raise UnknownOperationException(
                f"Missing or unknown X-Amz-Target {target!r}; the SageMaker API expects 'SageMaker.<Operation>'."
            )
        return target[len(TARGET_PREFIX):]

    def handle(self, target: str | None, body: bytes) -> tuple[int, bytes, str | None]:
        """(HTTP status, response body, error code or None) for one awsJson1_1 request."""
        try:
            name = self.operation_name(target)
            operation = operation_model(name)
            if operation is None:
                raise UnknownOperationException(f"{name} is not a SageMaker operation.")
            handler = self.handlers.get(name)
            if handler is None:
                raise UnknownOperationException(
                    f"SageMaker.{name} is a real SageMaker operation that the sagestack emulator does not implement; "
                    f"emulated operations: {', '.join(self.operations)}."
                )
            params = self._decode(body)
            validate_input(operation, params)
            # AWS ignores members its model does not define; dropping them here means the domain
            # never stores (or fails to store) a value no Describe* answer would show.
            result = handler(modelled_members(operation.input_shape, params))
            payload = serialize_output(operation.output_shape, result) if operation.output_shape else {}
            return 200, json.dumps(payload or {}, separators=(",", ":")).encode(), None
        except ServiceError as error:
            return error.status, error_body(error), error.code
        except Exception as exc:  # a bug must still answer in AWS's shape, and say what broke
            log.exception("unhandled error in %s", target)
            error = ServiceError(f"An internal error occurred in the SageMaker emulator: {type(exc).__name__}: {exc}")
            return 500, error_body(error), error.code

    @staticmethod
    def _decode(body: bytes) -> dict[str, Any]:
        if not body.strip():
            return {}
        try:
            params = json.loads(body, parse_constant=_reject_constant)
        except SerializationException:
            raise
        except (ValueError, RecursionError) as exc:
            raise SerializationException(f"The request body is not valid JSON ({exc}).") from None
        if not isinstance(params, dict):
            raise SerializationException("The request body must be a JSON object.")
        return params


def _reject_constant(token: str) -> Any:
    """`NaN`, `Infinity` and `-Infinity` are not JSON (RFC 8259), and awsJson1_1 sends non-finite
    floats as the strings "NaN", "Infinity", "-Infinity": AWS's parser refuses the bare tokens."""
    raise SerializationException(
        f"The request body is not valid JSON: {token} is not a JSON number; send a finite number "
        f'(awsJson1_1 spells non-finite floats as the strings "NaN", "Infinity", "-Infinity").'
    )
