"""Modules LocalStack imports at start (or with a service) only for functions called later load on first use.

Some modules the gateway imports before it answers are there only for a function it calls in rare
cases; importing them drags in large generated API modules, pydantic models or plux plugins. Each is
listed in MODULES with the functions its start-up importers take from it (`python -X importtime` on
the boot, 2 cores, 2026.3.0):
- `localstack.utils.catalog.plugins` (`get_aws_catalog`) and `localstack.aws.catalog_exceptions`
  (`get_service_availability_exception`): imported by the service handlers and the provider
  skeleton to word the answer to an operation LocalStack does not implement ("... is not currently
  supported by LocalStack"); they load the catalog's plux plugins, loader and pydantic models:
  about 8% of the import time before the gateway answers.
- `localstack.services.s3.utils` (`uses_host_addressing`) and `localstack.services.sqs.utils`
  (`is_sqs_queue_url`): imported by the service router for its last-resort rules (a request no
  signature, header or path identified); they load the generated S3 and SQS API modules and S3's
  helpers. S3's provider loads its utils in the background warm-up anyway; SQS is not in the kit.
- `openapi_spec_validator` (`validate`, `validate_spec`) and its `validation` package: moto's API
  Gateway models (loaded with Lambda and API Gateway in the warm-up) import `validate` for
  ImportRestApi/PutRestApi bodies and `validation.exceptions.OpenAPIValidationError` for their
  `except` clauses. The packages' `__init__`s load every validator, pydantic settings and
  jsonschema-path: about 6 MB of idle memory for requests the kit never makes. As packages, their
  stand-ins keep `__path__`, so `validation.exceptions` (and what it imports) loads as shipped.

Here each is a stand-in until first used: it exposes the same names; a function called through it,
or any other attribute read from it (the S3 provider's `from ... import ...`), imports LocalStack's
real module under its own name (which then replaces the stand-in in `sys.modules`) and forwards to
it. Every caller gets LocalStack's own objects and answers; the first use pays the import. AWS
answers nothing differently here: this is start-up cost only. Boot stage: before LocalStack
imports its handlers.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
import types
from typing import Any, Callable

CHECKED_AGAINST = "2026.3.0"
# module -> the functions its importers take from it at start-up (called later, never at import)
MODULES = {
    "localstack.utils.catalog.plugins": ("get_aws_catalog",),
    "localstack.aws.catalog_exceptions": ("get_service_availability_exception",),
    "localstack.services.s3.utils": ("uses_host_addressing",),
    "localstack.services.sqs.utils": ("is_sqs_queue_url",),
    "openapi_spec_validator": ("validate", "validate_spec"),
    "openapi_spec_validator.validation": (),
}
TARGETS = tuple(f"{module} (loaded on first use)" for module in MODULES)
_lock = threading.Lock()


def real_module(name: str) -> types.ModuleType:
    """LocalStack's real module `name`, imported now if only the stand-in is loaded.

    Only taking the stand-in out of `sys.modules` is done under our lock; the import itself runs
    under the import system's own per-module lock (so a second thread waits for it there, and no
    lock of ours is held while the module's own imports run: no lock-order deadlock).
    """
    current = sys.modules.get(name)
    if not isinstance(current, _StandIn):
        # not `current` itself: while another thread runs the real module's code it is already in
        # sys.modules, half-initialised; import_module waits on the import system's module lock for it
        return importlib.import_module(name)
    with _lock:
        if sys.modules.get(name) is current:
            del sys.modules[name]
    try:
        return importlib.import_module(name)
    except BaseException:
        sys.modules.setdefault(name, current)  # keep answering through the stand-in (a later use retries)
        raise


def _forwarder(module: str, function: str) -> Callable[..., Any]:
    def forward(*args: Any, **kwargs: Any) -> Any:
        return getattr(real_module(module), function)(*args, **kwargs)

    forward.__name__ = forward.__qualname__ = function
    forward.__doc__ = f"Calls {module}.{function} (imported on first call; sagestack patch modules_on_demand)."
    return forward


class _StandIn(types.ModuleType):
    """The module as its importers see it before first use: its functions forward, other names load it."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # import machinery probing: not a use
        return getattr(real_module(self.__name__), name)


class OnceFinder(importlib.abc.MetaPathFinder):
    """Serves each of `modules` once with the loader `loader(name, payload)` makes; real finders after that.

    Shared by every stand-in patch (this one, libraries_on_demand, dns_server_on_demand,
    wsproto_on_demand): a module that is not installed still fails to import, and a package's
    submodules import as usual, without running the package's `__init__`.
    """

    def __init__(self, modules: dict[str, Any], loader: Callable[[str, Any], importlib.abc.Loader]) -> None:
        self.modules = dict(modules)
        self.loader = loader

    def find_spec(self, fullname, path, target=None):
        with _lock:  # the warm-up thread and request threads may import at once
            if fullname not in self.modules:
                return None
            payload = self.modules.pop(fullname)  # once: the real finders answer from now on
            if not self.modules and self in sys.meta_path:
                sys.meta_path.remove(self)
        real = importlib.machinery.PathFinder.find_spec(fullname, path)
        if real is None:  # not installed: the import fails as it would without the patch
            return None
        package = real.submodule_search_locations is not None
        spec = importlib.util.spec_from_loader(fullname, self.loader(fullname, payload), is_package=package)
        if package:
            spec.submodule_search_locations = list(real.submodule_search_locations)
        return spec


class _StandInLoader(importlib.abc.Loader):
    def __init__(self, functions: tuple[str, ...]) -> None:
        self.functions = functions

    def create_module(self, spec):
        return _StandIn(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        for function in self.functions:
            setattr(module, function, _forwarder(module.__name__, function))


def install(modules: dict[str, tuple[str, ...]]) -> None:
    """Serve stand-ins for those of `modules` that are not imported yet."""
    waiting = {name: functions for name, functions in modules.items() if name not in sys.modules}
    if waiting:
        sys.meta_path.insert(0, OnceFinder(waiting, lambda name, functions: _StandInLoader(functions)))


def apply() -> None:
    install(MODULES)
