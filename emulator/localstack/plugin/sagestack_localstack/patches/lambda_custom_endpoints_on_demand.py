"""Lambda's two internal routes are registered at start; their code (and Lambda's API module) loads on the first call.

The on_infra_start hook `localstack.services.lambda_.plugins.register_custom_endpoints` adds
`LambdaCustomEndpoints` (GET /_aws/lambda/runtimes, GET /_aws/lambda/init: metadata for
LocalStack's web app and the Docker executor's init binary) to the edge router before the gateway
answers. Its module imports Lambda's generated API module and runtime tables for them: about
10 ms of the start-up (`python -X importtime`, 2 cores, 2026.3.0); the kit never calls them.

Here the module is a stand-in (stand_in.py) whose `LambdaCustomEndpoints` declares the same two
routes (path and methods, checked against LocalStack's class by a test) and hands each call to
an instance of LocalStack's real class, loaded from its own source file under a private name on
the first call: both routes answer exactly as before. Boot stage: before LocalStack runs its
on_infra_start hooks.
"""

from __future__ import annotations

import threading
from types import ModuleType

from ..stand_in import StandInFinder, load_privately

CHECKED_AGAINST = "2026.3.0"
MODULE = "localstack.services.lambda_.custom_endpoints"
TARGETS = (f"{MODULE}.LambdaCustomEndpoints (its routes declared here, answered by the real class)",)
# LocalStack's routes, as declared by its class: (path, methods, method name)
ROUTES = (("/_aws/lambda/runtimes", ("GET",), "runtimes"), ("/_aws/lambda/init", ("GET",), "init"))
_lock = threading.Lock()
_origin: list[str] = []  # the real module's source file, found when the stand-in is installed


def _real_module() -> ModuleType:
    return load_privately(MODULE, _origin[0])


def _stand_in_class() -> type:
    from rolo import route

    class LambdaCustomEndpoints:
        """LocalStack's routes; each call is answered by LocalStack's own `LambdaCustomEndpoints`."""

        def __init__(self) -> None:
            self._real = None

        def _target(self):
            if self._real is None:
                with _lock:
                    if self._real is None:
                        self._real = _real_module().LambdaCustomEndpoints()
            return self._real

        @route(ROUTES[0][0], methods=list(ROUTES[0][1]))
        def runtimes(self, request):
            return self._target().runtimes(request)

        @route(ROUTES[1][0], methods=list(ROUTES[1][1]))
        def init(self, request):
            return self._target().init(request)

    return LambdaCustomEndpoints


def _fill(module: ModuleType) -> None:
    module.LambdaCustomEndpoints = _stand_in_class()


def apply() -> None:
    StandInFinder(MODULE, _fill, _origin).install()
