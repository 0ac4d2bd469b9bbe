"""pydantic loads when something uses it, not because rolo's routers could dispatch pydantic models.

rolo (LocalStack's HTTP layer) imports pydantic at start only to learn whether it is installed
(`rolo.routing.handler`: `import pydantic` -> ENABLE_PYDANTIC), and then every router LocalStack
builds before the gateway answers (`handler_dispatcher()`: the edge router, the internal
`/_localstack/...` resources) gets a `rolo.routing.pydantic.PydanticHandlerDispatcher`, whose
module imports pydantic and builds its model machinery: about 30 ms of the 0.6 s start-up
(`python -X importtime`, 2 cores, 2026.3.0), for routes none of which take or return a model.

That dispatcher differs from rolo's plain `HandlerDispatcher` only for an endpoint whose
signature names a `pydantic.BaseModel` subclass, or a handler returning BaseModel instances. No
such class or instance can exist while pydantic itself has not been imported. So here:
- `pydantic` is a modules_on_demand stand-in (no forwarded functions): `import pydantic` succeeds
  (ENABLE_PYDANTIC stays True), and the first attribute read from it (`from pydantic import
  BaseModel` in any module, at any time) imports the real library;
- rolo's `handler_dispatcher()` returns a `PydanticOnDemandDispatcher`: the plain dispatcher
  while pydantic is not really imported, rolo's own PydanticHandlerDispatcher (built then, with
  the same JSON encoder) for every call once it is.
Every route answers exactly as before; pydantic's cost moves to the first module that uses it.
Early stage: before anything imports rolo (the boot patches do).
"""

from __future__ import annotations

import sys
import threading
from typing import Any

CHECKED_AGAINST = "2026.3.0"
MODULE = "rolo.routing.handler"
TARGETS = (
    "pydantic (a stand-in until first used)",
    "rolo.routing.handler.handler_dispatcher (returns PydanticOnDemandDispatcher when pydantic is installed)",
)


def pydantic_loaded() -> bool:
    """Whether the real pydantic (not the stand-in) is in sys.modules: only then can models exist."""
    from .modules_on_demand import _StandIn

    module = sys.modules.get("pydantic")
    return module is not None and not isinstance(module, _StandIn)


def _patch_handler_module() -> None:
    handler = sys.modules[MODULE]
    plain = handler.HandlerDispatcher

    class PydanticOnDemandDispatcher(plain):  # type: ignore[misc, valid-type]
        """rolo's plain dispatcher until pydantic is imported, then rolo's PydanticHandlerDispatcher."""

        def __init__(self, json_encoder=None) -> None:
            super().__init__(json_encoder)
            self._pydantic = None
            self._lock = threading.Lock()

        def _delegate(self):
            if self._pydantic is None and pydantic_loaded():
                with self._lock:
                    if self._pydantic is None:
                        from rolo.routing.pydantic import PydanticHandlerDispatcher

                        self._pydantic = PydanticHandlerDispatcher(self.json_encoder)
            return self._pydantic

        def invoke_endpoint(self, request, endpoint, request_args) -> Any:
            delegate = self._delegate()
            if delegate is not None:
                return delegate.invoke_endpoint(request, endpoint, request_args)
            return super().invoke_endpoint(request, endpoint, request_args)

        def populate_response(self, response, value) -> None:
            delegate = self._delegate()
            if delegate is not None:
                return delegate.populate_response(response, value)
            return super().populate_response(response, value)

    def handler_dispatcher(json_encoder=None):
        if handler.ENABLE_PYDANTIC:
            return PydanticOnDemandDispatcher(json_encoder)
        return plain(json_encoder)

    handler_dispatcher.__doc__ = handler.handler_dispatcher.__doc__
    handler.PydanticOnDemandDispatcher = PydanticOnDemandDispatcher
    handler.handler_dispatcher = handler_dispatcher


def apply() -> None:
    from . import when_imported
    from .modules_on_demand import install

    install({"pydantic": ()})
    when_imported(MODULE, _patch_handler_module)
