"""CreateFunction / UpdateFunctionConfiguration check a runtime in AWS's order, then whether it can run here.

AWS's order, as LocalStack's snapshot tests record it:
1. not a runtime at all: `Value X at 'runtime' failed to satisfy constraint: Member must satisfy
   enum value set: [...] or be a valid ARN` (LocalStack answers this itself, for both calls);
2. a runtime past its "block function create/update" date (python3.7, nodejs14.x, ...):
   `The runtime parameter of X is no longer supported for creating or updating AWS Lambda
   functions. ...`. LocalStack refuses these at CreateFunction only when LAMBDA_RUNTIME_VALIDATION
   is set, and only warns at UpdateFunctionConfiguration; AWS refuses both, so this patch does.
   python3.8 and python3.9 are deprecated but not blocked (AWS's table moved their block dates),
   so they are accepted and run where their interpreters exist;
3. then (sagestack's own rule) a runtime the local executor cannot run on this machine: an
   InvalidParameterValueException naming what to install (validation.runtime_problem), instead
   of a function that fails on its first invoke.
LocalStack's update_function_configuration does not call `_validate_runtime`, so it is wrapped
separately and runs steps 2-3 only for a runtime that passed step 1.
"""

from __future__ import annotations

CHECKED_AGAINST = "2026.3.0"
# applied right after this module is first imported (patches/__init__.py): not at start-up
APPLY_ON_IMPORT = "localstack.services.lambda_.provider"
TARGETS = (
    "localstack.services.lambda_.provider.LambdaProvider._validate_runtime",
    "localstack.services.lambda_.provider.LambdaProvider.update_function_configuration",
)
NO_LONGER_SUPPORTED = (
    "The runtime parameter of {runtime} is no longer supported for creating or updating AWS Lambda functions. "
    "We recommend you use a supported runtime while creating or updating functions."
)


def apply() -> None:
    from localstack.aws.api.lambda_ import InvalidParameterValueException, PackageType
    from localstack.services.lambda_.provider import LambdaProvider
    from localstack.services.lambda_.runtimes import ALL_RUNTIMES, DEPRECATED_RUNTIMES
    from localstack.utils.patch import patch

    from sagestack_localstack.validation import runtime_problem

    def check_runnable(package_type, runtime) -> None:
        if package_type != PackageType.Image and runtime in DEPRECATED_RUNTIMES:
            raise InvalidParameterValueException(NO_LONGER_SUPPORTED.format(runtime=runtime), Type="User")
        problem = runtime_problem(runtime, package_type)
        if problem:
            raise InvalidParameterValueException(problem, Type="User")

    @patch(LambdaProvider._validate_runtime)
    def _validate_runtime(fn, self, package_type, runtime):
        fn(self, package_type, runtime)  # AWS's enum check (and LocalStack's optional deprecation check) first
        check_runnable(package_type, runtime)

    @patch(LambdaProvider.update_function_configuration)
    def _update_function_configuration(fn, self, context, request):
        runtime = request.get("Runtime")
        if runtime and runtime in ALL_RUNTIMES:  # not in the enum: LocalStack answers AWS's enum message
            check_runnable(PackageType.Zip, runtime)
        return fn(self, context, request)
