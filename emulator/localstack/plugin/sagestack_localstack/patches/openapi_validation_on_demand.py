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

import importlib.abc
import importlib.util
import logging
import sys
import threading
from types import ModuleType

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
    name = f"_sagestack_real_{MODULE.replace('.', '_')}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, _origin[0])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != MODULE:
            return None
        sys.meta_path.remove(self)  # once: the real finders answer from now on
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.origin is None or _validation_on("REQUEST") or _validation_on("RESPONSE"):
            return spec
        _origin.append(spec.origin)
        spec.loader = _StandInLoader()
        return spec


class _StandInLoader(importlib.abc.Loader):
    def create_module(self, spec):
        return None

    def exec_module(self, module: ModuleType) -> None:
        module.LOG = logging.getLogger(MODULE)
        for cls in (OpenAPIValidator, OpenAPIRequestValidator, OpenAPIResponseValidator):
            module.__dict__[cls.__name__] = cls


def apply() -> None:
    if MODULE not in sys.modules:
        sys.meta_path.insert(0, _Finder())
