"""CloudWatch Logs' provider makes its internal CloudWatch client on first use, not when Logs loads.

LocalStack's `LogsProvider.__init__` builds an internal boto3 CloudWatch client (`connect_to().cloudwatch`)
and keeps it as `cw_client`; nothing in LocalStack 2026.3.0 reads that attribute (PutLogEvents'
metric filters make their own client per call). Building it is the first boto3 client of the process
in the warm-up: botocore parses `endpoints.json` (1.2 MB of JSON), CloudWatch's service model, its
endpoint rules and partitions: 8.8 MB of resident memory (measured in LocalStack's venv, 2 cores) of
the ~18 MB Logs' load adds to the idle server. The first internal client made later (Lambda's metrics
after the first invoke) pays that parse instead; the kit's stack never makes one before.

Here `cw_client` is a property of the provider: the first read builds the same client (under a lock),
later reads reuse it, an assignment replaces it, as before.
"""

from __future__ import annotations

CHECKED_AGAINST = "2026.3.0"
# applied right after this module is first imported (patches/__init__.py): not at start-up
APPLY_ON_IMPORT = "localstack.services.logs.provider"
TARGETS = (
    "localstack.services.logs.provider.LogsProvider.__init__",
    "localstack.services.logs.provider.LogsProvider.cw_client (attribute -> property)",
)
_SLOT = "_sagestack_cw_client"


def apply() -> None:
    import importlib

    from sagestack_localstack.patches.s3_website_client_on_demand import lazy_client

    provider = importlib.import_module(APPLY_ON_IMPORT)
    LogsProvider = provider.LogsProvider

    def __init__(self) -> None:
        """LocalStack's __init__ without building the client: the first read of `cw_client` builds it."""
        super(LogsProvider, self).__init__()

    LogsProvider.cw_client = lazy_client(lambda: provider.connect_to().cloudwatch, _SLOT)
    LogsProvider.__init__ = __init__
