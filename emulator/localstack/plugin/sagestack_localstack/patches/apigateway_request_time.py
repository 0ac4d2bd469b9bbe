"""API Gateway's `requestContext.requestTime` in AWS's format and in UTC.

AWS writes `25/Nov/2026:17:13:53 +0000` (UTC, CLF format). LocalStack formats a naive
local-time datetime with `%z`, which gives `25/Nov/2026:17:13:53 ` (no offset, trailing space)
in the host's local time. It is rebuilt from `requestTimeEpoch`, which LocalStack computes
correctly.
"""

from __future__ import annotations

import datetime

CHECKED_AGAINST = "2026.3.0"
# applied right after this module is first imported (patches/__init__.py): not at start-up
APPLY_ON_IMPORT = "localstack.services.apigateway.next_gen.execute_api.handlers.parse"
TARGETS = (
    "localstack.services.apigateway.next_gen.execute_api.handlers.parse.InvocationRequestParser"
    ".create_context_variables",
)
REQUEST_TIME_FORMAT = "%d/%b/%Y:%H:%M:%S +0000"


def request_time(epoch_ms: int) -> str:
    """API Gateway's `requestTime` for a request received at `epoch_ms`."""
    moment = datetime.datetime.fromtimestamp(epoch_ms / 1000, tz=datetime.timezone.utc)
    return moment.strftime(REQUEST_TIME_FORMAT)


def apply() -> None:
    from localstack.services.apigateway.next_gen.execute_api.handlers.parse import InvocationRequestParser

    original = InvocationRequestParser.create_context_variables

    def create_context_variables(context):
        variables = original(context)
        if variables.get("requestTimeEpoch"):
            variables["requestTime"] = request_time(variables["requestTimeEpoch"])
        return variables

    InvocationRequestParser.create_context_variables = staticmethod(create_context_variables)
