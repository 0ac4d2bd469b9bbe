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
3. every other check of the request (SnapStart's enum, PublishTo, a function that already exists
   or does not, a stale RevisionId, ...): AWS answers those errors whatever the runtime, as
   test_snapstart_exceptions records for java21 with `ApplyOn: invalidOption`;
4. last (sagestack's own rule, which AWS does not have) a runtime the local executor cannot run on
   this machine: an InvalidParameterValueException naming what to install
   (validation.runtime_problem), instead of a function that fails on its first invoke.

Step 4 waits until the request has passed all of LocalStack's checks and runs just before the
call's first change: for CreateFunction, storing the code (`store_lambda_archive`,
`store_s3_bucket_archive`, `create_image_code`, called after the "already exists" check); for
UpdateFunctionConfiguration, `api_utils.generate_lambda_date`, called once its checks are done,
while the new $LATEST is built and before it is stored. The pending check lives in a context
variable that only these two operations set, so the same functions called elsewhere (UpdateFunctionCode,
PublishLayerVersion, ...) do nothing more. LocalStack's update_function_configuration does not call
`_validate_runtime`, so step 2 of an update is deferred the same way.
"""

from __future__ import annotations

import contextvars
import functools
from typing import Callable

CHECKED_AGAINST = "2026.3.0"
# applied right after this module is first imported (patches/__init__.py): not at start-up
APPLY_ON_IMPORT = "localstack.services.lambda_.provider"
TARGETS = (
    "localstack.services.lambda_.provider.LambdaProvider._validate_runtime",
    "localstack.services.lambda_.provider.LambdaProvider.create_function",
    "localstack.services.lambda_.provider.LambdaProvider.update_function_configuration",
    "localstack.services.lambda_.provider.store_lambda_archive",
    "localstack.services.lambda_.provider.store_s3_bucket_archive",
    "localstack.services.lambda_.provider.create_image_code",
    "localstack.services.lambda_.api_utils.generate_lambda_date",
)
NO_LONGER_SUPPORTED = (
    "The runtime parameter of {runtime} is no longer supported for creating or updating AWS Lambda functions. "
    "We recommend you use a supported runtime while creating or updating functions."
)
# functions whose first call inside CreateFunction / UpdateFunctionConfiguration marks the end of the checks
CREATE_STARTS_CHANGING = ("store_lambda_archive", "store_s3_bucket_archive", "create_image_code")
UPDATE_STARTS_CHANGING = "generate_lambda_date"

# the check still owed by the CreateFunction / UpdateFunctionConfiguration running in this context
# (None outside those two operations: a check is then made at once, never left for a later request)
_PENDING: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar(
    "sagestack_pending_runtime_check", default=None
)


def run_pending_check() -> None:
    """Run (once) the runtime check the current CreateFunction / UpdateFunctionConfiguration still owes."""
    check = _PENDING.get()
    if check is not None:
        _PENDING.set(None)
        check()


def _nothing_owed() -> None:
    """What a CreateFunction owes until `_validate_runtime` has run."""


def _checks_first(fn: Callable) -> Callable:
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        run_pending_check()
        return fn(*args, **kwargs)

    return wrapper


def apply() -> None:
    from localstack.aws.api.lambda_ import InvalidParameterValueException, PackageType
    from localstack.services.lambda_ import api_utils
    from localstack.services.lambda_ import provider as provider_module
    from localstack.services.lambda_.provider import LambdaProvider
    from localstack.services.lambda_.runtimes import DEPRECATED_RUNTIMES
    from localstack.utils.patch import patch

    from sagestack_localstack.validation import runtime_problem

    def check_blocked(package_type, runtime) -> None:
        if package_type != PackageType.Image and runtime in DEPRECATED_RUNTIMES:
            raise InvalidParameterValueException(NO_LONGER_SUPPORTED.format(runtime=runtime), Type="User")

    def check_runnable(package_type, runtime) -> None:
        problem = runtime_problem(runtime, package_type)
        if problem:
            raise InvalidParameterValueException(problem, Type="User")

    @patch(LambdaProvider._validate_runtime)
    def _validate_runtime(fn, self, package_type, runtime):
        fn(self, package_type, runtime)  # AWS's enum check (and LocalStack's optional deprecation check) first
        check_blocked(package_type, runtime)
        if _PENDING.get() is None:  # not inside CreateFunction: nothing later would run it
            check_runnable(package_type, runtime)
        else:
            _PENDING.set(lambda: check_runnable(package_type, runtime))

    @patch(LambdaProvider.create_function)
    def _create_function(fn, self, context, request):
        token = _PENDING.set(_nothing_owed)
        try:
            return fn(self, context, request)
        finally:
            _PENDING.reset(token)

    @patch(LambdaProvider.update_function_configuration)
    def _update_function_configuration(fn, self, context, request):
        runtime = request.get("Runtime")

        def check() -> None:
            check_blocked(PackageType.Zip, runtime)
            check_runnable(PackageType.Zip, runtime)

        token = _PENDING.set(check if runtime else None)
        try:
            return fn(self, context, request)
        finally:
            _PENDING.reset(token)

    for name in CREATE_STARTS_CHANGING:
        setattr(provider_module, name, _checks_first(getattr(provider_module, name)))
    setattr(api_utils, UPDATE_STARTS_CHANGING, _checks_first(getattr(api_utils, UPDATE_STARTS_CHANGING)))
