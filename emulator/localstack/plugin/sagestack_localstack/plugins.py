"""Plux plugins LocalStack discovers through our distribution's entry points (see pyproject.toml).

- `LocalRuntimeExecutorPlugin` ("local" in `localstack.lambda.runtime_executor`): chosen by
  LAMBDA_RUNTIME_EXECUTOR=local; its `load()` returns the executor class.
- `validate_local_runtimes_on_create` (an `on_infra_start` hook): makes CreateFunction and
  UpdateFunctionConfiguration fail at once, with AWS's InvalidParameterValueException, for a
  runtime this machine cannot run (no interpreter, or not a Python runtime) instead of leaving
  a function that fails on its first invoke, refuses Lambda's reserved environment variables and
  oversized invoke payloads (validation.py); it also batches the per-invoke metric and log calls
  (hotpath.py) and fixes API Gateway's requestTime (apigateway_parity.py).
"""

from __future__ import annotations

from localstack.runtime import hooks
from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin


class LocalRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    name = "local"

    def load(self, *args, **kwargs):
        from sagestack_localstack.executor import LocalRuntimeExecutor

        return LocalRuntimeExecutor


@hooks.on_infra_start()
def validate_local_runtimes_on_create() -> None:
    from localstack import config

    if (config.LAMBDA_RUNTIME_EXECUTOR or "").strip() != "local":
        return
    from sagestack_localstack import apigateway_parity, hotpath
    from sagestack_localstack.executor import install_client_context_passthrough, install_utc_log_stream_names
    from sagestack_localstack.validation import install_runtime_validation

    install_runtime_validation()
    hotpath.install()
    install_client_context_passthrough()
    install_utc_log_stream_names()
    apigateway_parity.install()


@hooks.on_infra_ready()
def warm_services_in_background() -> None:
    """Load the stack's services right after the gateway is up, without delaying readiness.

    EAGER_SERVICE_LOADING loads them before LocalStack reports ready (about 3-4 s on 2 cores);
    lazy loading makes the first request to each service pay for it (the first CreateFunction
    took 7 s). Loading them in a background thread once the gateway serves gives both: ready
    in about a second, and a request arriving meanwhile simply waits for its service's load
    (LocalStack serialises loads per service).
    """
    import logging
    import os
    import threading

    wanted = [s for s in os.environ.get("SAGESTACK_WARM_SERVICES", "").split(",") if s]
    if not wanted:
        return

    def warm() -> None:
        from localstack.services.plugins import SERVICE_PLUGINS

        for api in wanted:
            try:
                SERVICE_PLUGINS.require(api)
            except Exception as exc:  # a service that fails to load fails again, visibly, on use
                logging.getLogger(__name__).warning("could not pre-load service %s: %s", api, exc)

    threading.Thread(target=warm, name="sagestack-warm-services", daemon=True).start()
