"""API Gateway AWS_PROXY -> Lambda without re-entering LocalStack's AWS protocol stack.

LocalStack's integration calls Lambda through an internal boto3 client: serialize to the Lambda
wire format, route, parse, dispatch to the provider, serialize the response, parse it again.
Here the integration hands the event straight to the Lambda service the provider itself uses;
errors come back as the same ClientError (code, status) the client would raise, so API
Gateway's 500/502 handling is unchanged. Anything unusual (an ARN we can't split, a role to
assume) takes the original path. The integration's function ARN is split once per distinct ARN
(LocalStack's regex split was about 2% of the server's CPU per AWS_PROXY request): the split depends
only on the ARN's text.
"""

from __future__ import annotations

import functools
import uuid

CHECKED_AGAINST = "2026.3.0"
# applied right after this module is first imported (patches/__init__.py): not at start-up
APPLY_ON_IMPORT = "localstack.services.apigateway.next_gen.execute_api.integrations.aws"
TARGETS = (
    "localstack.services.apigateway.next_gen.execute_api.integrations.aws.RestApiAwsProxyIntegration.call_lambda",
)
ARN_CACHE_SIZE = 1024


def direct_call_lambda(original):
    from botocore.exceptions import ClientError
    from localstack.aws.api import ServiceException
    from localstack.services.lambda_.api_utils import function_locators_from_arn
    from localstack.services.lambda_.invocation.lambda_models import InvocationType
    from localstack.services.plugins import SERVICE_PLUGINS

    @functools.lru_cache(maxsize=ARN_CACHE_SIZE)
    def locators(function_arn: str) -> tuple | None:
        try:
            return function_locators_from_arn(function_arn)
        except Exception:  # not an ARN we can split: the original path reports it
            return None

    def call_lambda(function_arn: str, event: bytes, source_arn: str, credentials: str | None = None) -> bytes:
        split = locators(function_arn)
        function_name, qualifier, account, region = split if split else (None, None, None, None)
        if credentials or not (function_name and account and region):
            return original(function_arn=function_arn, event=event, source_arn=source_arn, credentials=credentials)
        lambda_service = SERVICE_PLUGINS.require("lambda").lifecycle_hook.lambda_service
        try:
            result = lambda_service.invoke(
                function_name=function_name,
                qualifier=qualifier,
                region=region,
                account_id=account,
                invocation_type=InvocationType.RequestResponse,
                client_context=None,
                request_id=str(uuid.uuid4()),
                trace_context={},
                payload=event,
                user_agent=None,
            )
        except ServiceException as exc:
            raise ClientError(
                {"Error": {"Code": exc.code, "Message": exc.message},
                 "ResponseMetadata": {"HTTPStatusCode": exc.status_code}},
                "Invoke",
            ) from exc
        return result.payload or b""

    return call_lambda


def apply() -> None:
    from localstack.services.apigateway.next_gen.execute_api.integrations.aws import RestApiAwsProxyIntegration

    RestApiAwsProxyIntegration.call_lambda = staticmethod(direct_call_lambda(RestApiAwsProxyIntegration.call_lambda))
