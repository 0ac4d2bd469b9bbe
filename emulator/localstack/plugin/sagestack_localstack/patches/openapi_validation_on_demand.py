"""LocalStack's OpenAPI validation handlers import openapi_core only when validation is switched on.

`localstack.aws.handlers.validation` imports openapi_core (and jsonschema & co.) at module level for
two gateway handlers that return at once unless OPENAPI_VALIDATE_REQUEST / OPENAPI_VALIDATE_RESPONSE
is set (test-only settings, off here): about 0.3 s of CPU before the gateway answers, and their
modules' memory for as long as LocalStack runs. Here, with both settings off when the module is
first imported, it is filled with handlers of the same names that make the same config check on
each call and, only if a setting is on by then, load LocalStack's real module (under a private
name) and delegate to its handler. With a setting on at start, the real module is imported as
shipped. Boot stage: before LocalStack imports its handlers.
"""

from __future__ import annotations

import logging
import threading
from types import ModuleType

from ..stand_in import StandInFinder, load_privately

CHECKED_AGAINST = "2026.3.0"
TARGETS = ("localstack.aws.handlers.validation (module contents when validation is off)",)
MODULE = "localstack.aws.handlers.validation"
_lock = threading.Lock()


def _validation_on(kind: str) -> bool:
    from localstack import config

    return bool(getattr(config, f"OPENAPI_VALIDATE_{kind}"))


class _OnDemandValidator:
    """One of the module's handlers: a no-op while its setting is off, the real handler once it is on."""

    _kind = ""

    def __init__(self) -> None:
        self._real = None

    def __call__(self, chain, context, response):
        if not _validation_on(self._kind):
            return None
        if self._real is None:
            with _lock:
                if self._real is None:
                    self._real = getattr(_real_module(), type(self).__name__)()
        return self._real(chain, context, response)


class OpenAPIValidator(_OnDemandValidator):
    pass


class OpenAPIRequestValidator(OpenAPIValidator):
    _kind = "REQUEST"


class OpenAPIResponseValidator(OpenAPIValidator):
    _kind = "RESPONSE"


_origin: list[str] = []  # the real module's source file, found when the stand-in is installed


def _real_module() -> ModuleType:
    return load_privately(MODULE, _origin[0])


def _fill(module: ModuleType) -> None:
    module.LOG = logging.getLogger(MODULE)
    for cls in (OpenAPIValidator, OpenAPIRequestValidator, OpenAPIResponseValidator):
        module.__dict__[cls.__name__] = cls


def apply() -> None:
    # with a setting on at the module's first import, LocalStack's module is imported as shipped
    StandInFinder(MODULE, _fill, _origin, shipped=lambda: _validation_on("REQUEST") or _validation_on("RESPONSE")).install()
