"""A response whose body is already in memory goes to the reactor in one hand-off, not two round trips.

twisted's WSGI container runs LocalStack's gateway in a pool thread and, for each body chunk,
blocks that thread on `blockingCallFromThread` until the reactor thread has written it, then
queues a second call to finish the request. Almost every AWS response is a buffered body (a
werkzeug Response over a list of bytes), so each request pays a blocking cross-thread round
trip whose wake-ups cost more CPU on 2 cores than the health route's own handler.

Here a buffered rolo Response hands twisted a `BufferedBody` (a list: its chunks, already
complete), and twisted's `_WSGIResponse.run` sends headers, body and the finish in one
non-blocking `callFromThread`. Status, headers (Content-Length included) and bytes are the ones
werkzeug computes; streamed bodies (generators, `direct_passthrough`) take twisted's original
path unchanged. A write that fails in the reactor closes the connection, as twisted's own error
path does. Boot stage: before LocalStack's twisted server handles a request.
"""

from __future__ import annotations

import logging

CHECKED_AGAINST = "2026.3.0"
# only with GATEWAY_SERVER=twisted: applied when LocalStack imports its twisted server (patches/__init__.py)
APPLY_ON_IMPORT = "localstack.runtime.server.twisted"
TARGETS = (
    "rolo.response.Response.__call__",
    "twisted.web.wsgi._WSGIResponse.run (twisted as pinned in requirements.lock)",
)
LOG = logging.getLogger(__name__)


class BufferedBody(list):
    """A WSGI app iterator whose chunks are all in memory: nothing left to produce."""


def buffered_call(original):
    def __call__(self, environ, start_response):
        if self.direct_passthrough or not self.is_sequence:  # a stream: produced while it is sent
            return original(self, environ, start_response)
        app_iter, status, headers = self.get_wsgi_response(environ)
        try:
            body = BufferedBody(chunk for chunk in app_iter if chunk)
        finally:
            close = getattr(app_iter, "close", None)
            if close is not None:
                close()
        start_response(status, headers)
        return body

    return __call__


def one_handoff_run(original):
    def run(self) -> None:
        try:
            app_iterator = self.application(self.environ, self.startResponse)
        except BaseException:
            # the application raised before returning a body: twisted's own path reports it
            failed = self.application
            self.application = _reraise_once(failed)
            try:
                return original(self)
            finally:
                self.application = failed
        if not isinstance(app_iterator, BufferedBody):
            return _drive(original, self, app_iterator)

        def complete(started: bool) -> None:
            if self._requestFinished:  # the client went away meanwhile
                return
            try:
                if not started:
                    self._sendResponseHeaders()
                for chunk in app_iterator:
                    self.request.write(chunk)
                self.request.finish()
            except Exception:
                LOG.exception("writing a buffered WSGI response failed; closing the connection")
                self.request.loseConnection()

        self.reactor.callFromThread(complete, self.started)
        self.started = True

    return run


def _reraise_once(application):
    """An application that raises the exception being handled, so twisted's run() reports it."""
    import sys

    exc = sys.exc_info()[1]

    def app(environ, start_response):
        raise exc

    return app


def _drive(original, response, app_iterator) -> None:
    """twisted's run() for an iterator the application already returned (a streamed body)."""
    application = response.application
    response.application = lambda environ, start_response: app_iterator
    try:
        original(response)
    finally:
        response.application = application


def apply() -> None:
    from rolo.response import Response
    from twisted.web.wsgi import _WSGIResponse

    Response.__call__ = buffered_call(Response.__call__)
    _WSGIResponse.run = one_handoff_run(_WSGIResponse.run)
