"""LocalStack's own process resolves `<anything>.localhost` (RFC 6761) and `.*localhost.localstack.cloud` to loopback.

Function URLs come out as `http://<id>.lambda-url.<region>.localhost:<port>/` (the launcher
sets LOCALSTACK_HOST=localhost:<port>): curl and browsers reach them with no DNS set-up, Lambda
workers resolve them (worker.resolve_localhost_subdomains), and so must LocalStack itself when
an API Gateway HTTP integration calls a Function URL. Without this the C library, with no DNS
here, fails the lookup and API Gateway answers 500. Boot stage: before any client is built.
"""

from __future__ import annotations

CHECKED_AGAINST = "2026.3.0"
TARGETS = ("socket.getaddrinfo (used by LocalStack's outgoing HTTP clients)",)


def apply() -> None:
    from sagestack_localstack.worker import resolve_localhost_subdomains

    resolve_localhost_subdomains()
