"""Hand each invocation's ClientContext to the local executor.

The docker executor gets `X-Amz-Client-Context` through its runtime API; LocalStack's invoke
payload to an executor omits it, so `context.client_context` would always be None. The
ExecutionEnvironment passes it to our executor just before the invoke.
"""

from __future__ import annotations

CHECKED_AGAINST = "2026.3.0"
# applied right after this module is first imported (patches/__init__.py): not at start-up
APPLY_ON_IMPORT = "localstack.services.lambda_.invocation.execution_environment"
TARGETS = ("localstack.services.lambda_.invocation.execution_environment.ExecutionEnvironment.invoke",)


def apply() -> None:
    from localstack.services.lambda_.invocation.execution_environment import ExecutionEnvironment

    from sagestack_localstack.executor import LocalRuntimeExecutor

    original = ExecutionEnvironment.invoke

    def invoke(self, invocation):
        if isinstance(self.runtime_executor, LocalRuntimeExecutor):
            self.runtime_executor.next_client_context = invocation.client_context
        return original(self, invocation)

    ExecutionEnvironment.invoke = invoke
