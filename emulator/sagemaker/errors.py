"""Errors the emulator returns, with the exact codes and HTTP statuses SageMaker uses.

Every failure a client can cause is one of these; the wire layers (`control.py` for the
awsJson1_1 control plane, `runtime.py` for the rest-json runtime) turn them into AWS's
error shape, so botocore raises a `ClientError` with the right `Error.Code`.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """An AWS-shaped error: `code` goes to `x-amzn-errortype` and `__type`, `status` is HTTP."""

    code: str = "InternalFailure"
    status: int = 500

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None, **fields: Any):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        # Extra members of the error shape (ModelError's OriginalStatusCode, ...).
        self.fields = fields


# --- control plane (SageMaker, awsJson1_1) -------------------------------------------------


class ValidationException(ServiceError):
    code = "ValidationException"
    status = 400


class ResourceNotFound(ServiceError):
    code = "ResourceNotFound"
    status = 400


class ResourceInUse(ServiceError):
    code = "ResourceInUse"
    status = 400


class ResourceLimitExceeded(ServiceError):
    code = "ResourceLimitExceeded"
    status = 400


class SerializationException(ServiceError):
    """The request body is not JSON, or a member has the wrong JSON type."""

    code = "SerializationException"
    status = 400


class UnknownOperationException(ServiceError):
    code = "UnknownOperationException"
    status = 400


# --- runtime (SageMaker Runtime, rest-json) ------------------------------------------------


class RuntimeValidationError(ServiceError):
    """sagemaker-runtime's `ValidationError` (400): bad request, unknown endpoint, too big."""

    code = "ValidationError"
    status = 400


class ModelError(ServiceError):
    """The model container rejected the payload: 424 plus the container's status and message."""

    code = "ModelError"
    status = 424


# --- authentication (any AWS service) --------------------------------------------------------


class AuthError(ServiceError):
    status = 403


def missing_authentication() -> AuthError:
    return AuthError("Missing Authentication Token", code="MissingAuthenticationTokenException")


def unrecognized_client() -> AuthError:
    return AuthError("The security token included in the request is invalid.", code="UnrecognizedClientException")


def invalid_signature() -> AuthError:
    return AuthError(
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        code="InvalidSignatureException",
    )


def incomplete_signature(detail: str) -> AuthError:
    return AuthError(detail, code="IncompleteSignatureException", status=400)


# --- the emulator itself ---------------------------------------------------------------------


class InternalFailure(ServiceError):
    """AWS's generic 500: here only when the emulator's own disk refuses a write."""

    code = "InternalFailure"
    status = 500
