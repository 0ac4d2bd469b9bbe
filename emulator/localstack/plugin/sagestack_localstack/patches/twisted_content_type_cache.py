"""Parse each distinct Content-Type header once, not on every request.

twisted's HTTP server parses every request's Content-Type with the stdlib's email header
parser (`twisted.web.http._parseContentType` builds an `EmailMessage` to read the media type),
which a py-spy profile of the API Gateway AWS_PROXY -> Lambda path showed at about a tenth of
LocalStack's busy CPU. The result depends only on the header's bytes and a client sends the
same few values, so a bounded cache of the same function gives the same answers for a
dictionary lookup. Boot stage: before LocalStack's twisted server handles a request.
"""

from __future__ import annotations

import functools

CHECKED_AGAINST = "2026.3.0"
# only with GATEWAY_SERVER=twisted: applied when LocalStack imports its twisted server (patches/__init__.py)
APPLY_ON_IMPORT = "localstack.runtime.server.twisted"
TARGETS = ("twisted.web.http._parseContentType (twisted as pinned in requirements.lock)",)
CACHE_SIZE = 256


def apply() -> None:
    from twisted.web import http

    original = http._parseContentType
    if getattr(original, "cache_info", None):  # already cached
        return
    http._parseContentType = functools.lru_cache(maxsize=CACHE_SIZE)(original)
