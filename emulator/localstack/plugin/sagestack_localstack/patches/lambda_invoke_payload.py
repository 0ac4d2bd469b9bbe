"""Invoke refuses a payload that is not JSON or is over Lambda's quota before running anything.

AWS answers 400 InvalidRequestContentException for a non-JSON payload and 413
RequestEntityTooLargeException over 6 MB (synchronous) or 1 MB (Event); LocalStack hands any
payload to the runtime.
"""

from __future__ import annotations

import io
import json

CHECKED_AGAINST = "2026.3.0"
# applied right after this module is first imported (patches/__init__.py): not at start-up
APPLY_ON_IMPORT = "localstack.services.lambda_.provider"
TARGETS = ("localstack.services.lambda_.provider.LambdaProvider.invoke",)


def apply() -> None:
    from localstack.aws.api.lambda_ import InvalidRequestContentException
    from localstack.services.lambda_.invocation.lambda_models import RequestEntityTooLargeException
    from localstack.services.lambda_.provider import LambdaProvider
    from localstack.utils.patch import patch

    from sagestack_localstack.validation import MAX_ASYNC_PAYLOAD_BYTES, MAX_SYNC_PAYLOAD_BYTES

    @patch(LambdaProvider.invoke)
    def _invoke(fn, self, context, function_name, *args, **kwargs):
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
