"""CreateFunction / UpdateFunctionConfiguration refuse Lambda's reserved environment variables.

AWS refuses `AWS_REGION`, `_HANDLER`, `AWS_ACCESS_KEY_ID`, ... in Environment.Variables with an
InvalidParameterValueException listing them (validation.RESERVED_ENVIRONMENT_KEYS, AWS's
wording); LocalStack accepts them, and the function would then see values AWS never gives it.
"""

from __future__ import annotations

CHECKED_AGAINST = "2026.3.0"
# applied right after this module is first imported (patches/__init__.py): not at start-up
APPLY_ON_IMPORT = "localstack.services.lambda_.provider"
TARGETS = (
    "localstack.services.lambda_.provider.LambdaProvider.create_function",
    "localstack.services.lambda_.provider.LambdaProvider.update_function_configuration",
)


def apply() -> None:
    from localstack.aws.api.lambda_ import InvalidParameterValueException
    from localstack.services.lambda_.provider import LambdaProvider
    from localstack.utils.patch import patch

    from sagestack_localstack.validation import reserved_keys_problem

    def check(request) -> None:
        problem = reserved_keys_problem(request.get("Environment"))
        if problem:
            raise InvalidParameterValueException(problem, Type="User")

    @patch(LambdaProvider.create_function)
    def _create_function(fn, self, context, request):
        check(request)
        return fn(self, context, request)

    @patch(LambdaProvider.update_function_configuration)
    def _update_function_configuration(fn, self, context, request):
        check(request)
        return fn(self, context, request)
