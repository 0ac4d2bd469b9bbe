"""Log stream names carry the UTC date (`YYYY/MM/DD/[$LATEST]<32 hex>`), as on Lambda.

LocalStack uses the host's local date, which differs from UTC around midnight on hosts not set
to UTC; the environment variable, the context and the stream written all read this method.
"""

from __future__ import annotations

import datetime

CHECKED_AGAINST = "2026.3.0"
# applied right after this module is first imported (patches/__init__.py): not at start-up
APPLY_ON_IMPORT = "localstack.services.lambda_.invocation.execution_environment"
TARGETS = ("localstack.services.lambda_.invocation.execution_environment.ExecutionEnvironment.get_log_stream_name",)


def apply() -> None:
    from localstack.services.lambda_.invocation.execution_environment import ExecutionEnvironment

    def get_log_stream_name(self) -> str:
        today = datetime.datetime.now(datetime.timezone.utc)
        return f"{today:%Y/%m/%d}/[{self.function_version.id.qualifier}]{self.id}"

    ExecutionEnvironment.get_log_stream_name = get_log_stream_name
