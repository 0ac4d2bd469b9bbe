"""A LocalStack module served from a patch's stand-in contents until its real code is needed.

Used by the patches that keep a module's heavy imports out of start-up while LocalStack's own
importers still find the names they take from it (patches/openapi_validation_on_demand.py,
patches/presigned_url_on_demand.py): the first import of the module gets the stand-in, and the
real module is loaded later, from the same source file, under a private name, so the stand-in
stays what LocalStack's importers hold.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from types import ModuleType
from typing import Callable


def load_privately(module: str, origin: str) -> ModuleType:
    """LocalStack's real `module`, executed from its source file `origin` under a private name.

    Its relative imports resolve as in the real one (same package); a load that fails leaves
    nothing behind, so the next use tries again.
    """
    name = f"_sagestack_real_{module.replace('.', '_')}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, origin)
        loaded = importlib.util.module_from_spec(spec)
        loaded.__package__ = module.rpartition(".")[0]
        sys.modules[name] = loaded
        try:
            spec.loader.exec_module(loaded)
        except BaseException:
            del sys.modules[name]
            raise
    return sys.modules[name]


class StandInFinder(importlib.abc.MetaPathFinder):
    """Answers the first import of `module` with a module that `fill` populates instead of its source.

    The source file's path is appended to `origins` (for `load_privately`). When `shipped()` is true
    at that import, the real module is imported as shipped. Either way the finder then removes
    itself: later imports go to the real finders.
    """

    def __init__(self, module: str, fill: Callable[[ModuleType], None], origins: list[str],
                 shipped: Callable[[], bool] = lambda: False) -> None:
        self.module, self.fill, self.origins, self.shipped = module, fill, origins, shipped

    def find_spec(self, fullname, path, target=None):
        if fullname != self.module:
            return None
        sys.meta_path.remove(self)  # once: the real finders answer from now on
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.origin is None or self.shipped():
            return spec
        self.origins.append(spec.origin)
        spec.loader = _FillingLoader(self.fill)
        return spec

    def install(self) -> None:
        """Serve the stand-in at the next import of the module, unless it is already imported."""
        if self.module not in sys.modules:
            sys.meta_path.insert(0, self)


class _FillingLoader(importlib.abc.Loader):
    def __init__(self, fill: Callable[[ModuleType], None]) -> None:
        self.fill = fill

    def create_module(self, spec):
        return None

    def exec_module(self, module: ModuleType) -> None:
        self.fill(module)
