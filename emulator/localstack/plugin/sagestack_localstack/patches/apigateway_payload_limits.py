"""AWS's payload quotas on the API Gateway path, answered as AWS answers them.

- API Gateway REST APIs accept a request payload of at most 10 MB (API Gateway quotas: "Payload
  size", 10 MB, not adjustable). A larger body gets the REQUEST_TOO_LARGE gateway response: 413 and
  `{"message":"Request Too Long"}` (the default template renders `$context.error.messageString`;
  LocalStack adds its `x-amzn-ErrorType`). LocalStack passes any size through today.
- Lambda accepts a synchronous invoke payload of at most 6 MB (6,291,456 bytes; Lambda quotas,
  "Invocation payload (request and response)"). With AWS_PROXY the payload is the proxy event (the
  body plus headers, path, request context; base64 for binary), so a body under 10 MB can still be
  too large for the function: API Gateway then answers the same 413 "Request Too Long" without
  running the function. The direct Lambda Invoke API answers its own 413
  RequestEntityTooLargeException (patches/lambda_invoke_payload.py); an oversized *response* is the executor's
  Function.ResponseSizeTooLarge, which API Gateway turns into a 502 like any function error.

The body is checked before any authorizer, integration or function runs; the proxy event is only
measured when the body is near the limit, so normal requests pay nothing for it.
"""

from __future__ import annotations

import json

CHECKED_AGAINST = "2026.3.0"
# applied right after this module is first imported (patches/__init__.py): not at start-up
APPLY_ON_IMPORT = "localstack.services.apigateway.next_gen.execute_api.handlers.parse"
TARGETS = (
    "localstack.services.apigateway.next_gen.execute_api.handlers.parse.InvocationRequestParser.parse_and_enrich",
    "localstack.services.apigateway.next_gen.execute_api.integrations.aws.RestApiAwsProxyIntegration"
    ".create_lambda_input_event",
)
API_GATEWAY_MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
LAMBDA_MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024
REQUEST_TOO_LONG = "Request Too Long"
# the proxy event adds its request context and headers to the body; measure it only near the limit
EVENT_OVERHEAD_SLACK = 64 * 1024


def apply() -> None:
    from localstack.services.apigateway.next_gen.execute_api.gateway_response import RequestTooLargeError
    from localstack.services.apigateway.next_gen.execute_api.handlers.parse import InvocationRequestParser
    from localstack.services.apigateway.next_gen.execute_api.integrations.aws import RestApiAwsProxyIntegration

    original_parse = InvocationRequestParser.parse_and_enrich

    def parse_and_enrich(self, context):
        original_parse(self, context)  # first: the gateway response renders $context variables
        length = context.request.content_length
        if length is None:  # chunked upload
            length = len(context.invocation_request.get("body") or b"")
        if length > API_GATEWAY_MAX_PAYLOAD_BYTES:
            raise RequestTooLargeError(REQUEST_TOO_LONG)

    InvocationRequestParser.parse_and_enrich = parse_and_enrich

    original_event = RestApiAwsProxyIntegration.create_lambda_input_event

    def create_lambda_input_event(self, context):
        event = original_event(self, context)
        body = context.invocation_request.get("body") or b""
        if len(body) * 4 // 3 + EVENT_OVERHEAD_SLACK > LAMBDA_MAX_SYNC_PAYLOAD_BYTES:  # base64 may grow it
            if len(json.dumps(event).encode()) > LAMBDA_MAX_SYNC_PAYLOAD_BYTES:
                raise RequestTooLargeError(REQUEST_TOO_LONG)
        return event

    RestApiAwsProxyIntegration.create_lambda_input_event = create_lambda_input_event
