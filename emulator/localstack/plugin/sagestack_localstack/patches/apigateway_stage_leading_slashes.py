"""A REST API request that repeats the slash before its stage (`//prod/items`) has AWS's `requestContext.path`.

LocalStack takes `/prod` out of the raw request path `//prod/items`, which leaves `//items`. Its
event then has `path` `/items` (as AWS's) but `requestContext.path` `/prod//items`, while AWS
answers `/prod/items`: the extra slash belonged in front of the stage, not in the resource path
(LocalStack's test_lambda_aws_proxy_integration, `invocation-payload-with-prepended-slash-to-stage`,
recorded against AWS). A slash doubled after the stage (`/prod/items//x`) is kept, as on AWS.

LocalStack's `raw_path` of the invocation request feeds only `requestContext.path`; it is made
from the raw path with its leading slashes collapsed to one when they come before the stage.
"""

from __future__ import annotations

CHECKED_AGAINST = "2026.3.0"
# applied right after this module is first imported (patches/__init__.py): not at start-up
APPLY_ON_IMPORT = "localstack.services.apigateway.next_gen.execute_api.handlers.parse"
TARGETS = (
    "localstack.services.apigateway.next_gen.execute_api.handlers.parse.InvocationRequestParser"
    ".create_invocation_request",
)


def slashes_before_stage(raw_uri: str, stage: str) -> bool:
    """Whether `raw_uri` (the request target as sent) starts with two or more slashes and then the stage."""
    if not raw_uri.startswith("//") or not stage:
        return False
    rest = raw_uri.lstrip("/")
    return rest == stage or rest.startswith((stage + "/", stage + "?"))


def apply() -> None:
    from localstack.services.apigateway.next_gen.execute_api.handlers.parse import InvocationRequestParser
    from localstack.utils.patch import patch

    @patch(InvocationRequestParser.create_invocation_request)
    def create_invocation_request(fn, self, context):
        invocation_request = fn(self, context)
        raw_uri = context.request.environ.get("RAW_URI") or context.request.path
        if slashes_before_stage(raw_uri, context.stage or "") and invocation_request.get("raw_path"):
            invocation_request["raw_path"] = "/" + invocation_request["raw_path"].lstrip("/")
        return invocation_request
