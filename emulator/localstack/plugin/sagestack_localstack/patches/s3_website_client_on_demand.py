"""S3's static website handler makes its internal S3 client with the first website request.

LocalStack's S3 provider registers an `S3WebsiteHostingHandler` for `<bucket>.s3-website...` hosts
when the service loads, and its `__init__` builds an internal boto3 S3 client at once
(`connect_to().s3`). Building it makes botocore load its own copy of S3's service model, endpoint
rules and partitions next to the copy LocalStack's gateway already holds: about 11 MB of the
~30 MB S3 adds to resident memory (tracemalloc over the service's load, 2026.3.0). The client is
used only to answer website-hosting requests, which the kit's stack never makes.

Here `s3_client` is a property of the handler: the first website request builds the same client
(`connect_to().s3`, under a lock), and every later one reuses it, as before.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

CHECKED_AGAINST = "2026.3.0"
# applied right after this module is first imported (patches/__init__.py): not at start-up
APPLY_ON_IMPORT = "localstack.services.s3.website_hosting"
TARGETS = (
    "localstack.services.s3.website_hosting.S3WebsiteHostingHandler.__init__",
    "localstack.services.s3.website_hosting.S3WebsiteHostingHandler.s3_client (attribute -> property)",
)
_SLOT = "_sagestack_s3_client"
_lock = threading.Lock()


def lazy_client(make: Callable[[], Any], slot: str = _SLOT) -> property:
    """A property that builds its value with `make()` on first read (once, whatever the threads) and keeps it
    in the instance's `slot` (patches/logs_cloudwatch_client_on_demand.py uses it too, with its own slot)."""

    def get(handler):
        client = handler.__dict__.get(slot)
        if client is None:
            with _lock:
                client = handler.__dict__.get(slot)
                if client is None:
                    client = handler.__dict__[slot] = make()
        return client

    def set_(handler, value) -> None:
        handler.__dict__[slot] = value

    return property(get, set_)


def apply() -> None:
    import importlib

    website_hosting = importlib.import_module(APPLY_ON_IMPORT)
    S3WebsiteHostingHandler = website_hosting.S3WebsiteHostingHandler

    def __init__(self) -> None:
        """LocalStack's only work here was building the client: now done by the first website request."""

    S3WebsiteHostingHandler.s3_client = lazy_client(lambda: website_hosting.connect_to().s3)
    S3WebsiteHostingHandler.__init__ = __init__
