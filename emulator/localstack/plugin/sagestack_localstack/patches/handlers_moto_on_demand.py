"""The gateway's exception handlers no longer import moto before the gateway answers.

Two of LocalStack's exception handlers import `moto.core.exceptions` (all of moto's core: about a
fifth of a second of CPU on 2 cores) when the handler chain is built:
- `ExceptionLogger.__init__` imports it, then calls `self._skip_exceptions(...)`, an attribute that
  does not exist yet; the AttributeError is caught and the logger always skips `ServiceException`
  alone. The import has no use: here `__init__` sets the same logger and `(ServiceException,)`.
- `ServiceExceptionSerializer` keeps moto's `ServiceException` and `RESTError` classes to recognise
  errors raised by moto-backed services. A moto exception can only exist once moto is imported,
  so here both are looked up on use: moto's classes when `moto.core.exceptions` is loaded, else
  `types.EllipsisType` (what LocalStack uses when moto is absent, matching nothing). Every
  exception is classified as before; moto loads with the first moto-backed service (in the
  background warm-up). Applied when the handlers package imports its `service` module (after
  `logging`), before it builds `log_exception` and `handle_service_exception`.
"""

from __future__ import annotations

import sys
import types

CHECKED_AGAINST = "2026.3.0"
# applied right after this module is first imported (patches/__init__.py): not at start-up
APPLY_ON_IMPORT = "localstack.aws.handlers.service"
TARGETS = (
    "localstack.aws.handlers.logging.ExceptionLogger.__init__",
    "localstack.aws.handlers.service.ServiceExceptionSerializer.__init__",
)


def moto_exception(name: str) -> type:
    """moto's exception class `name` if moto is loaded, else a type no exception is an instance of."""
    module = sys.modules.get("moto.core.exceptions")
    return getattr(module, name, types.EllipsisType) if module is not None else types.EllipsisType


def apply() -> None:
    import importlib

    from localstack.aws.api import ServiceException

    # the handlers package is still initialising: take its modules from sys.modules
    handler_logging = importlib.import_module("localstack.aws.handlers.logging")
    service = importlib.import_module(APPLY_ON_IMPORT)

    def logger_init(self, logger=None) -> None:
        self.logger = logger or handler_logging.LOG
        self._skip_exceptions = (ServiceException,)

    def serializer_init(self) -> None:
        self.handle_internal_failures = True

    handler_logging.ExceptionLogger.__init__ = logger_init
    serializer = service.ServiceExceptionSerializer
    serializer.__init__ = serializer_init
    serializer._moto_service_exception = property(lambda self: moto_exception("ServiceException"))
    serializer._moto_rest_error = property(lambda self: moto_exception("RESTError"))
