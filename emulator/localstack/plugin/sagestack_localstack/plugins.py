"""Plux plugins LocalStack discovers through our distribution's entry points (see pyproject.toml).

- `LocalRuntimeExecutorPlugin` ("local" in `localstack.lambda.runtime_executor`): chosen by
  LAMBDA_RUNTIME_EXECUTOR=local; its `load()` returns the executor class (executor.py).
- `apply_patches` (an `on_infra_start` hook): applies the `infra` patches (patches/), which
  make LocalStack's Lambda and API Gateway behave as AWS's with the local executor.
- `warm_services_in_background` (an `on_infra_ready` hook): loads the stack's services after
  the gateway is up.
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
    """Load the stack's services right after the gateway is up, without delaying readiness.

    EAGER_SERVICE_LOADING loads them before LocalStack reports ready (about 3-4 s on 2 cores);
    lazy loading makes the first request to each service pay for it (the first CreateFunction
    took 7 s). Loading them in a background thread once the gateway serves gives both: ready
    in about a second, and a request arriving meanwhile simply waits for its service's load
    (LocalStack serialises loads per service). Python's cyclic collector, paused since boot,
    is switched back on when the warm-up ends (patches/gc_paused_during_boot.py).
    """
    import logging
    import os
    import threading

    from sagestack_localstack.patches import gc_paused_during_boot

    wanted = [s for s in os.environ.get("SAGESTACK_WARM_SERVICES", "").split(",") if s]
    if not wanted:
        gc_paused_during_boot.resume()
        return

    def warm() -> None:
        from localstack.services.plugins import SERVICE_PLUGINS

        try:
            for api in wanted:
                try:
                    SERVICE_PLUGINS.require(api)
                except Exception as exc:  # a service that fails to load fails again, visibly, on use
                    logging.getLogger(__name__).warning("could not pre-load service %s: %s", api, exc)
        finally:  # the collector, paused since boot (patches/gc_paused_during_boot.py), runs again
            gc_paused_during_boot.resume()
            from sagestack_localstack.boot import share_plugin_index

            share_plugin_index()  # plux's entry-point index, for the next start (boot.py)

    threading.Thread(target=warm, name="sagestack-warm-services", daemon=True).start()
