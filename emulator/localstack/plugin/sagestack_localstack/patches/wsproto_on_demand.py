"""wsproto (WebSocket protocol, with h11) loads on the first WebSocket upgrade, not when the server module loads.

rolo's twisted server (`rolo.serving.twisted`, imported before the gateway answers) does
`from wsproto import ConnectionState, ConnectionType, WSConnection, events` for its WebSocket
upgrade path, and names `events.Event` in annotations its class and method definitions evaluate;
every other use is inside the methods that run for a WebSocket request. Importing wsproto and h11
is about 14 ms of the start-up (`python -X importtime`, 2 cores, 2026.3.0); the kit's requests
never upgrade.

Here `wsproto` is a stand-in (modules_on_demand's) until something reads a name from it that is
not one of those four, and the four are `LazyName`s: an attribute read from one gives another
LazyName (so `events.Event` in an annotation loads nothing, and dunder probes on it answer as for a class
without them); calling one, `isinstance`/`issubclass`
against one, comparing, hashing or reading a value from one resolves it: wsproto is imported
under its own name and the real object answers (arguments that are LazyNames are resolved before
a call, so `WSConnection(ConnectionType.SERVER)` gets the real enum member). Once wsproto is
loaded (by any use), the stand-in and every LazyName hand out the real objects. Boot stage: before
LocalStack's server module is imported.
"""

from __future__ import annotations

import importlib.abc
import sys
import threading
import types
from typing import Any

from .modules_on_demand import _StandIn, real_module

CHECKED_AGAINST = "2026.3.0"
MODULE = "wsproto"
NAMES = ("ConnectionState", "ConnectionType", "WSConnection", "events")  # what rolo.serving.twisted takes
TARGETS = (f"{MODULE} (names taken by rolo.serving.twisted resolve on first use)",)
_UNSET = object()
_lock = threading.Lock()


def _loaded() -> bool:
    module = sys.modules.get(MODULE)
    return module is not None and not isinstance(module, _StandIn)


class LazyName:
    """`module.path` (a dotted attribute path), looked up in the real module the first time it is used."""

    __slots__ = ("_module", "_path", "_value")

    def __init__(self, module: str, path: str) -> None:
        object.__setattr__(self, "_module", module)
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_value", _UNSET)

    def _resolve(self) -> Any:
        value = object.__getattribute__(self, "_value")
        if value is _UNSET:
            value = real_module(object.__getattribute__(self, "_module"))
            for part in object.__getattribute__(self, "_path").split("."):
                value = getattr(value, part)
            with _lock:
                object.__setattr__(self, "_value", value)
        return value

    def __getattr__(self, name: str) -> Any:
        if object.__getattribute__(self, "_value") is not _UNSET or _loaded():
            return getattr(self._resolve(), name)
        if name.startswith("__") and name.endswith("__"):
            # probes such as types.GenericAlias's `__typing_subst__` (for `Queue[events.Event]` in an
            # annotation) are not uses: answered as for a plain class without them
            raise AttributeError(name)
        return LazyName(object.__getattribute__(self, "_module"), f"{object.__getattribute__(self, '_path')}.{name}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        args = tuple(_unwrap(a) for a in args)
        kwargs = {k: _unwrap(v) for k, v in kwargs.items()}
        return self._resolve()(*args, **kwargs)

    def __instancecheck__(self, instance: Any) -> bool:
        return isinstance(instance, self._resolve())

    def __subclasscheck__(self, subclass: Any) -> bool:
        return issubclass(subclass, self._resolve())

    def __mro_entries__(self, bases: tuple) -> tuple:
        return (self._resolve(),)

    def __eq__(self, other: Any) -> bool:
        return self._resolve() == _unwrap(other)

    def __ne__(self, other: Any) -> bool:
        return self._resolve() != _unwrap(other)

    def __hash__(self) -> int:
        return hash(self._resolve())

    def __iter__(self):
        return iter(self._resolve())

    def __repr__(self) -> str:
        value = object.__getattribute__(self, "_value")
        if value is _UNSET:
            return f"<LazyName {object.__getattribute__(self, '_module')}.{object.__getattribute__(self, '_path')}>"
        return repr(value)


def _unwrap(value: Any) -> Any:
    return value._resolve() if isinstance(value, LazyName) else value


class _WsprotoStandIn(_StandIn):
    """The stand-in module: the listed names are LazyNames while it is the module in sys.modules."""

    def __getattr__(self, name: str) -> Any:
        if name in NAMES and sys.modules.get(self.__name__) is self:
            return LazyName(self.__name__, name)
        return super().__getattr__(name)


class _Loader(importlib.abc.Loader):
    def create_module(self, spec):
        return _WsprotoStandIn(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        pass


def apply() -> None:
    if MODULE not in sys.modules:
        from .modules_on_demand import OnceFinder

        sys.meta_path.insert(0, OnceFinder({MODULE: None}, lambda name, _: _Loader()))
