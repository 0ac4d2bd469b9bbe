"""The gateway's pre-signed URL handler loads S3's pre-signing code with the first S3 request.

`localstack.aws.handlers.presigned_url` imports `localstack.services.s3.presigned_url` at module
level, and with it the generated S3 and IAM API modules (thousands of TypedDicts) and S3's
helpers, because its handler (`ParsePreSignedUrlRequest`, built when the handler chain is built)
keeps an `S3PreSignedURLRequestHandler`. It acts on S3 requests only (2026.3.0: "TODO: handle
other services pre-signed URL"), yet the import is about 4% of the import time before the
gateway answers (`python -X importtime` on the boot, 2 cores).

Here the module is a stand-in until an S3 request arrives: its `ParsePreSignedUrlRequest` returns
at once for requests of other services, as LocalStack's does, and for the first S3 request imports
LocalStack's real module (under a private name) and hands every S3 request to a real
`ParsePreSignedUrlRequest` from then on. The S3 provider loads the same code in the background
warm-up, so the first S3 request usually finds it loaded. Boot stage: before LocalStack imports its
handlers.
"""

from __future__ import annotations

import threading
from types import ModuleType

from ..stand_in import StandInFinder, load_privately

CHECKED_AGAINST = "2026.3.0"
TARGETS = ("localstack.aws.handlers.presigned_url (module contents until the first S3 request)",)
MODULE = "localstack.aws.handlers.presigned_url"
# the services LocalStack's handler has a pre-signed URL handler for (its `pre_signed_handlers`)
SERVICES = ("s3",)
_lock = threading.Lock()
_origin: list[str] = []  # the real module's source file, found when the stand-in is installed


class ParsePreSignedUrlRequest:
    """LocalStack's handler of the same name, built on the first request of a service it handles."""

    def __init__(self) -> None:
        self._real = None

    def __call__(self, chain, context, response):
        if not context.service or context.service.service_name not in SERVICES:
            return None
        if self._real is None:
            with _lock:
                if self._real is None:
                    self._real = _real_module().ParsePreSignedUrlRequest()
        return self._real(chain, context, response)


def _real_module() -> ModuleType:
    return load_privately(MODULE, _origin[0])


def _fill(module: ModuleType) -> None:
    module.ParsePreSignedUrlRequest = ParsePreSignedUrlRequest


def apply() -> None:
    StandInFinder(MODULE, _fill, _origin).install()
