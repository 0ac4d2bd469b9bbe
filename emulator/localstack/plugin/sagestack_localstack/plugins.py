"""Plux plugins LocalStack discovers through our distribution's entry points (see pyproject.toml).

- `LocalRuntimeExecutorPlugin` ("local" in `localstack.lambda.runtime_executor`): chosen by
  LAMBDA_RUNTIME_EXECUTOR=local; its `load()` returns the executor class.
- `validate_local_runtimes_on_create` (an `on_infra_start` hook): makes CreateFunction and
  UpdateFunctionConfiguration fail at once, with AWS's InvalidParameterValueException, for a
  runtime this machine cannot run (no interpreter, or not a Python runtime) instead of leaving
  a function that fails on its first invoke.
"""

from __future__ import annotations

from localstack.runtime import hooks
from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin


class LocalRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    name = "local"

    def load(self, *args, **kwargs):
        from sagestack_localstack.executor import LocalRuntimeExecutor

        return LocalRuntimeExecutor


@hooks.on_infra_start()
def validate_local_runtimes_on_create() -> None:
    from localstack import config

    if (config.LAMBDA_RUNTIME_EXECUTOR or "").strip() != "local":
        return
    from sagestack_localstack.validation import install_runtime_validation

    install_runtime_validation()
