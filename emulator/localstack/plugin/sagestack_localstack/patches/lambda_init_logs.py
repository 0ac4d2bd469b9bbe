"""CloudWatch Logs get a cold start's init phase (INIT_START, init output); the LogResult tail does not.

On AWS the `LogResult` of a cold start's Invoke (LogType=Tail) is START, the function's output,
END, REPORT, while the log stream also shows INIT_START and what the module printed at import.
LocalStack stores and tails the same `InvocationResult.logs`; the local executor returns only
the invoke's lines there and keeps the init lines (LocalRuntimeExecutor.take_init_logs), which
this patch puts in front of them in the log stream.
"""

from __future__ import annotations

import dataclasses

CHECKED_AGAINST = "2026.3.0"
# applied right after this module is first imported (patches/__init__.py): not at start-up
APPLY_ON_IMPORT = "localstack.services.lambda_.invocation.version_manager"
TARGETS = ("localstack.services.lambda_.invocation.version_manager.LambdaVersionManager.store_logs",)


def apply() -> None:
    from localstack.services.lambda_.invocation.version_manager import LambdaVersionManager

    from sagestack_localstack.executor import LocalRuntimeExecutor

    original = LambdaVersionManager.store_logs

    def store_logs(self, invocation_result, execution_env) -> None:
        executor = execution_env.runtime_executor
        if isinstance(executor, LocalRuntimeExecutor):
            init_logs = executor.take_init_logs()
            if init_logs:
                invocation_result = dataclasses.replace(
                    invocation_result, logs=init_logs + (invocation_result.logs or "")
                )
        original(self, invocation_result, execution_env)

    LambdaVersionManager.store_logs = store_logs
