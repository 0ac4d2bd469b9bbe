"""Plux plugins LocalStack discovers through our distribution's entry points (see pyproject.toml).

- `LocalRuntimeExecutorPlugin` ("local" in `localstack.lambda.runtime_executor`): chosen by
  LAMBDA_RUNTIME_EXECUTOR=local; its `load()` returns the executor class (executor.py).
- `apply_patches` (an `on_infra_start` hook): applies the `infra` patches (patches/), which
  make LocalStack's Lambda and API Gateway behave as AWS's with the local executor.
- `warm_services_in_background` (an `on_infra_ready` hook): arms the background load of the
  stack's services, which the first AWS request starts (warm_up.py).
"""

from __future__ import annotations

import functools

from localstack.runtime import hooks


@functools.cache
def _executor_plugin_class() -> type:
    """`LocalRuntimeExecutorPlugin`, defined when plux first looks it up (module `__getattr__` below).

    Its base class's package imports Lambda's generated API module (about 10 ms): plux imports
    this module for the on_infra_start hook before the gateway answers, while the executor plugin
    is looked up only when the Lambda service loads (in the background warm-up).
    """
    from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin

    class LocalRuntimeExecutorPlugin(RuntimeExecutorPlugin):
        name = "local"

        def load(self, *args, **kwargs):
            from sagestack_localstack.executor import LocalRuntimeExecutor

            return LocalRuntimeExecutor

    LocalRuntimeExecutorPlugin.__module__ = __name__
    return LocalRuntimeExecutorPlugin


def __getattr__(name: str):
    if name == "LocalRuntimeExecutorPlugin":  # the entry point plux resolves (pyproject.toml)
        return _executor_plugin_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@hooks.on_infra_start()
def apply_patches() -> None:
    from localstack import config

    if (config.LAMBDA_RUNTIME_EXECUTOR or "").strip() != "local":
        return
    from sagestack_localstack import patches

    patches.apply_on_import("infra")


@hooks.on_infra_ready()
def warm_services_in_background() -> None:
    """Arm the background load of the stack's services: it starts on the first AWS request (warm_up.py).

    EAGER_SERVICE_LOADING loads them before LocalStack reports ready (about 3-4 s on 2 cores);
    lazy loading makes the first request to each service pay for it (the first CreateFunction
    took 7 s). Loading them all in a background thread once the first AWS request arrives gives
    both: ready in under a second, an unused server holding only what its health route needs, and
    a request arriving meanwhile simply waits for its service's load (LocalStack serialises loads
    per service). Python's cyclic collector, paused since boot, is switched back on when the
    warm-up ends, or after a few seconds of an unused server (patches/gc_paused_during_boot.py).
    """
    import os

    from localstack.aws import handlers

    from sagestack_localstack.patches import gc_paused_during_boot
    from sagestack_localstack.warm_up import WarmUp

    wanted = [s for s in os.environ.get("SAGESTACK_WARM_SERVICES", "").split(",") if s]
    if not wanted:
        gc_paused_during_boot.resume()
        return

    def require(api: str) -> object:
        from localstack.services.plugins import SERVICE_PLUGINS

        return SERVICE_PLUGINS.require(api)

    def when_done() -> None:
        gc_paused_during_boot.resume()  # the collector, paused since boot, runs again
        from sagestack_localstack.boot import share_plugin_index

        share_plugin_index()  # plux's entry-point index, for the next start (boot.py)

    warm_up = WarmUp(wanted, require, when_done)
    handlers.preprocess_request.append(warm_up.request_handler)
    warm_up.resume_gc_if_unused(gc_paused_during_boot.resume)
