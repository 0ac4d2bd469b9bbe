"""API Gateway details LocalStack gets wrong that a Lambda behind an AWS_PROXY integration can see.

- `requestContext.requestTime`: AWS writes `25/Nov/2026:17:13:53 +0000` (UTC, CLF format).
  LocalStack formats a naive local-time datetime with `%z`, which gives `25/Nov/2026:17:13:53 `
  (no offset, trailing space) and the host's local time. It is rebuilt here from
  `requestTimeEpoch`, which LocalStack computes correctly.

Installed by the on_infra_start hook only when LAMBDA_RUNTIME_EXECUTOR=local.
"""

from __future__ import annotations

import datetime

REQUEST_TIME_FORMAT = "%d/%b/%Y:%H:%M:%S +0000"


def request_time(epoch_ms: int) -> str:
    """API Gateway's `requestTime` for a request received at `epoch_ms`."""
    moment = datetime.datetime.fromtimestamp(epoch_ms / 1000, tz=datetime.timezone.utc)
    return moment.strftime(REQUEST_TIME_FORMAT)


def install() -> None:
    from localstack.services.apigateway.next_gen.execute_api.handlers.parse import InvocationRequestParser

    original = InvocationRequestParser.create_context_variables

    def create_context_variables(context):
        variables = original(context)
        if variables.get("requestTimeEpoch"):
            variables["requestTime"] = request_time(variables["requestTimeEpoch"])
        return variables

    InvocationRequestParser.create_context_variables = staticmethod(create_context_variables)
