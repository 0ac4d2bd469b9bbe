"""LocalStack's per-request response log is built only when its logger would write it.

`ResponseLogger` (a response handler run for every request) builds the log record's extras,
copies of the request and response headers included, and then calls `logger.info`, which drops
it: LocalStack runs here with LS_LOG=warn and the launcher sets its request loggers to WARNING
(LOG_LEVEL_OVERRIDES; LocalStack's default keeps them at INFO and lets the WARN handler drop the
records). That is about 0.15 ms of CPU per request (timed per handler on the API Gateway -> Lambda
path), for nothing. Here the handler returns early when none of the loggers it would use (the AWS and HTTP
request loggers, or their internal-call twins) is enabled for INFO, which is the only level it
logs at; with request logging on (DEBUG=1, SAGESTACK_LOCALSTACK_DEBUG=1) it logs as before.
"""

from __future__ import annotations

import logging

CHECKED_AGAINST = "2026.3.0"
# applied right after this module is first imported (patches/__init__.py): not at start-up
APPLY_ON_IMPORT = "localstack.aws.handlers.logging"
TARGETS = ("localstack.aws.handlers.logging.ResponseLogger.__call__",)


def logging_only_when_enabled(original):
    def __call__(self, chain, context, response):
        if context.is_internal_call:
            loggers = (self.internal_aws_logger, self.internal_http_logger)
        else:
            loggers = (self.aws_logger, self.http_logger)
        if not any(logger.isEnabledFor(logging.INFO) for logger in loggers):
            return None
        return original(self, chain, context, response)

    return __call__


def apply() -> None:
    import importlib

    handler_logging = importlib.import_module(APPLY_ON_IMPORT)  # its package may still be initialising
    cls = handler_logging.ResponseLogger
    cls.__call__ = logging_only_when_enabled(cls.__call__)
