"""twisted's HTTP server formats no access-log line when nothing would read it.

twisted.web's HTTPFactory (LocalStack's gateway `Site`) writes a combined-log-format line for
every request to `twisted.python.log.logfile` when it has no log path, and LocalStack gives it
none. That file turns each line into an event of twisted's global log publisher, whose only
observer, until someone calls `globalLogBeginner.beginLoggingTo` (LocalStack never does: its logs
go through Python's `logging`), is the start-up one: a ring buffer of the last 200 events that
nobody reads, and a filter that prints critical events only. So every request paid for the peer
address, a date string, the request line, referrer and user agent, an event dict and a filter
run, to drop the result: in a py-spy `--gil` profile of LocalStack on the REST API -> Lambda ->
SageMaker chain at 8 connections, `HTTPFactory.log` was about 7% of the time LocalStack held the
GIL (its pool threads' whole API Gateway + Lambda work was 21%).

Here `HTTPFactory.log` returns at once while that start-up observer is the publisher's only
observer and the factory writes to `log.logfile`; as soon as logging is begun or another observer
is added (a user debugging twisted), lines are written as before. Nothing a client sees changes.
Boot stage: before LocalStack's server handles a request.
"""

from __future__ import annotations

CHECKED_AGAINST = "2026.3.0"
# only with GATEWAY_SERVER=twisted: applied when LocalStack imports its twisted server (patches/__init__.py)
APPLY_ON_IMPORT = "localstack.runtime.server.twisted"
TARGETS = ("twisted.web.http.HTTPFactory.log (twisted as pinned in requirements.lock)",)


def nobody_reads_global_log() -> bool:
    """Whether twisted's global log still has only its start-up observer (the unread ring buffer)."""
    from twisted.logger import globalLogBeginner, globalLogPublisher

    temporary = globalLogBeginner._temporaryObserver
    return temporary is not None and globalLogPublisher._observers == [temporary]


def apply() -> None:
    from twisted.python import log as legacy_log
    from twisted.web import http

    original = http.HTTPFactory.log
    if getattr(original, "sagestack_unread_check", False):
        return

    def log(self, request) -> None:
        if self._logFile is legacy_log.logfile and nobody_reads_global_log():
            return
        original(self, request)

    log.sagestack_unread_check = True
    log.__doc__ = original.__doc__
    http.HTTPFactory.log = log
