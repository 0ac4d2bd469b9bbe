"""Services load one at a time, and the first load imports moto's core before anything else.

LocalStack loads a service on its first request, under a lock of that service only; upstream,
moto's core (`moto.core` and the modules around it, which import each other) is imported
single-threaded at start-up by an on_infra_start hook. The kit moves that import off start-up
(`moto_patches_on_import`, `handlers_moto_on_demand`) and loads the stack's services in a
background thread (warm_up.py), so moto's core is first imported by whichever service loads
first, possibly in two threads at once: the warm-up loading Logs while a request loads Lambda.
Python's import system then breaks the cycle between the two threads by handing one of them the
other's half-executed module (`cannot import name 'gzip_decompress' from partially initialized
module 'moto.core.utils'`), and the service that lost stays broken until restart (seen in 3 of 4
fresh starts with a SageMaker request followed at once by Lambda ListFunctions).

Here every service load (LocalStack's `require` of a service that is not running yet) holds one
process-wide lock, and the first one imports moto's core completely before it loads its service.
A request handler runs only after its service has loaded, so it finds moto's core complete, and two
services' provider modules are never imported by two threads at once. A running service is
returned without the lock (the per-request path is unchanged). A service's load does not wait for
another thread that loads a service (LocalStack's providers start their threads and return), so
the lock cannot deadlock. Boot stage: applied when LocalStack's service manager module is imported.
"""

from __future__ import annotations

import importlib
import threading

CHECKED_AGAINST = "2026.3.0"
APPLY_ON_IMPORT = "localstack.services.plugins"
TARGETS = ("localstack.services.plugins.ServicePluginManager.require",)
MOTO_CORE = ("moto.core", "moto.core.utils", "moto.core.responses", "moto.core.models")

LOAD_LOCK = threading.RLock()
_moto_core_imported = False


def import_moto_core() -> None:
    """Import moto's core once (under LOAD_LOCK); a LocalStack without moto skips it."""
    global _moto_core_imported
    if _moto_core_imported:
        return
    from importlib.util import find_spec

    if find_spec("moto") is not None:
        for name in MOTO_CORE:
            importlib.import_module(name)
    _moto_core_imported = True


def apply() -> None:
    plugins = importlib.import_module(APPLY_ON_IMPORT)
    manager = plugins.ServicePluginManager
    running = plugins.ServiceState.RUNNING
    original = manager.require

    def require(self, name: str):
        container = self._services.get(name)
        if container is not None and container.state == running:
            return container.service
        with LOAD_LOCK:
            import_moto_core()
            return original(self, name)

    require.__doc__ = original.__doc__
    manager.require = require
